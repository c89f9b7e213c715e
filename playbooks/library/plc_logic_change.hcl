playbook "plc_logic_change" {
  title    = "Unauthorized logic change on plant 3 unit PLC (PLC-301)"
  severity = "sev1"
  tags     = ["plc", "logic-change", "integrity", "ot", "plant3", "iec-62443", "nerc-cip-008"]

  description = <<-EOT
    OT network monitoring saw a program download, online edit or mode change on
    PLC-301 (plant 3 inlet compression) with no approved management-of-change
    (MOC) record. Read the keyswitch register before touching the network,
    decide on that reading, isolate the control network with a safety sign-off,
    let the process settle, re-read, and have a control engineer compare the
    running logic against the golden copy before anything is reconnected.
  EOT

  input "change_summary" {
    type        = string
    description = "What the OT monitoring reported, e.g. \"program download to PLC-301 from 10.30.2.41\""
  }

  input "source_host" {
    type        = string
    default     = "unknown"
    description = "Host that made the change, if the monitoring named one"
  }

  step "open_room" {
    action = "slack.open_channel"
    with = {
      name   = incident.id # INC-20261201-4F2A opens #inc-20261201-4f2a
      invite = [roster.ot_oncall, roster.shift_supervisor, roster.soc_oncall]
      topic  = "Unauthorized logic change on PLC-301: ${input.change_summary}"
    }
  }

  page "control_engineer" {
    escalation = escalation.ot_engineering
    message    = "Unauthorized logic change on PLC-301 (${input.change_summary}, from ${input.source_host}). Join the incident channel."
    needs      = [step.open_room]
  }

  # Holding register 40010 on PLC-301 mirrors the CPU keyswitch:
  # 1 = RUN (locked), 2 = REMOTE, 3 = PROGRAM.
  step "read_mode" {
    description = "Read the keyswitch position before any network change."
    action      = "modbus.read"
    with = {
      integration = "modbus.plant3_plc"
      register    = 40010
    }
    timeout = "30s"
    retry {
      attempts = 3
      backoff  = "5s"
    }
  }

  decision "reading" {
    ask      = [roster.ot_oncall, roster.shift_supervisor]
    question = format("PLC-301 keyswitch register reads %d (1 = RUN, 2 = REMOTE, 3 = PROGRAM). In REMOTE or PROGRAM it accepts downloads. Isolate the control network, keep monitoring, or close as a false positive (change matches an MOC)?", step.read_mode.output.value)
    options  = ["isolate", "monitor", "false_positive"]
    timeout  = "15m"
    default  = "isolate"
    needs    = [page.control_engineer]
  }

  approval "isolate_ok" {
    description = "Safety sign-off, asked only when the decision is to isolate."
    kind        = "safety"
    covers      = [zone.plant3_control]
    prompt      = "Isolate the plant 3 control network? Engineering workstations outside the plant lose access to PLC-301; operators keep local HMI control and SIS status. Ask the board operator to put PLC-301 keyswitch to RUN first if it is not."
    timeout     = "10m"
    on_timeout  = escalation.plant_management
    when        = decision.reading.choice == "isolate"
    needs       = [decision.reading]
  }

  step "isolate" {
    action = "ot.isolate_zone"
    with = {
      zone   = zone.plant3_control
      reason = format("Unauthorized logic change on PLC-301: %s", input.change_summary)
    }
    timeout = "2m"
    when    = decision.reading.choice == "isolate"
    needs   = [approval.isolate_ok]
  }

  wait "settle" {
    description = "Give the process ten minutes on islanded operation before re-reading the controller."
    duration    = "10m"
    needs       = [step.isolate]
  }

  step "reread_mode" {
    action = "modbus.read"
    with = {
      integration = "modbus.plant3_plc"
      register    = 40010
    }
    timeout = "30s"
    needs   = [wait.settle]
  }

  notify "mode_after" {
    message = "PLC-301 keyswitch register now reads ${step.reread_mode.output.value} (was ${step.read_mode.output.value}); control network isolated since ${step.isolate.finished_at}."
  }

  task "compare_logic" {
    assign       = roster.ot_operations
    instructions = "From the local engineering workstation EWS-301 (not a remote session), upload the running program from PLC-301 and compare it with the golden copy in the MOC vault. Record every difference, online edit, forced I/O and changed setpoint in the channel. Download nothing until the MOC board approves."
    timeout      = "2h"
    on_timeout   = escalation.ot_engineering
    when         = decision.reading.choice != "false_positive"
  }

  notify "false_positive" {
    when    = decision.reading.choice == "false_positive"
    message = "PLC-301 change closed as a false positive (matches an approved MOC). Attach the MOC number to the incident record."
  }

  decision "reconnect" {
    ask      = [roster.ot_lead]
    question = "PLC-301 logic compared with the golden copy. Reconnect the plant 3 control network?"
    options  = ["reconnect", "stay_isolated"]
    timeout  = "4h"
    default  = "stay_isolated"
    needs    = [task.compare_logic, step.isolate]
  }

  # One condition guards the restore's sign-off and the restore itself, so
  # the two cannot drift apart.
  condition "reconnect_chosen" {
    when = decision.reconnect.choice == "reconnect"
  }

  approval "restore_ok" {
    description   = "Reconnection needs its own sign-off, from people other than those who signed the isolation."
    kind          = "safety"
    covers        = [zone.plant3_control]
    for           = [step.restore]
    distinct_from = [approval.isolate_ok]
    prompt        = "Reconnect the plant 3 control network to the DMZ? PLC-301 logic has been verified against the golden copy."
    timeout       = "30m"
    on_timeout    = escalation.plant_management
    when          = condition.reconnect_chosen
  }

  step "restore" {
    action = "ot.restore_zone"
    with = {
      zone   = zone.plant3_control
      reason = "PLC-301 logic verified against golden copy"
    }
    when  = condition.reconnect_chosen
    needs = [approval.restore_ok]
  }
}
