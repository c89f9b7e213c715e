playbook "ot_ransomware_containment" {
  title    = "Ransomware moving from IT toward the plant 3 control network"
  severity = "sev1"
  tags     = ["ransomware", "ot", "plant3", "iec-62443", "nerc-cip-008"]

  description = <<-EOT
    Ransomware or its precursors (ransom note, mass encryption, credential
    dumping) seen in corporate IT or the plant 3 DMZ. Contain the affected hosts
    through the EDR, page OT engineering, and, with a process-safety and an OT
    operations sign-off, isolate the plant 3 control network so the plant runs
    islanded on local HMI control. SIS status to the HMIs stays up. Reconnection
    needs its own safety sign-off. Covers CIP-008 response and reporting steps.
  EOT

  input "zone" {
    type        = string
    description = "Zone where the indicators were seen, e.g. plant3_dmz or corp_it"
  }

  input "hosts" {
    type        = list(string)
    default     = []
    description = "Hosts to network-contain through the EDR, e.g. [\"ws-eng-07\"]"
  }

  step "open_room" {
    action = "slack.open_channel"
    with = {
      name   = incident.id # INC-20261201-4F2A opens #inc-20261201-4f2a
      invite = [roster.soc_oncall, roster.ot_oncall, roster.shift_supervisor]
      topic  = "SEV1 ransomware near plant 3 (seen in ${input.zone})"
    }
  }

  step "contain_hosts" {
    description = "Contain every reported host at once; a host the EDR cannot reach does not hold up the rest."
    action      = "edr.contain_host"
    for_each    = input.hosts
    with = {
      host        = each.value
      integration = "webhook.edr"
    }
    timeout = "2m"
    retry {
      attempts = 3
      backoff  = "10s"
    }
    on_failure = "continue"
  }

  page "ot_engineer" {
    escalation = escalation.ot_engineering
    message    = "SEV1: ransomware indicators in ${input.zone}, ${length(input.hosts)} host(s) being contained. Plant 3 isolation may be needed; join the incident channel."
    needs      = [step.open_room]
  }

  approval "isolate_ok" {
    description = "Safety sign-off: one process-safety engineer and one OT operations engineer."
    kind        = "safety"
    covers      = [zone.plant3_control]
    prompt      = "Isolate the plant 3 control network from the DMZ? The historian feed, remote engineering access and pipeline metering to gas control stop; the plant runs islanded on local HMI control. SIS status to the HMIs stays up."
    timeout     = "10m"
    on_timeout  = escalation.plant_management
    needs       = [page.ot_engineer]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with = {
      zone   = zone.plant3_control
      reason = format("Ransomware indicators in %s (incident %s)", input.zone, incident.id)
    }
    timeout = "2m"
    needs   = [approval.isolate_ok]
  }

  notify "isolated" {
    message = "Plant 3 control network isolated at ${step.isolate.finished_at}. Cut: ${join(", ", step.isolate.output.conduits_cut)}. Kept open: ${join(", ", step.isolate.output.conduits_kept)}."
    needs   = [step.isolate]
  }

  task "verify_islanded" {
    assign       = roster.shift_supervisor
    instructions = "Confirm plant 3 is stable on islanded operation: all HMIs responsive, SIS healthy with no bypasses or trips, no unexplained setpoint or mode changes. Tell gas control that metering data from plant 3 has stopped and agree manual reporting."
    timeout      = "30m"
    on_timeout   = escalation.plant_management
    needs        = [step.isolate]
  }

  decision "reconnect" {
    ask      = [roster.ot_oncall, roster.ot_lead]
    question = "Are the plant 3 DMZ and the contained hosts rebuilt or cleared, and is it safe to reconnect the control network?"
    options  = ["reconnect", "stay_isolated"]
    timeout  = "4h"
    default  = "stay_isolated"
    needs    = [task.verify_islanded]
  }

  # One condition guards the restore's sign-off and the restore itself, so
  # the two cannot drift apart.
  condition "reconnect_chosen" {
    when = decision.reconnect.choice == "reconnect"
  }

  approval "restore_ok" {
    description   = "Reconnection is safety-critical too and needs its own, fresh sign-off, from people other than those who signed the isolation."
    kind          = "safety"
    covers        = [zone.plant3_control]
    for           = [step.restore]
    distinct_from = [approval.isolate_ok]
    prompt        = "Reconnect the plant 3 control network to the DMZ? Historian, remote engineering and metering to gas control resume. Confirm operators are ready for the HMI data refresh."
    timeout       = "30m"
    on_timeout    = escalation.plant_management
    when          = condition.reconnect_chosen
    needs         = [decision.reconnect]
  }

  step "restore" {
    action = "ot.restore_zone"
    with = {
      zone   = zone.plant3_control
      reason = "DMZ cleared by OT on-call; reconnection signed off"
    }
    when  = condition.reconnect_chosen
    needs = [approval.restore_ok]
  }

  notify "restored" {
    message = "Plant 3 control network reconnected at ${step.restore.finished_at}. Reopened: ${join(", ", step.restore.output.conduits_restored)}."
    needs   = [step.restore]
  }

  task "call_regulator" {
    assign       = roster.compliance
    instructions = "If the CIP Senior Manager determines this is a Reportable Cyber Security Incident, make the initial notification to the E-ISAC and CISA within 1 hour of that determination (NERC CIP-008-6 R4). Record the determination time, who made it and the notification time in the incident channel for the evidence file."
    timeout      = "1h"
    on_timeout   = escalation.plant_management
    needs        = [step.open_room]
  }
}
