package nftables

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/google/nftables"
	"github.com/google/nftables/userdata"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// DefaultTable is the table firebreak owns when Config.Table is "".
const DefaultTable = "firebreak"

// Chain is the name of firebreak's base chain in its table.
const Chain = "forward"

// netlinkTimeout bounds one netlink exchange when ctx has no deadline.
const netlinkTimeout = 10 * time.Second

var _ activities.Isolator = (*Adapter)(nil)

// Config configures an Adapter: the settings of one
// integration "nftables" "NAME" { netns = "..."  table = "..." } block.
type Config struct {
	// Netns is the name of the network namespace the rules go in, as
	// `ip netns add` makes it (/run/netns/NAME); "" is the worker's own.
	Netns string
	// Table is the name of the inet table firebreak owns there; "" means
	// DefaultTable.
	Table string
	// ID is the integration ID ("nftables.plant3_gw"), or "". When set, a
	// request whose Enforcement is another ID is refused, so a request
	// routed to the wrong enforcement point changes nothing.
	ID string
}

// Adapter cuts and restores conduits with nftables rules in one network
// namespace. It is safe for concurrent use; changes to one namespace and
// table are serialized across every Adapter of the process, and changes
// to one namespace across the processes of the host.
type Adapter struct {
	netns string
	table string
	id    string
}

// New returns an Adapter for cfg. It checks the names only: the namespace
// need not exist yet (Probe says whether it does).
func New(cfg Config) (*Adapter, error) {
	if err := checkNetnsName(cfg.Netns); err != nil {
		return nil, err
	}
	table := cfg.Table
	if table == "" {
		table = DefaultTable
	}
	if err := checkIdent(table); err != nil {
		return nil, err
	}
	return &Adapter{netns: cfg.Netns, table: table, id: cfg.ID}, nil
}

// checkIdent checks a table name is an nft identifier: a letter, then
// letters, digits, '_' and '-', at most 31 bytes (what nft accepts
// unquoted and the kernel stores).
func checkIdent(s string) error {
	ok := len(s) > 0 && len(s) <= 31
	for i, r := range s {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_' || r == '-')) {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("%w: table %q is not an nft identifier (a letter, then letters, digits, _ or -; at most 31)",
			activities.ErrPermanent, clean(s, 64, false))
	}
	return nil
}

// Netns returns the namespace name the adapter acts in ("" for the
// worker's own).
func (a *Adapter) Netns() string { return a.netns }

// Table returns the name of the adapter's table.
func (a *Adapter) Table() string { return a.table }

// afterFlush, when set (by tests), runs between a change and its read-back.
var afterFlush func()

// onLockBusy, when set (by tests), runs each time lockNetns finds the
// namespace locked by another worker.
var onLockBusy func()

// locks serializes changes per namespace and table: one buffered channel
// per key, so a waiter can give up when its context ends.
var locks sync.Map

func (a *Adapter) lock(ctx context.Context) (func(), error) {
	v, _ := locks.LoadOrStore(a.netns+"\x00"+a.table, make(chan struct{}, 1))
	ch := v.(chan struct{})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nftables in %s: %w", a.where(), err)
	}
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("nftables in %s: waiting for another change to finish: %w", a.where(), ctx.Err())
	}
}

// lockPoll is how often a change waiting for another worker's lock on
// the namespace tries again.
const lockPoll = 20 * time.Millisecond

// lockNetns takes an exclusive flock on the namespace (fd, or the worker's
// own through /proc/self/ns/net when fd is -1), so that changes by every
// worker process on the host are serialized, not only those of this one:
// without it, a restore that read "only this conduit's rules left" could
// delete the table just after another worker added a cut of another
// conduit to it. Every opening of a namespace file refers to the same
// inode, so the lock holds across processes. It waits, trying again every
// lockPoll, until ctx ends or deadline passes.
func (a *Adapter) lockNetns(ctx context.Context, fd int, deadline time.Time) (func(), error) {
	own := fd < 0
	if own {
		var err error
		if fd, err = unix.Open("/proc/self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0); err != nil {
			return nil, fmt.Errorf("nftables in %s: open /proc/self/ns/net to lock it: %w", a.where(), err)
		}
	}
	release := func() {
		_ = unix.Flock(fd, unix.LOCK_UN)
		if own {
			unix.Close(fd)
		}
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	for {
		err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB)
		switch {
		case err == nil:
			return release, nil
		case errors.Is(err, unix.EINTR):
			continue
		case !errors.Is(err, unix.EWOULDBLOCK):
			release()
			return nil, fmt.Errorf("nftables in %s: lock the namespace against other workers' changes: %w", a.where(), err)
		}
		if onLockBusy != nil {
			onLockBusy()
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			release()
			return nil, fmt.Errorf("nftables in %s: waiting for another worker's change to the namespace to finish: %w", a.where(), ctx.Err())
		case <-t.C:
		}
	}
}

