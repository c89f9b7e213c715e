package nftables

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// Limits on what one request may ask for and on the comment.
const (
	// MaxComment is the longest rule comment, in bytes: the nft command
	// line refuses longer ones (128 with the terminating NUL), so a saved
	// ruleset stays loadable with nft -f.
	MaxComment = 127
	// MaxRules is the most rules one cut may add. More would make one
	// netlink batch too large; use fewer, larger networks.
	MaxRules = 1024
	// MaxConduitID is the longest conduit ID a rule comment can carry.
	MaxConduitID = 48
	// KeyHashLen is the length of the key hash in comments, in hex digits.
	KeyHashLen = 16
	// commentTag starts the comment of every rule firebreak writes.
	commentTag = "firebreak"
	// incidentMax and stepMax bound those fields in the comment, so the
	// reason (last) is what truncation shortens first.
	incidentMax = 36
	stepMax     = 36
)

// Rule is one firebreak rule as comparable values: what the rule's comment
// says and a canonical text of its match and verdict. Two rule sets are
// equal when their sorted []Rule are equal (see SortRules); handles and
// counter values are left out on purpose.
type Rule struct {
	// Conduit is the conduit ID the rule cuts; "" for a rule in
	// firebreak's chain that firebreak did not write.
	Conduit string
	// KeyHash is the first KeyHashLen hex digits of the SHA-256 of the
	// request's idempotency key.
	KeyHash string
	// Incident, Step and Reason are as the comment carries them:
	// sanitised and perhaps shortened.
	Incident string
	Step     string
	Reason   string
	// Match is the rule's match and verdict in nft syntax, as nft prints
	// it but with the counter's values left out, e.g.
	// "ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 tcp dport 502 counter drop".
	Match string
	// Comment is the rule's whole comment.
	Comment string
}

// SortRules sorts rules into the canonical order Rules and Expected use.
func SortRules(rules []Rule) {
	slices.SortFunc(rules, func(a, b Rule) int {
		return cmp.Or(strings.Compare(a.Conduit, b.Conduit), strings.Compare(a.KeyHash, b.KeyHash),
			strings.Compare(a.Match, b.Match), strings.Compare(a.Comment, b.Comment))
	})
}

// KeyHash returns the key hash rule comments carry for an idempotency key.
func KeyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])[:KeyHashLen]
}

// match is what one rule matches: one direction between two networks of
// one family, all traffic or one transport port.
type match struct {
	src, dst netip.Prefix
	proto    string // "", "tcp" or "udp"
	dport    bool   // the port is the destination port (else the source port)
	port     uint16
}

// text renders m the way nft lists it (without counter values).
func (m match) text() string {
	ip := "ip"
	if m.src.Addr().Is6() {
		ip = "ip6"
	}
	var w []string
	if m.src.Bits() > 0 {
		w = append(w, ip+" saddr "+m.src.String())
	}
	if m.dst.Bits() > 0 {
		w = append(w, ip+" daddr "+m.dst.String())
	}
	if len(w) == 0 {
		w = append(w, "meta nfproto ipv4")
		if ip == "ip6" {
			w[0] = "meta nfproto ipv6"
		}
	}
	if m.proto != "" {
		dir := "sport"
		if m.dport {
			dir = "dport"
		}
		w = append(w, m.proto+" "+dir+" "+strconv.Itoa(int(m.port)))
	}
	return strings.Join(append(w, "counter drop"), " ")
}

// Register 1 in the 16-byte register layout nft uses for 4-byte loads.
const reg = 1

