package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/modbus/modbustest"
	"github.com/firebreak-ir/firebreak/integrations/nftables"
	"github.com/firebreak-ir/firebreak/integrations/nftables/netnstest"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/devserver"
	"github.com/firebreak-ir/firebreak/internal/incident"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/internal/runner"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/workflows"
)

// The netns tests run playbooks whose enforcement point is real: the
// nftables adapter, over netlink, in the gateway namespace of a small
// plant the test builds (netnstest: an IT host, a gateway, an OT host and
// a safety host behind a keep-open conduit). Traffic stays inside those
// namespaces, and they are removed when the test ends.

// netnsSiteHCL is the organisation of the netns tests, for the topology
// top: the zones' networks are the hosts' subnets, and every conduit into
// zone.ot is enforced at the gateway. gateway is the public key of the
// front door that signs the responders' answers, ines the commander's
// own; "" leaves a key out (for a worker that takes unsigned answers).
// plc, when not "", is the address of a Modbus server whose holding
// register safeRegister must read 1 before zone.ot is isolated.
func netnsSiteHCL(top *netnstest.Topology, gateway, ines, plc string, safeRegister int) string {
	ot := fmt.Sprintf("zone \"ot\" { networks = [%s] }\n", nets(top.OT))
	if plc != "" {
		ot = fmt.Sprintf(`integration "modbus" "plc" { address = %q }

zone "ot" {
  networks = [%s]
  safe_state {
    integration = "modbus.plc"
    register    = %d
    expect      = 1
  }
}
`, plc, nets(top.OT), safeRegister)
	}
	key := func(k string) string {
		if k == "" {
			return ""
		}
		return fmt.Sprintf("\n  public_key = %q", k)
	}
	return fmt.Sprintf(`person "ines" {%[4]s
}
person "alice" { slack = "U01ALICE" }
person "bob" { slack = "U01BOB" }
person "dmitri" { slack = "U01DMITRI" }
person "erin" { slack = "U01ERIN" }
person "farid" { slack = "U01FARID" }

roster "process_safety" { members = [person.alice, person.bob] }
roster "ot_operations" { members = [person.dmitri, person.erin] }
roster "shift_supervisor" { members = [person.farid] }

escalation "oncall" {
  tier {
    notify     = [roster.ot_operations]
    ack_within = "10m"
  }
}

integration "slack" "main" {
  simulate = true%[3]s
}

integration "nftables" "gw" { netns = %[1]q }

zone "it" { networks = [%[2]s] }
%[5]s
zone "safety" { networks = [%[6]s] }

conduit "it_to_ot" {
  from        = zone.it
  to          = zone.ot
  enforcement = "nftables.gw"
}

conduit "safety_to_ot" {
  from                   = zone.safety
  to                     = zone.ot
  enforcement            = "nftables.gw"
  keep_open_on_isolation = true
}

safety {
  signoff {
    rosters           = [roster.process_safety, roster.ot_operations]
    exclude_initiator = true
  }
}
`, top.Gateway, nets(top.IT), key(gateway), key(ines), ot, nets(top.Safety))
}

// nets is a host's subnets as an HCL list's items.
func nets(h netnstest.Host) string { return fmt.Sprintf("%q, %q", h.Net, h.Net6) }

// netnsPlaybookHCL isolates zone.ot once safety and operations have
// signed off, holds it isolated until the shift supervisor says the plant
// runs islanded, and restores it.
const netnsPlaybookHCL = `playbook "isolate_ot" {
  approval "isolate_ok" {
    kind   = "safety"
    covers = [zone.ot]
    prompt = "Isolate the OT network?"
  }

  step "isolate" {
    action  = "ot.isolate_zone"
    with    = { zone = zone.ot, reason = "netns ${incident.id}" }
    timeout = "10s"
    needs   = [approval.isolate_ok]
  }

  task "islanded" {
    assign       = roster.shift_supervisor
    instructions = "Check the plant runs islanded."
    needs        = [step.isolate]
  }

  step "restore" {
    action  = "ot.restore_zone"
    with    = { zone = zone.ot, reason = "netns ${incident.id} over" }
    timeout = "10s"
    needs   = [task.islanded]
  }
}
`

