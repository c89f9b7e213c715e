package runner

import (
	"reflect"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
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