// exprs builds m as nftables expressions, in the form nft itself writes:
// a family check, prefix matches (payload, bitwise mask, compare), a
// layer 4 protocol check and a port compare, a counter, drop.
func (m match) exprs() []expr.Any {
	fam, soff, doff := byte(unix.NFPROTO_IPV4), uint32(12), uint32(16)
	if m.src.Addr().Is6() {
		fam, soff, doff = unix.NFPROTO_IPV6, 8, 24
	}
	e := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: reg},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{fam}},
	}
	e = append(e, prefixExprs(m.src, soff)...)
	e = append(e, prefixExprs(m.dst, doff)...)
	if m.proto != "" {
		l4 := byte(unix.IPPROTO_TCP)
		if m.proto == "udp" {
			l4 = unix.IPPROTO_UDP
		}
		off := uint32(0)
		if m.dport {
			off = 2
		}
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: []byte{l4}},
			&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseTransportHeader, Offset: off, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: binary.BigEndian.AppendUint16(nil, m.port)},
		)
	}
	return append(e, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})
}

// prefixExprs matches the address at off in the network header against p;
// nothing for a /0, which the family check alone covers.
func prefixExprs(p netip.Prefix, off uint32) []expr.Any {
	if p.Bits() == 0 {
		return nil
	}
	addr := p.Addr().AsSlice()
	n := uint32(len(addr))
	e := []expr.Any{&expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n}}
	if p.Bits() < int(n)*8 {
		mask := make([]byte, n)
		for i := 0; i < p.Bits(); i++ {
			mask[i/8] |= 0x80 >> (i % 8)
		}
		e = append(e, &expr.Bitwise{SourceRegister: reg, DestRegister: reg, Len: n, Mask: mask, Xor: make([]byte, n)})
	}
	return append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: reg, Data: addr})
}

// render returns the canonical text of a rule's expressions: the text of
// the match it was built from when it has exactly firebreak's shape,
// otherwise a text naming what it holds (which never equals an expected
// rule's text).
func render(es []expr.Any) string {
	if m, ok := decode(es); ok {
		return m.text()
	}
	var w []string
	for _, e := range es {
		w = append(w, strings.TrimPrefix(fmt.Sprintf("%T", e), "*expr."))
	}
	return "unrecognised: " + strings.Join(w, " ")
}

// decode reads back a match from expressions in exactly the form exprs
// writes; anything else is not ok.
func decode(es []expr.Any) (match, bool) {
	d := decoder{es: es}
	var m match
	fam, ok := d.metaEq(expr.MetaKeyNFPROTO)
	if !ok {
		return m, false
	}
	var soff, doff, alen uint32
	switch fam {
	case unix.NFPROTO_IPV4:
		soff, doff, alen = 12, 16, 4
		m.src = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	case unix.NFPROTO_IPV6:
		soff, doff, alen = 8, 24, 16
		m.src = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	default:
		return m, false
	}
	m.dst = m.src
	if p, ok := d.peek().(*expr.Payload); ok && p.Base == expr.PayloadBaseNetworkHeader && p.Offset == soff {
		if m.src, ok = d.prefix(soff, alen); !ok {
			return m, false
		}
	}
	if p, ok := d.peek().(*expr.Payload); ok && p.Base == expr.PayloadBaseNetworkHeader && p.Offset == doff {
		if m.dst, ok = d.prefix(doff, alen); !ok {
			return m, false
		}
	}
	if mt, ok := d.peek().(*expr.Meta); ok && mt.Key == expr.MetaKeyL4PROTO {
		l4, ok := d.metaEq(expr.MetaKeyL4PROTO)
		switch {
		case ok && l4 == unix.IPPROTO_TCP:
			m.proto = "tcp"
		case ok && l4 == unix.IPPROTO_UDP:
			m.proto = "udp"
		default:
			return m, false
		}
		p, ok := d.next().(*expr.Payload)
		if !ok || p.Base != expr.PayloadBaseTransportHeader || p.DestRegister != reg || p.Len != 2 ||
			p.OperationType != expr.PayloadLoad || (p.Offset != 0 && p.Offset != 2) {
			return m, false
		}
		m.dport = p.Offset == 2
		port, ok := d.cmpEq(2)
		if !ok {
			return m, false
		}
		m.port = binary.BigEndian.Uint16(port)
	}
	if _, ok := d.next().(*expr.Counter); !ok {
		return m, false
	}
	v, ok := d.next().(*expr.Verdict)
	if !ok || v.Kind != expr.VerdictDrop || d.i != len(es) {
		return m, false
	}
	return m, true
}

