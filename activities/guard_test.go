package activities_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/library"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// These tests take the compiler and the workflow out of the way: they call
// the activity methods directly with hand-made calls, as an attacker who
// can reach the activity task queue could, and show that guard three alone
// stops a forged isolation. The worker's configuration is the shipped
// library (process_safety and ot_operations sign off, one of each, not the
// initiator, valid for 15 minutes; shift_supervisor breaks glass).

const libraryPlaybook = "ot_ransomware_containment"

// signedAt is when the approvals in these tests are signed; the worker's
// clock reads five minutes later.
var signedAt = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// keys are the test people's own keys. The library declares no public
// keys yet, so the tests give the worker a keyring of them.
type keys map[string]*attest.Signer

func newKeys(t *testing.T, people ...string) keys {
	t.Helper()
	ks := keys{}
	for _, p := range people {
		ks[p] = newSigner(t, "person."+p)
	}
	return ks
}

func newSigner(t *testing.T, id string) *attest.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := attest.NewSigner(id, priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (ks keys) ring(t *testing.T) *attest.Keyring {
	t.Helper()
	var pk []plan.Key
	for p, s := range ks {
		pk = append(pk, plan.Key{ID: s.ID, Person: p, PublicKey: s.Public()})
	}
	r, errs := attest.NewKeyring(pk)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return r
}

// guardWorld is a worker on the library with a simulated twin, and a
// valid, attested isolation of plant3_control to forge from.
type guardWorld struct {
	t    *testing.T
	org  *org.Org
	pol  *activities.Policy
	twin *sim.Twin
	acts *activities.Activities
	keys keys
	plan *plan.Plan
}

func newGuardWorld(t *testing.T) *guardWorld {
	t.Helper()
	o, _, diags := org.Load("", org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	p, diags := o.Plan(libraryPlaybook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	w := &guardWorld{t: t, org: o, twin: sim.New(nil), plan: p,
		keys: newKeys(t, "alice", "bob", "dmitri", "olga", "farid", "ines", "hiro")}
	w.pol, _ = o.Policy(true)
	w.pol.Keys = w.keys.ring(t)
	w.acts = w.twin.Activities()
	w.acts.Now = func() time.Time { return signedAt.Add(5 * time.Minute) }
	w.acts.Authority = activities.AuthorityFunc(func() *activities.Policy { return w.pol })
	return w
}

// plantOf is the plant model a workflow hands its activities for plan p.
func plantOf(p *plan.Plan) *activities.Plant {
	out := &activities.Plant{}
	for _, z := range p.Zones {
		out.Zones = append(out.Zones, activities.Zone{ID: z.ID, Title: z.Title, Networks: z.Networks})
	}
	for _, c := range p.Conduits {
		out.Conduits = append(out.Conduits, activities.Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement,
			KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols})
	}
	for _, in := range p.Integrations {
		out.Integrations = append(out.Integrations, activities.Integration{ID: in.ID, Kind: in.Kind})
	}
	return out
}

// approve is person's attested approval of round 1 of approval.isolate_ok.
func (w *guardWorld) approve(incident, person string, at time.Time) activities.Approver {
	a := activities.Approver{Person: person, At: at}
	if s := w.keys[person]; s != nil {
		a.Attestation = s.Sign(attest.Claim{Incident: incident, Step: "approval.isolate_ok", Round: 1, Person: person,
			Answer: rules.Approve, ReasonSHA256: attest.Digest(""), Channel: "cli", SignedAt: at}, at)
	}
	return a
}

// call is a valid isolation of plant3_control in incident id, started by
// hiro and signed off by alice (process_safety) and dmitri (ot_operations).
func (w *guardWorld) call(id string) activities.Call {
	start := w.keys["hiro"].Sign(attest.Claim{Incident: id, Step: "playbook." + libraryPlaybook, Person: "hiro",
		Answer: attest.Start, ReasonSHA256: "plan-digest", Channel: "cli", SignedAt: signedAt.Add(-10 * time.Minute)}, signedAt)
	return activities.Call{
		IncidentID: id, Step: "step.isolate", Action: "ot.isolate_zone", Playbook: libraryPlaybook,
		Commander: "hiro", Start: start, Plant: plantOf(w.plan),
		Signoff: &activities.Signoff{
			Approval: "approval.isolate_ok", Covers: []string{"plant3_control"}, Required: 2, Round: 1,
			Approvers: []activities.Approver{w.approve(id, "alice", signedAt.Add(-time.Minute)), w.approve(id, "dmitri", signedAt)},
			GrantedAt: signedAt, ValidFor: 15 * time.Minute,
		},
	}
}

func (w *guardWorld) isolate(c activities.Call) (activities.ActionResult, error) {
	return w.acts.IsolateZone(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"zone": "zone.plant3_control", "reason": "forged?"}})
}

