package e2e

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/nftables"
	"github.com/firebreak-ir/firebreak/integrations/nftables/netnstest"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/temporalenv"
	"github.com/firebreak-ir/firebreak/workflows"
)

// netnsDrillHCL are the playbooks of the netns crash test. netns_drill
// pages, takes the sign-off and isolates zone.ot, cutting two conduits
// (each a batch of rules of its own, so a kill can fall between them),
// and leaves it isolated; restore_ot reopens it once someone signs off.
// Action timeouts are short and retries many, so an attempt lost with a
// killed worker is tried again soon.
const netnsDrillHCL = `zone "dmz" { networks = ["10.232.9.0/24"] }

conduit "dmz_to_ot" {
  from        = zone.dmz
  to          = zone.ot
  enforcement = "nftables.gw"
}

playbook "netns_drill" {
  page "oncall" {
    escalation = escalation.oncall
    message    = "Drill ${incident.id}: isolate the OT network"
  }

  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.ot]
    prompt = "Isolate the OT network?"
    needs  = [page.oncall]
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.ot, reason = "drill ${incident.id}" }
    timeout = "3s"
    needs   = [approval.isolate_ok]
    retry {
      attempts = 30
      backoff  = "100ms"
    }
  }

  task "islanded" {
    assign       = roster.shift_supervisor
    instructions = "Check the plant runs islanded."
    needs        = [step.isolate]
  }
}

playbook "restore_ot" {
  approval "restore_ok" {
    kind   = "safety"
    covers = [zone.ot]
    prompt = "Reconnect the OT network?"
  }

  step "restore" {
    action  = "ot.restore_zone"
    with    = { zone = zone.ot, reason = "drill over" }
    timeout = "3s"
    needs   = [approval.restore_ok]
  }
}
`

// netnsDrillScript answers every prompt of netns_drill, in order.
var netnsDrillScript = []scripted{
	{workflows.UpdateAck, "page.oncall", "dmitri", ""},
	{workflows.UpdateApprove, "approval.isolate_ok", "alice", ""},
	{workflows.UpdateApprove, "approval.isolate_ok", "dmitri", ""},
	{workflows.UpdateDone, "task.islanded", "farid", ""},
}

// netnsDrillEvents are the timeline events netnsDrillScript leaves.
var netnsDrillEvents = []drillEvent{
	{workflows.EventAcknowledged, "page.oncall", "dmitri"},
	{workflows.EventApproved, "approval.isolate_ok", "alice"},
	{workflows.EventApproved, "approval.isolate_ok", "dmitri"},
	{workflows.EventTaskDone, "task.islanded", "farid"},
}

