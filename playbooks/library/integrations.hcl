# Northwind Energy integration instances. Secrets come only from the worker's
# environment through env(); they never enter a plan or a workflow history.
#
# Every instance here says simulate = true: this is sample data, so a worker
# running the shipped library never reaches a real system and needs none of
# these variables. In your own copy (firebreak init), point each block at
# your system, set its variables, and remove simulate = true.

integration "slack" "main" {
  simulate       = true
  bot_token      = env("SLACK_BOT_TOKEN")
  app_token      = env("SLACK_APP_TOKEN")      # Socket Mode
  signing_secret = env("SLACK_SIGNING_SECRET") # HTTP mode
}

integration "pagerduty" "default" {
  simulate    = true
  routing_key = env("PD_ROUTING_KEY")
}

# Enforcement points (nftables on the zone gateways, one network namespace each).
integration "nftables" "plant3_gw" {
  simulate = true
  netns    = "plant3-gw"
}

integration "nftables" "gas_control_gw" {
  simulate = true
  netns    = "gasctl-gw"
}

integration "nftables" "cs7_gw" {
  simulate = true
  netns    = "cs7-gw"
}

# Perimeter firewall API that terminates the vendor VPN (blocks a source or account).
integration "webhook" "fw_vendor" {
  simulate = true
  url      = "https://fw.northwind.example/api/v1/block"
  secret   = env("FW_HMAC")
}

# EDR console webhook used by edr.contain_host.
integration "webhook" "edr" {
  simulate = true
  url      = "https://edr.northwind.example/api/v1/contain"
  secret   = env("EDR_HMAC")
}

# Plant-state reads (Modbus TCP, holding registers).
integration "modbus" "plant3_plc" {
  simulate = true
  address  = "10.30.1.21:502" # PLC-301, plant 3 inlet compression unit PLC
  unit_id  = 1
}

integration "modbus" "cs7_ucs" {
  simulate = true
  address  = "10.70.2.15:502" # compressor station 7 unit control system
  unit_id  = 1
}
