package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// The end-to-end playbooks are self-contained (people, plant, safety policy
// and playbooks in one directory), so a change to the shipped library cannot
// change what these tests mean. `firebreak validate` and `firebreak fmt
// -check` pass on both directories.

// siteHCL declares the people, rosters, plant and integrations every test
// directory shares.
const siteHCL = `# People, plant and integrations shared by the end-to-end playbooks.

person "alice" { slack = "U01ALICE" }
person "bob" { slack = "U01BOB" }
person "noah" { slack = "U01NOAH" }
person "dmitri" { slack = "U01DMITRI" }
person "erin" { slack = "U01ERIN" }
person "olga" { slack = "U01OLGA" }
person "farid" { slack = "U01FARID" }
person "grace" { slack = "U01GRACE" }
person "hiro" { slack = "U01HIRO" }

roster "process_safety" { members = [person.alice, person.bob, person.noah] }
roster "ot_operations" { members = [person.dmitri, person.erin, person.olga] }
roster "shift_supervisor" { members = [person.farid, person.grace] }
roster "soc" { members = [person.hiro] }

escalation "oncall" {
  tier {
    notify     = [roster.ot_operations]
    ack_within = "10m"
  }
}

# Simulated: these tests count effects in the simulation journal. The
# netns tests make the enforcement point real in namespaces of their own.
integration "nftables" "cell_gw" {
  simulate = true
  netns    = "cell-gw"
}

integration "webhook" "edr" {
  simulate = true
  url      = "https://edr.example/contain"
}

zone "it" { networks = ["10.1.0.0/16"] }
zone "dmz" { networks = ["10.2.0.0/24"] }
zone "cell_control" { networks = ["10.3.0.0/24"] }
zone "cell_sis" { networks = ["10.4.0.0/24"] }

conduit "it_to_cell" {
  from        = zone.it
  to          = zone.cell_control
  enforcement = "nftables.cell_gw"
}

conduit "dmz_to_cell" {
  from        = zone.dmz
  to          = zone.cell_control
  enforcement = "nftables.cell_gw"
}

conduit "sis_to_cell" {
  from                   = zone.cell_sis
  to                     = zone.cell_control
  enforcement            = "nftables.cell_gw"
  keep_open_on_isolation = true
}
`

// cutConduits are the conduits isolating zone.cell_control cuts (and
// restoring it reopens); sis_to_cell stays open.
var cutConduits = []string{"dmz_to_cell", "it_to_cell"}

// safetyHCL is the policy of the main directory: one person from each
// sign-off roster, never the initiator, no freshness limit; shift
// supervisors may break glass with a reason.
const safetyHCL = `safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
  }
  break_glass {
    rosters        = [roster.shift_supervisor]
    require_reason = true
  }
}
`

// playbooksHCL are the playbooks of the main directory.
const playbooksHCL = `# The smallest sign-off: approve, then isolate.
playbook "isolate_cell" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    prompt = "Isolate the cell control network?"
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.cell_control, reason = "e2e ${incident.id}" }
    timeout = "5s"
    needs   = [approval.isolate_ok]
  }
}

# The sign-off opens when a timer fires, so a test can hold back the worker
# until the timer has fired and deliver an answer with that event.
playbook "timed_signoff" {
  wait "settle" {
    duration = "2s"
  }

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    prompt = "Isolate the cell control network?"
    needs  = [wait.settle]
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.cell_control, reason = "e2e ${incident.id}" }
    timeout = "5s"
    needs   = [approval.isolate_ok]
  }
}

# Every kind of step and answer, for the crash drills. Action timeouts are
# short so an activity lost with a killed worker is retried soon, and there
# are many attempts: an attempt lost with a killed worker times out and
# counts as a failed attempt.
playbook "crash_drill" {
  input "hosts" {
    type    = list(string)
    default = ["ws-1", "ws-2"]
  }

  step "open_room" {
    action  = "slack.open_channel"
    with    = { name = "inc-${lower(incident.id)}" }
    timeout = "3s"
    retry {
      attempts = 20
      backoff  = "100ms"
    }
  }

  step "contain" {
    action   = "edr.contain_host"
    for_each = input.hosts
    with     = { host = each.value, integration = "webhook.edr" }
    timeout  = "3s"
    retry {
      attempts = 20
      backoff  = "100ms"
    }
  }

  page "oncall" {
    escalation = escalation.oncall
    message    = "Drill ${incident.id}: join the room"
    needs      = [step.open_room]
  }

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    prompt = "Isolate the cell control network?"
    needs  = [page.oncall, step.contain]
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.cell_control, reason = "drill ${incident.id}" }
    timeout = "3s"
    needs   = [approval.isolate_ok]
    retry {
      attempts = 20
      backoff  = "100ms"
    }
  }

  notify "isolated" {
    message = "Cut: ${join(", ", step.isolate.output.conduits_cut)}"
    needs   = [step.isolate]
  }

  task "verify" {
    assign       = roster.shift_supervisor
    instructions = "Check the cell runs islanded."
    needs        = [step.isolate]
  }

  decision "reconnect" {
    ask      = [roster.ot_operations]
    question = "Reconnect?"
    options  = ["reconnect", "stay_isolated"]
    needs    = [task.verify]
  }

  approval "restore_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    for    = [step.restore]
    prompt = "Reconnect the cell control network?"
    when   = decision.reconnect.choice == "reconnect"
    needs  = [decision.reconnect]
  }

  step "restore" {
    action  = "ot.restore_zone"
    with    = { zone = zone.cell_control, reason = "drill over" }
    timeout = "3s"
    when    = decision.reconnect.choice == "reconnect"
    needs   = [approval.restore_ok]
    retry {
      attempts = 20
      backoff  = "100ms"
    }
  }
}
`

// staleSafetyHCL is the policy of the stale directory: a sign-off is fresh
// for two seconds only.
const staleSafetyHCL = `safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
    valid_for         = "2s"
  }
}
`

// stalePlaybookHCL waits longer than valid_for between the sign-off and the
// isolation, so guard two finds the sign-off stale and asks again.
const stalePlaybookHCL = `# The sign-off goes stale during the wait, so the isolation asks again.
playbook "stale_signoff" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.cell_control]
    prompt = "Isolate the cell control network?"
  }

  wait "settle" {
    duration = "3s"
    needs    = [approval.isolate_ok]
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.cell_control, reason = "e2e ${incident.id}" }
    timeout = "5s"
    needs   = [wait.settle]
  }
}
`

// playbookDir writes the main playbook directory and returns it.
func playbookDir(t *testing.T) string {
	return writeDir(t, map[string]string{"site.hcl": siteHCL, "safety.hcl": safetyHCL, "playbooks.hcl": playbooksHCL})
}

// stalePlaybookDir writes the directory with the short-lived sign-off.
func stalePlaybookDir(t *testing.T) string {
	return writeDir(t, map[string]string{"site.hcl": siteHCL, "safety.hcl": staleSafetyHCL, "playbooks.hcl": stalePlaybookHCL})
}

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
