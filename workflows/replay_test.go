package workflows_test

// Replay tests: every history in testdata/histories was recorded from a real
// incident on the embedded Temporal server (the shipped ransomware playbook
// with scripted responders, a denied sign-off, break-glass, a cancel, an
// exercise run, a sign-off that goes stale and is asked again, a page that
// climbs its escalation ladder). Each is replayed against the current
// Incident workflow; any change that would make a running incident take a
// different path (a nondeterminism error) fails here.
//
// Files are named vN_SCENARIO.json, N being the interpreter version
// (interpreterChange's GetVersion marker) the incident ran on. Recording is
// one command; the scenarios are in internal/bench/record_test.go, and it
// writes only files that do not exist yet:
//
//	go test ./internal/bench -run TestRecordHistories -record
//
// Record ONLY to add histories: a new scenario, or the current version's
// histories after a version bump. An interpreter change must keep every old
// history replaying, because incidents that started on the old code are still
// running somewhere: branch with workflow.GetVersion on interpreterChange in
// incident.go (add a version constant, raise interpreterMax, keep the old
// path where r.version is below it), then run the command above, which adds
// v<new>_*.json next to the old files. Re-recording a failing history to make
// this test pass hides exactly the break it exists to catch. Replacing
// existing files (-record -overwrite) rewrites the current version's files
// only; it is right only while no incident runs on the code they came from,
// e.g. while that version is still being developed. Delete a vN_ file only
// once no incident started on version N can still be running.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/firebreak-ir/firebreak/workflows"
)

// replayHistoriesDir holds the recorded histories, in the JSON form of
// `temporal workflow show --output json`.
const replayHistoriesDir = "testdata/histories"

func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(replayHistoriesDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded histories in %s; record them with: go test ./internal/bench -run TestRecordHistories -record", replayHistoriesDir)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
				t.Fatalf("%s is empty or unreadable: %v", file, err)
			}
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
			if err != nil {
				t.Fatalf("reading %s: %v", file, err)
			}
			// Replay as the recorded execution: the start check compares
			// the workflow ID with the incident's.
			var exec workflow.Execution
			if ev := h.GetEvents(); len(ev) > 0 {
				a := ev[0].GetWorkflowExecutionStartedEventAttributes()
				exec = workflow.Execution{ID: a.GetWorkflowId(), RunID: a.GetOriginalExecutionRunId()}
			}
			replayer := worker.NewWorkflowReplayer()
			replayer.RegisterWorkflowWithOptions(workflows.Incident, workflow.RegisterOptions{Name: workflows.WorkflowName})
			if err := replayer.ReplayWorkflowHistoryWithOptions(nil, h, worker.ReplayWorkflowHistoryOptions{OriginalExecution: exec}); err != nil {
				t.Fatalf("replaying %s against the current Incident workflow: %v\n"+
					"An interpreter change broke incidents already running on the old code: branch with workflow.GetVersion "+
					"(interpreterChange in incident.go) instead of re-recording; see the comment at the top of replay_test.go.", file, err)
			}
		})
	}
}
