playbook "vendor_remote_access_compromise" {
  title    = "Compromised vendor remote access into plant 3"
  severity = "sev2"
  tags     = ["vendor", "remote-access", "supply-chain", "ot", "plant3", "iec-62443"]

  description = <<-EOT
    A vendor's remote-support account or VPN endpoint is suspected compromised
    (unexpected session, impossible travel, vendor breach notice). With IT
    security and OT lead agreeing, revoke the vendor at the perimeter firewall;
    with a safety sign-off, cut the vendor conduit into the plant 3 DMZ. Then
    review what the session touched and decide whether the control network is
    in scope (CIP-005 interactive remote access, IEC 62443-2-4 service providers).
  EOT

  input "vendor" {
    type        = string
    description = "Vendor name as in the remote-access register, e.g. \"Acme Controls (DCS support)\""
  }

  input "account" {
    type        = string
    description = "Vendor remote-access account that is suspected compromised"
  }

  input "source_ip" {
    type        = string
    default     = "unknown"
    description = "Source address of the suspicious session, if known"
  }

  step "open_room" {
    action = "slack.open_channel"
    with = {
      name   = incident.id # INC-20261201-4F2A opens #inc-20261201-4f2a
      invite = [roster.soc_oncall, roster.it_security, roster.ot_oncall, roster.ot_lead]
      topic  = "Vendor remote access compromise: ${input.vendor} (${input.account})"
    }
  }

  page "ot_engineer" {
    escalation = escalation.ot_engineering
    message    = "Suspected compromise of ${input.vendor} remote access (account ${input.account}, from ${input.source_ip}). Join the incident channel."
    needs      = [step.open_room]
  }

  approval "cut_vendor" {
    description       = "Two-person rule: one from IT security and one from the OT lead roster."
    kind              = "standard"
    approvers         = [roster.it_security, roster.ot_lead]
    one_from_each     = true
    exclude_initiator = true
    prompt            = "Revoke ${input.vendor} remote access (account ${input.account}) at the perimeter firewall and cut the vendor conduit? Vendor support for the plant 3 DCS is unavailable until restored."
    timeout           = "15m"
    on_timeout        = escalation.security_operations
    needs             = [step.open_room]
  }

  step "revoke_at_firewall" {
    description = "Block the vendor account and source at the firewall that terminates the vendor VPN."
    action      = "webhook.post"
    with = {
      integration = "webhook.fw_vendor"
      body = {
        action    = "block"
        vendor    = input.vendor
        account   = input.account
        source_ip = input.source_ip
        incident  = incident.id
        exercise  = incident.exercise
      }
    }
    timeout = "1m"
    retry {
      attempts = 3
      backoff  = "15s"
    }
    needs = [approval.cut_vendor]
  }

  approval "block_ok" {
    description = "Safety sign-off for cutting the vendor conduit (protected zone: plant 3 DMZ)."
    kind        = "safety"
    covers      = [zone.plant3_dmz]
    prompt      = "Cut the vendor remote-support conduit into the plant 3 DMZ? Confirm no vendor-assisted work is in progress (live controller edits, tuning, SIS bypass) that would be left half-done."
    timeout     = "10m"
    on_timeout  = escalation.plant_management
    needs       = [approval.cut_vendor, page.ot_engineer]
  }

  step "block_conduit" {
    action = "ot.block_conduit"
    with = {
      conduit = conduit.vendor_remote_support
      reason  = format("Suspected compromise of %s account %s", input.vendor, input.account)
    }
    timeout = "2m"
    needs   = [approval.block_ok]
  }

  notify "blocked" {
    message = "Vendor conduit cut at ${step.block_conduit.output.enforcement} (${step.block_conduit.finished_at}); firewall answered HTTP ${step.revoke_at_firewall.output.status}."
    needs   = [step.block_conduit, step.revoke_at_firewall]
  }

  task "call_vendor" {
    assign       = roster.ot_lead
    instructions = "Call the security contact of ${input.vendor} on the number in the service contract (not one from any recent e-mail). Ask whether ${input.account} was in use by them, whether they have had a breach, and which of their other customers' connections are affected. Record the answers in the channel."
    timeout      = "1h"
    on_timeout   = escalation.plant_management
    needs        = [step.revoke_at_firewall]
  }

  task "review_sessions" {
    assign       = roster.ot_operations
    instructions = "Review the jump-host session recordings and logs for ${input.account} over the last 30 days. List every HMI, engineering workstation and controller it reached; look for new accounts, scheduled tasks, project-file changes and logic downloads."
    timeout      = "2h"
    on_timeout   = escalation.ot_engineering
    needs        = [step.block_conduit]
  }

  decision "scope" {
    ask      = [roster.ot_lead]
    question = "Did the ${input.vendor} session reach the plant 3 control network (Level 2 or below)?"
    options  = ["dmz_only", "reached_control", "unknown"]
    timeout  = "1h"
    default  = "unknown"
    needs    = [task.review_sessions]
  }

  notify "escalate_scope" {
    when    = decision.scope.choice != "dmz_only"
    message = "Vendor session scope is '${decision.scope.choice}': the incident commander should launch plc_logic_change or ot_ransomware_containment for the plant 3 control network."
  }
}