// decoder walks a rule's expressions.
type decoder struct {
	es []expr.Any
	i  int
}

// peek returns the next expression without taking it, or nil at the end.
func (d *decoder) peek() expr.Any {
	if d.i >= len(d.es) {
		return nil
	}
	return d.es[d.i]
}

// next takes the next expression, or nil at the end.
func (d *decoder) next() expr.Any {
	e := d.peek()
	if e != nil {
		d.i++
	}
	return e
}

// cmpEq takes a compare for equality of register reg with n bytes.
func (d *decoder) cmpEq(n int) ([]byte, bool) {
	c, ok := d.next().(*expr.Cmp)
	if !ok || c.Op != expr.CmpOpEq || c.Register != reg || len(c.Data) != n {
		return nil, false
	}
	return c.Data, true
}

// metaEq takes a one-byte meta load of key and its compare.
func (d *decoder) metaEq(key expr.MetaKey) (byte, bool) {
	mt, ok := d.next().(*expr.Meta)
	if !ok || mt.Key != key || mt.Register != reg || mt.SourceRegister {
		return 0, false
	}
	b, ok := d.cmpEq(1)
	if !ok {
		return 0, false
	}
	return b[0], true
}

// prefix takes a prefix match of the alen-byte address at off: a load of
// the address (or, as nft writes a prefix on a byte boundary, of its first
// bytes), an optional mask, a compare.
func (d *decoder) prefix(off, alen uint32) (netip.Prefix, bool) {
	p, ok := d.next().(*expr.Payload)
	if !ok || p.Base != expr.PayloadBaseNetworkHeader || p.Offset != off || p.DestRegister != reg ||
		p.Len == 0 || p.Len > alen || p.OperationType != expr.PayloadLoad {
		return netip.Prefix{}, false
	}
	n := p.Len
	bits := int(n) * 8
	if b, ok := d.peek().(*expr.Bitwise); ok {
		d.next()
		if b.SourceRegister != reg || b.DestRegister != reg || b.Len != n || len(b.Mask) != int(n) ||
			!bytes.Equal(b.Xor, make([]byte, n)) {
			return netip.Prefix{}, false
		}
		ones, ok := maskBits(b.Mask)
		if !ok || ones == 0 || ones == bits {
			return netip.Prefix{}, false
		}
		bits = ones
	}
	data, ok := d.cmpEq(int(n))
	if !ok {
		return netip.Prefix{}, false
	}
	a, _ := netip.AddrFromSlice(append(slices.Clone(data), make([]byte, alen-n)...))
	pf := netip.PrefixFrom(a, bits)
	if pf.Masked() != pf {
		return netip.Prefix{}, false
	}
	return pf, true
}

// maskBits returns the length of a prefix mask, or false when mask is not
// one (ones then zeros).
func maskBits(mask []byte) (int, bool) {
	n, zero := 0, false
	for _, b := range mask {
		for bit := 7; bit >= 0; bit-- {
			if b&(1<<bit) != 0 {
				if zero {
					return 0, false
				}
				n++
			} else {
				zero = true
			}
		}
	}
	return n, true
}

// plan is a validated request: the conduit, the key hash, the comment and
// the matches of its rules.
type plan struct {
	conduit string
	keyHash string
	comment string
	matches []match
}

// rules returns the plan's rules as comparable values, sorted.
func (p plan) rules() []Rule {
	c := parseComment(p.comment)
	out := make([]Rule, 0, len(p.matches))
	for _, m := range p.matches {
		r := c
		r.Match = m.text()
		out = append(out, r)
	}
	SortRules(out)
	return out
}

// Expected returns the rules a Cut of req leaves in place for its key,
// sorted as Rules sorts them. It fails, wrapping activities.ErrPermanent,
// for a request no cut can be made of (see Cut).
func Expected(req activities.ConduitRequest) ([]Rule, error) {
	p, err := planCut(req)
	if err != nil {
		return nil, err
	}
	return p.rules(), nil
}

