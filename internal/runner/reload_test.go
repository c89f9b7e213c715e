package runner

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/sim"
	"github.com/firebreak-ir/firebreak/internal/org"
)

// TestReloadDoesNotReachStaleAdapters: the live worker builds its adapters
// at start. After a reload changes an integration block (here to
// simulate = true, or its url) or removes it, a request naming it reaches
// neither the adapter built for the old block nor the twin: it is refused
// as permanent, saying to restart the worker. An unchanged block keeps
// working.
func TestReloadDoesNotReachStaleAdapters(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	dir := t.TempDir()
	write := func(edr, fw string) {
		t.Helper()
		src := "integration \"webhook\" \"edr\" {\n  url    = \"" + srv.URL + "/contain\"\n  secret = env(\"HMAC\")\n" + edr + "}\n"
		if fw != "" {
			src += "integration \"webhook\" \"fw\" {\n  url    = \"" + srv.URL + fw + "\"\n  secret = env(\"HMAC\")\n}\n"
		}
		if err := os.WriteFile(filepath.Join(dir, "integrations.hcl"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("", "/block")
	env := map[string]string{"HMAC": "0123456789abcdef0123"}
	opts := org.Options{Getenv: func(k string) string { return env[k] }, Lenient: true}
	o, _, diags := org.Load(dir, opts)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	h := org.NewHolder(o, opts)
	live, err := liveActivities(h, sim.New(sim.NewJournal()), nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id string) error {
		_, err := live.Webhook.Send(context.Background(), activities.WebhookRequest{Key: "k-" + id, Integration: id})
		return err
	}
	if err := send("webhook.edr"); err != nil || hits.Load() != 1 {
		t.Fatalf("before the reload: %v, %d hits", err, hits.Load())
	}
	reload := func() {
		t.Helper()
		if _, _, diags := h.Reload(); diags.HasErrors() {
			t.Fatalf("reload refused: %s", diags.Error())
		}
	}
	// edr now says simulate = true; fw is unchanged.
	write("  simulate = true\n", "/block")
	reload()
	if err := send("webhook.edr"); !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "restart the worker") {
		t.Errorf("a block made simulated by a reload: %v; want a permanent refusal saying to restart", err)
	}
	if err := send("webhook.fw"); err != nil {
		t.Errorf("an unchanged block after a reload: %v", err)
	}
	// fw's url changes; then fw goes.
	write("", "/elsewhere")
	reload()
	if err := send("webhook.fw"); !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "restart the worker") {
		t.Errorf("a block whose url a reload changed: %v; want a permanent refusal", err)
	}
	write("", "")
	reload()
	if err := send("webhook.fw"); !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "does not declare") {
		t.Errorf("a block a reload removed: %v; want a permanent refusal", err)
	}
	if hits.Load() != 2 {
		t.Errorf("the receivers were reached %d times; want 2 (edr and fw before their changes)", hits.Load())
	}
}