// session runs fn with a netlink connection into the namespace, holding
// the namespace's lock.
func (a *Adapter) session(ctx context.Context, fn func(c *nftables.Conn) error) error {
	unlock, err := a.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	fd, closeFd, err := a.openNetns()
	if err != nil {
		return err
	}
	defer closeFd()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(netlinkTimeout)
	}
	unlockNs, err := a.lockNetns(ctx, fd, deadline)
	if err != nil {
		return err
	}
	defer unlockNs()
	opts := []nftables.ConnOption{nftables.AsLasting(), nftables.WithSockOptions(func(c *netlink.Conn) error {
		if err := c.SetDeadline(deadline); err != nil {
			return err
		}
		return bigBuffers(c)
	})}
	if fd >= 0 {
		opts = append(opts, nftables.WithNetNSFd(fd))
	}
	c, err := nftables.New(opts...)
	if err != nil {
		return a.netlinkErr(ctx, "open a netlink connection", err)
	}
	defer c.CloseLasting()
	return fn(c)
}

// socketBuffer is the netlink socket buffer size a batch of MaxRules rules
// (about 500 bytes each) and its acknowledgements fit in.
const socketBuffer = 4 << 20

// bigBuffers lets one batch of up to MaxRules rules through: the kernel
// refuses a message larger than the send buffer, and drops acks that do
// not fit the receive buffer. Acks carry only the header, not the rule
// back. The buffers are forced past the system's limits (the worker has
// CAP_NET_ADMIN); if that fails, the default sizes stay and a batch too
// large fails with "message too long", retried like any netlink error.
func bigBuffers(c *netlink.Conn) error {
	if err := c.SetOption(netlink.CapAcknowledge, true); err != nil {
		return err
	}
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	return rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, socketBuffer)
		_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, socketBuffer)
	})
}

// state is firebreak's table, chain and rules as read from the kernel;
// table or chain is nil when absent.
type state struct {
	table  *nftables.Table
	chain  *nftables.Chain
	chains int // chains in the table
	rules  []*nftables.Rule
}

// tableUse returns how many objects (chains, sets, stateful objects,
// flowtables) the kernel counts in t. The library decodes the count in
// host byte order though netlink sends it big-endian; no table holds
// 65536 objects, so a larger value is read swapped.
func tableUse(t *nftables.Table) uint32 {
	if t.Use > 0xffff {
		return bits.ReverseBytes32(t.Use)
	}
	return t.Use
}

// tableDormant is NFT_TABLE_F_DORMANT: the table's chains are not hooked,
// so its rules match no packet.
const tableDormant = 0x1

// tableFlags returns t's flags. Netlink sends them big-endian and the
// library decodes them in host byte order; this undoes that on any host.
func tableFlags(t *nftables.Table) uint32 {
	return binary.BigEndian.Uint32(binary.NativeEndian.AppendUint32(nil, t.Flags))
}

// checkActive fails, wrapping activities.ErrPermanent, when firebreak's
// table is dormant: rules written there, and read back, would drop nothing.
func (a *Adapter) checkActive(st state) error {
	if st.table == nil || tableFlags(st.table)&tableDormant == 0 {
		return nil
	}
	return fmt.Errorf("%w: nftables in %s: table inet %s is dormant (flags dormant), so its rules drop no packet and a cut would not hold; "+
		"someone paused it: make it active again (nft add table inet %s, without flags) and retry",
		activities.ErrPermanent, a.where(), a.table, a.table)
}

// values returns the comparable values of the rules, sorted.
func (s state) values() []Rule {
	out := make([]Rule, 0, len(s.rules))
	for _, r := range s.rules {
		out = append(out, toRule(r))
	}
	SortRules(out)
	return out
}

// read reads firebreak's table, chain and rules, changing nothing. A chain
// of that name that is not the base chain firebreak makes is an error: its
// rules would not do what firebreak means.
func (a *Adapter) read(ctx context.Context, c *nftables.Conn) (state, error) {
	var st state
	tables, err := c.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return st, a.netlinkErr(ctx, "list tables", err)
	}
	for _, t := range tables {
		if t.Name == a.table {
			st.table = t
		}
	}
	if st.table == nil {
		return st, nil
	}
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return st, a.netlinkErr(ctx, "list chains", err)
	}
	for _, ch := range chains {
		if ch.Table == nil || ch.Table.Name != a.table {
			continue
		}
		st.chains++
		if ch.Name == Chain {
			st.chain = ch
		}
	}
	if st.chain == nil {
		return st, nil
	}
	if err := a.checkChain(st.chain); err != nil {
		return st, err
	}
	st.rules, err = c.GetRules(st.table, st.chain)
	if err != nil {
		return st, a.netlinkErr(ctx, fmt.Sprintf("list the rules of chain inet %s %s", a.table, Chain), err)
	}
	return st, nil
}

