# A drill that spans more than six hours on the exercise clock (whatever the
# seed draws), for BenchmarkSixHourScenario and `firebreak bench`: a ladder that climbs past an absent and a late
# responder, long waits, a sign-off that times out and escalates before a
# late approval, a decision nobody takes (its default applies after two
# hours), a register an inject changes, and a late report.

person "ann" { slack = "U01ANN" }
person "ben" { slack = "U01BEN" }
person "cat" { slack = "U01CAT" }
person "dan" { slack = "U01DAN" }
person "eve" { slack = "U01EVE" }
person "fay" { slack = "U01FAY" }
person "gus" { slack = "U01GUS" }

roster "l1" { members = [person.ann] }
roster "l2" { members = [person.ben] }
roster "l3" { members = [person.cat] }
roster "ops" { members = [person.dan, person.eve] }
roster "leads" { members = [person.fay] }

escalation "ladder" {
  repeat = 1
  tier {
    notify     = [roster.l1]
    ack_within = "30m"
  }
  tier {
    notify     = [roster.l2]
    ack_within = "30m"
  }
  tier {
    notify     = [roster.l3]
    ack_within = "30m"
  }
}

escalation "leads" {
  tier {
    notify     = [roster.leads]
    ack_within = "20m"
  }
}

integration "modbus" "plc" {
  simulate = true
  address  = "10.0.0.10:502"
}

playbook "long_drill" {
  title     = "Long drill"
  may_start = [person.gus]

  page "first" {
    escalation = escalation.ladder
    message    = "Drill: suspicious logins on the historian"
  }

  wait "observe" {
    duration = "1h"
    needs    = [page.first]
  }

  approval "go" {
    prompt     = "Take the historian off the network?"
    approvers  = [roster.ops]
    timeout    = "30m"
    on_timeout = escalation.leads
    needs      = [wait.observe]
  }

  step "read_plc" {
    action = "modbus.read"
    with = {
      integration = "modbus.plc"
      register    = 40001
    }
    needs = [approval.go]
  }

  decision "next" {
    ask      = [roster.l2]
    question = "PLC register 40001 reads ${step.read_plc.output.value}. Rebuild the historian now or hold?"
    options  = ["rebuild", "hold"]
    timeout  = "2h"
    default  = "hold"
    needs    = [step.read_plc]
  }

  task "report" {
    assign       = roster.l3
    instructions = "Write the drill report."
    timeout      = "1h"
    needs        = [decision.next]
  }

  wait "cooldown" {
    duration = "1h"
    needs    = [task.report]
  }

  notify "over" {
    to      = [roster.ops]
    message = "Drill over: ${decision.next.choice}"
    needs   = [wait.cooldown]
  }
}

exercise "six_hour_drill" {
  playbook  = playbook.long_drill
  commander = person.gus

  objective "ack" {
    within = "30m"
    of     = page.first
  }

  objective "report" {
    within = "6h"
    of     = task.report
  }

  inject "alert" {
    at      = "0m"
    message = "SIEM: impossible-travel logins on the historian service account"
  }

  inject "plc_mode" {
    at           = "2h"
    message      = "The PLC is switched to maintenance mode"
    set_register = { integration = "modbus.plc", register = 40001, value = 3 }
  }

  inject "press" {
    at      = "5h"
    message = "A journalist asks about the outage"
  }

  inject "wrap_up" {
    at      = "6h30m"
    message = "Facilitator: drill ends when the report is in"
  }

  responder "ann" { unavailable = true }

  # Late: acknowledges 45 minutes after the page, past his tier.
  responder "ben" { acknowledges_after = "uniform(40m,50m)" }

  responder "cat" {
    acknowledges_after = "lognormal(20m,0.4)"
    answers {
      task  = task.report
      with  = "done"
      after = "uniform(30m,50m)"
    }
  }

  # Answers the sign-off after it timed out and escalated.
  responder "dan" {
    answers {
      approval = approval.go
      with     = "approve"
      after    = "lognormal(45m,0.3)"
    }
  }
}
