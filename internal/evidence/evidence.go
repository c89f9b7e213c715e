// Package evidence is the exported timeline of an incident as a document
// that can be checked offline (`firebreak timeline --format json`, then
// `firebreak verify`): the timeline with every answer's attestation, the
// final status, the public keys the incident's plan trusted, the digest of
// that plan, and a seal, the exporter's attestation over the document.
//
// The document is canonical JSON: encoding/json with two-space indentation
// and a trailing newline, fields in the order of the Go types. Decoding a
// document and encoding it again gives the same bytes, so any byte that
// changes in a file (a detail, a person, a signature, white space) makes
// Verify fail. docs/evidence.md describes the format and every check.
package evidence

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/firebreak-ir/firebreak/playbooks/attest"
	"github.com/firebreak-ir/firebreak/playbooks/plan"
	"github.com/firebreak-ir/firebreak/workflows"
)

// FormatVersion is the version of the document format this package writes
// and reads. A document of another version is refused by Decode.
const FormatVersion = 1

// SealChannel is the channel a seal names: exports are made by the CLI.
const SealChannel = workflows.ChannelCLI

// Document is an exported incident timeline.
type Document struct {
	// FormatVersion is FormatVersion.
	FormatVersion int `json:"format_version"`
	// IncidentID is the incident exported; Timeline and Status name it too.
	IncidentID string `json:"incident_id"`
	// ExportedAt is when the document was made (UTC).
	ExportedAt time.Time `json:"exported_at"`
	// StartSHA256 is the digest of the plan and inputs the incident's
	// current run started with (plan.StartDigest): what its commander's
	// start attestation signs. "" when the start could not be read.
	StartSHA256 string `json:"start_sha256"`
	// Keys are the public keys the incident's plan trusted. They are a
	// record, not an authority: Verify checks signatures against the keys
	// of the organisation's own configuration.
	Keys []plan.Key `json:"keys"`
	// Status is the incident's status when it was exported.
	Status workflows.Status `json:"status"`
	// Timeline is the incident's timeline when it was exported, with the
	// attestation of every answer and of the start.
	Timeline workflows.Timeline `json:"timeline"`
	// Seal is the exporter's attestation of the document (answer
	// attest.Export, the incident, the exporter as the person, and the
	// digest of the document's canonical JSON without the seal as the
	// reason digest); nil for an unsealed export.
	Seal *attest.Attestation `json:"seal,omitempty"`
}

// New makes an unsealed document from what an incident reports and the
// input its current run started with (nil when it could not be read).
func New(tl workflows.Timeline, st workflows.Status, in *workflows.IncidentInput, now time.Time) (*Document, error) {
	d := &Document{
		FormatVersion: FormatVersion,
		IncidentID:    tl.IncidentID,
		ExportedAt:    now.UTC(),
		Keys:          []plan.Key{},
		Status:        st,
		Timeline:      tl,
	}
	if d.IncidentID == "" {
		d.IncidentID = st.IncidentID
	}
	if in != nil && in.Plan != nil {
		digest, err := plan.StartDigest(in.Plan, in.Inputs)
		if err != nil {
			return nil, fmt.Errorf("digesting the start of incident %s: %w", d.IncidentID, err)
		}
		d.StartSHA256 = digest
		d.Keys = append(d.Keys, in.Plan.Keys...)
	}
	return d, nil
}

// Encode writes a document as canonical JSON: two-space indentation and a
// trailing newline.
func Encode(d *Document) ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// SealDigest is the digest a seal signs: the SHA-256 of the document's
// canonical JSON without its seal.
func SealDigest(d *Document) (string, error) {
	unsealed := *d
	unsealed.Seal = nil
	b, err := Encode(&unsealed)
	if err != nil {
		return "", err
	}
	return attest.Digest(string(b)), nil
}

// SealWith signs the document as exported by person with s, replacing any
// earlier seal. person is the key's own person for a person's key, or the
// person a front door's key exports for.
func (d *Document) SealWith(s *attest.Signer, person string, now time.Time) error {
	if person == "" {
		return errors.New("a seal names the person who exported the timeline: use a person's key, or say who exports with --as")
	}
	if kp := s.Person(); kp != "" && kp != person {
		return fmt.Errorf("the key of %s cannot seal an export for %s", kp, person)
	}
	digest, err := SealDigest(d)
	if err != nil {
		return err
	}
	d.Seal = s.Sign(attest.Claim{
		Incident: d.IncidentID, Person: person, Answer: attest.Export,
		ReasonSHA256: digest, Channel: SealChannel,
	}, now)
	return nil
}

// FormatError is a document that is not exactly what Encode writes.
type FormatError struct {
	// Offset is the first byte (from 0) that differs from the canonical
	// encoding; -1 when the document did not parse at all.
	Offset int
	// Line and Column locate Offset (from 1).
	Line, Column int
	// Message says what is wrong.
	Message string
}

func (e *FormatError) Error() string {
	if e.Offset < 0 {
		return e.Message
	}
	return fmt.Sprintf("line %d, column %d (byte %d): %s", e.Line, e.Column, e.Offset, e.Message)
}

// Decode reads a document strictly: no unknown fields, nothing after it,
// the format version this package knows, and bytes exactly as Encode
// writes them. Any change to an exported file, white space included, is a
// *FormatError.
func Decode(data []byte) (*Document, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, &FormatError{Offset: -1, Message: "the file is not an exported timeline: " + err.Error()}
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return nil, &FormatError{Offset: -1, Message: "the file holds more than one JSON document; an exported timeline is exactly one"}
	}
	if d.FormatVersion != FormatVersion {
		return nil, &FormatError{Offset: -1, Message: fmt.Sprintf("the document's format_version is %d; this firebreak reads version %d", d.FormatVersion, FormatVersion)}
	}
	canon, err := Encode(&d)
	if err != nil {
		return nil, &FormatError{Offset: -1, Message: "the document cannot be encoded again: " + err.Error()}
	}
	if !bytes.Equal(canon, data) {
		off := firstDiff(canon, data)
		line, col := position(data, off)
		return nil, &FormatError{Offset: off, Line: line, Column: col,
			Message: "the file differs from the canonical encoding of what it holds: it was edited after export (white space, escaping, duplicate or reordered fields count too)"}
	}
	return &d, nil
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func position(data []byte, off int) (line, col int) {
	line, col = 1, 1
	for _, c := range data[:min(off, len(data))] {
		if c == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