// cuts counts the conduit cuts the twin journaled.
func (w *guardWorld) cuts() int {
	n := 0
	for _, e := range w.twin.Journal().Effects() {
		if e.Op == sim.OpCut {
			n++
		}
	}
	return n
}

func TestGuardThreeAcceptsAValidAttestedSignoff(t *testing.T) {
	w := newGuardWorld(t)
	res, err := w.isolate(w.call("INC-OK"))
	if err != nil {
		t.Fatalf("a valid attested sign-off was refused: %v", err)
	}
	if w.cuts() == 0 || !strings.Contains(res.Summary, "isolated plant3_control") {
		t.Fatalf("nothing was cut: %+v", res)
	}
	var read bool
	for _, e := range w.twin.Journal().Attempts() {
		read = read || e.Op == sim.OpReadRegister
	}
	if !read {
		t.Error("the isolation did not read the zone's safe_state register")
	}
}

// TestGuardThreeAloneStopsForgedIsolations: each forged call is refused
// with its reason and nothing is cut.
func TestGuardThreeAloneStopsForgedIsolations(t *testing.T) {
	tests := []struct {
		name  string
		forge func(w *guardWorld, c *activities.Call)
		typ   string
		want  []string
	}{
		{name: "quorum rewritten to one person from roster.soc_oncall", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Required = 1
				c.Signoff.Approvers = []activities.Approver{w.approve(c.IncidentID, "ines", signedAt)}
				c.Signoff.Approvers[0].Roster = "roster.soc_oncall"
			},
			want: []string{"step.isolate", "plant3_control", "needs one person from each of roster.process_safety, roster.ot_operations", "0 of 2 count", "not on a sign-off roster now: ines"}},
		{name: "a single approver where the worker's policy needs two", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Required = 1
				c.Signoff.Approvers = c.Signoff.Approvers[:1]
			},
			want: []string{"1 of 2 count (alice (roster.process_safety))", "still needs one from roster.ot_operations"}},
		{name: "the initiator approving", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Commander = "alice"
				c.Start = w.keys["alice"].Sign(attest.Claim{Incident: c.IncidentID, Step: "playbook." + libraryPlaybook, Person: "alice",
					Answer: attest.Start, Channel: "cli"}, signedAt)
			},
			want: []string{"alice started the incident and may not sign it off"}},
		{name: "unattested approvals", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				for i := range c.Signoff.Approvers {
					c.Signoff.Approvers[i].Attestation = nil
				}
			},
			want: []string{"the approval by alice does not count", string(rules.NotAttested)}},
		{name: "an approval signed by an untrusted key", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				rogue := newSigner(w.t, "person.dmitri")
				c.Signoff.Approvers[1].Attestation = rogue.Sign(c.Signoff.Approvers[1].Attestation.Claim, signedAt)
			},
			want: []string{"the approval by dmitri does not count", "does not verify", string(rules.Tampered)}},
		{name: "an approval signed by a key the worker does not know", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				rogue := newSigner(w.t, "slack.rogue")
				c.Signoff.Approvers[1].Attestation = rogue.Sign(c.Signoff.Approvers[1].Attestation.Claim, signedAt)
			},
			want: []string{"the approval by dmitri does not count", string(rules.UntrustedKey)}},
		{name: "an approval replayed from another incident", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Approvers[1] = w.approve("INC-OTHER", "dmitri", signedAt)
			},
			want: []string{"the approval by dmitri does not count", string(rules.Replayed)}},
		{name: "stale by the worker's valid_for, whatever the plan says", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				old := signedAt.Add(-20 * time.Minute)
				c.Signoff.Approvers = []activities.Approver{w.approve(c.IncidentID, "alice", old), w.approve(c.IncidentID, "dmitri", old)}
				c.Signoff.GrantedAt, c.Signoff.ValidFor = signedAt, 0
			},
			want: []string{"expired at 2026-03-02T08:55:00Z (valid for 15m by the worker's safety policy)"}},
		{name: "break-glass by someone off the worker's break-glass rosters", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Approvers = nil
				c.Signoff.BreakGlass = w.breakGlass(c.IncidentID, "ines", "the SOC says so")
			},
			want: []string{"ines is not on the worker's break-glass rosters (roster.shift_supervisor)"}},
		{name: "break-glass whose reason was changed after signing", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Approvers = nil
				c.Signoff.BreakGlass = w.breakGlass(c.IncidentID, "farid", "ransomware on the HMIs")
				c.Signoff.BreakGlass.Reason = "something else"
			},
			want: []string{"break-glass override", "farid", string(rules.Tampered)}},
		{name: "unattested break-glass", typ: activities.ErrSignoffRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Signoff.Approvers = nil
				c.Signoff.BreakGlass = &activities.BreakGlass{Person: "farid", Reason: "ransomware on the HMIs", At: signedAt}
			},
			want: []string{"break-glass override", string(rules.NotAttested)}},
		{name: "a zone's networks changed", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				for i := range c.Plant.Zones {
					if c.Plant.Zones[i].ID == "plant3_control" {
						c.Plant.Zones[i].Networks = []string{"10.99.0.0/16"}
					}
				}
			},
			want: []string{"zone plant3_control: networks are \"10.99.0.0/16\" in the plan, \"10.30.1.0/24, 10.30.2.0/24\" in the worker's configuration", "Nothing was done"}},
		{name: "a conduit's enforcement point changed", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				for i := range c.Plant.Conduits {
					if c.Plant.Conduits[i].ID == "dmz_to_control" {
						c.Plant.Conduits[i].Enforcement = "nftables.attacker"
					}
				}
			},
			want: []string{"conduit dmz_to_control: enforcement is \"nftables.attacker\" in the plan, \"nftables.plant3_gw\" in the worker's configuration"}},
		{name: "a conduit kept open that the worker cuts", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				for i := range c.Plant.Conduits {
					if c.Plant.Conduits[i].ID == "sis_to_control" {
						c.Plant.Conduits[i].KeepOpenOnIsolation = false
					}
				}
			},
			want: []string{"conduit sis_to_control: keep_open_on_isolation is \"false\" in the plan, \"true\""}},
		{name: "a conduit into the zone omitted", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				var keep []activities.Conduit
				for _, k := range c.Plant.Conduits {
					if k.ID != "dmz_to_control" {
						keep = append(keep, k)
					}
				}
				c.Plant.Conduits = keep
			},
			want: []string{"the plan omits conduit dmz_to_control into plant3_control"}},
		{name: "a conduit into the zone added", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Plant.Conduits = append(c.Plant.Conduits, activities.Conduit{ID: "backdoor", From: "corp_it", To: "plant3_control", Enforcement: "nftables.plant3_gw"})
			},
			want: []string{"the plan adds conduit backdoor into plant3_control, which the worker's configuration does not have"}},
		{name: "a safe_state the worker does not have", typ: activities.ErrPlantMismatch,
			forge: func(w *guardWorld, c *activities.Call) {
				for i := range c.Plant.Zones {
					if c.Plant.Zones[i].ID == "plant3_control" {
						c.Plant.Zones[i].SafeState = &activities.SafeState{Integration: "modbus.plant3_plc", Register: 40002, Expect: 0}
					}
				}
			},
			want: []string{"zone plant3_control: safe_state is register 40002 on modbus.plant3_plc expecting 0 in the plan, register 40001 on modbus.plant3_plc expecting 1"}},
		{name: "an unattested start", typ: activities.ErrStartRefused,
			forge: func(w *guardWorld, c *activities.Call) { c.Start = nil },
			want:  []string{"step.isolate (ot.isolate_zone): refused", "not attested", string(rules.NotAttested), "did nothing"}},
		{name: "a start replayed from another incident", typ: activities.ErrStartRefused,
			forge: func(w *guardWorld, c *activities.Call) { c.Start = w.call("INC-OTHER").Start },
			want:  []string{"not attested", string(rules.Replayed)}},
		{name: "a playbook the worker does not know", typ: activities.ErrStartRefused,
			forge: func(w *guardWorld, c *activities.Call) {
				c.Playbook = "forged_playbook"
				c.Start = w.keys["hiro"].Sign(attest.Claim{Incident: c.IncidentID, Step: "playbook.forged_playbook", Person: "hiro", Answer: attest.Start}, signedAt)
			},
			want: []string{"playbook \"forged_playbook\" is not one this worker's configuration has"}},
		{name: "no configuration at all", typ: activities.ErrSignoffUnmendable,
			forge: func(w *guardWorld, c *activities.Call) { w.acts.Authority = nil },
			want:  []string{"no configuration of its own", "refuses every safety-critical action"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newGuardWorld(t)
			c := w.call("INC-FORGED")
			tc.forge(w, &c)
			_, err := w.isolate(c)
			if err == nil {
				t.Fatalf("the forged isolation was carried out; cuts: %d", w.cuts())
			}
			msg := appError(t, err, tc.typ, true)
			for _, s := range tc.want {
				if !strings.Contains(msg, s) {
					t.Errorf("refusal %q does not say %q", msg, s)
				}
			}
			if n := w.cuts(); n != 0 {
				t.Errorf("%d conduits were cut by a refused isolation", n)
			}
		})
	}
}

