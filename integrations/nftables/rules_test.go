package nftables

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
)

func req(from, to []string, protocols ...string) activities.ConduitRequest {
	return activities.ConduitRequest{
		Key:         "incident-1/step-1/attempt",
		Conduit:     activities.Conduit{ID: "it_to_ot", From: "it", To: "ot", Protocols: protocols},
		From:        activities.Zone{ID: "it", Networks: from},
		To:          activities.Zone{ID: "ot", Networks: to},
		Enforcement: "nftables.gw",
		Reason:      "ransomware on the IT side",
		IncidentID:  "inc-42",
		Step:        "action.isolate",
	}
}

func matches(t *testing.T, rs []Rule) []string {
	t.Helper()
	var out []string
	for _, r := range rs {
		out = append(out, r.Match)
	}
	return out
}

func TestExpectedAllTraffic(t *testing.T) {
	rs, err := Expected(req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 counter drop",
		"ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 counter drop",
	}
	if got := matches(t, rs); !slices.Equal(got, want) {
		t.Errorf("matches:\n got %q\nwant %q", got, want)
	}
	for _, r := range rs {
		if r.Conduit != "it_to_ot" || r.KeyHash != KeyHash("incident-1/step-1/attempt") || r.Incident != "inc-42" ||
			r.Step != "action.isolate" || r.Reason != "ransomware on the IT side" {
			t.Errorf("rule values: %+v", r)
		}
	}
}

func TestExpectedPorts(t *testing.T) {
	rs, err := Expected(req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"}, "Modbus"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 tcp dport 502 counter drop",
		"ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 tcp sport 502 counter drop",
		"ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 tcp dport 502 counter drop",
		"ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 tcp sport 502 counter drop",
	}
	if got := matches(t, rs); !slices.Equal(got, want) {
		t.Errorf("matches:\n got %q\nwant %q", got, want)
	}
	// One unknown protocol among known ones cuts everything.
	rs, err = Expected(req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"}, "modbus", "historian"))
	if err != nil {
		t.Fatal(err)
	}
	if got := matches(t, rs); len(got) != 2 || strings.Contains(got[0], "dport") {
		t.Errorf("with an unknown protocol: %q, want all traffic cut", got)
	}
}

func TestExpectedFamilies(t *testing.T) {
	rs, err := Expected(req([]string{"10.0.1.7/24", "fd00:1::/64", "10.0.1.0/24"}, []string{"10.0.2.0/24", "fd00:2::/48", "0.0.0.0/0"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"ip saddr 10.0.1.0/24 ip daddr 10.0.2.0/24 counter drop",
		"ip saddr 10.0.1.0/24 counter drop", // to 0.0.0.0/0
		"ip saddr 10.0.2.0/24 ip daddr 10.0.1.0/24 counter drop",
		"ip daddr 10.0.1.0/24 counter drop", // from 0.0.0.0/0
		"ip6 saddr fd00:1::/64 ip6 daddr fd00:2::/48 counter drop",
		"ip6 saddr fd00:2::/48 ip6 daddr fd00:1::/64 counter drop",
	}
	slices.Sort(want)
	got := matches(t, rs)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("matches:\n got %q\nwant %q", got, want)
	}
	_, err = Expected(req([]string{"10.0.1.0/24"}, []string{"fd00:2::/48"}))
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "no packet can cross") {
		t.Errorf("v4 to v6: %v", err)
	}
}

func TestExpectedBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    activities.ConduitRequest
		want string
	}{
		{"bare address", req([]string{"10.0.1.5"}, []string{"10.0.2.0/24"}), "write 10.0.1.5/32"},
		{"word", req([]string{"plant"}, []string{"10.0.2.0/24"}), "is not a CIDR"},
		{"bad length", req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/33"}), "is not a CIDR"},
		{"mapped", req([]string{"::ffff:10.0.0.0/104"}, []string{"10.0.2.0/24"}), "IPv4-mapped"},
		{"no networks", req(nil, []string{"10.0.2.0/24"}), "has no networks"},
		{"hostile network", req([]string{"\x1b[2J" + strings.Repeat("x", 1<<20)}, []string{"10.0.2.0/24"}), "is not a CIDR"},
		{"no key", func() activities.ConduitRequest {
			r := req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"})
			r.Key = ""
			return r
		}(), "no idempotency key"},
		{"conduit id", func() activities.ConduitRequest {
			r := req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"})
			r.Conduit.ID = "a b"
			return r
		}(), "rename the conduit"},
		{"long conduit id", func() activities.ConduitRequest {
			r := req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"})
			r.Conduit.ID = strings.Repeat("c", MaxConduitID+1)
			return r
		}(), "longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Expected(tc.r)
			if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrPermanent saying %q", err, tc.want)
			}
			if len(err.Error()) > 600 || strings.ContainsAny(err.Error(), "\x1b\n") {
				t.Errorf("error is not short and printable: %q", err.Error()[:min(200, len(err.Error()))])
			}
		})
	}
}

