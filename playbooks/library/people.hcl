# Northwind Energy: the people who respond to incidents at plant 3 (gas
# processing) and compressor station 7, their rosters and escalation ladders.
#
# Rosters used by the safety policy (process_safety, ot_operations) have no
# member in common and at least three members each, so a sign-off can always
# be completed by one distinct person from each even when the incident
# initiator is excluded.

# --- Process safety ----------------------------------------------------------

person "alice" {
  name      = "Alice Tremblay"
  slack     = "U01ALICE"
  email     = "alice.tremblay@northwind.example"
  pagerduty = "PA1T7QX"
}

person "bob" {
  name      = "Bob Okafor"
  slack     = "U01BOB"
  email     = "bob.okafor@northwind.example"
  pagerduty = "PB0K4ZR"
}

person "noah" {
  name  = "Noah Fischer"
  slack = "U01NOAH"
  email = "noah.fischer@northwind.example"
}

# --- OT operations and control engineering -------------------------------------

person "carol" {
  name      = "Carol Nguyen"
  slack     = "U01CAROL"
  email     = "carol.nguyen@northwind.example"
  pagerduty = "PC4NG91"
}

person "dmitri" {
  name      = "Dmitri Volkov"
  slack     = "U01DMITRI"
  email     = "dmitri.volkov@northwind.example"
  pagerduty = "PD7VLK2"
}

person "erin" {
  name  = "Erin Walsh"
  slack = "U01ERIN"
  email = "erin.walsh@northwind.example"
}

person "olga" {
  name      = "Olga Petrova"
  slack     = "U01OLGA"
  email     = "olga.petrova@northwind.example"
  pagerduty = "PO3PTV8"
}

# --- Plant operations ----------------------------------------------------------

person "farid" {
  name      = "Farid Haddad"
  slack     = "U01FARID"
  email     = "farid.haddad@northwind.example"
  pagerduty = "PF5HDD3"
}

person "grace" {
  name      = "Grace Lindqvist"
  slack     = "U01GRACE"
  email     = "grace.lindqvist@northwind.example"
  pagerduty = "PG2LQV6"
}

person "maria" {
  name      = "Maria Santos"
  slack     = "U01MARIA"
  email     = "maria.santos@northwind.example"
  pagerduty = "PM8STS4"
}

# --- IT security and compliance ------------------------------------------------

person "hiro" {
  name      = "Hiro Tanaka"
  slack     = "U01HIRO"
  email     = "hiro.tanaka@northwind.example"
  pagerduty = "PH6TNK1"
}

person "ines" {
  name      = "Ines Moreau"
  slack     = "U01INES"
  email     = "ines.moreau@northwind.example"
  pagerduty = "PI9MRU5"
}

person "jamal" {
  name      = "Jamal Carter"
  slack     = "U01JAMAL"
  email     = "jamal.carter@northwind.example"
  pagerduty = "PJ4CRT7"
}

person "kate" {
  name  = "Kate Robertson"
  slack = "U01KATE"
  email = "kate.robertson@northwind.example"
}

# --- Rosters -------------------------------------------------------------------

roster "process_safety" {
  description = "Process-safety engineers, plant 3 and compressor station 7"
  members     = [person.alice, person.bob, person.noah]
}

roster "ot_operations" {
  description = "Control engineers who run the plant 3 DCS, PLCs and OT network"
  members     = [person.dmitri, person.erin, person.olga]
}

roster "ot_oncall" {
  description = "OT on-call rotation (control engineers), 24/7"
  members     = [person.dmitri, person.olga]
}

roster "ot_lead" {
  description = "Control systems lead and deputy; owners of OT remote access"
  members     = [person.carol, person.dmitri]
}

roster "shift_supervisor" {
  description = "Plant 3 shift supervisors (control room); may break glass"
  members     = [person.farid, person.grace]
}

roster "soc_oncall" {
  description = "Security operations centre on-call analysts"
  members     = [person.hiro, person.ines]
}

roster "it_security" {
  description = "IT security: manager and senior analyst; owners of identity and perimeter"
  members     = [person.jamal, person.ines]
}

roster "compliance" {
  description = "CIP compliance manager and CIP Senior Manager delegate (regulator notifications)"
  members     = [person.kate, person.maria]
}

# --- Escalation ladders --------------------------------------------------------

escalation "ot_engineering" {
  tier {
    notify     = [roster.ot_oncall]
    ack_within = "5m"
  }
  tier {
    notify     = [roster.ot_lead, roster.shift_supervisor]
    ack_within = "10m"
  }
  repeat = 1
}

escalation "plant_management" {
  tier {
    notify     = [roster.shift_supervisor]
    ack_within = "5m"
  }
  tier {
    notify     = [person.maria, roster.ot_lead]
    ack_within = "10m"
  }
  repeat = 2
}

escalation "security_operations" {
  tier {
    notify     = [roster.soc_oncall]
    ack_within = "5m"
  }
  tier {
    notify     = [person.jamal]
    ack_within = "10m"
  }
  repeat = 1
}