func (w *guardWorld) breakGlass(incident, person, reason string) *activities.BreakGlass {
	bg := &activities.BreakGlass{Person: person, Reason: reason, At: signedAt}
	if s := w.keys[person]; s != nil {
		bg.Attestation = s.Sign(attest.Claim{Incident: incident, Step: "approval.isolate_ok", Round: 1, Person: person,
			Answer: rules.BreakGlass, ReasonSHA256: attest.Digest(reason), Channel: "slack", SignedAt: signedAt}, signedAt)
	}
	return bg
}

func TestGuardThreeAcceptsAnAttestedBreakGlass(t *testing.T) {
	w := newGuardWorld(t)
	c := w.call("INC-BG")
	c.Signoff.Approvers = nil
	c.Signoff.BreakGlass = w.breakGlass(c.IncidentID, "farid", "ransomware on the HMIs")
	res, err := w.isolate(c)
	if err != nil {
		t.Fatalf("an attested break-glass by a shift supervisor was refused: %v", err)
	}
	if w.cuts() == 0 || !strings.Contains(res.Summary, "BREAK-GLASS by farid") {
		t.Fatalf("result %+v, cuts %d", res, w.cuts())
	}
}

// TestGuardThreeGoesByTheRostersAtTheMomentOfTheAction reloads the
// worker's directory between two isolations: alice, removed from
// roster.process_safety, no longer counts.
func TestGuardThreeGoesByTheRostersAtTheMomentOfTheAction(t *testing.T) {
	dir := t.TempDir()
	if _, err := library.WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	holder := org.NewHolder(o, org.Options{Lenient: true})
	w := newGuardWorld(t)
	authority := org.NewAuthority(holder, true)
	w.acts.Authority = activities.AuthorityFunc(func() *activities.Policy {
		// The library declares no public keys yet; give the policy in
		// force the test's keys.
		p := *authority.Policy()
		p.Keys = w.keys.ring(t)
		return &p
	})
	if _, err := w.isolate(w.call("INC-BEFORE")); err != nil {
		t.Fatalf("before the reload: %v", err)
	}
	before := w.cuts()

	people := filepath.Join(dir, "people.hcl")
	src, err := os.ReadFile(people)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "members     = [person.alice, person.bob, person.noah]", "members     = [person.bob, person.noah]", 1)
	if edited == string(src) {
		t.Fatal("the library's process_safety roster is not where the test expects it")
	}
	if err := os.WriteFile(people, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, diags := holder.Reload(); diags.HasErrors() {
		t.Fatal(diags.Error())
	}

	_, err = w.isolate(w.call("INC-AFTER"))
	msg := appError(t, err, activities.ErrSignoffRefused, true)
	if !strings.Contains(msg, "not on a sign-off roster now: alice") {
		t.Errorf("refusal %q does not say alice no longer counts", msg)
	}
	if w.cuts() != before {
		t.Errorf("the isolation after the reload cut %d conduits", w.cuts()-before)
	}
}

