package nftables_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/nftables"
	"github.com/firebreak-ir/firebreak/integrations/nftables/netnstest"
)

// foreignRuleset is someone else's ruleset in the gateway: an inet table
// on the same hook, with rules and a comment, and an ip table.
const foreignRuleset = `
table inet theirs {
	chain their_forward {
		type filter hook forward priority -5; policy accept;
		ct state established,related accept
		ip saddr 10.99.0.0/16 counter accept comment "theirs: trusted jump hosts"
		ip daddr 10.231.2.0/24 tcp dport 22 counter accept
	}
	chain input {
		type filter hook input priority 0; policy accept;
		iifname "lo" accept
	}
}
table ip audit {
	chain pre {
		type filter hook prerouting priority -150; policy accept;
		counter
	}
}
`

// plant builds the topology with the foreign ruleset in the gateway and an
// adapter there.
func plant(t *testing.T) (*netnstest.Topology, *nftables.Adapter) {
	t.Helper()
	top := netnstest.New(t, "fbnft")
	f := filepath.Join(t.TempDir(), "theirs.nft")
	if err := os.WriteFile(f, []byte(foreignRuleset), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", top.Gateway, "nft", "-f", f).CombinedOutput(); err != nil {
		t.Fatalf("loading the foreign ruleset: %v: %s", err, out)
	}
	a, err := nftables.New(nftables.Config{Netns: top.Gateway, ID: "nftables.gw"})
	if err != nil {
		t.Fatal(err)
	}
	return top, a
}

func conduit(top *netnstest.Topology, id string, from, to netnstest.Host, key string, protocols ...string) activities.ConduitRequest {
	return activities.ConduitRequest{
		Key:         key,
		Conduit:     activities.Conduit{ID: id, From: "zone_" + from.Netns, To: "zone_" + to.Netns, Enforcement: "nftables.gw", Protocols: protocols},
		From:        activities.Zone{ID: "from", Networks: []string{from.Net, from.Net6}},
		To:          activities.Zone{ID: "to", Networks: []string{to.Net, to.Net6}},
		Enforcement: "nftables.gw",
		Reason:      "test cut",
		IncidentID:  "inc-1",
		Step:        "action.isolate",
	}
}

// ruleset is the gateway's whole ruleset as nft lists it, with handles and
// without counter values.
func ruleset(t *testing.T, ns string) string {
	t.Helper()
	out, err := netnstest.Nft(ns, "-s", "-a", "list", "ruleset")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func reach(t *testing.T, from netnstest.Host, to netnstest.Host) {
	t.Helper()
	for _, ip := range []string{to.Addr, to.Addr6} {
		if err := netnstest.Ping(from.Netns, ip); err != nil {
			t.Errorf("want traffic through: %v", err)
		}
	}
}

// cut checks no ping from one host to the other gets through, over IPv4
// and IPv6 at once (each waits its full second for nothing).
func cut(t *testing.T, from netnstest.Host, to netnstest.Host) {
	t.Helper()
	ips := []string{to.Addr, to.Addr6}
	errs := make(chan error, len(ips))
	for _, ip := range ips {
		go func() { errs <- netnstest.Ping(from.Netns, ip) }()
	}
	for range ips {
		if err := <-errs; err == nil {
			t.Errorf("a ping from %s to %s got through a cut conduit", from.Netns, to.Netns)
		}
	}
}

func rules(t *testing.T, a *nftables.Adapter) []nftables.Rule {
	t.Helper()
	rs, err := a.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func expected(t *testing.T, reqs ...activities.ConduitRequest) []nftables.Rule {
	t.Helper()
	var out []nftables.Rule
	for _, r := range reqs {
		rs, err := nftables.Expected(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rs...)
	}
	nftables.SortRules(out)
	return out
}

var counterRE = regexp.MustCompile(`counter packets \d+ bytes \d+`)

// nftRules cross-checks Rules with nft's own listing of firebreak's chain:
// each rule's match and comment, counters without values.
func nftRules(t *testing.T, ns string) []string {
	t.Helper()
	out, err := netnstest.Nft(ns, "list", "chain", "inet", "firebreak", "forward")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); strings.Contains(l, " drop") {
			got = append(got, counterRE.ReplaceAllString(l, "counter"))
		}
	}
	slices.Sort(got)
	return got
}

