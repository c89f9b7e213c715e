package activities_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// plant3 is a small plant: three conduits into the control zone (one kept
// open for the safety system), one out of it, and one elsewhere.
func plant3() *activities.Plant {
	return &activities.Plant{
		Zones: []activities.Zone{
			{ID: "corp_it", Networks: []string{"10.0.0.0/16"}},
			{ID: "plant3_dmz", Networks: []string{"10.30.1.0/24"}},
			{ID: "plant3_control", Networks: []string{"10.30.2.0/24"}},
			{ID: "plant3_sis", Networks: []string{"10.30.9.0/24"}},
		},
		Conduits: []activities.Conduit{
			{ID: "it_to_control", From: "corp_it", To: "plant3_control", Enforcement: "nftables.plant3_gw"},
			{ID: "dmz_to_control", From: "plant3_dmz", To: "plant3_control", Enforcement: "nftables.plant3_gw", Protocols: []string{"opcua"}},
			{ID: "sis_to_control", From: "plant3_sis", To: "plant3_control", KeepOpenOnIsolation: true},
			{ID: "control_to_dmz", From: "plant3_control", To: "plant3_dmz", Enforcement: "nftables.plant3_gw"},
			{ID: "it_to_dmz", From: "corp_it", To: "plant3_dmz", Enforcement: "webhook.fw_vendor"},
		},
		Integrations: []activities.Integration{{ID: "nftables.plant3_gw", Kind: "nftables"}},
	}
}

// now is the activity clock in these tests: five minutes into the sign-off.
var now = granted.Add(5 * time.Minute)

type fixture struct {
	twin *sim.Twin
	acts *activities.Activities
	env  *testsuite.TestActivityEnvironment
	// pol is the worker's configuration the activities check against:
	// plant3 and the people of signoff, unattested.
	pol *activities.Policy
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	twin := sim.New(nil)
	acts := twin.Activities()
	acts.Now = func() time.Time { return now }
	f := &fixture{twin: twin, acts: acts, pol: policyFor(plant3())}
	acts.Authority = activities.AuthorityFunc(func() *activities.Policy { return f.pol })
	var suite testsuite.WorkflowTestSuite
	f.env = suite.NewTestActivityEnvironment()
	f.env.RegisterActivity(acts)
	return f
}

// policyFor is a worker configuration whose plant model is p: alice on
// roster.process_safety and dave on roster.ot_operations sign off (one of
// each, valid for 15 minutes), sam may break glass, ines and hiro are on
// roster.soc_oncall. It requires no attestations.
func policyFor(p *activities.Plant) *activities.Policy {
	pol := &activities.Policy{
		Directory: rules.NewDirectory(
			[]plan.Person{{ID: "alice"}, {ID: "dave"}, {ID: "sam"}, {ID: "ines"}, {ID: "hiro"}},
			[]plan.Roster{
				{ID: "process_safety", Members: []string{"alice"}},
				{ID: "ot_operations", Members: []string{"dave"}},
				{ID: "plant_manager", Members: []string{"sam"}},
				{ID: "soc_oncall", Members: []string{"ines", "hiro"}},
			}),
		Safety: &plan.Safety{
			Signoff: plan.Quorum{Rule: plan.QuorumOneFromEach, Count: 2, Groups: []string{"roster.process_safety", "roster.ot_operations"},
				ExcludeInitiator: true, ValidFor: plan.Duration(15 * time.Minute)},
			BreakGlass: &plan.BreakGlass{Rosters: []string{"roster.plant_manager"}, RequireReason: true},
		},
		Playbooks: map[string][]string{"ot_ransomware_containment": nil},
	}
	for _, z := range p.Zones {
		pz := plan.Zone{ID: z.ID, Title: z.Title, Networks: z.Networks}
		if s := z.SafeState; s != nil {
			pz.SafeState = &plan.SafeState{Integration: s.Integration, Register: s.Register, Expect: s.Expect}
		}
		pol.Zones = append(pol.Zones, pz)
	}
	for _, c := range p.Conduits {
		pol.Conduits = append(pol.Conduits, plan.Conduit{ID: c.ID, From: c.From, To: c.To, Enforcement: c.Enforcement,
			KeepOpenOnIsolation: c.KeepOpenOnIsolation, Protocols: c.Protocols})
	}
	return pol
}

func call(action, step string) activities.Call {
	return activities.Call{IncidentID: "inc-42", Step: step, Action: action, Signoff: signoff(), Plant: plant3()}
}

// run executes the registry action's activity by the name ActivityFor gives.
func (f *fixture) run(t *testing.T, c activities.Call, args map[string]any) (activities.ActionResult, error) {
	t.Helper()
	name, ok := activities.ActivityFor(c.Action)
	if !ok {
		t.Fatalf("no activity for %s", c.Action)
	}
	v, err := f.env.ExecuteActivity(name, activities.ActionInput{Call: c, Args: args})
	if err != nil {
		return activities.ActionResult{}, err
	}
	var res activities.ActionResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res, nil
}

func (f *fixture) mustRun(t *testing.T, c activities.Call, args map[string]any) activities.ActionResult {
	t.Helper()
	res, err := f.run(t, c, args)
	if err != nil {
		t.Fatalf("%s: %v", c.Action, err)
	}
	return res
}

// appError asserts err is a temporal application error of the given type
// ("" for any) and retryability, and returns its message.
func appError(t *testing.T, err error, typ string, nonRetryable bool) string {
	t.Helper()
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not an application error", err, err)
	}
	if (typ != "" && ae.Type() != typ) || ae.NonRetryable() != nonRetryable {
		t.Fatalf("error type %q non-retryable %v, want %q %v: %v", ae.Type(), ae.NonRetryable(), typ, nonRetryable, err)
	}
	return ae.Message()
}

