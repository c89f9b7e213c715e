// Package bench measures the incident workflow on a real embedded Temporal
// server and records the workflow histories the replay tests in workflows
// check every interpreter change against.
//
// Everything runs in `go test`:
//
//	go test ./internal/bench -run '^$' -bench . -benchtime 20x   # benchmarks, side by side
//	go test ./internal/bench -run TestRecordHistories -record    # add histories to workflows/testdata/histories
//
// BenchmarkApprovalToIsolation times the last safety sign-off of the shipped
// ransomware playbook until the isolation activity starts, next to a bare
// Update round trip on a trivial workflow on the same server, in memory and
// on a SQLite file. BenchmarkSignedApprovalToIsolation times the same
// path signed (the start and every answer attested, the worker requiring
// attestations and verifying them again in guard three) against unsigned,
// interleaved in one run, and reports the ratio. BenchmarkFiftySteps runs a generated 50-step plan
// through the interpreter next to HandWritten, a workflow calling the same
// 50 activities with the same options, as a chain and fanned out.
// BenchmarkDispatchTuning runs that chain on two servers side by side, one
// with the embedded server's dispatch tuning and one with Temporal's
// defaults for those settings.
//
// The package holds only what those need: the hand-written and trivial
// workflows, a playbook generator and an Isolator that reports when a cut
// starts. Nothing else imports it.
package bench
