package devserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

// Names of the custom search attributes firebreak sets on incident workflows.
const (
	// SAPlaybook is the playbook an incident runs (Keyword).
	SAPlaybook = "FirebreakPlaybook"
	// SASeverity is the incident severity (Keyword).
	SASeverity = "FirebreakSeverity"
	// SAState is the incident's current state (Keyword).
	SAState = "FirebreakState"
	// SAExercise marks tabletop exercise runs (Bool).
	SAExercise = "FirebreakExercise"
	// SABreakGlass marks runs in which someone forced a break-glass action (Bool).
	SABreakGlass = "FirebreakBreakGlass"
)

// SearchAttributes lists every custom search attribute firebreak needs, with
// its type. Start registers all of them on the dev server's namespace; a
// production cluster needs them registered by its operator.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	SAPlaybook:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SASeverity:   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SAState:      enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SAExercise:   enumspb.INDEXED_VALUE_TYPE_BOOL,
	SABreakGlass: enumspb.INDEXED_VALUE_TYPE_BOOL,
}

// ensureSearchAttributes registers any of SearchAttributes missing from
// namespace and waits until the frontend reports all of them. New data
// directories get them when the namespace is created; this covers data
// directories made by an older firebreak.
func ensureSearchAttributes(ctx context.Context, c client.Client, namespace string) error {
	op := c.OperatorService()
	missing, err := missingSearchAttributes(ctx, op, namespace)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = op.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        namespace,
		SearchAttributes: missing,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register search attributes on namespace %q: %w", namespace, err)
	}
	// The namespace cache refreshes every couple of seconds; wait until the
	// attributes are visible so the first workflow start can use them.
	for {
		missing, err = missingSearchAttributes(ctx, op, namespace)
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("search attributes %v not visible on namespace %q: %w", sortedKeys(missing), namespace, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// missingSearchAttributes returns the attributes of SearchAttributes that
// namespace lacks, and an error if one exists with a different type.
func missingSearchAttributes(ctx context.Context, op operatorservice.OperatorServiceClient, namespace string) (map[string]enumspb.IndexedValueType, error) {
	resp, err := op.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return nil, fmt.Errorf("list search attributes of namespace %q: %w", namespace, err)
	}
	have := resp.GetCustomAttributes()
	missing := map[string]enumspb.IndexedValueType{}
	for _, name := range sortedKeys(SearchAttributes) {
		want := SearchAttributes[name]
		got, ok := have[name]
		switch {
		case !ok:
			missing[name] = want
		case got != want:
			return nil, fmt.Errorf("search attribute %s on namespace %q has type %s, firebreak needs %s; use a fresh data directory or another namespace",
				name, namespace, got, want)
		}
	}
	return missing, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