// sampleArgs gives every argument of spec (required and optional) a valid value.
func sampleArgs(spec actions.Spec) map[string]any {
	args := map[string]any{}
	for _, a := range spec.Args {
		switch {
		case a.Name == "severity":
			args[a.Name] = "warning"
		case a.Type == actions.String:
			args[a.Name] = "inc-42 " + a.Name
		case a.Type == actions.Number:
			args[a.Name] = 40001.0
		case a.Type == actions.Bool:
			args[a.Name] = true
		case a.Type == actions.ListOfString:
			args[a.Name] = []any{"a", "b"}
		case a.Type == actions.MapOfString:
			args[a.Name] = map[string]any{"a": "b"}
		case a.Type == actions.Any:
			args[a.Name] = map[string]any{"host": "ws-eng-07", "n": 1.0}
		case a.Type == actions.ZoneRef:
			args[a.Name] = "plant3_control"
		case a.Type == actions.ConduitRef:
			args[a.Name] = "dmz_to_control"
		case a.Type == actions.ZoneList:
			args[a.Name] = []any{"zone.plant3_dmz", "corp_it"}
		case a.Type == actions.ConduitList:
			args[a.Name] = []any{"conduit.it_to_control"}
		case a.Type == actions.Principals:
			args[a.Name] = []any{"roster.soc_oncall", "person.alice"}
		case strings.HasPrefix(a.Type, actions.IntegrationPrefix):
			args[a.Name] = strings.TrimPrefix(a.Type, actions.IntegrationPrefix) + ".main"
		default:
			panic("no sample for type " + a.Type)
		}
	}
	return args
}

func TestEveryRegistryActionHasAnActivity(t *testing.T) {
	reg := actions.Builtin()
	if got, want := activities.Actions(), reg.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("activities implement %v; the registry has %v", got, want)
	}
}

// TestOutputsMatchRegistry runs every built-in action on the twins with all
// its arguments and checks the output has exactly the registry's fields.
func TestOutputsMatchRegistry(t *testing.T) {
	for _, spec := range actions.Builtin().Specs() {
		t.Run(spec.Name, func(t *testing.T) {
			f := newFixture(t)
			res := f.mustRun(t, call(spec.Name, "step.x"), sampleArgs(spec))
			var got, want []string
			for k := range res.Output {
				got = append(got, k)
			}
			for _, fld := range spec.Output {
				want = append(want, fld.Name)
			}
			sort.Strings(got)
			sort.Strings(want)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("output fields %v; registry declares %v", got, want)
			}
			if !res.Simulated || res.Summary == "" {
				t.Errorf("result not marked simulated or has no summary: %+v", res)
			}
			if len(f.twin.Journal().Effects()) == 0 && spec.Name != "modbus.read" {
				t.Errorf("no effect journaled")
			}
		})
	}
}

// TestMethodsAreExactlyTheActivities guards against an exported helper on
// *Activities being registered as an activity by w.RegisterActivity.
func TestMethodsAreExactlyTheActivities(t *testing.T) {
	want := []string{activities.NotifyActivity, activities.PageActivity, activities.PromptActivity,
		activities.SettleActivity, activities.StatusActivity, activities.RostersActivity}
	for _, a := range activities.Actions() {
		n, _ := activities.ActivityFor(a)
		want = append(want, n)
	}
	var got []string
	typ := reflect.TypeOf(&activities.Activities{})
	for i := 0; i < typ.NumMethod(); i++ {
		got = append(got, typ.Method(i).Name)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("exported methods %v, want exactly the activities %v", got, want)
	}
}

func TestIsolateZoneCutsConduitsIntoTheZone(t *testing.T) {
	f := newFixture(t)
	c := call("ot.isolate_zone", "step.isolate")
	res := f.mustRun(t, c, map[string]any{"zone": "plant3_control", "reason": "ransomware in the DMZ"})
	want := map[string]any{
		"conduits_cut":     []any{"dmz_to_control", "it_to_control"},
		"conduits_kept":    []any{"sis_to_control"},
		"conduits_skipped": []any{},
	}
	if !reflect.DeepEqual(res.Output, want) {
		t.Fatalf("output %v, want %v", res.Output, want)
	}
	effects := f.twin.Journal().Effects()
	if len(effects) != 2 {
		t.Fatalf("effects %+v, want two cuts", effects)
	}
	for i, id := range []string{"dmz_to_control", "it_to_control"} {
		e := effects[i]
		if e.Op != sim.OpCut || e.Key != c.IdempotencyKey()+"/cut/"+id {
			t.Errorf("effect %d: %s %s", i, e.Op, e.Key)
		}
		var req activities.ConduitRequest
		if err := json.Unmarshal(e.Request, &req); err != nil {
			t.Fatal(err)
		}
		if req.Conduit.ID != id || req.Enforcement != "nftables.plant3_gw" || req.Reason != "ransomware in the DMZ" ||
			!reflect.DeepEqual(req.To.Networks, []string{"10.30.2.0/24"}) || len(req.From.Networks) != 1 {
			t.Errorf("cut request %+v", req)
		}
	}

	// A retry of the same call applies nothing new and answers the same.
	again := f.mustRun(t, c, map[string]any{"zone": "plant3_control", "reason": "ransomware in the DMZ"})
	if !reflect.DeepEqual(again.Output, res.Output) {
		t.Errorf("retry output %v, want %v", again.Output, res.Output)
	}
	if n := len(f.twin.Journal().Effects()); n != 2 {
		t.Errorf("retry added effects: %d", n)
	}
	if n := len(f.twin.Journal().Attempts()); n != 4 {
		t.Errorf("attempts %d, want 4", n)
	}
}

