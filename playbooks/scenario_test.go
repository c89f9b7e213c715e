package playbooks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

func TestScenarioOfTheLibraryExercise(t *testing.T) {
	m, diags := playbooks.LoadSource(library.Sources())
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	sc, err := m.Scenario("plant3_ransomware_ttx")
	if err != nil {
		t.Fatal(err)
	}
	if sc.Playbook != "ot_ransomware_containment" || sc.Commander != "hiro" {
		t.Errorf("playbook %q commander %q", sc.Playbook, sc.Commander)
	}
	if hosts, ok := sc.Inputs["hosts"].([]any); sc.Inputs["zone"] != "plant3_dmz" || !ok || len(hosts) != 2 {
		t.Errorf("inputs %#v", sc.Inputs)
	}
	if len(sc.Objectives) != 2 || sc.Objectives[0] != (playbooks.Objective{Name: "contain", Description: sc.Objectives[0].Description, Within: 30 * time.Minute, Of: "step.isolate"}) ||
		sc.Objectives[1].Of != "task.call_regulator" || sc.Objectives[1].Within != time.Hour {
		t.Errorf("objectives %+v", sc.Objectives)
	}
	if len(sc.Injects) != 5 || sc.Injects[2].Name != "hmi_freeze" || sc.Injects[2].At != 12*time.Minute {
		t.Errorf("injects %+v", sc.Injects)
	}
	by := map[string]playbooks.Responder{}
	for _, r := range sc.Responders {
		by[r.Person] = r
	}
	if r := by["dmitri"]; r.Acknowledges == nil || *r.Acknowledges != (playbooks.Delay{Dist: "lognormal", A: 240, B: 0.5}) ||
		len(r.Answers) != 1 || r.Answers[0] != (playbooks.ScriptedAnswer{Step: "approval.isolate_ok", With: "approve", After: playbooks.Delay{Dist: "fixed", A: 240}}) {
		t.Errorf("dmitri %+v", r)
	}
	if r := by["bob"]; r.Acknowledges != nil || len(r.Answers) != 1 {
		t.Errorf("bob %+v", r)
	}
	if r := by["carol"]; !r.Unavailable {
		t.Errorf("carol %+v", r)
	}
	if _, err := m.Scenario("plant3_ransomware"); err == nil || !strings.Contains(err.Error(), `Did you mean "plant3_ransomware_ttx"?`) {
		t.Errorf("unknown exercise: %v", err)
	}
}

// Without a commander attribute the first person may_start names starts
// the incident; without either, the exercise cannot run.
func TestScenarioCommanderDefault(t *testing.T) {
	const org = `
person "ann" {}
person "ben" {}
roster "ic" { members = [person.ben, person.ann] }
`
	pb := func(mayStart string) string {
		return `playbook "p" {
  ` + mayStart + `
  notify "hello" {
    to      = [person.ann]
    message = "hello"
  }
}
exercise "x" { playbook = playbook.p }
`
	}
	m, diags := playbooks.LoadSource(map[string][]byte{"org.hcl": []byte(org), "pb.hcl": []byte(pb("may_start = [roster.ic]"))})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	sc, err := m.Scenario("x")
	if err != nil || sc.Commander != "ben" {
		t.Fatalf("commander %v, %v; want ben", sc, err)
	}
	m, diags = playbooks.LoadSource(map[string][]byte{"org.hcl": []byte(org), "pb.hcl": []byte(pb(""))})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if _, err := m.Scenario("x"); err == nil || !strings.Contains(err.Error(), "add commander = person.NAME") || !strings.Contains(err.Error(), "pb.hcl:") {
		t.Errorf("no commander: %v", err)
	}
}