func TestTooManyRules(t *testing.T) {
	var from []string
	for i := range 40 {
		from = append(from, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 0}), 24).String())
	}
	to := slices.Clone(from)
	for i := range to {
		to[i] = strings.Replace(to[i], "10.1.", "10.2.", 1)
	}
	_, err := Expected(req(from, to))
	if !errors.Is(err, activities.ErrPermanent) || !strings.Contains(err.Error(), "fewer, larger networks") {
		t.Fatalf("err = %v", err)
	}
}

func TestCommentHostile(t *testing.T) {
	r := req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"})
	r.IncidentID = "inc\x00\x1b[31m\"quoted\"\\ \u202e"
	r.Step = strings.Repeat("s", 1<<20)
	r.Reason = "why\nnot\ttabs " + strings.Repeat("é", 1<<20)
	c := comment(r.Conduit.ID, r)
	if len(c) > MaxComment {
		t.Fatalf("comment is %d bytes", len(c))
	}
	for _, b := range []byte(c) {
		if b < ' ' || b > '~' || b == '"' || b == '\\' {
			t.Fatalf("comment has byte %q: %q", b, c)
		}
	}
	wantStart := "firebreak c=it_to_ot k=" + KeyHash(r.Key) + " i=inc__[31m_quoted____ s=sss"
	if !strings.HasPrefix(c, wantStart) {
		t.Fatalf("comment %q\ndoes not start %q", c, wantStart)
	}
	p := parseComment(c)
	if p.Conduit != "it_to_ot" || p.KeyHash != KeyHash(r.Key) || p.Incident != "inc__[31m_quoted____" || len(p.Step) != stepMax {
		t.Errorf("parsed back: %+v", p)
	}
}

func FuzzComment(f *testing.F) {
	f.Add("inc", "step", "reason", "key")
	f.Add("\x00", strings.Repeat("x", 300), "a b c", "")
	f.Fuzz(func(t *testing.T, inc, step, reason, key string) {
		r := activities.ConduitRequest{Key: key, Conduit: activities.Conduit{ID: "c.1"}, IncidentID: inc, Step: step, Reason: reason}
		c := comment("c.1", r)
		if len(c) > MaxComment {
			t.Fatalf("comment is %d bytes", len(c))
		}
		p := parseComment(c)
		if p.Conduit != "c.1" || p.KeyHash != KeyHash(key) {
			t.Fatalf("parsed back %+v from %q", p, c)
		}
		if strings.ContainsAny(p.Incident+p.Step, " ") {
			t.Fatalf("spaces in fields: %+v", p)
		}
	})
}

func TestParseCommentForeign(t *testing.T) {
	for _, c := range []string{"", "theirs", "firebreak", "firebreak c=", "firebreak c=x k=short",
		"firebreak c=x k=ZZZZZZZZZZZZZZZZ", "firebreak c=a\"b k=0123456789abcdef", "firebreakc=x k=0123456789abcdef"} {
		if r := parseComment(c); r.Conduit != "" || r.Comment != c {
			t.Errorf("parseComment(%q) = %+v, want a foreign rule", c, r)
		}
	}
	r := parseComment("firebreak c=x k=0123456789abcdef")
	if r.Conduit != "x" || r.KeyHash != "0123456789abcdef" || r.Incident != "" {
		t.Errorf("short comment: %+v", r)
	}
}