func TestIsolateZoneHalfwayFailureResumes(t *testing.T) {
	f := newFixture(t)
	c := call("ot.isolate_zone", "step.isolate")
	f.twin.FailWhen(func(op, key string) error {
		if op == sim.OpCut && strings.HasSuffix(key, "/it_to_control") {
			f.twin.FailWhen(nil)
			return errors.New("gateway unreachable")
		}
		return nil
	})
	_, err := f.run(t, c, map[string]any{"zone": "plant3_control"})
	if err == nil {
		t.Fatal("the injected failure did not surface")
	}
	appError(t, err, "", false)
	if !strings.Contains(err.Error(), "cutting conduit it_to_control at nftables.plant3_gw") {
		t.Errorf("error %q does not say what failed", err)
	}
	f.mustRun(t, c, map[string]any{"zone": "plant3_control"})
	var keys []string
	for _, e := range f.twin.Journal().Effects() {
		keys = append(keys, e.Key)
	}
	want := []string{c.IdempotencyKey() + "/cut/dmz_to_control", c.IdempotencyKey() + "/cut/it_to_control"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("effects %v, want each conduit cut once: %v", keys, want)
	}
}

func TestSafetyActionsRefuseBadSignoffBeforeActing(t *testing.T) {
	stale := func(c activities.Call) activities.Call { c.Signoff.GrantedAt = granted.Add(-time.Hour); return c }
	tests := []struct {
		action string
		args   map[string]any
		edit   func(activities.Call) activities.Call
		want   string
		// typ is the refusal's type; "" means ErrSignoffRefused.
		typ string
	}{
		{"ot.isolate_zone", map[string]any{"zone": "plant3_control"}, stale, "expired at", ""},
		{"ot.restore_zone", map[string]any{"zone": "plant3_control"}, stale, "expired at", ""},
		{"ot.block_conduit", map[string]any{"conduit": "dmz_to_control"}, stale, "expired at", ""},
		{"ot.isolate_zone", map[string]any{"zone": "plant3_control"},
			func(c activities.Call) activities.Call { c.Signoff = nil; return c }, "no safety sign-off", ""},
		// The sign-off covers the DMZ, the conduit's From side; the target
		// of block_conduit is its To zone.
		{"ot.block_conduit", map[string]any{"conduit": "dmz_to_control"},
			func(c activities.Call) activities.Call { c.Signoff.Covers = []string{"plant3_dmz"}; return c }, "not plant3_control", activities.ErrSignoffUnmendable},
		{"ot.restore_conduit", map[string]any{"conduit": "dmz_to_control"}, stale, "expired at", ""},
		{"ot.restore_conduit", map[string]any{"conduit": "dmz_to_control"},
			func(c activities.Call) activities.Call { c.Signoff.Covers = []string{"plant3_dmz"}; return c }, "not plant3_control", activities.ErrSignoffUnmendable},
		{"ot.isolate_zone", map[string]any{"zone": "plant3_control"},
			func(c activities.Call) activities.Call {
				c.Signoff.Approvers = append(c.Signoff.Approvers[:1], c.Signoff.Approvers[0])
				return c
			}, "1 of 2 count", ""},
	}
	for _, tc := range tests {
		t.Run(tc.action+" "+tc.want, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.run(t, tc.edit(call(tc.action, "step.act")), tc.args)
			typ := tc.typ
			if typ == "" {
				typ = activities.ErrSignoffRefused
			}
			msg := appError(t, err, typ, true)
			if !strings.Contains(msg, tc.want) || !strings.Contains(msg, "step.act") {
				t.Errorf("refusal %q does not say %q and the step", msg, tc.want)
			}
			if n := len(f.twin.Journal().Attempts()); n != 0 {
				t.Errorf("the twin was called %d times after a refusal", n)
			}
		})
	}
}

func TestBreakGlassIsFlagged(t *testing.T) {
	f := newFixture(t)
	c := call("ot.block_conduit", "step.block")
	c.Signoff.Approvers = nil
	c.Signoff.BreakGlass = &activities.BreakGlass{Person: "person.sam", Reason: "ransomware on the HMI", At: granted}
	res := f.mustRun(t, c, map[string]any{"conduit": "conduit.dmz_to_control"})
	if res.Output["enforcement"] != "nftables.plant3_gw" {
		t.Errorf("output %v", res.Output)
	}
	if !strings.Contains(res.Summary, "BREAK-GLASS by person.sam: ransomware on the HMI") {
		t.Errorf("summary %q does not flag the break-glass", res.Summary)
	}
	e := f.twin.Journal().Effects()
	if len(e) != 1 || e[0].Key != c.IdempotencyKey() {
		t.Errorf("effects %+v, want one cut under the call's key", e)
	}
}

func TestIsolationNeedsEnforcementEverywhereBeforeCutting(t *testing.T) {
	f := newFixture(t)
	c := call("ot.isolate_zone", "step.isolate")
	c.Plant.Conduits[0].Enforcement = "" // it_to_control
	f.pol = policyFor(c.Plant)
	_, err := f.run(t, c, map[string]any{"zone": "plant3_control"})
	msg := appError(t, err, activities.ErrNotConfigured, true)
	if !strings.Contains(msg, "conduit it_to_control has no `enforcement`") || !strings.Contains(msg, "nothing was cut") {
		t.Errorf("message %q", msg)
	}
	if n := len(f.twin.Journal().Attempts()); n != 0 {
		t.Errorf("%d conduits were touched; a half isolation must not happen", n)
	}
}

