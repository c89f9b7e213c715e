// Package bench measures the incident workflow on a real embedded Temporal
// server, runs the table of `firebreak bench`, and records the workflow
// histories the replay tests in workflows check every interpreter change
// against.
//
// The measurements are exported functions that both the Go benchmarks of
// this package and the command call, so both measure the same thing:
// ApprovalToIsolation times the last safety sign-off of the shipped
// ransomware playbook until the isolation activity starts, next to a bare
// Update round trip on a trivial workflow on the same server (UpdateRoundTrips,
// Echo); SlackClickToIsolation the same sign-off as a signed click through
// the Slack front door (StartSlack); Steps a generated 50-step plan through
// the interpreter next to HandWritten, a workflow calling the same 50
// activities with the same options. Scale opens many incidents at once on
// one worker, each waiting on a sign-off, and answers them all. RunSuite
// runs the whole table, adding the measurements of internal/bench/offline,
// which need no server.
//
// In `go test`:
//
//	go test ./internal/bench -run '^$' -bench . -benchtime 20x   # benchmarks, side by side
//	go test ./internal/bench -run TestScale -v                   # 1,000 incidents at once (100 with -short)
//	go test ./internal/bench -run TestRecordHistories -record    # add histories to workflows/testdata/histories
//
// BenchmarkSignedApprovalToIsolation times the sign-off signed against
// unsigned, interleaved in one run; BenchmarkDispatchTuning runs the
// 50-step chain on two servers side by side, one with the embedded
// server's dispatch tuning and one with Temporal's defaults for those
// settings.
package bench