// checkChain fails, wrapping activities.ErrPermanent, for a chain that is
// not a filter chain on the forward hook at priority filter with policy
// accept.
func (a *Adapter) checkChain(ch *nftables.Chain) error {
	var bad []string
	if ch.Type != nftables.ChainTypeFilter {
		bad = append(bad, fmt.Sprintf("type %q", clean(string(ch.Type), 16, false)))
	}
	if ch.Hooknum == nil || *ch.Hooknum != *nftables.ChainHookForward {
		bad = append(bad, "not on the forward hook")
	}
	if ch.Priority == nil || *ch.Priority != *nftables.ChainPriorityFilter {
		bad = append(bad, "priority not filter (0)")
	}
	if ch.Policy == nil || *ch.Policy != nftables.ChainPolicyAccept {
		bad = append(bad, "policy not accept")
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("%w: nftables in %s: chain inet %s %s is not the one firebreak makes (%s); "+
		"someone changed it: once its rules are no longer needed, delete it (nft delete chain inet %s %s) and retry",
		activities.ErrPermanent, a.where(), a.table, Chain, strings.Join(bad, ", "), a.table, Chain)
}

func (a *Adapter) tableRef() *nftables.Table {
	return &nftables.Table{Name: a.table, Family: nftables.TableFamilyINet}
}

func (a *Adapter) chainRef() *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: Chain, Table: a.tableRef(), Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &accept,
	}
}

// check refuses requests meant for another enforcement point and exercise
// requests, which never change a real packet filter.
func (a *Adapter) check(req activities.ConduitRequest) error {
	if a.id != "" && req.Enforcement != a.id {
		return fmt.Errorf("%w: conduit %s: the request is for enforcement point %q, not %s",
			activities.ErrPermanent, clean(req.Conduit.ID, MaxConduitID, false), clean(req.Enforcement, 64, false), a.id)
	}
	if req.Exercise {
		return fmt.Errorf("%w: conduit %s: an exercise request never changes a real packet filter",
			activities.ErrPermanent, clean(req.Conduit.ID, MaxConduitID, false))
	}
	return nil
}

// Cut adds the rules that drop traffic over the conduit, in both
// directions, between the From and To zones' networks (see the package
// doc for their shape), in one netlink batch, then reads the chain back
// and checks the conduit's rules are exactly the ones expected. A second
// Cut with the same Key changes nothing; a Cut with another Key adds that
// key's own set beside the first.
func (a *Adapter) Cut(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	if err := a.check(req); err != nil {
		return activities.ConduitResponse{}, err
	}
	p, err := planCut(req)
	if err != nil {
		return activities.ConduitResponse{}, err
	}
	want := p.rules()
	err = a.session(ctx, func(c *nftables.Conn) error {
		st, err := a.read(ctx, c)
		if err != nil {
			return err
		}
		if err := a.checkActive(st); err != nil {
			return err
		}
		var stale []*nftables.Rule
		var mine, others []Rule
		for _, r := range st.rules {
			v := toRule(r)
			switch {
			case v.Conduit == p.conduit && v.KeyHash == p.keyHash:
				stale, mine = append(stale, r), append(mine, v)
			case v.Conduit == p.conduit:
				others = append(others, v)
			}
		}
		SortRules(mine)
		if slices.Equal(mine, want) {
			return nil // this key's cut is in place: a retry
		}
		if st.table == nil {
			c.AddTable(a.tableRef())
		}
		if st.chain == nil {
			c.AddChain(a.chainRef())
		}
		for _, r := range stale {
			// A set of this key that differs (the zones changed since):
			// replace it in the same batch.
			if err := c.DelRule(&nftables.Rule{Table: a.tableRef(), Chain: a.chainRef(), Handle: r.Handle}); err != nil {
				return a.netlinkErr(ctx, "delete a stale rule", err)
			}
		}
		ud := userdata.AppendString(nil, userdata.TypeComment, p.comment)
		for _, m := range p.matches {
			// At the head of the chain: a rule someone else put there
			// that accepts (ct state established accept) ends the chain
			// for what it matches, and a drop after it would never be
			// reached.
			c.InsertRule(&nftables.Rule{Table: a.tableRef(), Chain: a.chainRef(), Exprs: m.exprs(), UserData: ud})
		}
		if err := c.Flush(); err != nil {
			return a.netlinkErr(ctx, fmt.Sprintf("add the %d rules cutting conduit %s", len(p.matches), p.conduit), err)
		}
		if afterFlush != nil {
			afterFlush()
		}
		return a.verify(ctx, c, p.conduit, append(others, want...))
	})
	return activities.ConduitResponse{}, err
}

