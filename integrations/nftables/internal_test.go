package nftables

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/integrations/nftables/netnstest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

func TestNetlinkErr(t *testing.T) {
	a, _ := New(Config{Netns: "gw"})
	ctx := context.Background()
	// The library flattens some errors to text (receiveAckAware: %v).
	flat := fmt.Errorf("receiveAckAware: %v", &netlink.OpError{Op: "receive", Err: syscall.EPERM})
	wrapped := fmt.Errorf("conn.Receive: %w", &netlink.OpError{Op: "receive", Err: syscall.EPERM})
	for _, err := range []error{flat, wrapped} {
		got := a.netlinkErr(ctx, "list tables", err)
		if !errors.Is(got, activities.ErrPermanent) || !strings.Contains(got.Error(), "CAP_NET_ADMIN") ||
			!strings.Contains(got.Error(), "network namespace gw") {
			t.Errorf("permission: %v", got)
		}
	}
	busy := fmt.Errorf("conn.Receive: %w", &netlink.OpError{Op: "receive", Err: syscall.EBUSY})
	if got := a.netlinkErr(ctx, "add rules", busy); errors.Is(got, activities.ErrPermanent) || !errors.Is(got, syscall.EBUSY) {
		t.Errorf("busy: %v, want retryable and wrapping EBUSY", got)
	}
}

func TestLockHonoursContext(t *testing.T) {
	a, _ := New(Config{Netns: "fbnft-lock-test"})
	unlock, err := a.lock(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := activities.ConduitRequest{Key: "k", Conduit: activities.Conduit{ID: "c"},
		From: activities.Zone{Networks: []string{"10.0.1.0/24"}}, To: activities.Zone{Networks: []string{"10.0.2.0/24"}}}
	if _, err := a.Cut(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("Cut while another change holds the namespace: %v, want context.Canceled", err)
	}
	// Another adapter of the same namespace and table shares the lock.
	b, _ := New(Config{Netns: "fbnft-lock-test"})
	if _, err := b.Restore(ctx, r); !errors.Is(err, context.Canceled) {
		t.Errorf("Restore through a second adapter: %v, want context.Canceled", err)
	}
}

var handleRE = regexp.MustCompile(`comment "(firebreak c=[^"]*)" # handle (\d+)`)

// firebreakHandles lists the handles of firebreak's rules in ns, by nft.
func firebreakHandles(t *testing.T, ns string) []string {
	t.Helper()
	out, err := netnstest.Nft(ns, "-a", "list", "chain", "inet", "firebreak", "forward")
	if err != nil {
		t.Fatal(err)
	}
	var hs []string
	for _, m := range handleRE.FindAllStringSubmatch(out, -1) {
		hs = append(hs, m[2])
	}
	return hs
}

func twoZones(top *netnstest.Topology, key string) activities.ConduitRequest {
	return activities.ConduitRequest{
		Key:         key,
		Conduit:     activities.Conduit{ID: "it_to_ot"},
		From:        activities.Zone{ID: "it", Networks: []string{top.IT.Net}},
		To:          activities.Zone{ID: "ot", Networks: []string{top.OT.Net}},
		Enforcement: "nftables.gw", IncidentID: "inc-1", Step: "action.isolate",
	}
}

func TestNetnsVerifyCatchesInterference(t *testing.T) {
	top := netnstest.New(t, "fbnftv")
	a, err := New(Config{Netns: top.Gateway})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { afterFlush = nil })
	ctx := context.Background()
	r := twoZones(top, "k1")

	// Someone deletes one of the new rules before the read-back.
	afterFlush = func() {
		hs := firebreakHandles(t, top.Gateway)
		if _, err := netnstest.Nft(top.Gateway, "delete", "rule", "inet", "firebreak", "forward", "handle", hs[0]); err != nil {
			t.Error(err)
		}
	}
	_, err = a.Cut(ctx, r)
	if err == nil || errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "1 missing") {
		t.Fatalf("Cut with a rule deleted under it: %v, want a retryable mismatch naming 1 missing rule", err)
	}
	afterFlush = nil
	if _, err := a.Cut(ctx, r); err != nil { // the retry converges
		t.Fatalf("retry: %v", err)
	}
	want, _ := Expected(r)
	if got, _ := a.Rules(ctx); !slices.Equal(got, want) {
		t.Errorf("after the retry:\n got %v\nwant %v", got, want)
	}

	// Someone adds a rule claiming the conduit before the read-back.
	afterFlush = func() {
		if _, err := netnstest.Nft(top.Gateway, "add table inet firebreak; add chain inet firebreak forward { type filter hook forward priority 0; policy accept; }; "+
			`add rule inet firebreak forward ip saddr 10.97.0.0/16 counter drop comment "firebreak c=it_to_ot k=0000000000000000"`); err != nil {
			t.Error(err)
		}
	}
	_, err = a.Restore(ctx, r)
	if err == nil || !strings.Contains(err.Error(), "1 unexpected (ip saddr 10.97.0.0/16 counter drop)") {
		t.Fatalf("Restore with a rule added under it: %v", err)
	}
	afterFlush = nil
	if _, err := a.Restore(ctx, r); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if got, _ := a.Rules(ctx); len(got) != 0 {
		t.Errorf("after the retry: %v", got)
	}
}

func TestNetnsZonesChangedBetweenAttempts(t *testing.T) {
	top := netnstest.New(t, "fbnftz")
	a, err := New(Config{Netns: top.Gateway})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := twoZones(top, "k1")
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	// The retry carries a zone that gained a network (a reload between
	// attempts): the key's set is replaced, not added to.
	r.To.Networks = append(r.To.Networks, top.Safety.Net)
	if _, err := a.Cut(ctx, r); err != nil {
		t.Fatal(err)
	}
	want, _ := Expected(r)
	if got, _ := a.Rules(ctx); !slices.Equal(got, want) || len(got) != 4 {
		t.Errorf("after the changed retry:\n got %v\nwant %v", got, want)
	}
	if err := netnstest.Ping(top.IT.Netns, top.Safety.Addr); err == nil {
		t.Error("the network added to the zone is not cut")
	}
}

// TestNetnsWaitsForAnotherWorker: the in-process lock does not stop a
// second worker process on the same host. Without a lock they share, a
// restore that read "only this conduit's rules are left" deletes the
// table after the other worker added a cut of another conduit to it, and
// that conduit is open again with both workers' read-backs content. A
// change therefore waits while another worker holds the namespace (here
// an flock through another open file description, as another process
// has), changes nothing meanwhile, and goes ahead once it is released.
func TestNetnsWaitsForAnotherWorker(t *testing.T) {
	top := netnstest.New(t, "fbnft")
	a, err := New(Config{Netns: top.Gateway, ID: "nftables.gw"})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Open(NetnsDir+"/"+top.Gateway, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	onLockBusy = cancel
	defer func() { onLockBusy = nil }()
	req := twoZones(top, "inc-1/cut/it_to_ot")
	if _, err := a.Cut(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("Cut while another worker holds the namespace: %v, want it to wait (context.Canceled)", err)
	}
	onLockBusy = nil
	if err := unix.Flock(fd, unix.LOCK_UN); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Rules(context.Background()); err != nil || len(got) != 0 {
		t.Fatalf("rules written while another worker held the namespace: %v, %v", got, err)
	}
	if _, err := a.Cut(context.Background(), req); err != nil {
		t.Fatalf("Cut once the lock is released: %v", err)
	}
	if got := firebreakHandles(t, top.Gateway); len(got) != 2 {
		t.Errorf("after the cut: %d rules, want 2", len(got))
	}
}
