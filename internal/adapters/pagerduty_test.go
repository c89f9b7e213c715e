package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/pagerduty"
	"github.com/firebreak-ir/firebreak/integrations/sim"
)

// TestPagerDutyIsRealAndShared: a pagerduty block without simulate = true
// is real; Build backs only Pager with it (it is no actuator, so it is not
// behind the exercise guard); two instances applied in turn share one
// client, which routes each request to its own instance's URL and key.
func TestPagerDutyIsRealAndShared(t *testing.T) {
	var mu sync.Mutex
	got := map[string]string{} // path -> routing key
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		got[r.URL.Path], _ = ev["routing_key"].(string)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"status":"success","message":"Event processed","dedup_key":"k"}`))
	}))
	defer srv.Close()
	o := load(t, `
integration "pagerduty" "default" {
  routing_key = env("PD_KEY")
  api_url     = "`+srv.URL+`/default"
}
integration "pagerduty" "ot" {
  routing_key = env("PD_OT_KEY")
  api_url     = "`+srv.URL+`/ot"
}
integration "pagerduty" "spare" {
  routing_key = env("PD_SPARE_KEY")
  simulate    = true
}
`, map[string]string{"PD_KEY": "key-default", "PD_OT_KEY": "key-ot"})
	acts := sim.New(sim.NewJournal()).Activities()
	var names []string
	for _, r := range Resolve(o) {
		if r.Instance.ID == "pagerduty.spare" {
			if r.Mode != Simulated {
				t.Errorf("pagerduty.spare: %+v, want simulated", r)
			}
			continue
		}
		if r.Mode != Real {
			t.Fatalf("%s: %+v, want real", r.Instance.ID, r)
		}
		b, err := Build(r.Instance)
		if err != nil {
			t.Fatal(err)
		}
		if b.Pager == nil || b.Isolator != nil || b.Webhook != nil || b.EDR != nil || b.Chat != nil || b.PlantState != nil {
			t.Fatalf("%s backs %+v, want only Pager", r.Instance.ID, b)
		}
		names = append(names, b.Apply(acts)...)
	}
	if !slices.Equal(names, []string{"Pager"}) {
		t.Errorf("Apply set %v, want Pager once", names)
	}
	c, ok := acts.Pager.(*pagerduty.Client)
	if !ok {
		t.Fatalf("Pager is %T", acts.Pager)
	}
	if ids := strings.Join(c.IDs(), ","); ids != "pagerduty.default,pagerduty.ot" {
		t.Errorf("the client serves %s", ids)
	}
	for _, id := range []string{"pagerduty.default", "pagerduty.ot"} {
		if _, err := acts.Pager.Trigger(context.Background(), activities.TriggerRequest{Key: "k", Integration: id, Summary: "s", Severity: "info"}); err != nil {
			t.Fatal(err)
		}
	}
	if got["/default"] != "key-default" || got["/ot"] != "key-ot" {
		t.Errorf("events reached %v", got)
	}
	_, err := acts.Pager.Trigger(context.Background(), activities.TriggerRequest{Key: "k", Integration: "pagerduty.spare", Summary: "s"})
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "pagerduty.spare") {
		t.Errorf("a request for an instance the client does not serve: %v", err)
	}
}
