package playbooks

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/firebreak-ir/firebreak/playbooks/rules"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Attributes of an inject that set simulated state at its time.
const (
	injectSetRegister  = "set_register"
	injectEDRContains  = "edr_contains"
	injectFailDelivery = "fail_delivery"
)

// RegisterValue is one set_register of an inject: from the inject's time
// on, the register reads Value (a modbus.read step's and a zone's
// safe_state check's).
type RegisterValue struct {
	// Integration is the modbus integration ID, "modbus.NAME".
	Integration string
	// Register is the register address as playbooks write it, e.g. 40001.
	Register int
	// Value is what the register reads.
	Value int
}

// HostContainment is the EDR's answer for one host, from edr_contains = {
// HOST = BOOL }.
type HostContainment struct {
	Host      string
	Contained bool
}

// Delivery is what fail_delivery says about messages from the inject's
// time on.
type Delivery struct {
	// All is fail_delivery = true: no notice, page or prompt reaches anyone.
	All bool
	// Restore is fail_delivery = false: every delivery succeeds again.
	Restore bool
	// People are the person IDs (rosters expanded) whose deliveries fail,
	// from fail_delivery = [person.X, roster.Y].
	People []string
}

// injectState is what an inject sets, decoded from its body's attributes.
// Check reports its diagnostics; Scenario keeps its values.
type injectState struct {
	registers []RegisterValue
	// registerRanges are where each of registers was written.
	registerRanges []hcl.Range
	edrAll         *bool
	edrHosts       []HostContainment
	delivery       *Delivery
}

// decodeInjectState decodes and checks the state-setting attributes of an
// inject body (set_register, edr_contains, fail_delivery).
func (m *Module) decodeInjectState(c *hcl.BodyContent) (injectState, hcl.Diagnostics) {
	var st injectState
	var diags hcl.Diagnostics
	errorf := func(r hcl.Range, summary, format string, args ...any) {
		addDiag(&diags, hcl.DiagError, r, summary, format, args...)
	}
	if a := c.Attributes[injectSetRegister]; a != nil {
		st.registers, st.registerRanges = m.decodeSetRegister(a, errorf)
	}
	if a := c.Attributes[injectEDRContains]; a != nil {
		st.edrAll, st.edrHosts = decodeEDRContains(a, errorf)
	}
	if a := c.Attributes[injectFailDelivery]; a != nil {
		st.delivery = m.decodeFailDelivery(a, errorf)
	}
	return st, diags
}

type errorfFunc func(r hcl.Range, summary, format string, args ...any)

const setRegisterExample = `{ integration = "modbus.plant3_plc", register = 40001, value = 0 }`

// decodeSetRegister reads set_register: one object, or a list of them,
// with where each was written.
func (m *Module) decodeSetRegister(a *hcl.Attribute, errorf errorfFunc) ([]RegisterValue, []hcl.Range) {
	var elems []hcl.Expression
	if _, isObject := hcl.ExprMap(a.Expr); isObject.HasErrors() {
		list, ds := hcl.ExprList(a.Expr)
		if ds.HasErrors() {
			errorf(a.Expr.Range(), "Invalid set_register", "set_register is an object, such as %s, or a list of them.", setRegisterExample)
			return nil, nil
		}
		elems = list
	} else {
		elems = []hcl.Expression{a.Expr}
	}
	var out []RegisterValue
	var ranges []hcl.Range
	for _, e := range elems {
		if rv, ok := m.decodeRegisterValue(e, errorf); ok {
			out = append(out, rv)
			ranges = append(ranges, e.Range())
		}
	}
	return out, ranges
}

// registerRead is a register some check of a playbook reads.
type registerRead struct {
	integration string
	register    int
	by          string
}

// registerReads lists the registers pb's checks read: every zone's
// safe_state, and the modbus.read steps of pb. ok is false when a step
// reads a register only known at run time, which may be any.
func (m *Module) registerReads(pb *Playbook) (reads []registerRead, ok bool) {
	for _, n := range sortedKeys(m.Config.Zones) {
		if s := m.Config.Zones[n].SafeState; s != nil {
			reads = append(reads, registerRead{s.Integration, s.Register, "zone." + n + " safe_state"})
		}
	}
	for _, s := range pb.Steps {
		a := s.Attrs["action"]
		if a == nil {
			continue
		}
		if v, ds := a.Expr.Value(staticCtx); ds.HasErrors() || v.Type() != cty.String || v.IsNull() || v.AsString() != "modbus.read" {
			continue
		}
		w := s.Attrs["with"]
		if w == nil {
			continue
		}
		pairs, ds := hcl.ExprMap(w.Expr)
		if ds.HasErrors() {
			return nil, false
		}
		r := registerRead{by: s.addr()}
		for _, kv := range pairs {
			key, _ := objectKey(kv.Key, nil)
			v, ds := kv.Value.Value(staticCtx)
			switch {
			case key != "integration" && key != "register":
				continue
			case ds.HasErrors() || !v.IsKnown() || v.IsNull():
				return nil, false
			case key == "integration" && v.Type() == cty.String:
				r.integration = v.AsString()
				if !strings.Contains(r.integration, ".") {
					r.integration = "modbus." + r.integration
				}
			case key == "register" && v.Type() == cty.Number:
				f, _ := v.AsBigFloat().Float64()
				r.register = int(f)
			default:
				return nil, false
			}
		}
		reads = append(reads, r)
	}
	return reads, true
}

