# Northwind Energy plant model: IEC 62443 zones and conduits for plant 3 (gas
# processing) and compressor station 7 on the export pipeline. Purdue levels
# follow ISA-95 / IEC 62443-1-1; security_level is the target SL (SL-T).
# Addresses are private sample ranges, not a real site.

# --- Enterprise and external -----------------------------------------------------

zone "corp_it" {
  title        = "Corporate IT"
  purdue_level = 4
  networks     = ["10.10.0.0/16"]
}

zone "vendor_access" {
  title        = "Vendor remote-access landing (site-to-site VPN pool)"
  purdue_level = 4
  networks     = ["10.99.20.0/24"]
}

# --- Plant 3: gas processing -----------------------------------------------------

zone "plant3_dmz" {
  title          = "Plant 3 industrial DMZ (historian replica, jump hosts, patch server)"
  purdue_level   = 3.5
  security_level = 2
  networks       = ["10.30.35.0/24"]
}

zone "plant3_control" {
  title          = "Plant 3 control network (DCS, HMIs, engineering workstations, unit PLCs)"
  purdue_level   = 2
  security_level = 3
  networks       = ["10.30.2.0/24", "10.30.1.0/24"]

  # Before isolating, read the unit PLC: 40001 = 1 means the plant is in a
  # steady operating state (no start-up, shutdown or pig launch in progress).
  safe_state {
    integration = "modbus.plant3_plc"
    register    = 40001
    expect      = 1
  }
}

zone "plant3_sis" {
  title          = "Plant 3 safety instrumented system (ESD and fire & gas logic solvers)"
  purdue_level   = 1
  security_level = 3
  networks       = ["10.30.9.0/24"]
}

# --- Pipeline: gas control and compressor station 7 ------------------------------

zone "gas_control" {
  title          = "Pipeline gas control centre (SCADA master)"
  purdue_level   = 3
  security_level = 3
  networks       = ["10.50.3.0/24"]
}

zone "cs7_control" {
  title          = "Compressor station 7 unit control (station PLC, turbine control panels)"
  purdue_level   = 2
  security_level = 3
  networks       = ["10.70.2.0/24"]

  # 40001 = 1: station running steady, no unit start or surge-control event.
  safe_state {
    integration = "modbus.cs7_ucs"
    register    = 40001
    expect      = 1
  }
}

# --- Conduits into plant 3 -------------------------------------------------------

conduit "corp_to_dmz" {
  from        = zone.corp_it
  to          = zone.plant3_dmz
  protocols   = ["https", "rdp"]
  enforcement = "nftables.plant3_gw"
}

conduit "vendor_remote_support" {
  from        = zone.vendor_access
  to          = zone.plant3_dmz
  protocols   = ["ipsec", "rdp", "ssh"]
  enforcement = "nftables.plant3_gw"
}

conduit "dmz_to_control" {
  from                   = zone.plant3_dmz
  to                     = zone.plant3_control
  protocols              = ["opcua", "historian"]
  enforcement            = "nftables.plant3_gw"
  keep_open_on_isolation = false
}

# SIS status and trip alarms to the DCS HMIs (read-only Modbus through a
# safety-rated gateway). Operators must keep seeing the SIS while islanded, so
# isolation of the control network never cuts it.
conduit "sis_to_control" {
  from                   = zone.plant3_sis
  to                     = zone.plant3_control
  protocols              = ["modbus-tcp"]
  enforcement            = "nftables.plant3_gw"
  keep_open_on_isolation = true
}

# --- Conduits on the pipeline -----------------------------------------------------

conduit "corp_to_gas_control" {
  from        = zone.corp_it
  to          = zone.gas_control
  protocols   = ["https"]
  enforcement = "nftables.gas_control_gw"
}

# The gas control SCADA master polls the plant 3 custody-transfer flow
# computers; isolating plant 3 stops this metering feed.
conduit "gas_control_to_plant3" {
  from        = zone.gas_control
  to          = zone.plant3_control
  protocols   = ["modbus-tcp"]
  enforcement = "nftables.plant3_gw"
}

conduit "gas_control_to_cs7" {
  from        = zone.gas_control
  to          = zone.cs7_control
  protocols   = ["dnp3"]
  enforcement = "nftables.cs7_gw"
}