func TestRestoreZone(t *testing.T) {
	f := newFixture(t)
	c := call("ot.restore_zone", "step.restore")
	res := f.mustRun(t, c, map[string]any{"zone": "zone.plant3_control"})
	if want := []any{"dmz_to_control", "it_to_control"}; !reflect.DeepEqual(res.Output["conduits_restored"], want) {
		t.Errorf("restored %v, want %v", res.Output["conduits_restored"], want)
	}
	for _, e := range f.twin.Journal().Effects() {
		if e.Op != sim.OpRestore || !strings.HasPrefix(e.Key, c.IdempotencyKey()+"/restore/") {
			t.Errorf("effect %s %s", e.Op, e.Key)
		}
	}
}

func TestRestoreConduitReopensOneConduit(t *testing.T) {
	f := newFixture(t)
	c := call("ot.restore_conduit", "step.reopen")
	args := map[string]any{"conduit": "conduit.dmz_to_control", "reason": "DMZ cleaned"}
	res := f.mustRun(t, c, args)
	if res.Output["enforcement"] != "nftables.plant3_gw" {
		t.Errorf("output %v", res.Output)
	}
	if want := "reopened conduit dmz_to_control (plant3_dmz -> plant3_control) at nftables.plant3_gw"; res.Summary != want {
		t.Errorf("summary %q, want %q", res.Summary, want)
	}
	e := f.twin.Journal().Effects()
	if len(e) != 1 || e[0].Op != sim.OpRestore || e[0].Key != c.IdempotencyKey() {
		t.Fatalf("effects %+v, want one restore under the call's key", e)
	}
	var req activities.ConduitRequest
	if err := json.Unmarshal(e[0].Request, &req); err != nil {
		t.Fatal(err)
	}
	if req.Conduit.ID != "dmz_to_control" || req.Reason != "DMZ cleaned" {
		t.Errorf("restore request %+v", req)
	}

	// A retry of the same call reopens nothing twice and answers the same.
	again := f.mustRun(t, c, args)
	if !reflect.DeepEqual(again.Output, res.Output) {
		t.Errorf("retry output %v, want %v", again.Output, res.Output)
	}
	if n := len(f.twin.Journal().Effects()); n != 1 {
		t.Errorf("retry added effects: %d in all", n)
	}
}

// TestIslandFromTheDMZKeepRemoteAccessShut is the case from and except are
// for: cut the control zone off from the DMZ only, then reopen the DMZ
// path while the remote-access path from corporate IT stays as it is.
func TestIslandFromTheDMZKeepRemoteAccessShut(t *testing.T) {
	f := newFixture(t)
	iso := call("ot.isolate_zone", "step.island")
	res := f.mustRun(t, iso, map[string]any{"zone": "zone.plant3_control", "from": []any{"zone.plant3_dmz"}})
	want := map[string]any{
		"conduits_cut":     []any{"dmz_to_control"},
		"conduits_kept":    []any{"sis_to_control"},
		"conduits_skipped": []any{"it_to_control"},
	}
	if !reflect.DeepEqual(res.Output, want) {
		t.Errorf("isolation output %v, want %v", res.Output, want)
	}
	if !strings.Contains(res.Summary, "left as they were it_to_control (from plant3_dmz)") {
		t.Errorf("summary %q does not say what was left alone", res.Summary)
	}

	rest := call("ot.restore_zone", "step.reopen_dmz")
	args := map[string]any{"zone": "plant3_control", "except": []any{"conduit.it_to_control"}}
	res = f.mustRun(t, rest, args)
	if want := map[string]any{"conduits_restored": []any{"dmz_to_control"}, "conduits_skipped": []any{"it_to_control"}}; !reflect.DeepEqual(res.Output, want) {
		t.Errorf("restore output %v, want %v", res.Output, want)
	}
	again := f.mustRun(t, rest, args)
	if !reflect.DeepEqual(again.Output, res.Output) {
		t.Errorf("retry output %v, want %v", again.Output, res.Output)
	}

	var got []string
	for _, e := range f.twin.Journal().Effects() {
		got = append(got, e.Op+" "+e.Key)
	}
	wantEffects := []string{
		sim.OpCut + " " + iso.IdempotencyKey() + "/cut/dmz_to_control",
		sim.OpRestore + " " + rest.IdempotencyKey() + "/restore/dmz_to_control",
	}
	if !reflect.DeepEqual(got, wantEffects) {
		t.Errorf("journal %v, want exactly %v", got, wantEffects)
	}
}

// TestRestoreZoneReopensABlockedConduit: ot.restore_zone reopens every
// conduit into the zone, one cut by ot.block_conduit included, unless
// except names it; ot.restore_conduit then reopens that one alone.
func TestRestoreZoneReopensABlockedConduit(t *testing.T) {
	f := newFixture(t)
	block := call("ot.block_conduit", "step.block_remote")
	f.mustRun(t, block, map[string]any{"conduit": "it_to_control"})

	all := call("ot.restore_zone", "step.restore_all")
	res := f.mustRun(t, all, map[string]any{"zone": "plant3_control"})
	if want := []any{"dmz_to_control", "it_to_control"}; !reflect.DeepEqual(res.Output["conduits_restored"], want) {
		t.Errorf("restored %v, want %v: the blocked conduit is reopened too", res.Output["conduits_restored"], want)
	}

	kept := call("ot.restore_zone", "step.restore_but_remote")
	res = f.mustRun(t, kept, map[string]any{"zone": "plant3_control", "except": []any{"it_to_control"}})
	if want := []any{"dmz_to_control"}; !reflect.DeepEqual(res.Output["conduits_restored"], want) {
		t.Errorf("restored %v, want %v", res.Output["conduits_restored"], want)
	}

	one := call("ot.restore_conduit", "step.reopen_remote")
	f.mustRun(t, one, map[string]any{"conduit": "it_to_control"})

	var got []string
	for _, e := range f.twin.Journal().Effects() {
		got = append(got, e.Op+" "+e.Key)
	}
	want := []string{
		sim.OpCut + " " + block.IdempotencyKey(),
		sim.OpRestore + " " + all.IdempotencyKey() + "/restore/dmz_to_control",
		sim.OpRestore + " " + all.IdempotencyKey() + "/restore/it_to_control",
		sim.OpRestore + " " + kept.IdempotencyKey() + "/restore/dmz_to_control",
		sim.OpRestore + " " + one.IdempotencyKey(),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("journal %v, want exactly %v", got, want)
	}
}

