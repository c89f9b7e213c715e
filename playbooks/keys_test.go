package playbooks

import (
	"crypto/ed25519"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/playbooks/actions"
	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
)

// testKey is a fixed public key, different for each seed byte.
func testKey(seed byte) string {
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	return attest.FormatPublicKey(ed25519.NewKeyFromSeed(s).Public().(ed25519.PublicKey))
}

// keysPlaybook is a playbook that is valid against the fixture.
const keysPlaybook = `
playbook "p" {
  step "open" {
    action = "slack.open_channel"
    with   = { name = "inc" }
  }
}
`

func TestPublicKeyAndMayStartDiagnostics(t *testing.T) {
	good := testKey(1)
	for _, c := range []checkCase{
		{name: "good person key", src: fmt.Sprintf("person \"erin\" {\n  public_key = %q\n}\n", good) + keysPlaybook},
		{name: "good front-door key", src: fmt.Sprintf("integration \"webhook\" \"gateway\" {\n  url        = \"https://gw.example/hook\"\n  public_key = %q\n}\n", good) + keysPlaybook},
		{name: "bad key", src: "person \"erin\" {\n  public_key = \"ed25519:bm90IGEga2V5\"\n}\n",
			want: []checkWant{checkErr(2, 16, "Invalid public key", "is 9 bytes long; an Ed25519 public key is 32. Make a key pair with `firebreak keygen person.erin`")}},
		{name: "key without prefix", src: "person \"erin\" {\n  public_key = \"AAAA\"\n}\n",
			want: []checkWant{checkErr(2, 16, "Invalid public key", `written "ed25519:" followed by the base64`)}},
		{name: "env key on a person", src: "person \"erin\" {\n  public_key = env(\"ERIN_KEY\")\n}\n",
			want: []checkWant{checkErr(2, 16, "public_key must be a literal", "never from the environment")}},
		{name: "env key on a front door", src: "integration \"webhook\" \"gateway\" {\n  url        = \"https://gw.example/hook\"\n  public_key = env(\"GW_KEY\")\n}\n",
			want: []checkWant{checkErr(3, 16, "public_key must be a literal", "`firebreak keygen webhook.gateway`")}},
		{name: "key used twice", src: fmt.Sprintf("person \"erin\" {\n  public_key = %q\n}\nperson \"finn\" {\n  public_key = %q\n}\n", good, good),
			want: []checkWant{checkErr(5, 16, "Public key used twice", "person.finn declares the same public_key as person.erin")}},
		{name: "may_start good", src: strings.Replace(keysPlaybook, `playbook "p" {`, "playbook \"p\" {\n  may_start = [roster.ops, person.alice]", 1)},
		{name: "may_start unknown roster", src: "playbook \"p\" {\n  may_start = [roster.opps]\n  step \"open\" {\n    action = \"slack.open_channel\"\n    with   = { name = \"inc\" }\n  }\n}\n",
			want: []checkWant{checkErr(2, 16, "Reference to undeclared roster", `No roster named "opps" is declared. Did you mean "ops"?`)}},
		{name: "may_start unknown person", src: "playbook \"p\" {\n  may_start = person.alcie\n  step \"open\" {\n    action = \"slack.open_channel\"\n    with   = { name = \"inc\" }\n  }\n}\n",
			want: []checkWant{checkErr(2, 15, "Reference to undeclared person", `Did you mean "alice"?`)}},
		{name: "may_start empty", src: "playbook \"p\" {\n  may_start = []\n  step \"open\" {\n    action = \"slack.open_channel\"\n    with   = { name = \"inc\" }\n  }\n}\n",
			want: []checkWant{checkErr(2, 15, "Nobody may start the playbook", "remove the attribute so that any declared person may")}},
		{name: "may_start wrong kind", src: "playbook \"p\" {\n  may_start = [zone.dmz]\n  step \"open\" {\n    action = \"slack.open_channel\"\n    with   = { name = \"inc\" }\n  }\n}\n",
			want: []checkWant{checkErr(2, 16, "Wrong kind of reference", "only a person or a roster fits here")}},
		{name: "may_start usergroup roster", src: "roster \"soc\" {\n  slack_usergroup = \"S01SOC\"\n}\nplaybook \"p\" {\n  may_start = [roster.soc]\n  step \"open\" {\n    action = \"slack.open_channel\"\n    with   = { name = \"inc\" }\n  }\n}\n",
			want: []checkWant{checkErr(5, 16, "Roster without members in may_start", "from a Slack user group")}},
	} {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c) })
	}
}

