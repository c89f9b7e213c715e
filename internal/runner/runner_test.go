package runner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/pagerduty"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/integrations/slack"
	"github.com/firebreak-ir/firebreak/internal/org"
	"github.com/firebreak-ir/firebreak/playbooks/library"
)

type chatDouble struct{ activities.Chat }

// TestExerciseWorkerHasOnlyTwins: check one by construction. Every
// integration of the exercise queue's activities but Chat is the simulated
// twin, whatever chat is handed in.
func TestExerciseWorkerHasOnlyTwins(t *testing.T) {
	twin := sim.New(sim.NewJournal())
	chat := chatDouble{}
	acts := ExerciseActivities(twin, chat)
	v := reflect.ValueOf(acts).Elem()
	authority := reflect.TypeOf((*activities.Authority)(nil)).Elem()
	n := 0
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type.Kind() != reflect.Interface || f.Type == authority {
			continue
		}
		got := v.Field(i).Interface()
		if f.Name == "Chat" {
			if got != activities.Chat(chat) {
				t.Errorf("Chat is %T, want the chat handed in", got)
			}
			continue
		}
		n++
		if tw, ok := got.(*sim.Twin); !ok || tw != twin {
			t.Errorf("the exercise queue's %s is %T, not the simulated twin", f.Name, got)
		}
	}
	if n < 5 {
		t.Fatalf("only %d integrations checked", n)
	}
	if acts := ExerciseActivities(twin, nil); acts.Chat != activities.Chat(twin) {
		t.Errorf("without a chat, Chat is %T", acts.Chat)
	}
}

// TestExerciseQueueAsksInSlack: with a real slack integration, the
// exercise queue's Chat is the worker's Slack adapter, the same one the
// live queue delivers through, so a live exercise's people are asked in
// Slack; every other integration of the exercise queue stays its twin.
// With the integration simulated, the exercise queue's Chat is its twin.
func TestExerciseQueueAsksInSlack(t *testing.T) {
	for _, real := range []bool{true, false} {
		dir := t.TempDir()
		if _, err := library.WriteTo(dir, false); err != nil {
			t.Fatal(err)
		}
		if real {
			p := filepath.Join(dir, "integrations.hcl")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// A local address nobody serves: nothing is sent here.
			src := strings.Replace(string(b), "integration \"slack\" \"main\" {\n  simulate       = true\n", "integration \"slack\" \"main\" {\n  api_url = \"http://127.0.0.1:1/api/\"\n", 1)
			if src == string(b) {
				t.Fatal("the library's slack block changed shape; update this test")
			}
			if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env := map[string]string{"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-test"}
		o, _, diags := org.Load(dir, org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		twin, exTwin := sim.New(sim.NewJournal()), sim.New(sim.NewJournal())
		live, ex, err := queueActivities(org.NewHolder(o, org.Options{}), twin, exTwin, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, slackChat := ex.Chat.(*slack.Chat)
		switch {
		case real && (!slackChat || ex.Chat != live.Chat):
			t.Errorf("with a real slack integration the exercise queue's Chat is %T (live: %T), want the live queue's Slack adapter", ex.Chat, live.Chat)
		case !real && ex.Chat != activities.Chat(exTwin):
			t.Errorf("with slack simulated the exercise queue's Chat is %T, want its twin", ex.Chat)
		}
		if ex.Isolator != activities.Isolator(exTwin) || ex.Pager != activities.Pager(exTwin) {
			t.Errorf("the exercise queue's actuators are not its twin")
		}
	}
}

// TestLiveWorkerSharesOnePagerDutyClient: two real pagerduty instances do
// not count as two backings of Pager (which the live worker refuses): they
// share one client that serves both.
func TestLiveWorkerSharesOnePagerDutyClient(t *testing.T) {
	dir := t.TempDir()
	src := `
integration "pagerduty" "default" {
  routing_key = env("PD_KEY")
  api_url     = "http://127.0.0.1:1/v2/enqueue"
}
integration "pagerduty" "ot" {
  routing_key = env("PD_OT_KEY")
  api_url     = "http://127.0.0.1:1/v2/enqueue"
}
integration "pagerduty" "spare" {
  routing_key = env("PD_SPARE_KEY")
  simulate    = true
}
`
	if err := os.WriteFile(filepath.Join(dir, "integrations.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PD_KEY": "key-a", "PD_OT_KEY": "key-b"}
	o, _, diags := org.Load(dir, org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	live, err := liveActivities(org.NewHolder(o, org.Options{}), sim.New(sim.NewJournal()), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := live.Pager.(*pagerduty.Client)
	if !ok {
		t.Fatalf("the live Pager is %T, want the PagerDuty client", live.Pager)
	}
	if ids := strings.Join(c.IDs(), ","); ids != "pagerduty.default,pagerduty.ot" {
		t.Errorf("the client serves %s", ids)
	}
	// The simulated instance beside them still runs on its twin.
	resp, err := live.Pager.Trigger(context.Background(), activities.TriggerRequest{Key: "k", Integration: "pagerduty.spare", Summary: "s", Severity: "info"})
	if err != nil || !resp.Simulated {
		t.Errorf("pagerduty.spare: %+v, %v; want the twin's simulated answer", resp, err)
	}
}