// manyNames is n distinct conduit names no plant model has.
func manyNames(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("forged_%d", i)
	}
	return out
}

func TestZoneSelectionThatDoesNotFitIsRefused(t *testing.T) {
	tests := []struct {
		name string
		args map[string]any
		want string
	}{
		{"except out of the zone", map[string]any{"zone": "plant3_control", "except": []any{"control_to_dmz"}},
			`except names conduit "control_to_dmz", which does not lead into zone plant3_control`},
		{"except unknown", map[string]any{"zone": "plant3_control", "except": []any{"nope"}},
			`except names conduit "nope", which does not lead into zone plant3_control`},
		{"from with no conduit", map[string]any{"zone": "plant3_control", "from": []any{"zone.plant3_sis"}},
			`from names zone "plant3_sis", but no conduit isolation cuts leads from it into zone plant3_control`},
		{"thousands of unknown conduits", map[string]any{"zone": "plant3_control", "except": manyNames(5000)},
			`; and 4990 more; nothing was touched`},
		{"empty from", map[string]any{"zone": "plant3_control", "from": []any{}},
			`argument "from" is an empty list, which limits nothing`},
		{"not a list", map[string]any{"zone": "plant3_control", "except": "it_to_control"},
			`argument "except" must be a list of strings`},
	}
	for _, tc := range tests {
		for _, action := range []string{"ot.isolate_zone", "ot.restore_zone"} {
			t.Run(action+" "+tc.name, func(t *testing.T) {
				f := newFixture(t)
				_, err := f.run(t, call(action, "step.s"), tc.args)
				msg := appError(t, err, activities.ErrBadArguments, true)
				if !strings.Contains(msg, tc.want) {
					t.Errorf("message %q does not say %q", msg, tc.want)
				}
				if n := len(f.twin.Journal().Attempts()); n != 0 {
					t.Errorf("%d conduits were touched", n)
				}
			})
		}
	}
}

func TestZoneWithNoConduitsIntoIt(t *testing.T) {
	f := newFixture(t)
	c := call("ot.isolate_zone", "step.isolate")
	c.Signoff.Covers = []string{"corp_it"}
	res := f.mustRun(t, c, map[string]any{"zone": "corp_it"})
	if !reflect.DeepEqual(res.Output, map[string]any{"conduits_cut": []any{}, "conduits_kept": []any{}, "conduits_skipped": []any{}}) {
		t.Errorf("output %#v", res.Output)
	}
}

func TestBadArguments(t *testing.T) {
	tests := []struct {
		action string
		args   map[string]any
		want   []string
	}{
		{"ot.isolate_zone", map[string]any{}, []string{`argument "zone" is required`}},
		{"ot.isolate_zone", map[string]any{"zone": 3.0, "reason": true}, []string{`"zone" must be a string, got number 3`, `"reason" must be a string, got bool true`}},
		{"ot.isolate_zone", map[string]any{"zone": "plant9"}, []string{`zone "plant9" is not in the plant model (known: corp_it, plant3_control, plant3_dmz, plant3_sis)`}},
		{"ot.block_conduit", map[string]any{"conduit": "nope"}, []string{`conduit "nope" is not in the plant model`}},
		{"ot.restore_conduit", map[string]any{"conduit": "nope"}, []string{`conduit "nope" is not in the plant model`}},
		{"ot.restore_conduit", map[string]any{}, []string{`argument "conduit" is required`}},
		{"ot.isolate_zone", map[string]any{"zone": "plant3_control", "zones": "x"}, []string{`unknown argument(s) "zones" (known: except, from, reason, zone)`}},
		{"slack.open_channel", map[string]any{"name": "inc", "invite": []any{"alice"}}, []string{`"invite" must list people and rosters`}},
		{"slack.open_channel", map[string]any{"name": "!!!"}, []string{`no letters or digits`}},
		{"slack.post", map[string]any{"text": ""}, []string{`"text" must not be empty`}},
		{"pagerduty.trigger", map[string]any{"summary": "x", "severity": "sev1"}, []string{`"severity" must be one of critical, error, warning, info`}},
		{"modbus.read", map[string]any{"integration": "webhook.plc", "register": 40001.5}, []string{`must name a modbus integration`, `"register" must be a whole number`}},
		{"modbus.read", map[string]any{"integration": "modbus.plant3_plc", "register": 100.0}, []string{`argument "register": register 100 is not in holding-register notation`, `For protocol offset 100 write 40101.`}},
		{"modbus.read", map[string]any{"integration": "modbus.plant3_plc", "register": 50000.0}, []string{`register 50000 falls between the five-digit notation`, `If 50000 is a protocol offset, write 450001.`}},
		{"pagerduty.acknowledge", map[string]any{}, []string{`argument "dedup_key" is required`}},
		{"pagerduty.acknowledge", map[string]any{"dedup_key": "k", "integration": "slack.main"}, []string{`must name a pagerduty integration`}},
		{"webhook.post", map[string]any{}, []string{`argument "integration" is required`}},
		{"edr.contain_host", map[string]any{"host": []any{"a"}}, []string{`"host" must be a string, got a list`}},
	}
	for _, tc := range tests {
		t.Run(tc.action+" "+tc.want[0], func(t *testing.T) {
			f := newFixture(t)
			_, err := f.run(t, call(tc.action, "step.s"), tc.args)
			msg := appError(t, err, activities.ErrBadArguments, true)
			if !strings.HasPrefix(msg, "step.s ("+tc.action+"): ") {
				t.Errorf("message %q does not name the step and action", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q does not say %q", msg, w)
				}
			}
		})
	}
}