// checkRegistersRead warns of a set_register that no check of pb reads:
// a typo in the register or the integration leaves the exercise unchanged.
func (m *Module) checkRegistersRead(pb *Playbook, st injectState, diags *hcl.Diagnostics) {
	if len(st.registers) == 0 {
		return
	}
	reads, ok := m.registerReads(pb)
	if !ok {
		return
	}
	var known []string
	for _, r := range reads {
		known = append(known, fmt.Sprintf("register %d on %s (%s)", r.register, r.integration, r.by))
	}
	if len(known) == 0 {
		known = []string{"none"}
	}
	for i, rv := range st.registers {
		read := false
		for _, r := range reads {
			read = read || (r.integration == rv.Integration && sameRegister(r.register, rv.Register))
		}
		if !read {
			addDiag(diags, hcl.DiagWarning, st.registerRanges[i], "Register is never read",
				"set_register sets register %d on %s, but no zone's safe_state and no modbus.read step of playbook %q reads it, so the run will not notice. Registers read: %s.",
				rv.Register, rv.Integration, pb.Name, strings.Join(known, "; "))
		}
	}
}

// sameRegister reports whether two registers, as written, are one holding
// register: 40001 and 400001 both are offset 0.
func sameRegister(a, b int) bool {
	oa, pa := rules.RegisterOffset(float64(a))
	ob, pb := rules.RegisterOffset(float64(b))
	if pa != "" || pb != "" {
		return a == b
	}
	return oa == ob
}

func (m *Module) decodeRegisterValue(e hcl.Expression, errorf errorfFunc) (RegisterValue, bool) {
	pairs, ds := hcl.ExprMap(e)
	if ds.HasErrors() {
		errorf(e.Range(), "Invalid set_register", "Each register set is an object, such as %s.", setRegisterExample)
		return RegisterValue{}, false
	}
	keys := []string{"integration", "register", "value"}
	given := map[string]hcl.Expression{}
	ok := true
	for _, kv := range pairs {
		key, _ := objectKey(kv.Key, nil)
		if !contains(keys, key) {
			errorf(kv.Key.Range(), "Unknown key in set_register", "set_register takes integration, register and value; not %q.%s", key, m.Config.hint(key, keys))
			ok = false
			continue
		}
		if given[key] != nil {
			errorf(kv.Key.Range(), "Duplicate key in set_register", "%s is given twice.", key)
			ok = false
			continue
		}
		given[key] = kv.Value
	}
	for _, k := range keys {
		if given[k] == nil {
			errorf(e.Range(), "Missing key in set_register", "set_register needs %s, as in %s.", k, setRegisterExample)
			ok = false
		}
	}
	if !ok {
		return RegisterValue{}, false
	}
	var rv RegisterValue
	ie := given["integration"]
	if _, isRef := refTraversal(ie); isRef && !isJSONExpr(ie) {
		errorf(ie.Range(), "Invalid integration", "integration is the modbus integration's ID as a string, such as \"modbus.plant3_plc\", as a zone's safe_state writes it.")
		ok = false
	} else {
		var diags hcl.Diagnostics
		v, vok := evalStatic(&diags, ie, cty.String, "integration")
		for _, d := range diags {
			errorf(*d.Subject, d.Summary, "%s", d.Detail)
		}
		if !vok {
			ok = false
		} else {
			id := v.AsString()
			if !strings.Contains(id, ".") {
				id = "modbus." + id
			}
			var bad bool
			checkIntegrationRef(m.Config, id, ie.Range(), []string{"modbus"}, func(r hcl.Range, summary, format string, args ...any) {
				bad = true
				errorf(r, summary, format, args...)
			})
			ok = ok && !bad
			rv.Integration = id
		}
	}
	var okR, okV bool
	{
		var diags hcl.Diagnostics
		rv.Register, okR = registerValue(&diags, given["register"], "register")
		for _, d := range diags {
			errorf(*d.Subject, d.Summary, "%s", d.Detail)
		}
	}
	rv.Value, okV = wholeNumber(given["value"], "value", 0, rules.MaxRegisterValue,
		"what the 16-bit holding register reads", errorf)
	return rv, ok && okR && okV
}