func TestNetnsCutAndRestore(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	before := ruleset(t, top.Gateway)
	if err := a.Probe(ctx); err != nil {
		t.Fatalf("Probe: %v", err)
	}
	if got := ruleset(t, top.Gateway); got != before {
		t.Errorf("Probe changed the ruleset:\n%s", got)
	}
	reach(t, top.IT, top.OT)
	reach(t, top.OT, top.IT)
	reach(t, top.Safety, top.OT)

	itOT := conduit(top, "it_to_ot", top.IT, top.OT, "inc-1/action.isolate/it_to_ot")
	if _, err := a.Cut(ctx, itOT); err != nil {
		t.Fatalf("Cut: %v", err)
	}
	cut(t, top.IT, top.OT)
	cut(t, top.OT, top.IT)
	reach(t, top.Safety, top.OT) // the keep-open conduit, not cut
	reach(t, top.OT, top.Safety)
	reach(t, top.IT, top.Safety)

	want := expected(t, itOT)
	if got := rules(t, a); !slices.Equal(got, want) {
		t.Errorf("rules after cut:\n got %v\nwant %v", got, want)
	}
	var viaNft []string
	for _, r := range want {
		viaNft = append(viaNft, fmt.Sprintf("%s comment %q", r.Match, r.Comment))
	}
	slices.Sort(viaNft)
	if got := nftRules(t, top.Gateway); !slices.Equal(got, viaNft) {
		t.Errorf("nft lists firebreak's chain as\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(viaNft, "\n"))
	}
	if !strings.Contains(ruleset(t, top.Gateway), "type filter hook forward priority filter; policy accept;") {
		t.Errorf("firebreak's chain is not a forward filter chain with policy accept:\n%s", ruleset(t, top.Gateway))
	}

	if _, err := a.Restore(ctx, itOT); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	reach(t, top.IT, top.OT)
	reach(t, top.OT, top.IT)
	if after := ruleset(t, top.Gateway); after != before {
		t.Errorf("ruleset after restore differs from before:\n--- before\n%s\n--- after\n%s", before, after)
	}
	if got := rules(t, a); len(got) != 0 {
		t.Errorf("rules after restore: %v", got)
	}
	if _, err := a.Restore(ctx, itOT); err != nil {
		t.Errorf("restoring a conduit that is not cut: %v", err)
	}
}

func TestNetnsIdempotent(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	before := ruleset(t, top.Gateway)
	first := conduit(top, "it_to_ot", top.IT, top.OT, "inc-1/action.isolate")
	second := conduit(top, "it_to_ot", top.IT, top.OT, "inc-2/action.isolate")
	second.IncidentID = "inc-2"
	other := conduit(top, "it_to_sf", top.IT, top.Safety, "inc-1/action.isolate")

	if _, err := a.Cut(ctx, first); err != nil {
		t.Fatal(err)
	}
	once := ruleset(t, top.Gateway)
	if _, err := a.Cut(ctx, first); err != nil { // a Temporal retry
		t.Fatal(err)
	}
	if again := ruleset(t, top.Gateway); again != once {
		t.Errorf("a second cut with the same key changed the ruleset:\n%s\nthen\n%s", once, again)
	}
	if got, want := rules(t, a), expected(t, first); !slices.Equal(got, want) {
		t.Errorf("after two cuts with one key:\n got %v\nwant %v", got, want)
	}

	if _, err := a.Cut(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Cut(ctx, other); err != nil {
		t.Fatal(err)
	}
	if got, want := rules(t, a), expected(t, first, second, other); !slices.Equal(got, want) {
		t.Errorf("after cuts with two keys and another conduit:\n got %v\nwant %v", got, want)
	}
	cut(t, top.IT, top.Safety)

	if _, err := a.Restore(ctx, first); err != nil {
		t.Fatal(err)
	}
	if got, want := rules(t, a), expected(t, other); !slices.Equal(got, want) {
		t.Errorf("restore of it_to_ot left:\n got %v\nwant %v", got, want)
	}
	reach(t, top.IT, top.OT)
	cut(t, top.IT, top.Safety)
	if _, err := a.Restore(ctx, other); err != nil {
		t.Fatal(err)
	}
	if after := ruleset(t, top.Gateway); after != before {
		t.Errorf("ruleset after restoring both differs from before:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

func TestNetnsPortCut(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	netnstest.Listen(t, top.OT.Netns, top.OT.Addr+":502")
	netnstest.Listen(t, top.OT.Netns, "["+top.OT.Addr6+"]:502")
	netnstest.Listen(t, top.OT.Netns, top.OT.Addr+":503")
	netnstest.Listen(t, top.IT.Netns, top.IT.Addr+":502")
	for _, c := range [][2]string{{top.IT.Netns, top.OT.Addr + ":502"}, {top.IT.Netns, "[" + top.OT.Addr6 + "]:502"}, {top.OT.Netns, top.IT.Addr + ":502"}} {
		if err := netnstest.Connect(c[0], c[1]); err != nil {
			t.Fatalf("before the cut: %v", err)
		}
	}
	// A session open before the cut, which their table accepts as
	// established before firebreak's chain sees it.
	open, err := netnstest.Dial(top.IT.Netns, top.OT.Addr+":502")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	buf := []byte("ping")
	if _, err := open.Write(buf); err != nil || netnstest.Echo(open, buf) != nil {
		t.Fatalf("the open session does not echo: %v", err)
	}
	modbus := conduit(top, "it_to_ot_modbus", top.IT, top.OT, "inc-1/action.block", "modbus")
	if _, err := a.Cut(ctx, modbus); err != nil {
		t.Fatal(err)
	}
	if _, err := open.Write([]byte("more")); err != nil {
		t.Fatal(err)
	}
	if err := netnstest.Echo(open, buf); err == nil {
		t.Errorf("a modbus session open before the cut still gets %q back", buf)
	}
	for _, c := range [][2]string{{top.IT.Netns, top.OT.Addr + ":502"}, {top.IT.Netns, "[" + top.OT.Addr6 + "]:502"}, {top.OT.Netns, top.IT.Addr + ":502"}} {
		if err := netnstest.Connect(c[0], c[1]); err == nil {
			t.Errorf("modbus from %s to %s got through the cut", c[0], c[1])
		}
	}
	if err := netnstest.Connect(top.IT.Netns, top.OT.Addr+":503"); err != nil {
		t.Errorf("tcp/503 should still pass: %v", err)
	}
	reach(t, top.IT, top.OT) // ping is not modbus
	if got, want := rules(t, a), expected(t, modbus); !slices.Equal(got, want) || len(got) != 8 {
		t.Errorf("rules:\n got %v\nwant %v (8)", got, want)
	}
	if _, err := a.Restore(ctx, modbus); err != nil {
		t.Fatal(err)
	}
	if err := netnstest.Connect(top.IT.Netns, top.OT.Addr+":502"); err != nil {
		t.Errorf("after restore: %v", err)
	}
}

func TestNetnsHostileText(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	r := conduit(top, "it_to_ot", top.IT, top.OT, "k\x00\n"+strings.Repeat("k", 1<<20))
	r.IncidentID = "inc\x1b[31m\"; flush ruleset; \u202e"
	r.Step = strings.Repeat("\x07step", 1<<18)
	r.Reason = strings.Repeat("reason with \"quotes\" and \\ ", 1<<15)
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	got := rules(t, a)
	if want := expected(t, r); !slices.Equal(got, want) {
		t.Fatalf("rules:\n got %v\nwant %v", got, want)
	}
	for _, rule := range got {
		if len(rule.Comment) > nftables.MaxComment || rule.Conduit != "it_to_ot" || rule.Incident != "inc_[31m_;_flush_ruleset;__" {
			t.Errorf("rule %+v", rule)
		}
	}
	// nft can list it and would load the listing back.
	if _, err := netnstest.Nft(top.Gateway, "-c", "-f", writeListing(t, top.Gateway)); err != nil {
		t.Errorf("nft cannot load its own listing back: %v", err)
	}
	cut(t, top.IT, top.OT)
	if _, err := a.Restore(ctx, r); err != nil {
		t.Fatal(err)
	}
	reach(t, top.IT, top.OT)
}

func writeListing(t *testing.T, ns string) string {
	t.Helper()
	out, err := netnstest.Nft(ns, "list", "table", "inet", "firebreak")
	if err != nil {
		t.Fatal(err)
	}
	// Load it under another name, as a check only (-c changes nothing).
	f := filepath.Join(t.TempDir(), "listing.nft")
	if err := os.WriteFile(f, []byte(strings.Replace(out, "table inet firebreak", "table inet firebreak_check", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestNetnsLeavesOthersAlone(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	r := conduit(top, "it_to_ot", top.IT, top.OT, "k1")
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	// Someone adds their own rule to firebreak's chain.
	if _, err := netnstest.Nft(top.Gateway, "add", "rule", "inet", "firebreak", "forward", "ip", "saddr", "10.98.0.0/16", "counter", "drop", "comment", `"operator"`); err != nil {
		t.Fatal(err)
	}
	if _, err := netnstest.Nft(top.Gateway, "add", "rule", "inet", "firebreak", "forward", "ip", "saddr", "10.96.0.0/16", "counter", "drop", "comment", "\"\x1b[2Jbell\x07\""); err != nil {
		t.Fatal(err)
	}
	withTheirs := rules(t, a)
	if len(withTheirs) < 2 || withTheirs[0].Comment != "_[2Jbell_" || withTheirs[0].Match != "ip saddr 10.96.0.0/16 counter drop" {
		t.Fatalf("a hostile comment reads back as %+v", withTheirs[0])
	}
	withTheirs = withTheirs[1:]
	if len(withTheirs) != len(expected(t, r))+1 || withTheirs[0].Conduit != "" || withTheirs[0].Comment != "operator" {
		t.Fatalf("rules with an operator's rule: %v", withTheirs)
	}
	if _, err := a.Restore(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got := rules(t, a); len(got) != 2 || got[1] != withTheirs[0] {
		t.Errorf("restore touched the operator's rule: %v", got)
	}
	reach(t, top.IT, top.OT)
}

func TestNetnsForeignChainShape(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	if _, err := netnstest.Nft(top.Gateway, "add table inet firebreak; add chain inet firebreak forward { type filter hook forward priority 0; policy drop; }"); err != nil {
		t.Fatal(err)
	}
	before := ruleset(t, top.Gateway)
	_, err := a.Cut(ctx, conduit(top, "it_to_ot", top.IT, top.OT, "k1"))
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "policy not accept") {
		t.Errorf("Cut over a changed chain: %v", err)
	}
	if err := a.Probe(ctx); err == nil {
		t.Error("Probe passes over a changed chain")
	}
	if after := ruleset(t, top.Gateway); after != before {
		t.Errorf("the refused cut changed the ruleset")
	}
}

func TestNetnsMissing(t *testing.T) {
	netnstest.RequireRoot(t)
	a, err := nftables.New(nftables.Config{Netns: "fbnft-no-such-namespace"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := activities.ConduitRequest{Key: "k", Conduit: activities.Conduit{ID: "c"},
		From: activities.Zone{Networks: []string{"10.0.1.0/24"}}, To: activities.Zone{Networks: []string{"10.0.2.0/24"}}}
	for name, f := range map[string]func() error{
		"probe":   func() error { return a.Probe(ctx) },
		"cut":     func() error { _, err := a.Cut(ctx, r); return err },
		"restore": func() error { _, err := a.Restore(ctx, r); return err },
		"rules":   func() error { _, err := a.Rules(ctx); return err },
	} {
		err := f()
		if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "ip netns add fbnft-no-such-namespace") {
			t.Errorf("%s: %v, want a retryable error saying to create the namespace", name, err)
		}
	}
	// Not a namespace: a plain file where one would be.
	f, err := os.CreateTemp("/run/netns", "fbnft-plain-")
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() { os.Remove(f.Name()) })
	b, _ := nftables.New(nftables.Config{Netns: filepath.Base(f.Name())})
	if err := b.Probe(ctx); err == nil || !strings.Contains(err.Error(), "is not a network namespace") {
		t.Errorf("Probe of a plain file: %v", err)
	}
}

// TestNetnsUnprivileged runs this test binary again as nobody, which has
// no capabilities, and checks the adapter says what it needs.
func TestNetnsUnprivileged(t *testing.T) {
	if os.Getenv("FBNFT_UNPRIVILEGED_NETNS") != "" {
		unprivileged(t)
		return
	}
	top := netnstest.New(t, "fbnftu")
	// The test binary's own directory is root's alone; nobody needs a copy.
	dir, err := os.MkdirTemp("", "fbnft-unpriv-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "nftables.test")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestNetnsUnprivileged$", "-test.v")
	cmd.Dir = dir
	cmd.Env = []string{"FBNFT_UNPRIVILEGED_NETNS=" + top.Gateway, "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "--- PASS: TestNetnsUnprivileged") {
		t.Fatalf("as nobody the check did not run:\n%s", out)
	}
	if got := ruleset(t, top.Gateway); strings.Contains(got, "firebreak") {
		t.Errorf("an unprivileged cut changed the ruleset:\n%s", got)
	}
}

// unprivileged is TestNetnsUnprivileged's half run as nobody.
func unprivileged(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Fatal("the unprivileged half runs as root")
	}
	ctx := context.Background()
	r := activities.ConduitRequest{Key: "k", Conduit: activities.Conduit{ID: "c"},
		From: activities.Zone{Networks: []string{"10.0.1.0/24"}}, To: activities.Zone{Networks: []string{"10.0.2.0/24"}}}
	for _, ns := range []string{os.Getenv("FBNFT_UNPRIVILEGED_NETNS"), ""} {
		a, err := nftables.New(nftables.Config{Netns: ns})
		if err != nil {
			t.Fatal(err)
		}
		for name, f := range map[string]func() error{
			"probe":   func() error { return a.Probe(ctx) },
			"cut":     func() error { _, err := a.Cut(ctx, r); return err },
			"restore": func() error { _, err := a.Restore(ctx, r); return err },
		} {
			err := f()
			if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "lacks CAP_NET_ADMIN") ||
				!strings.Contains(err.Error(), "run it as root") {
				t.Errorf("netns %q: %s as nobody: %v, want a permanent error naming CAP_NET_ADMIN", ns, name, err)
			}
			if ns != "" && !strings.Contains(err.Error(), "CAP_SYS_ADMIN") {
				t.Errorf("netns %q: %s as nobody: %v, want CAP_SYS_ADMIN named too", ns, name, err)
			}
		}
	}
}

func TestNetnsConcurrentAndLarge(t *testing.T) {
	top, a := plant(t)
	b, err := nftables.New(nftables.Config{Netns: top.Gateway})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	before := ruleset(t, top.Gateway)
	// The largest cut allowed: 32 x 16 networks, both ways.
	large := conduit(top, "large", top.IT, top.OT, "inc-1/large")
	large.From.Networks, large.To.Networks = nil, nil
	for i := range 32 {
		large.From.Networks = append(large.From.Networks, fmt.Sprintf("10.200.%d.0/24", i))
	}
	for i := range 16 {
		large.To.Networks = append(large.To.Networks, fmt.Sprintf("10.201.%d.0/24", i))
	}
	reqs := []activities.ConduitRequest{large}
	for i := range 6 {
		reqs = append(reqs, conduit(top, fmt.Sprintf("c%d", i), top.IT, top.OT, fmt.Sprintf("inc-%d/action.isolate", i)))
	}
	// Cut all at once through two adapters of the same namespace.
	errs := make(chan error, len(reqs))
	for i, r := range reqs {
		ad := a
		if i%2 == 1 {
			ad = b
		}
		go func() { _, err := ad.Cut(ctx, r); errs <- err }()
	}
	for range reqs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	want := expected(t, reqs...)
	if got := rules(t, a); !slices.Equal(got, want) {
		t.Fatalf("after concurrent cuts: %d rules, want %d", len(got), len(want))
	}
	if len(want) != nftables.MaxRules+6*4 {
		t.Errorf("the large cut has %d rules, want %d", len(want)-6*4, nftables.MaxRules)
	}
	cut(t, top.IT, top.OT)
	for i, r := range reqs {
		ad := a
		if i%2 == 0 {
			ad = b
		}
		go func() { _, err := ad.Restore(ctx, r); errs <- err }()
	}
	for range reqs {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if after := ruleset(t, top.Gateway); after != before {
		t.Errorf("ruleset after concurrent restores differs from before:\n--- before\n%s\n--- after\n%s", before, after)
	}
	reach(t, top.IT, top.OT)
}

// TestNetnsOwnNamespace runs this test binary again inside the gateway's
// namespace with an adapter for the worker's own namespace (netns unset),
// and checks the cut lands there.
func TestNetnsOwnNamespace(t *testing.T) {
	if ns := os.Getenv("FBNFT_OWN_NETNS_IT"); ns != "" {
		ownNamespace(t, ns)
		return
	}
	top := netnstest.New(t, "fbnfto")
	cmd := exec.Command("ip", "netns", "exec", top.Gateway, os.Args[0], "-test.run=^TestNetnsOwnNamespace$", "-test.v")
	cmd.Env = append(os.Environ(), "FBNFT_OWN_NETNS_IT="+top.IT.Netns,
		"FBNFT_OWN_FROM="+top.IT.Net, "FBNFT_OWN_TO="+top.OT.Net, "FBNFT_OWN_TO_ADDR="+top.OT.Addr)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNetnsOwnNamespace") {
		t.Fatalf("inside the gateway: %v\n%s", err, out)
	}
	if got := ruleset(t, top.Gateway); strings.Contains(got, "firebreak") {
		t.Errorf("the restore inside the gateway left:\n%s", got)
	}
}

// ownNamespace is TestNetnsOwnNamespace's half run inside the gateway.
func ownNamespace(t *testing.T, it string) {
	a, err := nftables.New(nftables.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := activities.ConduitRequest{Key: "k", Conduit: activities.Conduit{ID: "it_to_ot"},
		From: activities.Zone{Networks: []string{os.Getenv("FBNFT_OWN_FROM")}}, To: activities.Zone{Networks: []string{os.Getenv("FBNFT_OWN_TO")}}}
	if err := a.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	if got, want := rules(t, a), expected(t, r); !slices.Equal(got, want) {
		t.Errorf("rules:\n got %v\nwant %v", got, want)
	}
	if err := netnstest.Ping(it, os.Getenv("FBNFT_OWN_TO_ADDR")); err == nil {
		t.Error("the cut in the worker's own namespace does not hold")
	}
	if _, err := a.Restore(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := netnstest.Ping(it, os.Getenv("FBNFT_OWN_TO_ADDR")); err != nil {
		t.Errorf("after restore: %v", err)
	}
}

// TestNetnsDormantTable: a table marked dormant (nft add table inet
// firebreak { flags dormant; }, a way to pause a table) keeps its rules,
// and a read-back finds them, but drops no packet. A cut into it would
// report a conduit cut that is open, so it is refused and says what to do;
// the hosts still reach each other, as nothing was cut.
func TestNetnsDormantTable(t *testing.T) {
	top, a := plant(t)
	if _, err := netnstest.Nft(top.Gateway, "add", "table", "inet", "firebreak", "{", "flags", "dormant", ";", "}"); err != nil {
		t.Fatal(err)
	}
	req := conduit(top, "it_to_ot", top.IT, top.OT, "inc-1/cut/it_to_ot")
	_, err := a.Cut(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "dormant") {
		t.Errorf("Cut into a dormant table: %v; want a refusal naming the dormant flag", err)
	}
	reach(t, top.IT, top.OT)
	// Made active again, as the error says, the cut goes ahead and holds.
	if _, err := netnstest.Nft(top.Gateway, "add", "table", "inet", "firebreak"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Cut(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	cut(t, top.IT, top.OT)
}

// TestNetnsCutHoldsOverAnAcceptInItsChain: a rule someone put in
// firebreak's own chain that accepts (ct state established accept, a
// trusted jump host) ends the chain for the packets it matches. Appended
// after it, a cut's drops were never reached for them; the read-back
// passed and the conduit stayed open. A cut's rules go first.
func TestNetnsCutHoldsOverAnAcceptInItsChain(t *testing.T) {
	top, a := plant(t)
	ctx := context.Background()
	if _, err := netnstest.Nft(top.Gateway, "add table inet firebreak; add chain inet firebreak forward { type filter hook forward priority 0; policy accept; }"); err != nil {
		t.Fatal(err)
	}
	if _, err := netnstest.Nft(top.Gateway, "add", "rule", "inet", "firebreak", "forward", "meta", "l4proto", "icmp", "accept", "comment", `"operator"`); err != nil {
		t.Fatal(err)
	}
	if _, err := netnstest.Nft(top.Gateway, "add", "rule", "inet", "firebreak", "forward", "meta", "l4proto", "ipv6-icmp", "accept", "comment", `"operator"`); err != nil {
		t.Fatal(err)
	}
	reach(t, top.IT, top.OT)
	r := conduit(top, "it_to_ot", top.IT, top.OT, "k1")
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	cut(t, top.IT, top.OT)
	if _, err := a.Restore(ctx, r); err != nil {
		t.Fatal(err)
	}
	reach(t, top.IT, top.OT)
	if got := rules(t, a); len(got) != 2 || got[0].Comment != "operator" {
		t.Errorf("after the restore: %v, want the operator's two rules", got)
	}
}