// netnsDrillRules are the rules one netns_drill incident leaves in the
// gateway: the cuts of both conduits into zone.ot, under the keys of that
// incident's isolation.
func netnsDrillRules(t *testing.T, top *netnstest.Topology, id string) []nftables.Rule {
	t.Helper()
	zones := map[string]activities.Zone{
		"it":  {ID: "it", Networks: []string{top.IT.Net, top.IT.Net6}},
		"dmz": {ID: "dmz", Networks: []string{"10.232.9.0/24"}},
		"ot":  {ID: "ot", Networks: []string{top.OT.Net, top.OT.Net6}},
	}
	var out []nftables.Rule
	for _, from := range []string{"dmz", "it"} {
		cid := from + "_to_ot"
		rs, err := nftables.Expected(activities.ConduitRequest{
			Key:         activities.Call{IncidentID: id, Step: "step.isolate"}.IdempotencyKey() + "/cut/" + cid,
			Conduit:     activities.Conduit{ID: cid, From: from, To: "ot", Enforcement: "nftables.gw"},
			From:        zones[from],
			To:          zones["ot"],
			Enforcement: "nftables.gw",
			Reason:      "drill " + id,
			IncidentID:  id,
			Step:        "step.isolate",
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	return out
}

// TestCrashKillWorkerNetns is the kill -9 crash test over real nftables
// in network namespaces: incidents isolate zone.ot through the adapter in
// the gateway namespace while a chaos loop kills the worker process at
// random moments, on a coin flip right after the gateway's ruleset
// changed (a rule change Temporal may not know of yet). Every incident
// must complete with every answer in its timeline, and the gateway's
// firebreak rules must then be exactly each incident's cuts, once each,
// compared rule by rule; the operators' own table is untouched. A restore
// afterwards leaves the gateway's whole ruleset as it was before the drill
// and lets traffic through again.
//
// FIREBREAK_CRASH_NETNS_RUNS sets the number of incidents (default 6, 3
// with -short), FIREBREAK_CRASH_NETNS_KILLS the number of kills (default
// 2 per incident, plus 4), FIREBREAK_CRASH_SEED the seed.
func TestCrashKillWorkerNetns(t *testing.T) {
	top := netnstest.New(t, "fbkill")
	defRuns := 6
	if testing.Short() {
		defRuns = 3
	}
	runs := envInt(t, "FIREBREAK_CRASH_NETNS_RUNS", defRuns)
	maxKills := envInt(t, "FIREBREAK_CRASH_NETNS_KILLS", 2*runs+4)
	seed, rng := chaosSeed(t)
	t.Logf("%d incidents, up to %d kills, seed %d (replay: FIREBREAK_CRASH_SEED=%d FIREBREAK_CRASH_NETNS_RUNS=%d FIREBREAK_CRASH_NETNS_KILLS=%d)",
		runs, maxKills, seed, seed, runs, maxKills)
	loadForeign(t, top.Gateway)
	theirs := foreignListing(t, top.Gateway)
	before := wholeRuleset(t, top.Gateway)
	dir := writeDir(t, map[string]string{"site.hcl": netnsSiteHCL(top, "", "", "", 0), "playbooks.hcl": netnsDrillHCL})
	look, err := nftables.New(nftables.Config{Netns: top.Gateway, ID: "nftables.gw"})
	if err != nil {
		t.Fatal(err)
	}

	dataDir := t.TempDir()
	journal := filepath.Join(dataDir, "simulation.jsonl")
	srv := startServer(t, devserver.Options{DataDir: dataDir})
	c := newClient(t, srv)
	w := newProc(t, "worker", "Worker running against", []string{"worker", "--dir", dir, "--accept-unattested", "--journal", journal},
		temporalenv.EnvAddress+"="+srv.Address(), temporalenv.EnvNamespace+"=default")
	w.start()
	spec := drillSpec{dir: dir, playbook: "netns_drill", commander: "ines", inputs: func(*drillRun) []string { return nil },
		script: netnsDrillScript, events: netnsDrillEvents}
	d := newDrillOf(t, c, spec, "NETKILL", runs, rng, 3*time.Minute+time.Duration(runs)*5*time.Second)

	// How many firebreak rules the gateway holds, read over netlink: the
	// chaos watches it for a change.
	count := func() int64 {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		rs, err := look.Rules(ctx)
		if err != nil {
			return -1
		}
		return int64(len(rs))
	}
	kills, onChange := 0, 0
	// The incidents start one per round of chaos, so the kills fall on
	// every phase of them, their isolations included.
	for kills < maxKills || d.started < runs {
		d.startNext()
		// A random moment 50-700ms after the worker is up or, on a coin
		// flip, the moment the gateway's rules next change (within 3s):
		// rule changes are few, so that wait is the longer one.
		delay := time.Duration(50+rng.IntN(651)) * time.Millisecond
		afterChange := rng.IntN(2) == 0
		if afterChange {
			delay = 3 * time.Second
		}
		changed, done := waitChaosOn(count, delay, afterChange, d.done)
		if done {
			break
		}
		if changed {
			onChange++
		}
		w.kill()
		kills++
		w.start()
	}
	chaosTime := time.Since(d.began)
	d.wait()
	t.Logf("incidents %d, kills %d (%d right after a rule change; %s of chaos, all done after %s), worker starts %d, answer retries %d",
		runs, kills, onChange, chaosTime.Round(time.Millisecond), time.Since(d.began).Round(time.Millisecond), w.starts, d.retries())

	var want []nftables.Rule
	for _, r := range d.runs {
		want = append(want, netnsDrillRules(t, top, r.id)...)
	}
	nftables.SortRules(want)
	got := netnsRules(t, look)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the gateway's firebreak rules after the drill (%d, want %d):\n got %s\nwant %s", len(got), len(want), showRules(got), showRules(want))
	}
	if got := foreignListing(t, top.Gateway); got != theirs {
		t.Errorf("the operators' own table changed:\n got %s\nwant %s", got, theirs)
	}
	checkPath(t, "isolated by the drill", top.IT, top.OT, false)
	checkPath(t, "isolated by the drill, keep-open conduit", top.Safety, top.OT, true)

	// Restore, with the worker left alone: nothing of firebreak's is left.
	const rid = "NETKILL-RESTORE"
	startIncident(t, c, dir, "restore_ot", "ines", rid)
	if _, err := respond(testContext(t, answerTimeout), c, rid, []scripted{
		{workflows.UpdateApprove, "approval.restore_ok", "alice", ""},
		{workflows.UpdateApprove, "approval.restore_ok", "dmitri", ""},
	}, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if st := waitState(t, c, rid, workflows.StateCompleted); stepOf(st, "step.restore").State != workflows.StepDone {
		t.Fatalf("restore: %+v", stepOf(st, "step.restore"))
	}
	if rs := netnsRules(t, look); len(rs) != 0 {
		t.Errorf("firebreak rules left after the restore: %s", showRules(rs))
	}
	if got := wholeRuleset(t, top.Gateway); got != before {
		t.Errorf("the gateway's ruleset after the restore is not what it was before the drill:\n got %s\nwant %s", got, before)
	}
	checkPath(t, "restored", top.IT, top.OT, true)
}