func TestPlantStateCheckCutsNothingWhenTheZoneIsNotSafe(t *testing.T) {
	w := newGuardWorld(t)
	w.twin.SetRegister("modbus.plant3_plc", 40001, 0)
	_, err := w.isolate(w.call("INC-UNSAFE"))
	msg := appError(t, err, activities.ErrPlantNotSafe, true)
	for _, s := range []string{"step.isolate (ot.isolate_zone)", "plant3_control is not in its safe state", "register 40001 on modbus.plant3_plc reads 0, expected 1", "nothing was cut"} {
		if !strings.Contains(msg, s) {
			t.Errorf("refusal %q does not say %q", msg, s)
		}
	}
	if n := w.cuts(); n != 0 {
		t.Errorf("%d conduits were cut with the plant not in its safe state", n)
	}

	// Blocking one conduit into the zone is checked the same way.
	c := w.call("INC-UNSAFE")
	c.Step, c.Action = "step.block", "ot.block_conduit"
	_, err = w.acts.BlockConduit(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"conduit": "dmz_to_control"}})
	appError(t, err, activities.ErrPlantNotSafe, true)
	if n := w.cuts(); n != 0 {
		t.Errorf("%d conduits were cut by a block with the plant not in its safe state", n)
	}

	// Reopening a conduit is a restore: it makes no plant-state check, as
	// ot.restore_zone makes none.
	c = w.call("INC-UNSAFE")
	c.Step, c.Action = "step.reopen", "ot.restore_conduit"
	if _, err := w.acts.RestoreConduit(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"conduit": "dmz_to_control"}}); err != nil {
		t.Errorf("reopening a conduit read the plant state: %v", err)
	}

	// Without a plant-state integration the check cannot be made.
	w.acts.PlantState = nil
	_, err = w.isolate(w.call("INC-UNSAFE"))
	msg = appError(t, err, activities.ErrNotConfigured, true)
	if !strings.Contains(msg, "declares safe_state") || !strings.Contains(msg, "cannot be made; nothing was cut") {
		t.Errorf("message %q", msg)
	}
	if n := w.cuts(); n != 0 {
		t.Errorf("%d conduits were cut without a plant-state check", n)
	}
}