func TestPlanCarriesKeysAndMayStart(t *testing.T) {
	erin, finn, gw := testKey(1), testKey(2), testKey(3)
	src := fmt.Sprintf(`person "finn" {
  public_key = %q
}
person "erin" {
  public_key = "  %s  "
}
integration "webhook" "gateway" {
  url        = "https://gw.example/hook"
  public_key = %q
}
roster "starters" {
  members = [person.erin]
}
`, finn, erin, gw) + strings.Replace(keysPlaybook, `playbook "p" {`, "playbook \"p\" {\n  may_start = [roster.starters, person.finn, roster.starters]", 1)
	m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(checkBaseHCL), "test.hcl": []byte(src)})
	if diags.HasErrors() {
		t.Fatal(checkFmtDiags(diags))
	}
	p, diags := m.Compile("p", actions.Builtin())
	if p == nil {
		t.Fatal(checkFmtDiags(diags))
	}
	want := []plan.Key{
		{ID: "person.erin", Person: "erin", PublicKey: erin},
		{ID: "person.finn", Person: "finn", PublicKey: finn},
		{ID: "webhook.gateway", PublicKey: gw},
	}
	if !reflect.DeepEqual(p.Keys, want) {
		t.Errorf("plan keys:\n got %+v\nwant %+v", p.Keys, want)
	}
	if got := m.Config.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("Config.Keys:\n got %+v\nwant %+v", got, want)
	}
	if want := []string{"roster.starters", "person.finn"}; !reflect.DeepEqual(p.MayStart, want) {
		t.Errorf("plan may_start %v, want %v", p.MayStart, want)
	}
	if got := m.Config.MayStart("p"); !reflect.DeepEqual(got, []string{"roster.starters", "person.finn"}) {
		t.Errorf("Config.MayStart = %v", got)
	}
	if got := m.Config.MayStart("nope"); got != nil {
		t.Errorf("MayStart of an unknown playbook = %v", got)
	}
	// The roster may_start names travels with the plan, so a starter can be
	// checked against it.
	found := false
	for _, r := range p.Rosters {
		found = found || r.ID == "starters" && reflect.DeepEqual(r.Members, []string{"erin"})
	}
	if !found {
		t.Errorf("the plan lacks roster.starters: %+v", p.Rosters)
	}
	// public_key is not one of the adapter's settings.
	for _, in := range p.Integrations {
		if _, ok := in.Settings["public_key"]; ok {
			t.Errorf("integration %s carries public_key as a setting", in.ID)
		}
	}
	if s := m.Config.Integrations["webhook.gateway"].Plan().Settings; len(s) != 1 || s["url"].Value != "https://gw.example/hook" {
		t.Errorf("gateway settings: %+v", s)
	}
}

func TestPlanWithoutKeysOrMayStart(t *testing.T) {
	m, diags := LoadSource(map[string][]byte{"base.hcl": []byte(checkBaseHCL), "test.hcl": []byte(keysPlaybook)})
	p, cdiags := m.Compile("p", actions.Builtin())
	if p == nil {
		t.Fatal(checkFmtDiags(append(diags, cdiags...)))
	}
	if p.Keys != nil || p.MayStart != nil || m.Config.MayStart("p") != nil {
		t.Errorf("keys %v, may_start %v: want none", p.Keys, p.MayStart)
	}
}

func TestSlackUserUsedTwice(t *testing.T) {
	src := "person \"a\" { slack = \"U01SHARED\" }\nperson \"b\" { slack = \"U01SHARED\" }\n" + keysPlaybook
	m, diags := LoadSource(map[string][]byte{"p.hcl": []byte(src)})
	if !diags.HasErrors() {
		diags = append(diags, m.checkConfig()...)
	}
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Slack user used twice") {
		t.Fatalf("two people with one Slack ID: %v", diags)
	}
}