// wholeNumber evaluates e as a whole number from lo to hi.
func wholeNumber(e hcl.Expression, name string, lo, hi int, what string, errorf errorfFunc) (int, bool) {
	var diags hcl.Diagnostics
	v, ok := evalStatic(&diags, e, cty.Number, name)
	for _, d := range diags {
		errorf(*d.Subject, d.Summary, "%s", d.Detail)
	}
	if !ok {
		return 0, false
	}
	f, _ := v.AsBigFloat().Float64()
	if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		errorf(e.Range(), "Invalid number", "%s is %s: a whole number from %d to %d; got %s.", name, what, lo, hi, v.AsBigFloat().Text('f', -1))
		return 0, false
	}
	return int(f), true
}

// decodeEDRContains reads edr_contains: a bool for every host, or an
// object of host names to bools.
func decodeEDRContains(a *hcl.Attribute, errorf errorfFunc) (*bool, []HostContainment) {
	const want = "edr_contains is true (the EDR confirms containment), false (it does not), or an object of host names to true or false, such as { \"hist-dmz-01\" = false }"
	if pairs, ds := hcl.ExprMap(a.Expr); !ds.HasErrors() {
		var out []HostContainment
		seen := map[string]bool{}
		for _, kv := range pairs {
			host, ok := objectKey(kv.Key, nil)
			if !ok || strings.TrimSpace(host) == "" {
				errorf(kv.Key.Range(), "Invalid host", "%s; a host name is a non-empty string.", want)
				continue
			}
			if seen[host] {
				errorf(kv.Key.Range(), "Duplicate host", "%q is given twice in edr_contains.", host)
				continue
			}
			seen[host] = true
			var diags hcl.Diagnostics
			v, ok := evalStatic(&diags, kv.Value, cty.Bool, "edr_contains."+host)
			for _, d := range diags {
				errorf(*d.Subject, d.Summary, "%s", d.Detail)
			}
			if ok {
				out = append(out, HostContainment{Host: host, Contained: v.True()})
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Host < out[j].Host })
		return nil, out
	}
	v, ds := a.Expr.Value(staticCtx)
	if ds.HasErrors() || v.IsNull() || !v.IsKnown() || v.Type() != cty.Bool {
		errorf(a.Expr.Range(), "Invalid edr_contains", "%s.", want)
		return nil, nil
	}
	b := v.True()
	return &b, nil
}

// decodeFailDelivery reads fail_delivery: a bool, or a list of people and
// rosters.
func (m *Module) decodeFailDelivery(a *hcl.Attribute, errorf errorfFunc) *Delivery {
	const want = "fail_delivery is true (no message reaches anyone), false (every message is delivered again) or a list of people and rosters whose messages fail, such as [person.olga]"
	if v, ds := a.Expr.Value(staticCtx); !ds.HasErrors() && !v.IsNull() && v.IsKnown() && v.Type() == cty.Bool {
		if v.True() {
			return &Delivery{All: true}
		}
		return &Delivery{Restore: true}
	}
	if _, isRef := refTraversal(a.Expr); !isRef {
		if _, ds := hcl.ExprList(a.Expr); ds.HasErrors() {
			errorf(a.Expr.Range(), "Invalid fail_delivery", "%s.", want)
			return nil
		}
	}
	refs, ds := decodeRefs(a.Expr, blockPerson, blockRoster)
	for _, d := range ds {
		errorf(*d.Subject, d.Summary, "%s", d.Detail)
	}
	if ds.HasErrors() {
		return nil
	}
	if len(refs) == 0 {
		errorf(a.Expr.Range(), "Invalid fail_delivery", "The list is empty; %s.", want)
		return nil
	}
	var principals []string
	ok := true
	for _, r := range refs {
		var names []string
		var known bool
		if r.Kind == blockPerson {
			names, known = sortedKeys(m.Config.People), m.Config.People[r.Name] != nil
		} else {
			names, known = sortedKeys(m.Config.Rosters), m.Config.Rosters[r.Name] != nil
		}
		if !known {
			errorf(r.Range, "Reference to undeclared "+r.Kind, "fail_delivery names declared people and rosters; there is no %s %q.%s Known: %s.", r.Kind, r.Name, m.Config.hint(r.Name, names), knownList(names))
			ok = false
			continue
		}
		principals = append(principals, r.addr())
	}
	if !ok {
		return nil
	}
	return &Delivery{People: m.Config.Directory().Expand(principals)}
}

// String says what the register reads, as a timeline tells it.
func (rv RegisterValue) String() string {
	return fmt.Sprintf("register %d on %s reads %d", rv.Register, rv.Integration, rv.Value)
}