func TestCallForAnotherAction(t *testing.T) {
	f := newFixture(t)
	c := call("ot.block_conduit", "step.s")
	_, err := f.env.ExecuteActivity("IsolateZone", activities.ActionInput{Call: c, Args: map[string]any{"zone": "plant3_control"}})
	msg := appError(t, err, activities.ErrBadArguments, true)
	if !strings.Contains(msg, `the call is for action "ot.block_conduit"`) {
		t.Errorf("message %q", msg)
	}
}

func TestSlackChannelAndPost(t *testing.T) {
	f := newFixture(t)
	open := f.mustRun(t, call("slack.open_channel", "step.open_room"), map[string]any{"name": "INC 42: Plant 3!", "invite": []string{"roster.soc_oncall"}})
	id, _ := open.Output["channel_id"].(string)
	if open.Output["channel_name"] != "inc-42-plant-3" || !strings.HasPrefix(id, "CSIM") || len(id) != 12 {
		t.Fatalf("open output %v", open.Output)
	}
	post := f.mustRun(t, call("slack.post", "step.say"), map[string]any{"text": "hello"})
	if post.Output["channel_id"] != id {
		t.Errorf("post without a channel went to %v, want the incident channel %s", post.Output["channel_id"], id)
	}
	if ts, _ := post.Output["ts"].(string); !strings.Contains(ts, ".") {
		t.Errorf("ts %q", ts)
	}
	other := f.mustRun(t, call("slack.post", "step.say2"), map[string]any{"text": "hi", "channel": "C0123ABCD"})
	if other.Output["channel_id"] != "C0123ABCD" {
		t.Errorf("explicit channel ID not kept: %v", other.Output)
	}
	// Deterministic: a fresh twin gives the same answers.
	g := newFixture(t)
	if again := g.mustRun(t, call("slack.open_channel", "step.open_room"), map[string]any{"name": "inc-42-plant-3"}); again.Output["channel_id"] != id {
		t.Errorf("channel ID not deterministic: %v vs %s", again.Output["channel_id"], id)
	}
}

func TestPagerDutyTriggerDedupKeyIsTheIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	c := call("pagerduty.trigger", "step.alert")
	c.Iteration = "ws-eng-07"
	res := f.mustRun(t, c, map[string]any{"summary": "ransomware", "integration": "pagerduty.ot"})
	if res.Output["dedup_key"] != "inc-42/step.alert[ws-eng-07]" {
		t.Errorf("dedup_key %v", res.Output["dedup_key"])
	}
	var req activities.TriggerRequest
	_ = json.Unmarshal(f.twin.Journal().Effects()[0].Request, &req)
	if req.Integration != "pagerduty.ot" || req.Severity != "critical" {
		t.Errorf("request %+v", req)
	}
}

func TestPagerDutyAcknowledgeThenResolve(t *testing.T) {
	f := newFixture(t)
	trig := f.mustRun(t, call("pagerduty.trigger", "step.alert"), map[string]any{"summary": "ransomware", "integration": "pagerduty.ot"})
	key := trig.Output["dedup_key"]
	ack := f.mustRun(t, call("pagerduty.acknowledge", "step.ack"), map[string]any{"dedup_key": key, "integration": "pagerduty.ot"})
	res := f.mustRun(t, call("pagerduty.resolve", "step.resolve"), map[string]any{"dedup_key": key})
	if ack.Summary != "acknowledged alert inc-42/step.alert" || len(ack.Output) != 0 || !ack.Simulated {
		t.Errorf("acknowledge result %+v", ack)
	}
	if res.Summary != "resolved alert inc-42/step.alert" {
		t.Errorf("resolve result %+v", res)
	}
	eff := f.twin.Journal().Effects()
	if len(eff) != 3 || eff[0].Op != sim.OpTrigger || eff[1].Op != sim.OpAcknowledge || eff[2].Op != sim.OpResolve {
		t.Fatalf("effects %+v", eff)
	}
	var req activities.AcknowledgeRequest
	_ = json.Unmarshal(eff[1].Request, &req)
	if req.Integration != "pagerduty.ot" || req.DedupKey != "inc-42/step.alert" || req.Key != "inc-42/step.ack" {
		t.Errorf("acknowledge request %+v", req)
	}
	var rreq activities.ResolveRequest
	_ = json.Unmarshal(eff[2].Request, &rreq)
	if rreq.Integration != "pagerduty.default" || rreq.DedupKey != "inc-42/step.alert" {
		t.Errorf("resolve request %+v", rreq)
	}
}

func TestModbusReadIsSteerable(t *testing.T) {
	f := newFixture(t)
	c := call("modbus.read", "step.keyswitch")
	res := f.mustRun(t, c, map[string]any{"integration": "plant3_plc", "register": 40001.0})
	if res.Output["value"] != 1.0 {
		t.Errorf("default register value %v, want 1", res.Output["value"])
	}
	f.twin.SetRegister("plant3_plc", 40001, 0)
	res = f.mustRun(t, c, map[string]any{"integration": "modbus.plant3_plc", "register": 40001.0})
	if res.Output["value"] != 0.0 {
		t.Errorf("steered register value %v, want 0", res.Output["value"])
	}
	if n := len(f.twin.Journal().Effects()); n != 0 {
		t.Errorf("reads journaled %d effects", n)
	}
}