// Restore removes every rule firebreak wrote for the conduit, whichever
// incident, step or key cut it, and nothing else, in one netlink batch;
// then it reads the chain back and checks none is left. When the table
// then holds nothing else, it is removed too, so the ruleset is as it was
// before the first cut. Restoring a conduit that is not cut changes
// nothing.
func (a *Adapter) Restore(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	if err := a.check(req); err != nil {
		return activities.ConduitResponse{}, err
	}
	id := req.Conduit.ID
	if err := conduitID(id); err != nil {
		return activities.ConduitResponse{}, err
	}
	err := a.session(ctx, func(c *nftables.Conn) error {
		st, err := a.read(ctx, c)
		if err != nil || st.chain == nil {
			return err
		}
		var del []*nftables.Rule
		for _, r := range st.rules {
			if toRule(r).Conduit == id {
				del = append(del, r)
			}
		}
		if len(del) == 0 {
			return nil
		}
		if len(del) == len(st.rules) && st.chains == 1 && tableUse(st.table) == 1 {
			// Only firebreak's chain, holding only this conduit's rules.
			c.DelTable(a.tableRef())
		} else {
			for _, r := range del {
				if err := c.DelRule(&nftables.Rule{Table: a.tableRef(), Chain: a.chainRef(), Handle: r.Handle}); err != nil {
					return a.netlinkErr(ctx, "delete a rule", err)
				}
			}
		}
		if err := c.Flush(); err != nil {
			return a.netlinkErr(ctx, fmt.Sprintf("delete the %d rules cutting conduit %s", len(del), id), err)
		}
		if afterFlush != nil {
			afterFlush()
		}
		return a.verify(ctx, c, id, nil)
	})
	return activities.ConduitResponse{}, err
}

// verify reads the chain back and checks the conduit's rules are exactly
// want. A mismatch is retryable: the next attempt converges on want.
func (a *Adapter) verify(ctx context.Context, c *nftables.Conn, conduit string, want []Rule) error {
	st, err := a.read(ctx, c)
	if err != nil {
		return fmt.Errorf("reading back after the change: %w", err)
	}
	var got []Rule
	for _, r := range st.values() {
		if r.Conduit == conduit {
			got = append(got, r)
		}
	}
	want = slices.Clone(want)
	SortRules(want)
	if slices.Equal(got, want) {
		return nil
	}
	return fmt.Errorf("nftables in %s: read back after the change, the rules of conduit %s are not the expected ones "+
		"(someone else may be changing table inet %s): %s", a.where(), conduit, a.table, diff(got, want))
}

// diff says how got differs from want, naming at most a few rules.
func diff(got, want []Rule) string {
	var missing, extra []string
	for _, w := range want {
		if i := slices.Index(got, w); i >= 0 {
			got = slices.Delete(slices.Clone(got), i, i+1)
		} else {
			missing = append(missing, w.Match)
		}
	}
	for _, g := range got {
		extra = append(extra, g.Match)
	}
	short := func(s []string) string {
		if len(s) > 3 {
			return strings.Join(s[:3], "; ") + fmt.Sprintf("; and %d more", len(s)-3)
		}
		return strings.Join(s, "; ")
	}
	var out []string
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%d missing (%s)", len(missing), short(missing)))
	}
	if len(extra) > 0 {
		out = append(out, fmt.Sprintf("%d unexpected (%s)", len(extra), short(extra)))
	}
	return strings.Join(out, ", ")
}

// Rules returns every rule in firebreak's chain of the namespace, sorted
// (see SortRules): the ones firebreak wrote with their conduit, key hash,
// incident and step; any other with Conduit "". No table means no rules.
func (a *Adapter) Rules(ctx context.Context) ([]Rule, error) {
	var out []Rule
	err := a.session(ctx, func(c *nftables.Conn) error {
		st, err := a.read(ctx, c)
		out = st.values()
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Probe checks, changing nothing, that the namespace opens and that
// firebreak's table, chain and rules can be listed (and, when they exist,
// that the table is not dormant and the chain is the one firebreak makes).
func (a *Adapter) Probe(ctx context.Context) error {
	return a.session(ctx, func(c *nftables.Conn) error {
		st, err := a.read(ctx, c)
		if err != nil {
			return err
		}
		return a.checkActive(st)
	})
}
