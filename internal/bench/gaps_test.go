package bench

import (
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestLongestGaps: a stalled run's report names the longest gap first,
// with the events on either side.
func TestLongestGaps(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(id int64, typ enumspb.EventType, at time.Duration) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(t0.Add(at))}
	}
	h := &historypb.History{Events: []*historypb.HistoryEvent{
		ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0),
		ev(2, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, 10*time.Millisecond),
		ev(3, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, 20*time.Millisecond),
		ev(4, enumspb.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT, 5*time.Minute),
		ev(5, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED, 5*time.Minute+time.Second),
	}}
	got := LongestGaps(h, 2)
	if len(got) != 2 || !strings.HasPrefix(got[0], "4m59.98s between event 3 ActivityTaskStarted and event 4 ActivityTaskTimedOut") || !strings.HasPrefix(got[1], "1s between event 4") {
		t.Errorf("gaps %q", got)
	}
	if len(LongestGaps(&historypb.History{Events: h.Events[:1]}, 3)) != 0 {
		t.Error("a one-event history has gaps")
	}
}