func TestRetryAfterInjectedFailures(t *testing.T) {
	f := newFixture(t)
	c := call("edr.contain_host", "step.contain_hosts")
	c.Iteration = "ws-eng-07"
	f.twin.FailNext(sim.OpContain, 2)
	for i := 0; i < 2; i++ {
		_, err := f.run(t, c, map[string]any{"host": "ws-eng-07"})
		appError(t, err, "", false) // retryable
	}
	res := f.mustRun(t, c, map[string]any{"host": "ws-eng-07"})
	if res.Output["contained"] != true {
		t.Errorf("output %v", res.Output)
	}
	att, eff := f.twin.Journal().Attempts(), f.twin.Journal().Effects()
	if len(att) != 3 || len(eff) != 1 || att[0].Error == "" || att[0].Effect {
		t.Errorf("attempts %+v effects %+v", att, eff)
	}
	var req activities.ContainRequest
	_ = json.Unmarshal(eff[0].Request, &req)
	if req.Integration != "webhook.edr" || req.Host != "ws-eng-07" || req.IncidentID != "inc-42" || req.Step != "step.contain_hosts" {
		t.Errorf("request %+v", req)
	}
}

func TestPermanentIntegrationFailureIsNotRetried(t *testing.T) {
	f := newFixture(t)
	f.twin.FailWhen(func(op, key string) error {
		return fmt.Errorf("vendor firewall answered 400: %w", activities.ErrPermanent)
	})
	_, err := f.run(t, call("webhook.post", "step.fw"), map[string]any{"integration": "fw_vendor", "body": map[string]any{"block": "10.30.1.7"}})
	msg := appError(t, err, activities.ErrIntegrationRejected, true)
	if !strings.Contains(msg, "step.fw: posting to webhook.fw_vendor: vendor firewall answered 400") {
		t.Errorf("message %q", msg)
	}
}

func TestNothingConfigured(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	pol := policyFor(plant3())
	env.RegisterActivity(&activities.Activities{Now: func() time.Time { return now }, Authority: activities.AuthorityFunc(func() *activities.Policy { return pol })})
	for _, spec := range actions.Builtin().Specs() {
		name, _ := activities.ActivityFor(spec.Name)
		_, err := env.ExecuteActivity(name, activities.ActionInput{Call: call(spec.Name, "step.s"), Args: sampleArgs(spec)})
		msg := appError(t, err, activities.ErrNotConfigured, true)
		if !strings.Contains(msg, "integration is configured") {
			t.Errorf("%s: %q", spec.Name, msg)
		}
	}
	_, err := env.ExecuteActivity(activities.NotifyActivity, activities.NotifyInput{Call: call("", "notify.x"), IncidentChannel: true, Text: "x"})
	appError(t, err, activities.ErrNotConfigured, true)
}

func TestMessagesKeysAndExerciseMarking(t *testing.T) {
	f := newFixture(t)
	base := activities.Call{IncidentID: "ttx-1", Step: "approval.isolate_ok", Exercise: true}
	people := []activities.Recipient{
		{Person: "person.alice", Slack: "U01ALICE", PagerDuty: "PABC123"},
		{Person: "person.bob", Slack: "U01BOB"},
	}

	v, err := f.env.ExecuteActivity(activities.PageActivity, activities.PageInput{
		Call: base, StepKind: "approval", Round: 2, Escalation: "ot_engineering", Cycle: 1, Tier: 2, To: people, Text: "Ransomware near plant 3", AckWithin: "5m"})
	if err != nil {
		t.Fatal(err)
	}
	var page activities.PageResult
	_ = v.Get(&page)
	if page.Delivered != 2 || !page.Simulated {
		t.Errorf("page result %+v", page)
	}
	v, err = f.env.ExecuteActivity(activities.PromptActivity, activities.PromptInput{
		Call: base, Kind: "approval", Round: 2, To: people, Text: "Isolate plant 3?", Options: []string{"approve", "deny"}})
	if err != nil {
		t.Fatal(err)
	}
	var prompt activities.PromptResult
	_ = v.Get(&prompt)
	if prompt.Delivered != 2 {
		t.Errorf("prompt result %+v", prompt)
	}
	notifyCall := base
	notifyCall.Step = "notify.status"
	v, err = f.env.ExecuteActivity(activities.NotifyActivity, activities.NotifyInput{
		Call: notifyCall, IncidentChannel: true, To: people[:1], Text: "Plant 3 isolated"})
	if err != nil {
		t.Fatal(err)
	}
	var note activities.NotifyResult
	_ = v.Get(&note)
	if note.Delivered != 2 {
		t.Errorf("notify result %+v", note)
	}
	ex := func(action, step string) activities.Call {
		c := call(action, step)
		c.IncidentID, c.Exercise = "ttx-1", true
		return c
	}
	f.mustRun(t, ex("slack.open_channel", "step.open_room"), map[string]any{"name": "ttx-1"})
	f.mustRun(t, ex("slack.post", "step.say"), map[string]any{"text": "hello"})
	f.mustRun(t, ex("pagerduty.trigger", "step.alert"), map[string]any{"summary": "ransomware"})
	// Already-marked text is not marked twice.
	f.mustRun(t, ex("slack.post", "step.say2"), map[string]any{"text": "[EXERCISE] hi"})

	wantKeys := map[string]string{
		sim.OpPage:    "ttx-1/approval.isolate_ok/page/ot_engineering/1/2",
		sim.OpTrigger: "", // checked below: both the page and the action trigger
		sim.OpPrompt:  "ttx-1/approval.isolate_ok/prompt/approval",
		sim.OpNotify:  "ttx-1/notify.status/notify",
	}
	if got := activities.PageKey(base, "ot_engineering", 1, 2); got != wantKeys[sim.OpPage] {
		t.Errorf("PageKey %q", got)
	}
	triggers := 0
	for _, e := range f.twin.Journal().Effects() {
		if !e.Exercise {
			t.Errorf("%s %s not flagged as exercise", e.Op, e.Key)
		}
		if w := wantKeys[e.Op]; w != "" && e.Key != w {
			t.Errorf("%s key %q, want %q", e.Op, e.Key, w)
		}
		var fields map[string]any
		if err := json.Unmarshal(e.Request, &fields); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"text", "summary", "topic"} {
			s, ok := fields[k].(string)
			if !ok {
				continue
			}
			if !strings.HasPrefix(s, activities.ExercisePrefix) || strings.HasPrefix(s, activities.ExercisePrefix+activities.ExercisePrefix) {
				t.Errorf("%s %s %q is not marked once as an exercise", e.Op, k, s)
			}
		}
		if e.Op == sim.OpPage || e.Op == sim.OpPrompt {
			// Buttons carry incident, step, round and option back.
			var req activities.DeliverRequest
			_ = json.Unmarshal(e.Request, &req)
			if req.IncidentID != "ttx-1" || req.Step != "approval.isolate_ok" || req.StepKind != "approval" || req.Round != 2 {
				t.Errorf("%s request %+v does not carry incident, step, step kind and round", e.Op, req)
			}
		}
		if e.Op == sim.OpTrigger {
			triggers++
			var req activities.TriggerRequest
			_ = json.Unmarshal(e.Request, &req)
			if strings.HasPrefix(e.Key, "ttx-1/approval.isolate_ok/page/") && (req.Details["people"] != "PABC123" || req.Integration != "pagerduty.default") {
				t.Errorf("page trigger %+v", req)
			}
		}
	}
	if triggers != 2 {
		t.Errorf("%d PagerDuty triggers, want 2 (the page and the action)", triggers)
	}
}

