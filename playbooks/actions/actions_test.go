package actions

import (
	"strings"
	"testing"
)

func TestBuiltinValid(t *testing.T) {
	c := Builtin()
	want := []string{"slack.open_channel", "slack.post", "ot.isolate_zone", "ot.block_conduit", "ot.restore_zone", "ot.restore_conduit",
		"pagerduty.trigger", "pagerduty.acknowledge", "pagerduty.resolve", "webhook.post", "modbus.read", "edr.contain_host"}
	for _, n := range want {
		if _, ok := c.Lookup(n); !ok {
			t.Errorf("built-in action %s missing", n)
		}
	}
	critical := 0
	for _, s := range c.Specs() {
		if s.SafetyCritical {
			critical++
			if !strings.HasPrefix(s.Name, "ot.") {
				t.Errorf("%s is safety-critical but not an ot.* action", s.Name)
			}
		}
	}
	if critical != 4 {
		t.Errorf("%d safety-critical actions, want 4", critical)
	}
}

func TestValidate(t *testing.T) {
	zone := Arg{Name: "zone", Type: ZoneRef, Required: true}
	cases := []struct {
		spec Spec
		err  string
	}{
		{Spec{Name: "a", SafetyCritical: true, Target: TargetZone, Args: []Arg{zone}}, ""},
		{Spec{Name: "a", SafetyCritical: true, Target: TargetZone}, `needs a required "zone" argument`},
		{Spec{Name: "a", SafetyCritical: true, Target: TargetZone, Args: []Arg{{Name: "zone", Type: ZoneRef}}}, `needs a required "zone"`},
		{Spec{Name: "a", SafetyCritical: true, Target: TargetConduitTo, Args: []Arg{zone}}, `needs a required "conduit"`},
		{Spec{Name: "a", SafetyCritical: true, Args: []Arg{zone}}, "has target"},
		{Spec{Name: "a", Args: []Arg{{Name: "x", Type: "strng"}}}, "unknown type"},
		{Spec{Name: "a", Args: []Arg{{Name: "x", Type: String}, {Name: "x", Type: String}}}, "listed twice"},
		{Spec{Name: "a", Args: []Arg{{Name: "x", Type: IntegrationPrefix + "modbus"}}}, ""},
	}
	for _, tc := range cases {
		err := tc.spec.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%+v: error %v, want %q", tc.spec, err, tc.err)
		}
	}
	if _, err := NewCatalogue(Spec{Name: "a"}, Spec{Name: "a"}); err == nil {
		t.Error("duplicate names accepted")
	}
}