// conduitID checks a conduit ID is one a comment can carry whole.
func conduitID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: the request names no conduit", activities.ErrPermanent)
	}
	if len(id) > MaxConduitID {
		return fmt.Errorf("%w: conduit ID %q is longer than %d bytes; rule comments cannot carry it",
			activities.ErrPermanent, clean(id, MaxConduitID, false)+"...", MaxConduitID)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-.:", r)) {
			return fmt.Errorf("%w: conduit ID %q has a character other than letters, digits and _-.:; rename the conduit",
				activities.ErrPermanent, clean(id, MaxConduitID, false))
		}
	}
	return nil
}

// planCut validates req and works out the rules its cut writes.
func planCut(req activities.ConduitRequest) (plan, error) {
	c := req.Conduit
	if err := conduitID(c.ID); err != nil {
		return plan{}, err
	}
	if req.Key == "" {
		return plan{}, fmt.Errorf("%w: conduit %s: the request has no idempotency key", activities.ErrPermanent, c.ID)
	}
	from, err := networks(c.ID, "from", req.From)
	if err != nil {
		return plan{}, err
	}
	to, err := networks(c.ID, "to", req.To)
	if err != nil {
		return plan{}, err
	}
	ports, portsOnly := PortsOf(c.Protocols)
	var ms []match
	for _, s := range from {
		for _, d := range to {
			if s.Addr().Is4() != d.Addr().Is4() {
				continue // no packet has an IPv4 source and an IPv6 destination
			}
			for _, pair := range [][2]netip.Prefix{{s, d}, {d, s}} {
				if !portsOnly {
					ms = append(ms, match{src: pair[0], dst: pair[1]})
					continue
				}
				for _, pt := range ports {
					ms = append(ms,
						match{src: pair[0], dst: pair[1], proto: pt.Proto, dport: true, port: pt.Number},
						match{src: pair[0], dst: pair[1], proto: pt.Proto, dport: false, port: pt.Number})
				}
			}
		}
	}
	if len(ms) == 0 {
		return plan{}, fmt.Errorf("%w: conduit %s: zone %s has only IPv%s networks and zone %s only IPv%s ones; "+
			"no packet can cross between them, so there is nothing to cut (check the zones' networks)",
			activities.ErrPermanent, c.ID, clean(req.From.ID, 64, false), family(from[0]), clean(req.To.ID, 64, false), family(to[0]))
	}
	if len(ms) > MaxRules {
		return plan{}, fmt.Errorf("%w: conduit %s: cutting it takes %d rules, more than %d; use fewer, larger networks in its zones",
			activities.ErrPermanent, c.ID, len(ms), MaxRules)
	}
	// Keep identical matches (overlapping zones) once.
	slices.SortFunc(ms, func(a, b match) int { return strings.Compare(a.text(), b.text()) })
	ms = slices.CompactFunc(ms, func(a, b match) bool { return a.text() == b.text() })
	return plan{conduit: c.ID, keyHash: KeyHash(req.Key), comment: comment(c.ID, req), matches: ms}, nil
}

func family(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "4"
	}
	return "6"
}