func TestBlockConduitForgedPlantIsRefused(t *testing.T) {
	w := newGuardWorld(t)
	c := w.call("INC-BLOCK")
	for i := range c.Plant.Zones {
		if c.Plant.Zones[i].ID == "plant3_dmz" {
			c.Plant.Zones[i].Networks = []string{"0.0.0.0/0"}
		}
	}
	// Both one-conduit actions run guard three against the worker's plant.
	c.Step, c.Action = "step.reopen", "ot.restore_conduit"
	_, err := w.acts.RestoreConduit(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"conduit": "dmz_to_control"}})
	msg := appError(t, err, activities.ErrPlantMismatch, true)
	if !strings.Contains(msg, "refused to act on conduit dmz_to_control") {
		t.Errorf("message %q", msg)
	}
	c.Step, c.Action = "step.block", "ot.block_conduit"
	_, err = w.acts.BlockConduit(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"conduit": "dmz_to_control"}})
	msg = appError(t, err, activities.ErrPlantMismatch, true)
	if !strings.Contains(msg, "refused to act on conduit dmz_to_control") || !strings.Contains(msg, "zone plant3_dmz: networks") {
		t.Errorf("message %q", msg)
	}
	if n := len(w.twin.Journal().Attempts()); n != 0 {
		t.Errorf("%d conduits were cut or reopened", n)
	}
	c = w.call("INC-BLOCK")
	c.Step, c.Action = "step.block", "ot.block_conduit"
	if _, err := w.acts.BlockConduit(context.Background(), activities.ActionInput{Call: c, Args: map[string]any{"conduit": "dmz_to_control"}}); err != nil {
		t.Fatalf("a valid block was refused: %v", err)
	}
	if n := w.cuts(); n != 1 {
		t.Errorf("%d cuts, want 1", n)
	}
}

// TestStartCheckStopsEveryActivity: with attestations required, an
// incident whose start does not verify cannot page, prompt, notify or post.
func TestStartCheckStopsEveryActivity(t *testing.T) {
	w := newGuardWorld(t)
	c := w.call("INC-START")
	c.Start = nil
	ctx := context.Background()
	to := []activities.Recipient{{Person: "alice", Slack: "U1"}}
	_, err := w.acts.Notify(ctx, activities.NotifyInput{Call: c, IncidentChannel: true, Text: "hello"})
	appError(t, err, activities.ErrStartRefused, true)
	_, err = w.acts.Page(ctx, activities.PageInput{Call: c, Escalation: "ot_engineering", Cycle: 1, Tier: 1, To: to, Text: "wake up", AckWithin: "5m"})
	appError(t, err, activities.ErrStartRefused, true)
	_, err = w.acts.Prompt(ctx, activities.PromptInput{Call: c, Kind: "approval", Round: 1, To: to, Text: "approve?"})
	appError(t, err, activities.ErrStartRefused, true)
	c.Action = "slack.post"
	_, err = w.acts.SlackPost(ctx, activities.ActionInput{Call: c, Args: map[string]any{"text": "hello"}})
	appError(t, err, activities.ErrStartRefused, true)
	if n := len(w.twin.Journal().Attempts()); n != 0 {
		t.Errorf("the twin was called %d times for an incident whose start does not verify", n)
	}

	// A properly attested start by a declared person is let through.
	c = w.call("INC-START")
	c.Action = "slack.post"
	if _, err := w.acts.SlackPost(ctx, activities.ActionInput{Call: c, Args: map[string]any{"text": "hello"}}); err != nil {
		t.Fatalf("a verified start was refused: %v", err)
	}
	// may_start: a playbook restricted to a roster the commander is not on.
	w.pol.Playbooks[libraryPlaybook] = []string{"roster.ot_lead"}
	_, err = w.acts.SlackPost(ctx, activities.ActionInput{Call: c, Args: map[string]any{"text": "hello"}})
	msg := appError(t, err, activities.ErrStartRefused, true)
	if !strings.Contains(msg, "hiro may not start "+libraryPlaybook+": its may_start names roster.ot_lead") {
		t.Errorf("message %q", msg)
	}
}

