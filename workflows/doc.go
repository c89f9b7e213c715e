// Package workflows holds the interpreter workflow, Incident, that runs a
// compiled plan.Plan as a durable Temporal workflow: the step graph in
// dependency order with independent steps in parallel, escalation ladders,
// approvals, decisions and tasks answered through Temporal Updates whose
// validators apply the rule book (playbooks/rules) and refuse with a typed
// code, and guard two of the safety interlock in front of every
// safety-critical action. Its behaviour per step kind is one table
// (kinds.go); every change in behaviour is a new interpreter version behind
// workflow.GetVersion, and recorded histories of every version replay in
// the tests.
//
// It may import only playbooks/plan, playbooks/rules, the activities types
// and the Temporal workflow packages; never an integration, HCL or anything
// that does I/O.
package workflows