// foreignRuleset is a table someone else keeps on the gateway: firebreak
// must leave it exactly as it is.
const foreignRuleset = `table ip plant_ops {
	chain plant_guard {
		type filter hook forward priority 10; policy accept;
		tcp dport 23 counter drop comment "no telnet across the plant"
	}
}
`

// loadForeign loads foreignRuleset into the namespace ns.
func loadForeign(t *testing.T, ns string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "plant_ops.nft")
	if err := os.WriteFile(f, []byte(foreignRuleset), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", ns, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("loading the operators' own table: %v: %s", err, out)
	}
}

// foreignListing is the operators' own table as nft lists it, without
// counter values (traffic moves them).
func foreignListing(t *testing.T, ns string) string {
	t.Helper()
	out, err := netnstest.Nft(ns, "-s", "list", "table", "ip", "plant_ops")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// wholeRuleset is the namespace's whole ruleset as nft lists it, without
// counter values.
func wholeRuleset(t *testing.T, ns string) string {
	t.Helper()
	out, err := netnstest.Nft(ns, "-s", "list", "ruleset")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPath says whether traffic from one host to another gets through
// (IPv4 and IPv6), failing the test when that is not what want says.
func checkPath(t *testing.T, what string, from, to netnstest.Host, want bool) {
	t.Helper()
	for _, ip := range []string{to.Addr, to.Addr6} {
		err := netnstest.Ping(from.Netns, ip)
		switch {
		case want && err != nil:
			t.Errorf("%s: want traffic through: %v", what, err)
		case !want && err == nil:
			t.Errorf("%s: ping from %s to %s got through a cut conduit", what, from.Netns, ip)
		}
	}
}

// netnsRules are firebreak's rules in the gateway, read over netlink.
func netnsRules(t *testing.T, a *nftables.Adapter) []nftables.Rule {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := a.Rules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// netnsRig is the plant of a netns test with a worker that requires
// signed answers: the commander ines signs with her own key, the
// responders' answers with the Slack front door's.
type netnsRig struct {
	top            *netnstest.Topology
	dir            string
	c              client.Client
	j              *sim.Journal
	ines, gateway  *attest.Signer
	look           *nftables.Adapter
	theirs, before string
}

// newNetnsRig builds the plant (namespaces named prefix-...), loads the
// operators' own table into the gateway, and starts the embedded server
// and a worker in this process. plc and safeRegister are as for
// netnsSiteHCL.
func newNetnsRig(t *testing.T, prefix, plc string, safeRegister int) *netnsRig {
	t.Helper()
	r := &netnsRig{top: netnstest.New(t, prefix)}
	loadForeign(t, r.top.Gateway)
	r.theirs, r.before = foreignListing(t, r.top.Gateway), wholeRuleset(t, r.top.Gateway)
	var err error
	if r.ines, err = attest.GenerateKey("person.ines"); err != nil {
		t.Fatal(err)
	}
	if r.gateway, err = attest.GenerateKey("slack.main"); err != nil {
		t.Fatal(err)
	}
	r.dir = writeDir(t, map[string]string{"site.hcl": netnsSiteHCL(r.top, r.gateway.Public(), r.ines.Public(), plc, safeRegister), "playbooks.hcl": netnsPlaybookHCL})
	o, _, diags := org.Load(r.dir, org.Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	srv := startServer(t, devserver.Options{Ephemeral: true})
	r.c = newClient(t, srv)
	r.j = sim.NewJournal()
	ws, err := runner.Start(r.c, runner.Options{Journal: r.j, Org: org.NewHolder(o, org.Options{}), RequireAttestation: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ws.Stop)
	// The test reads the gateway's rules through an adapter of its own.
	if r.look, err = nftables.New(nftables.Config{Netns: r.top.Gateway, ID: "nftables.gw"}); err != nil {
		t.Fatal(err)
	}
	return r
}

// start starts isolate_ot as incident id, signed by ines.
func (r *netnsRig) start(t *testing.T, id string) {
	t.Helper()
	prep, err := incident.Prepare(incident.StartRequest{Dir: r.dir, Playbook: "isolate_ot", Commander: "ines", IncidentID: id, Signer: r.ines})
	if err != nil {
		t.Fatal(err)
	}
	if len(prep.Warnings) > 0 {
		t.Fatalf("warnings: %v", prep.Warnings)
	}
	if _, err := incident.StartPrepared(testContext(t, startTimeout), r.c, prep); err != nil {
		t.Fatal(err)
	}
}

// answer sends person's answer to step of incident id, signed by the
// front door, once the step waits for answers.
func (r *netnsRig) answer(t *testing.T, id, update, step, person string) {
	t.Helper()
	s := waitStep(t, r.c, id, step, workflows.StepWaiting, 0)
	a, err := incident.SignAnswer(r.gateway, update, id, workflows.Answer{Step: step, Person: person, Round: s.Round, Channel: "slack:U01" + strings.ToUpper(person)}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := incident.Answer(testContext(t, answerTimeout), r.c, update, id, a); err != nil {
		t.Fatalf("%s %s as %s: %v", update, step, person, err)
	}
}

// TestIsolationNetns runs a playbook on the embedded Temporal server whose
// isolation cuts real conduits with nftables in network namespaces, once
// the plant's safe state has been read from a real third-party Modbus
// server (modbus-serial; its register 40001 reads 1). The incident is
// started with the commander's own key and the sign-off is given by
// answers the Slack front door signed, on a worker that accepts nothing
// unsigned. Traffic crosses IT to OT first; once isolated it does not
// (either way) while the safety host behind the keep-open conduit still
// reaches the OT host; the rules in the gateway are exactly the expected
// ones, rule by rule, and the operators' own table is untouched; after
// the restore traffic flows again and the gateway's whole ruleset is as it
// was before.
func TestIsolationNetns(t *testing.T) {
	r := newNetnsRig(t, "fbiso", modbustest.Start(t), 40001)
	top, c, j, look, theirs, before := r.top, r.c, r.j, r.look, r.theirs, r.before
	ctx := testContext(t, startTimeout)

	checkPath(t, "before", top.IT, top.OT, true)
	checkPath(t, "before", top.OT, top.IT, true)
	checkPath(t, "before", top.Safety, top.OT, true)

	const id = "NETNS-1"
	r.start(t, id)
	answer := func(update, step, person string) { t.Helper(); r.answer(t, id, update, step, person) }
	// An unsigned approval is refused: the worker takes signed answers only.
	waitStep(t, c, id, "approval.isolate_ok", workflows.StepWaiting, 0)
	if _, err := incident.Answer(ctx, c, workflows.UpdateApprove, id, workflows.Answer{Step: "approval.isolate_ok", Person: "alice", Round: 1, Channel: workflows.ChannelCLI}); err == nil {
		t.Fatal("an unsigned approval was taken")
	}
	if rs := netnsRules(t, look); len(rs) != 0 {
		t.Fatalf("rules before the sign-off: %v", rs)
	}
	answer(workflows.UpdateApprove, "approval.isolate_ok", "alice")
	answer(workflows.UpdateApprove, "approval.isolate_ok", "dmitri")

	// Isolated: wait for the task that holds it so, then look.
	waitStep(t, c, id, "task.islanded", workflows.StepWaiting, 0)
	checkPath(t, "isolated", top.IT, top.OT, false)
	checkPath(t, "isolated", top.OT, top.IT, false)
	checkPath(t, "isolated, keep-open conduit", top.Safety, top.OT, true)
	checkPath(t, "isolated, keep-open conduit", top.OT, top.Safety, true)
	want, err := nftables.Expected(activities.ConduitRequest{
		Key:         activities.Call{IncidentID: id, Step: "step.isolate"}.IdempotencyKey() + "/cut/it_to_ot",
		Conduit:     activities.Conduit{ID: "it_to_ot", From: "it", To: "ot", Enforcement: "nftables.gw"},
		From:        activities.Zone{ID: "it", Networks: []string{top.IT.Net, top.IT.Net6}},
		To:          activities.Zone{ID: "ot", Networks: []string{top.OT.Net, top.OT.Net6}},
		Enforcement: "nftables.gw",
		Reason:      "netns " + id,
		IncidentID:  id,
		Step:        "step.isolate",
	})
	if err != nil {
		t.Fatal(err)
	}
	nftables.SortRules(want)
	if got := netnsRules(t, look); !reflect.DeepEqual(got, want) {
		t.Errorf("the gateway's firebreak rules once isolated:\n got %s\nwant %s", showRules(got), showRules(want))
	}
	if got := foreignListing(t, top.Gateway); got != theirs {
		t.Errorf("the operators' own table changed:\n got %s\nwant %s", got, theirs)
	}

	answer(workflows.UpdateDone, "task.islanded", "farid")
	st := waitState(t, c, id, workflows.StateCompleted)
	for _, s := range []string{"step.isolate", "step.restore"} {
		if got := stepOf(st, s); got.State != workflows.StepDone {
			t.Errorf("%s: %+v", s, got)
		}
	}
	checkPath(t, "restored", top.IT, top.OT, true)
	checkPath(t, "restored", top.OT, top.IT, true)
	checkPath(t, "restored", top.Safety, top.OT, true)
	if rs := netnsRules(t, look); len(rs) != 0 {
		t.Errorf("firebreak rules left after the restore: %s", showRules(rs))
	}
	if got := wholeRuleset(t, top.Gateway); got != before {
		t.Errorf("the gateway's ruleset after the restore is not what it was before the incident:\n got %s\nwant %s", got, before)
	}
	// Nothing went to a twin: the cuts were real.
	if n := len(incidentEffects(j.Effects(), id, sim.OpCut)); n != 0 {
		t.Errorf("%d cuts went to the simulated twin", n)
	}
}

// showRules prints rules one per line, for a failure message.
func showRules(rs []nftables.Rule) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  %s  # %s", r.Match, r.Comment)
	}
	if len(rs) == 0 {
		return "(none)"
	}
	return b.String()
}

// TestIsolationNetnsUnsafePlant: with the zone's safe_state register
// reading 0 on the real Modbus server (modbus-serial's register 40002),
// the signed-off isolation is refused as not safe, nothing is cut (the
// gateway's ruleset is as it was, traffic still crosses), and the
// incident says why.
func TestIsolationNetnsUnsafePlant(t *testing.T) {
	r := newNetnsRig(t, "fbuns", modbustest.Start(t), 40002)
	const id = "NETNS-UNSAFE"
	r.start(t, id)
	r.answer(t, id, workflows.UpdateApprove, "approval.isolate_ok", "alice")
	r.answer(t, id, workflows.UpdateApprove, "approval.isolate_ok", "dmitri")
	st := waitState(t, r.c, id, workflows.StateFailed)
	s := stepOf(st, "step.isolate")
	if s.State != workflows.StepFailed || !strings.Contains(s.Reason, "not in its safe state") || !strings.Contains(s.Reason, "register 40002 on modbus.plc reads 0, expected 1") {
		t.Errorf("step.isolate: %+v; want it failed saying the plant is not in its safe state", s)
	}
	if rs := netnsRules(t, r.look); len(rs) != 0 {
		t.Errorf("rules cut with the plant not in its safe state: %s", showRules(rs))
	}
	if got := wholeRuleset(t, r.top.Gateway); got != r.before {
		t.Errorf("the gateway's ruleset changed:\n got %s\nwant %s", got, r.before)
	}
	checkPath(t, "not isolated", r.top.IT, r.top.OT, true)
}
