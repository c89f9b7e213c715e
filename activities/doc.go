// Package activities will hold the one Activities struct whose methods carry
// out plan steps through small interfaces (chat, pager, isolator, plant-state
// reader), each with a simulated twin for exercises, and guard three of the
// safety interlock: every safety-critical activity re-checks its sign-off.
package activities