// TestGuardThreeReadsUserGroupsItself: a sign-off roster filled from a
// Slack user group counts the group's members as the worker reads the
// group at the moment of the action; the incident's recorded snapshot is
// not consulted, so a member removed from the group no longer counts.
func TestGuardThreeReadsUserGroupsItself(t *testing.T) {
	dir := t.TempDir()
	if _, err := library.WriteTo(dir, false); err != nil {
		t.Fatal(err)
	}
	people := filepath.Join(dir, "people.hcl")
	src, err := os.ReadFile(people)
	if err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(string(src), "members     = [person.alice, person.bob, person.noah]", "slack_usergroup = \"S0SAFETY\"", 1)
	if edited == string(src) {
		t.Fatal("the library's process_safety roster is not where the test expects it")
	}
	if err := os.WriteFile(people, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	o, _, diags := org.Load(dir, org.Options{Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	w := newGuardWorld(t)
	pol, _ := o.Policy(true)
	pol.Keys = w.keys.ring(t)
	w.acts.Authority = activities.AuthorityFunc(func() *activities.Policy { return pol })

	w.twin.SetGroup("S0SAFETY", "U01ALICE", "U01BOB")
	if _, err := w.isolate(w.call("INC-IN-GROUP")); err != nil {
		t.Fatalf("alice is in the group now: %v", err)
	}
	before := w.cuts()
	w.twin.SetGroup("S0SAFETY", "U01BOB")
	_, err = w.isolate(w.call("INC-LEFT-GROUP"))
	if msg := appError(t, err, activities.ErrSignoffRefused, true); !strings.Contains(msg, "not on a sign-off roster now: alice") {
		t.Errorf("refusal %q does not say alice no longer counts", msg)
	}
	if w.cuts() != before {
		t.Errorf("the isolation after alice left the group cut %d conduits", w.cuts()-before)
	}
}

// realIsolator is the twin's isolator, saying that the enforcement points
// in real reach real systems (as the live worker's router says of real
// nftables blocks).
type realIsolator struct {
	activities.Isolator
	real map[string]bool
}

func (r realIsolator) IsReal(id string) bool { return r.real[id] }

// TestSimulatedReadingNeverAllowsARealCut: when the zone's safe_state is
// read from a simulated instance, a live isolation whose conduits would be
// cut at a real enforcement point is refused before anything is cut; the
// same reading still allows a cut at a simulated enforcement point.
func TestSimulatedReadingNeverAllowsARealCut(t *testing.T) {
	w := newGuardWorld(t)
	w.acts.Isolator = realIsolator{Isolator: w.acts.Isolator, real: map[string]bool{"nftables.plant3_gw": true}}
	_, err := w.isolate(w.call("INC-SIMREAD"))
	msg := appError(t, err, activities.ErrNotConfigured, true)
	for _, s := range []string{"register 40001 on modbus.plant3_plc, which is simulated", "would be cut for real", "a real cut needs a real reading", "nothing was cut"} {
		if !strings.Contains(msg, s) {
			t.Errorf("refusal %q does not say %q", msg, s)
		}
	}
	if n := w.cuts(); n != 0 {
		t.Errorf("%d conduits were cut on a simulated reading", n)
	}
	w.acts.Isolator = realIsolator{Isolator: w.acts.Isolator.(realIsolator).Isolator, real: map[string]bool{}}
	if _, err := w.isolate(w.call("INC-SIMREAD")); err != nil {
		t.Fatalf("a simulated cut on a simulated reading: %v", err)
	}
	if w.cuts() == 0 {
		t.Error("nothing was cut at the simulated enforcement point")
	}
}