func TestMessageInputProblems(t *testing.T) {
	f := newFixture(t)
	c := activities.Call{IncidentID: "inc-1", Step: "decision.reconnect"}
	_, err := f.env.ExecuteActivity(activities.PromptActivity, activities.PromptInput{Call: c, Kind: "vote", Text: ""})
	msg := appError(t, err, activities.ErrBadArguments, true)
	for _, w := range []string{"decision.reconnect (Prompt)", `kind "vote" is not one of approval, decision, task`, "the prompt is empty"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message %q does not say %q", msg, w)
		}
	}
	_, err = f.env.ExecuteActivity(activities.NotifyActivity, activities.NotifyInput{Call: c, Text: "x"})
	if msg := appError(t, err, activities.ErrBadArguments, true); !strings.Contains(msg, "no one to deliver it to") {
		t.Errorf("message %q", msg)
	}
}

// TestPageReachesThePagerWhenChatFails: a chat that cannot deliver a page
// does not keep the pager from paging; the page says what failed.
func TestPageReachesThePagerWhenChatFails(t *testing.T) {
	f := newFixture(t)
	f.twin.FailWhen(func(op, key string) error {
		if op == sim.OpPage {
			return fmt.Errorf("slack is down: %w", activities.ErrPermanent)
		}
		return nil
	})
	in := activities.PageInput{Call: call("page", "page.ot"), Escalation: "ot", Text: "SEV1", AckWithin: "5m",
		To: []activities.Recipient{{Person: "alice", Slack: "U1", PagerDuty: "PALICE"}}}
	v, err := f.env.ExecuteActivity(activities.PageActivity, in)
	if err != nil {
		t.Fatalf("page failed although the pager paged: %v", err)
	}
	var res activities.PageResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0], "slack is down") {
		t.Errorf("Failed = %q; want the chat's failure", res.Failed)
	}
	triggered := 0
	for _, e := range f.twin.Journal().Effects() {
		if e.Op == sim.OpTrigger {
			triggered++
		}
	}
	if triggered != 1 {
		t.Errorf("%d alerts triggered; want 1", triggered)
	}

	// With no pager to fall back on, the page fails.
	in.To[0].PagerDuty = ""
	in.Call.Step = "page.ot2"
	if _, err := f.env.ExecuteActivity(activities.PageActivity, in); err == nil {
		t.Fatal("a page nobody received succeeded")
	}
}

func TestRoomNames(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name     string
		exercise bool
		want     string
	}{
		{"inc-INC-20261201-4F2A", false, "inc-20261201-4f2a"},
		{"INC-20261201-4F2A", false, "inc-20261201-4f2a"},
		{"inc-inc-inc-x", false, "inc-x"},
		{"EX-plant3_ttx", true, "ex-plant3_ttx"},
		{"inc-INC-1", true, "exercise-inc-1"},
		{"war room", true, "exercise-war-room"},
	} {
		c := call("slack.open_channel", "step.room")
		c.Exercise = tc.exercise
		c.IncidentID = "inc-" + tc.name
		res := f.mustRun(t, c, map[string]any{"name": tc.name})
		if got := res.Output["channel_name"]; got != tc.want {
			t.Errorf("channel for %q (exercise %v) = %v; want %s", tc.name, tc.exercise, got, tc.want)
		}
	}
}
