package render

import (
	"bytes"
	"testing"
)

// TestSummaryOwnSignoff: plan's text output says which steps a sign-off is
// for and whose approvers may not give it.
func TestSummaryOwnSignoff(t *testing.T) {
	p := testPlan()
	ap := p.StepByID("approval.restore_ok").Approval
	ap.For = []string{"step.restore"}
	ap.DistinctFrom = []string{"approval.isolate_ok"}
	var b bytes.Buffer
	Summary(&b, p)
	assertLines(t, "summary", b.String(), []string{
		"for           step.restore",
		"distinct from approval.isolate_ok",
		"guarded by    approval.restore_ok",
	})
	var plain bytes.Buffer
	Summary(&plain, testPlan())
	if bytes.Contains(plain.Bytes(), []byte("distinct from")) {
		t.Errorf("an approval without distinct_from shows one:\n%s", plain.String())
	}
}
