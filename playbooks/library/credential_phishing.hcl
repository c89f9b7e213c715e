playbook "credential_phishing" {
  title    = "Credential phishing: corporate account compromised"
  severity = "sev3"
  tags     = ["phishing", "identity", "it"]

  description = <<-EOT
    A user entered credentials on a phishing page, or sign-in telemetry shows a
    stolen session. IT only: open a PagerDuty alert, contain the workstation
    through the EDR, reset the account, and decide whether the account could
    reach plant remote access. If it could, the OT on-call and OT lead are told
    so they can run vendor_remote_access_compromise or plc_logic_change; this
    playbook itself touches no OT system.
  EOT

  input "user" {
    type        = string
    description = "Compromised account, e.g. jdoe@northwind.example"
  }

  input "host" {
    type        = string
    description = "Workstation where the link was opened, e.g. lt-cal-0412"
  }

  input "reported_by" {
    type        = string
    default     = "Report Phish button"
    description = "How the incident came in (user report, mail gateway, sign-in risk alert)"
  }

  step "alert" {
    action = "pagerduty.trigger"
    with = {
      summary     = format("Credential phishing: %s on %s (via %s)", input.user, input.host, input.reported_by)
      severity    = "error"
      integration = "pagerduty.default"
    }
  }

  step "contain_host" {
    description = "A laptop that is off-network will be contained when it next checks in; do not hold up the reset."
    action      = "edr.contain_host"
    with = {
      host        = input.host
      integration = "webhook.edr"
    }
    timeout = "2m"
    retry {
      attempts = 3
      backoff  = "15s"
    }
    on_failure = "continue"
  }

  step "post" {
    action = "slack.post"
    with = {
      channel = "soc-alerts"
      text    = "*Credential phishing* `${input.user}` on `${input.host}` (via ${input.reported_by}). PagerDuty key `${step.alert.output.dedup_key}`. EDR containment requested; credential reset assigned to IT security."
    }
  }

  task "reset_credentials" {
    assign       = roster.it_security
    instructions = "For ${input.user}: reset the password, revoke all sessions and refresh tokens, re-register MFA after a call-back on the number in the HR record, remove inbox forwarding or rules created in the last 14 days, and purge the phishing message from every mailbox."
    timeout      = "1h"
    on_timeout   = escalation.security_operations
    needs        = [step.post]
  }

  decision "scope" {
    ask      = [roster.soc_oncall]
    question = "Could ${input.user} reach plant remote access (VPN to the plant 3 DMZ jump hosts) or any OT system, directly or through saved credentials?"
    options  = ["it_only", "ot_access_possible"]
    timeout  = "2h"
    default  = "ot_access_possible"
    needs    = [step.post]
  }

  notify "ot_heads_up" {
    to      = [roster.ot_oncall, roster.ot_lead]
    when    = decision.scope.choice == "ot_access_possible"
    message = "Heads-up from the SOC: ${input.user} was phished and may have had plant remote access. Credentials are being reset; review jump-host logins for this account and consider vendor_remote_access_compromise."
  }

  step "resolve" {
    action = "pagerduty.resolve"
    with = {
      dedup_key   = step.alert.output.dedup_key
      integration = "pagerduty.default"
    }
    needs = [task.reset_credentials, decision.scope, step.contain_host]
  }
}
