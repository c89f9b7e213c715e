// Package workflows will hold the interpreter workflow that runs a compiled
// plan.Plan as a durable Temporal workflow: the step graph, escalations,
// approvals as Temporal Updates, and guard two of the safety interlock.
//
// It may import only playbooks/plan, the activities types and the Temporal
// workflow packages; never an integration, HCL or anything that does I/O.
package workflows
