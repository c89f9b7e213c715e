package workflows

import "go.temporal.io/sdk/workflow"

// Interpreter versions and the change ID, for tests that force an older
// interpreter with the test environment's OnGetVersion.
const (
	InterpreterChange = interpreterChange
	InterpreterV7     = workflow.Version(interpreterV7)
	InterpreterV8     = workflow.Version(interpreterV8)
	InterpreterMax    = workflow.Version(interpreterMax)
)

// SetExerciseQueueForTest routes exercise activities to q until the
// returned function is called: tests stand for a fault in routing with it.
func SetExerciseQueueForTest(q string) (restore func()) {
	old := exerciseQueue
	exerciseQueue = q
	return func() { exerciseQueue = old }
}
