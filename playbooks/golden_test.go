package playbooks

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

var update = flag.Bool("update", false, "rewrite the golden plan files in testdata/golden")

// libraryDir is the shipped library, relative to this package.
const libraryDir = "library"

func loadLibrary(t testing.TB) *Module {
	t.Helper()
	m, diags := Load(libraryDir)
	if len(diags) > 0 {
		t.Fatalf("loading the library: %s", diags.Error())
	}
	return m
}

// TestLibraryValid: the shipped library validates with no errors and no warnings.
func TestLibraryValid(t *testing.T) {
	m := loadLibrary(t)
	if diags := m.Check(actions.Builtin()); len(diags) > 0 {
		t.Fatalf("library has diagnostics: %s", diags.Error())
	}
	if n := len(m.Config.Playbooks); n < 4 {
		t.Fatalf("library has %d playbooks, want at least 4", n)
	}
	if len(m.Config.Exercises) < 1 {
		t.Fatalf("library has no exercise")
	}
}

// TestGoldenPlans compares each library playbook's plan with its golden JSON.
// Regenerate with: go test ./playbooks -run TestGoldenPlans -update
func TestGoldenPlans(t *testing.T) {
	m := loadLibrary(t)
	for _, name := range sortedKeys(m.Config.Playbooks) {
		t.Run(name, func(t *testing.T) {
			p, diags := m.Compile(name, actions.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			got, err := plan.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan for %s differs from %s; if the change is intended, run go test ./playbooks -run TestGoldenPlans -update and review the diff", name, path)
			}
		})
	}
}

// TestPlanDeterministic: loading and compiling the same files twice gives
// byte-identical plans.
func TestPlanDeterministic(t *testing.T) {
	for _, name := range sortedKeys(loadLibrary(t).Config.Playbooks) {
		var first []byte
		for i := 0; i < 5; i++ {
			p, diags := loadLibrary(t).Compile(name, actions.Builtin())
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			b, err := plan.Encode(p)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				first = b
			} else if !bytes.Equal(first, b) {
				t.Fatalf("%s: compile %d differs from the first", name, i)
			}
		}
	}
}

// TestPlanRoundTrip: a plan survives JSON encoding and decoding unchanged,
// as it must when it travels as workflow input.
func TestPlanRoundTrip(t *testing.T) {
	m := loadLibrary(t)
	for _, name := range sortedKeys(m.Config.Playbooks) {
		p, _ := m.Compile(name, actions.Builtin())
		b, err := plan.Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		var back plan.Plan
		if err := jsonUnmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		b2, err := plan.Encode(&back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, b2) {
			t.Fatalf("%s: plan changed on a JSON round trip", name)
		}
	}
}
