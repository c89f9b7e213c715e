package playbooks

import (
	"reflect"
	"strings"
	"testing"
)

// injectExercise wraps inject attributes in an exercise of checkExercisePB;
// the attributes start on line 7 of test.hcl.
func injectExercise(attrs string) string {
	return `exercise "x" {
  playbook  = playbook.ttx
  commander = person.bob
  inputs    = { zone = "control" }
  inject "alert" {
    at           = "10m"
` + attrs + `
    message      = "the PLC leaves steady state"
  }
}
`
}

// TestInjectStateDiagnostics is the table of the checks of the attributes
// by which an inject sets simulated state.
func TestInjectStateDiagnostics(t *testing.T) {
	pb := map[string]string{"pb.hcl": checkExercisePB}
	cases := []checkCase{
		{name: "every attribute valid", extra: pb, src: injectExercise(`    set_register  = { integration = "modbus.plc", register = 40001, value = 0 }
    edr_contains  = { "ws-1" = false, "ws-2" = true }
    fail_delivery = [person.alice, roster.ops]`)},
		{name: "a list of registers and the bare integration name", extra: pb, src: injectExercise(`    set_register = [{ integration = "plc", register = 40001, value = 0 }, { integration = "modbus.plc", register = 40005, value = 65535 }]
    edr_contains = false
    fail_delivery = true`), want: []checkWant{checkWarn(7, 75, "Register is never read",
			`sets register 40005 on modbus.plc, but no zone's safe_state and no modbus.read step of playbook "ttx" reads it, so the run will not notice. Registers read: register 40001 on modbus.plc (zone.control safe_state).`)}},
		{name: "a register a modbus.read step reads", extra: map[string]string{"pb.hcl": strings.Replace(checkExercisePB, `  task "call" {`, `  step "read" {
    action = "modbus.read"
    with   = { integration = "plc", register = 40002 }
  }
  task "call" {`, 1)}, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 40002, value = 9 }`)},
		{name: "the six-digit notation of a register read", extra: map[string]string{"pb.hcl": strings.Replace(checkExercisePB, `  task "call" {`, `  step "read" {
    action = "modbus.read"
    with   = { integration = "plc", register = 40002 }
  }
  task "call" {`, 1)}, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 400002, value = 9 }`)},
		{name: "a raw offset", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 0, value = 0 }`),
			want: []checkWant{checkErr(7, 61, "Invalid register", "Register 0 is not in holding-register notation, and a raw protocol offset is not accepted")}},
		{name: "fail_delivery false restores", extra: pb, src: injectExercise(`    fail_delivery = false`)},
		{name: "unknown integration", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.pcl", register = 40001, value = 0 }`),
			want: []checkWant{checkErr(7, 36, "Unknown integration", `Did you mean "modbus.plc"?`)}},
		{name: "integration of the wrong kind", extra: pb, src: injectExercise(`    set_register = { integration = "webhook.edr", register = 40001, value = 0 }`),
			want: []checkWant{checkErr(7, 36, "Wrong kind of integration", `must name a modbus integration`)}},
		{name: "integration written as a reference", extra: pb, src: injectExercise(`    set_register = { integration = integration.modbus.plc, register = 40001, value = 0 }`),
			want: []checkWant{checkErr(7, 36, "Invalid integration", `as a string, such as "modbus.plant3_plc"`)}},
		{name: "register past the holding registers", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 465537, value = 0 }`),
			want: []checkWant{checkErr(7, 61, "Invalid register", "Register 465537 is outside the Modbus address space: write a holding register in Modbus notation: 40001 to 49999 (40001 is the first, protocol offset 0), or 400001 to 465536")}},
		{name: "negative register", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = -1, value = 0 }`),
			want: []checkWant{checkErr(7, 61, "Invalid register", "Register -1 is outside the Modbus address space")}},
		{name: "value past 16 bits", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 40001, value = 65536 }`),
			want: []checkWant{checkErr(7, 76, "Invalid number", "value is what the 16-bit holding register reads: a whole number from 0 to 65535; got 65536.")}},
		{name: "fractional value", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = 40001, value = 0.5 }`),
			want: []checkWant{checkErr(7, 76, "Invalid number", "got 0.5")}},
		{name: "register as a string", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", register = "forty", value = 0 }`),
			want: []checkWant{checkErr(7, 61, "Wrong type", "register must be a number")}},
		{name: "unknown and missing keys", extra: pb, src: injectExercise(`    set_register = { integration = "modbus.plc", registr = 40001, value = 0 }`),
			want: []checkWant{
				checkErr(7, 20, "Missing key in set_register", "set_register needs register"),
				checkErr(7, 50, "Unknown key in set_register", `not "registr". Did you mean "register"?`),
			}},
		{name: "set_register not an object", extra: pb, src: injectExercise(`    set_register = 40001`),
			want: []checkWant{checkErr(7, 20, "Invalid set_register", "set_register is an object, such as")}},
		{name: "a list element not an object", extra: pb, src: injectExercise(`    set_register = [40001]`),
			want: []checkWant{checkErr(7, 21, "Invalid set_register", "Each register set is an object")}},
		{name: "edr_contains a string", extra: pb, src: injectExercise(`    edr_contains = "no"`),
			want: []checkWant{checkErr(7, 20, "Invalid edr_contains", "edr_contains is true (the EDR confirms containment), false")}},
		{name: "edr_contains host not a bool", extra: pb, src: injectExercise(`    edr_contains = { "ws-1" = "nope" }`),
			want: []checkWant{checkErr(7, 31, "Wrong type", "edr_contains.ws-1 must be true or false")}},
		{name: "edr_contains empty host", extra: pb, src: injectExercise(`    edr_contains = { "" = false }`),
			want: []checkWant{checkErr(7, 22, "Invalid host", "a host name is a non-empty string")}},
		{name: "fail_delivery to an undeclared person", extra: pb, src: injectExercise(`    fail_delivery = [person.alcie]`),
			want: []checkWant{checkErr(7, 22, "Reference to undeclared person", `there is no person "alcie". Did you mean "alice"?`)}},
		{name: "fail_delivery to an undeclared roster", extra: pb, src: injectExercise(`    fail_delivery = [roster.opps]`),
			want: []checkWant{checkErr(7, 22, "Reference to undeclared roster", `Did you mean "ops"?`)}},
		{name: "fail_delivery to a zone", extra: pb, src: injectExercise(`    fail_delivery = [zone.control]`),
			want: []checkWant{checkErr(7, 22, "Wrong kind of reference", "only a person or a roster fits here")}},
		{name: "fail_delivery a string", extra: pb, src: injectExercise(`    fail_delivery = "olga"`),
			want: []checkWant{checkErr(7, 21, "Invalid fail_delivery", "fail_delivery is true (no message reaches anyone), false")}},
		{name: "fail_delivery an empty list", extra: pb, src: injectExercise(`    fail_delivery = []`),
			want: []checkWant{checkErr(7, 21, "Invalid fail_delivery", "The list is empty")}},
		{name: "unknown inject attribute", extra: pb, src: injectExercise(`    set_registers = { integration = "modbus.plc", register = 40001, value = 0 }`),
			want: []checkWant{checkErr(7, 5, "Unsupported argument", `Did you mean "set_register"?`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

// TestScenarioInjectState: Scenario carries what the injects set.
func TestScenarioInjectState(t *testing.T) {
	c := checkCase{extra: map[string]string{"pb.hcl": checkExercisePB}, src: injectExercise(`    set_register  = [{ integration = "plc", register = 40001, value = 0 }, { integration = "modbus.plc", register = 40002, value = 7 }]
    edr_contains  = { "ws-2" = true, "ws-1" = false }
    fail_delivery = [roster.ops, person.alice, person.carol]`)}
	m, diags := LoadSource(c.files())
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	sc, err := m.Scenario("x")
	if err != nil {
		t.Fatal(err)
	}
	in := sc.Injects[0]
	if want := []RegisterValue{{"modbus.plc", 40001, 0}, {"modbus.plc", 40002, 7}}; !reflect.DeepEqual(in.Registers, want) {
		t.Errorf("registers %+v, want %+v", in.Registers, want)
	}
	if want := []HostContainment{{"ws-1", false}, {"ws-2", true}}; in.EDRContains != nil || !reflect.DeepEqual(in.EDRHosts, want) {
		t.Errorf("EDR %v %+v, want %+v", in.EDRContains, in.EDRHosts, want)
	}
	if in.Delivery == nil || !reflect.DeepEqual(in.Delivery.People, []string{"carol", "dave", "alice"}) || in.Delivery.All || in.Delivery.Restore {
		t.Errorf("delivery %+v, want carol, dave, alice", in.Delivery)
	}
	if !in.SetsState() {
		t.Error("SetsState is false")
	}

	c.src = injectExercise(`    edr_contains  = false
    fail_delivery = true`)
	m, _ = LoadSource(c.files())
	if sc, err = m.Scenario("x"); err != nil {
		t.Fatal(err)
	}
	in = sc.Injects[0]
	if in.EDRContains == nil || *in.EDRContains || in.EDRHosts != nil || in.Delivery == nil || !in.Delivery.All {
		t.Errorf("inject %+v", in)
	}

	c.src = injectExercise(`    set_register = { integration = "modbus.nope", register = 1, value = 0 }`)
	m, _ = LoadSource(c.files())
	if _, err := m.Scenario("x"); err == nil || !strings.Contains(err.Error(), "modbus.nope") {
		t.Errorf("a bad inject: %v", err)
	}
}
