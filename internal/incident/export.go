package incident

import (
	"context"
	"time"

	"github.com/firebreak-ir/firebreak/internal/evidence"
	"go.temporal.io/sdk/client"
)

// Export gathers an incident's exported timeline (see package evidence):
// its timeline and status, asked of a worker, and the keys and digest of
// the plan its current run started with, read from the workflow's history.
// The document is not sealed; seal it with Document.SealWith.
func Export(ctx context.Context, c client.Client, incidentID string, now time.Time) (*evidence.Document, error) {
	tl, err := Timeline(ctx, c, incidentID)
	if err != nil {
		return nil, err
	}
	st, err := Status(ctx, c, incidentID)
	if err != nil {
		return nil, err
	}
	in, err := StartInput(ctx, c, incidentID)
	if err != nil {
		return nil, err
	}
	return evidence.New(tl, st, &in, now)
}