// networks parses a zone's networks as CIDR prefixes, masked and without
// repeats.
func networks(conduit, side string, z activities.Zone) ([]netip.Prefix, error) {
	if len(z.Networks) == 0 {
		return nil, fmt.Errorf("%w: conduit %s: its %s zone %s has no networks; add the zone's CIDRs to its networks",
			activities.ErrPermanent, conduit, side, clean(z.ID, 64, false))
	}
	var out []netip.Prefix
	for i, n := range z.Networks {
		p, err := netip.ParsePrefix(strings.TrimSpace(n))
		if err != nil {
			hint := ""
			if a, aerr := netip.ParseAddr(strings.TrimSpace(n)); aerr == nil {
				hint = fmt.Sprintf(" (for one host write %s/%d)", a, a.BitLen())
			}
			return nil, fmt.Errorf("%w: conduit %s: network %d of zone %s, %q, is not a CIDR like 10.30.2.0/24%s; fix the zone's networks",
				activities.ErrPermanent, conduit, i+1, clean(z.ID, 64, false), clean(n, 64, false), hint)
		}
		if p.Addr().Is4In6() || p.Addr().Zone() != "" {
			return nil, fmt.Errorf("%w: conduit %s: network %d of zone %s, %q, is an IPv4-mapped or zoned IPv6 prefix; write it as a plain IPv4 or IPv6 CIDR",
				activities.ErrPermanent, conduit, i+1, clean(z.ID, 64, false), clean(n, 64, false))
		}
		out = append(out, p.Masked())
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return slices.Compact(out), nil
}

// comment builds the comment of the rules of a cut: the tag, the conduit
// and the key hash first (what Restore and verification match on, never
// shortened), then the incident, the step and the reason, sanitised and
// cut to MaxComment bytes.
func comment(conduit string, req activities.ConduitRequest) string {
	s := fmt.Sprintf("%s c=%s k=%s i=%s s=%s r=%s", commentTag, conduit, KeyHash(req.Key),
		clean(req.IncidentID, incidentMax, false), clean(req.Step, stepMax, false), clean(req.Reason, MaxComment, true))
	if len(s) > MaxComment {
		s = s[:MaxComment]
	}
	return strings.TrimRight(s, " ")
}

// clean returns at most max bytes of s in printable ASCII: any other
// character, and '"' and '\' (which nft's listing would quote), become
// '_'; so do spaces unless spaces is true. It reads no more of s than it
// needs, so a megabyte of input costs no more than max characters.
func clean(s string, max int, spaces bool) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= max {
			break
		}
		switch {
		case r == ' ' && spaces:
			b.WriteByte(' ')
		case r > ' ' && r < 0x7f && r != '"' && r != '\\':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// parseComment reads a comment firebreak wrote; a comment it did not
// write gives a Rule with only Comment set.
func parseComment(c string) Rule {
	r := Rule{Comment: c}
	rest, ok := strings.CutPrefix(c, commentTag+" c=")
	if !ok {
		return r
	}
	conduit, rest, _ := strings.Cut(rest, " ")
	key, rest, _ := strings.Cut(rest, " ")
	key, ok = strings.CutPrefix(key, "k=")
	if !ok || len(key) != KeyHashLen || conduitID(conduit) != nil || strings.Trim(key, "0123456789abcdef") != "" {
		return r
	}
	r.Conduit, r.KeyHash = conduit, key
	inc, rest, _ := strings.Cut(rest, " ")
	r.Incident, _ = strings.CutPrefix(inc, "i=")
	step, rest, _ := strings.Cut(rest, " ")
	r.Step, _ = strings.CutPrefix(step, "s=")
	if reason, ok := strings.CutPrefix(rest, "r="); ok {
		r.Reason = reason
	}
	return r
}

// commentOf returns the comment in a rule's userdata, or "". It reads the
// TLVs itself: userdata.Get trusts their lengths, and a rule someone else
// put in firebreak's chain may carry anything.
func commentOf(ud []byte) string {
	for len(ud) >= 2 {
		typ, n := userdata.Type(ud[0]), int(ud[1])
		if len(ud) < 2+n {
			return ""
		}
		if typ == userdata.TypeComment {
			return string(bytes.TrimSuffix(ud[2:2+n], []byte{0}))
		}
		ud = ud[2+n:]
	}
	return ""
}

// toRule turns a rule read from the kernel into its comparable values.
// The comment is made printable: a rule someone else wrote may carry
// control characters, and Rules values end up in logs and test output.
func toRule(r *nftables.Rule) Rule {
	out := parseComment(clean(commentOf(r.UserData), 256, true))
	out.Match = render(r.Exprs)
	return out
}
