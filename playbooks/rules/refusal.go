package rules

import "fmt"

// Code is the machine-readable reason of a refusal. The workflow sends it as
// the type of the Temporal application error its update validator returns,
// so a front door (CLI, Slack) can tell "not on the roster" from "stale
// round" without reading the message. The values are part of the wire
// contract: never change one, only add.
type Code string

// Refusal codes.
const (
	// NotAuthorised: the person is not among those who may give this answer
	// (not on the roster, not assigned, not a break-glass roster member).
	NotAuthorised Code = "NotAuthorised"
	// SelfApproval: the person started the incident and the quorum excludes
	// the initiator.
	SelfApproval Code = "SelfApproval"
	// UnknownPerson: the answer names nobody the incident knows, or nobody.
	UnknownPerson Code = "UnknownPerson"
	// UnknownStep: the incident has no such step.
	UnknownStep Code = "UnknownStep"
	// WrongKind: the answer does not fit the step (approve on a decision,
	// break-glass on a standard approval).
	WrongKind Code = "WrongKind"
	// NotOpenYet: the step has not started asking. It may be about to open
	// (a worker that was down can deliver the event that opens it together
	// with the answer), so front doors retry this one briefly.
	NotOpenYet Code = "NotOpenYet"
	// NotOpen: the step has finished or is not one that waits for people now.
	NotOpen Code = "NotOpen"
	// StaleRound: the answer is for an earlier round of a sign-off that has
	// since been asked again, or for a round that has not begun.
	StaleRound Code = "StaleRound"
	// Duplicate: the person already gave this answer, or the page was
	// already acknowledged.
	Duplicate Code = "Duplicate"
	// WouldNotCount: the approval would not add to the quorum (every group
	// the person is in is already filled).
	WouldNotCount Code = "WouldNotCount"
	// UnknownOption: the decision has no such option.
	UnknownOption Code = "UnknownOption"
	// ReasonRequired: the answer needs a reason and has none.
	ReasonRequired Code = "ReasonRequired"
	// TooLong: a text of the answer is over its limit (or not UTF-8).
	TooLong Code = "TooLong"
	// IncidentFinished: the incident is over; nothing can be answered.
	IncidentFinished Code = "IncidentFinished"
	// UnknownAnswer: the update name is not an answer the incident takes.
	UnknownAnswer Code = "UnknownAnswer"
	// NotAttested: the answer (or start) carries no attestation and the
	// incident requires one.
	NotAttested Code = "NotAttested"
	// UntrustedKey: the attestation is signed with a key the organisation
	// does not trust, or with a person's key for somebody else.
	UntrustedKey Code = "UntrustedKey"
	// Replayed: the attestation was made for another incident, step,
	// round, person, answer, option or channel than the one it came with.
	Replayed Code = "Replayed"
	// Tampered: the signature does not verify over what the attestation
	// says, or the reason is not the one signed.
	Tampered Code = "Tampered"
	// Expired: the attestation is older than the attestation window, was
	// made before the round it answers opened, or is dated in the future.
	Expired Code = "Expired"
	// NotAllowedToStart: the person may not start this playbook (may_start).
	NotAllowedToStart Code = "NotAllowedToStart"
	// SameApprover: the person approved an approval that this one must be
	// approved by other people than (distinct_from).
	SameApprover Code = "SameApprover"
)

// Codes lists every refusal code, for documentation and tests.
var Codes = []Code{NotAuthorised, SelfApproval, UnknownPerson, UnknownStep, WrongKind, NotOpenYet, NotOpen, StaleRound, Duplicate, WouldNotCount, UnknownOption, ReasonRequired, TooLong, IncidentFinished, UnknownAnswer, NotAttested, UntrustedKey, Replayed, Tampered, Expired, NotAllowedToStart, SameApprover}

// Refusal is an answer refused by a rule: a code for programs and a message
// for the person.
type Refusal struct {
	Code    Code
	Message string
}

// Error returns the message.
func (r *Refusal) Error() string { return r.Message }

// Refuse builds a refusal with a formatted message.
func Refuse(code Code, format string, args ...any) *Refusal {
	return &Refusal{Code: code, Message: fmt.Sprintf(format, args...)}
}