func TestCommentOf(t *testing.T) {
	good := userdata.AppendString(nil, userdata.TypeComment, "hello")
	for _, tc := range []struct {
		ud   []byte
		want string
	}{
		{good, "hello"},
		{append([]byte{7, 1, 'x'}, good...), "hello"},
		{nil, ""},
		{[]byte{0}, ""},
		{[]byte{0, 200, 'a'}, ""},         // length beyond the data
		{[]byte{5, 255, 1, 2, 3}, ""},     // same, another type
		{[]byte{0, 0}, ""},                // empty comment
		{[]byte{1, 2, 'a', 'b', 0}, ""},   // truncated after one TLV
		{[]byte{0, 3, 'a', 'b', 0}, "ab"}, // NUL-terminated
	} {
		if got := commentOf(tc.ud); got != tc.want {
			t.Errorf("commentOf(%v) = %q, want %q", tc.ud, got, tc.want)
		}
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	for _, n := range []string{"10.0.1.0/24", "10.0.1.9/32", "0.0.0.0/0", "10.0.0.0/8", "fd00:1::/64", "fd00::1/128", "::/0", "2001:db8::/33"} {
		p := netip.MustParsePrefix(n)
		other := netip.MustParsePrefix("192.168.0.0/16")
		if p.Addr().Is6() {
			other = netip.MustParsePrefix("fd99::/56")
		}
		for _, m := range []match{
			{src: p, dst: other},
			{src: other, dst: p},
			{src: p, dst: other, proto: "tcp", dport: true, port: 502},
			{src: other, dst: p, proto: "udp", dport: false, port: 47808},
		} {
			got, ok := decode(m.exprs())
			if !ok || got != m {
				t.Errorf("decode(%s) = %+v %v", m.text(), got, ok)
			}
		}
	}
	m := match{src: netip.MustParsePrefix("10.0.1.0/24"), dst: netip.MustParsePrefix("10.0.2.0/24")}
	accept := m.exprs()
	accept[len(accept)-1] = &expr.Verdict{Kind: expr.VerdictAccept}
	extra := append(m.exprs(), &expr.Counter{})
	noCounter := slices.Delete(m.exprs(), 7, 8)
	for name, es := range map[string][]expr.Any{"accept": accept, "extra": extra, "no counter": noCounter, "empty": nil} {
		if got := render(es); !strings.HasPrefix(got, "unrecognised") {
			t.Errorf("%s: render = %q, want unrecognised", name, got)
		}
	}
}

func TestPortsOf(t *testing.T) {
	ps, ok := PortsOf([]string{"ssh", " HTTPS ", "ssh"})
	want := []Port{{"tcp", 22}, {"tcp", 443}, {"udp", 443}}
	if !ok || !slices.Equal(ps, want) {
		t.Errorf("PortsOf = %v %v, want %v", ps, ok, want)
	}
	for _, p := range [][]string{nil, {}, {"ssh", "ipsec"}, {"profinet"}} {
		if _, ok := PortsOf(p); ok {
			t.Errorf("PortsOf(%q) is port-specific; want all traffic", p)
		}
	}
	if len(Protocols()) != len(wellKnown) {
		t.Error("Protocols misses some")
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []Config{{Netns: "a/b"}, {Netns: "x\x00y"}, {Netns: ".."}, {Netns: "tab\there"},
		{Netns: strings.Repeat("n", 300)}, {Table: "9lives"}, {Table: "has space"}, {Table: strings.Repeat("t", 32)}, {Table: "a\"b"}} {
		if _, err := New(cfg); !errors.Is(err, activities.ErrPermanent) {
			t.Errorf("New(%q) = %v, want ErrPermanent", cfg, err)
		}
	}
	a, err := New(Config{Netns: "plant3-gw"})
	if err != nil || a.Table() != DefaultTable || a.Netns() != "plant3-gw" {
		t.Errorf("New = %+v, %v", a, err)
	}
}

func TestRefusesWithoutActing(t *testing.T) {
	// A namespace that cannot exist: reaching it would fail differently.
	a, err := New(Config{Netns: "fb-never-there", ID: "nftables.gw"})
	if err != nil {
		t.Fatal(err)
	}
	r := req([]string{"10.0.1.0/24"}, []string{"10.0.2.0/24"})
	ex := r
	ex.Exercise = true
	wrong := r
	wrong.Enforcement = "nftables.other_gw"
	for name, rq := range map[string]activities.ConduitRequest{"exercise": ex, "wrong enforcement": wrong} {
		for op, f := range map[string]func() error{
			"cut":     func() error { _, err := a.Cut(t.Context(), rq); return err },
			"restore": func() error { _, err := a.Restore(t.Context(), rq); return err },
		} {
			if err := f(); !errors.Is(err, activities.ErrPermanent) {
				t.Errorf("%s %s: %v, want ErrPermanent", name, op, err)
			}
		}
	}
}

func TestDecodeNftShortPrefix(t *testing.T) {
	// nft writes a prefix on a byte boundary as a shorter load, no mask.
	es := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{2}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 97}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 3},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 3, Mask: []byte{255, 255, 240}, Xor: []byte{0, 0, 0}},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{10, 1, 16}},
		&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop},
	}
	if got, want := render(es), "ip saddr 10.97.0.0/16 ip daddr 10.1.16.0/20 counter drop"; got != want {
		t.Errorf("render = %q, want %q", got, want)
	}
}
