# Tabletop exercise for the plant 3 ransomware playbook (annual CIP-008 R2
# test / IEC 62443-2-1 exercise). Every actuator is a simulated twin.
#
# Scenario: ransomware spreads from a corporate file share to an engineering
# workstation in the plant 3 DMZ. The OT on-call is paged, the sign-off is
# collected, plant 3 runs islanded, compliance reports, and the DMZ is cleared
# and reconnected. The OT lead (carol) is unreachable, so if neither on-call
# engineer acknowledges within 5 minutes the page climbs past her.

exercise "plant3_ransomware_ttx" {
  playbook = playbook.ot_ransomware_containment
  # The SOC on-call analyst opens the incident from the EDR alert; being in
  # no sign-off roster, the exclusion of the initiator costs no approver.
  commander = person.hiro
  inputs = {
    zone  = "plant3_dmz"
    hosts = ["ws-eng-07", "hist-dmz-01"]
  }

  objective "contain" {
    description = "Plant 3 control network isolated within 30 minutes of first alert"
    within      = "30m"
    of          = step.isolate
  }

  objective "report" {
    description = "Regulator notification task closed within 1 hour (CIP-008-6 R4)"
    within      = "1h"
    of          = task.call_regulator
  }

  inject "first_alert" {
    at      = "0m"
    message = "EDR: ransom note and mass file renames on WS-ENG-07 in the plant 3 DMZ"
  }

  inject "historian" {
    at      = "5m"
    message = "HIST-DMZ-01 stops replicating; its console shows an encryption banner"
  }

  inject "hmi_freeze" {
    at      = "12m"
    message = "Control room reports two plant 3 HMIs freezing for several seconds at a time"
  }

  inject "gas_control_call" {
    at      = "25m"
    message = "Gas control phones: plant 3 custody-transfer metering data has stopped. Is the plant still delivering?"
  }

  inject "media_enquiry" {
    at      = "50m"
    message = "A local reporter asks the plant gatehouse whether Northwind has been hacked"
  }

  # OT on-call: the first to acknowledge the page.
  responder "olga" {
    acknowledges_after = "uniform(1m,8m)"
    answers {
      decision = decision.reconnect
      with     = "reconnect"
      after    = "45m"
    }
  }

  responder "dmitri" {
    acknowledges_after = "lognormal(4m,0.5)"
    answers {
      approval = approval.isolate_ok
      with     = "approve"
      after    = "4m"
    }
  }

  # Process safety: signs the isolation.
  responder "alice" {
    acknowledges_after = "3m"
    answers {
      approval = approval.isolate_ok
      with     = "approve"
      after    = "6m"
    }
  }

  # Reconnection sign-off comes from a different pair.
  responder "bob" {
    answers {
      approval = approval.restore_ok
      with     = "approve"
      after    = "8m"
    }
  }

  responder "erin" {
    answers {
      approval = approval.restore_ok
      with     = "approve"
      after    = "5m"
    }
  }

  responder "grace" {
    answers {
      task  = task.verify_islanded
      with  = "done"
      after = "10m"
    }
  }

  responder "kate" {
    answers {
      task  = task.call_regulator
      with  = "done"
      after = "20m"
    }
  }

  responder "carol" {
    unavailable = true
  }
}

# Second rehearsal of the same playbook: the plant is not safe to isolate.
#
# Scenario: as in plant3_ransomware_ttx, but while the sign-off is being
# collected the control room starts a pig launch on the plant 3 inlet line, so
# the unit PLC leaves steady state (register 40001 reads 0) and the isolation
# is refused as PlantNotSafe: nothing is cut. The EDR also loses the historian
# replica, so its containment is not confirmed. The team rehearses holding the
# threat at the DMZ without islanding the plant: the containment objective is
# expected to be missed, and the regulator is still notified in time.

exercise "plant3_not_safe_ttx" {
  playbook    = playbook.ot_ransomware_containment
  commander   = person.hiro
  description = "The plant 3 isolation is refused: a pig launch takes the unit PLC out of steady state during the sign-off"
  inputs = {
    zone  = "plant3_dmz"
    hosts = ["ws-eng-07", "hist-dmz-01"]
  }

  objective "contain" {
    description = "Plant 3 control network isolated within 30 minutes of first alert"
    within      = "30m"
    of          = step.isolate
  }

  objective "report" {
    description = "Regulator notification task closed within 1 hour (CIP-008-6 R4)"
    within      = "1h"
    of          = task.call_regulator
  }

  inject "first_alert" {
    at           = "0m"
    message      = "EDR: ransom note on WS-ENG-07; the EDR console has lost its agent on HIST-DMZ-01"
    edr_contains = { "hist-dmz-01" = false }
  }

  inject "pig_launch" {
    at           = "10m"
    message      = "Control room: a pig launch has started on the plant 3 inlet line; the unit PLC leaves steady state"
    set_register = { integration = "modbus.plant3_plc", register = 40001, value = 0 }
  }

  responder "olga" {
    acknowledges_after = "2m"
  }

  # The sign-off is slow: both approvals come after the pig launch began.
  responder "dmitri" {
    answers {
      approval = approval.isolate_ok
      with     = "approve"
      after    = "9m"
    }
  }

  responder "alice" {
    answers {
      approval = approval.isolate_ok
      with     = "approve"
      after    = "9m30s"
    }
  }

  responder "kate" {
    answers {
      task  = task.call_regulator
      with  = "done"
      after = "20m"
    }
  }

  responder "carol" {
    unavailable = true
  }
}
