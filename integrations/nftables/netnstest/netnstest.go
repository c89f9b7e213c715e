// Package netnstest builds, for tests run as root, a small plant in
// network namespaces: an IT host, a gateway, an OT host and a safety host,
// each host joined to the gateway by a veth pair on its own subnet, the
// gateway forwarding between them. Tests cut conduits in the gateway's
// namespace and prove with Ping and Connect which traffic still crosses.
//
// Every address is inside the namespaces the test makes; nothing reaches
// the host's own network. Names are unique per test, and t.Cleanup removes
// the namespaces (and with them the veth pairs and any rules in them).
package netnstest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Host is one host namespace joined to the gateway.
type Host struct {
	// Netns is the host's network namespace name.
	Netns string
	// Addr and Addr6 are the host's IPv4 and IPv6 addresses.
	Addr, Addr6 string
	// Net and Net6 are the host's subnets, as CIDRs (a zone's networks).
	Net, Net6 string
	// Gateway and Gateway6 are the gateway's addresses on that subnet.
	Gateway, Gateway6 string
}

// Topology is the plant: the gateway's namespace and the three hosts.
type Topology struct {
	// Gateway is the gateway's network namespace name, where an nftables
	// adapter under test acts.
	Gateway string
	// IT, OT and Safety are the hosts.
	IT, OT, Safety Host
}

// Namespaces lists the topology's namespace names.
func (t *Topology) Namespaces() []string {
	return []string{t.Gateway, t.IT.Netns, t.OT.Netns, t.Safety.Netns}
}

// RequireRoot skips the test unless it runs as root with ip, nft and ping
// installed.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces (run the test as root: sudo go test ./integrations/nftables)")
	}
	for _, tool := range []string{"ip", "ping", "nft"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s (packages iproute2, iputils-ping, nftables): %v", tool, err)
		}
	}
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,15}$`)

// New builds the topology and registers its removal with t.Cleanup. The
// namespaces are named prefix-XXXXXX-it, -gw, -ot and -sf (XXXXXX random).
// It skips the test when not root (see RequireRoot).
func New(t testing.TB, prefix string) *Topology {
	t.Helper()
	RequireRoot(t)
	if !prefixRE.MatchString(prefix) {
		t.Fatalf("netnstest.New: prefix %q: want lower case letters, digits and '-', at most 16", prefix)
	}
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	base := prefix + "-" + hex.EncodeToString(rnd[:])
	top := &Topology{Gateway: base + "-gw"}
	hosts := []struct {
		h   *Host
		tag string
		n   int
	}{{&top.IT, "it", 1}, {&top.OT, "ot", 2}, {&top.Safety, "sf", 3}}
	for _, x := range hosts {
		*x.h = Host{
			Netns: base + "-" + x.tag,
			Addr:  fmt.Sprintf("10.231.%d.2", x.n), Net: fmt.Sprintf("10.231.%d.0/24", x.n),
			Gateway: fmt.Sprintf("10.231.%d.1", x.n),
			Addr6:   fmt.Sprintf("fd00:231:%d::2", x.n), Net6: fmt.Sprintf("fd00:231:%d::/64", x.n),
			Gateway6: fmt.Sprintf("fd00:231:%d::1", x.n),
		}
	}
	for _, ns := range top.Namespaces() {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("removing network namespace %s: %v: %s", ns, err, out)
			}
		})
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
		// No duplicate address detection: addresses, link-local ones
		// included, work as soon as their link is up.
		run(t, "ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
	}
	gw := top.Gateway
	for _, x := range hosts {
		h := x.h
		run(t, "ip", "-n", gw, "link", "add", x.tag, "type", "veth", "peer", "name", "eth0", "netns", h.Netns)
		run(t, "ip", "-n", gw, "addr", "add", h.Gateway+"/24", "dev", x.tag)
		run(t, "ip", "-n", gw, "addr", "add", h.Gateway6+"/64", "dev", x.tag, "nodad")
		run(t, "ip", "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv6.conf."+x.tag+".accept_dad=0")
		run(t, "ip", "netns", "exec", h.Netns, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0")
		run(t, "ip", "-n", gw, "link", "set", x.tag, "up")
		run(t, "ip", "-n", h.Netns, "addr", "add", h.Addr+"/24", "dev", "eth0")
		run(t, "ip", "-n", h.Netns, "addr", "add", h.Addr6+"/64", "dev", "eth0", "nodad")
		run(t, "ip", "-n", h.Netns, "link", "set", "eth0", "up")
		run(t, "ip", "-n", h.Netns, "route", "add", "default", "via", h.Gateway)
		run(t, "ip", "-n", h.Netns, "-6", "route", "add", "default", "via", h.Gateway6)
	}
	run(t, "ip", "netns", "exec", gw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")
	// Ready when the gateway reaches every host (a fresh link may take a
	// moment to come up; each ping waits at most a second).
	for _, x := range hosts {
		for _, ip := range []string{x.h.Addr, x.h.Addr6} {
			var err error
			for range 5 {
				if err = Ping(gw, ip); err == nil {
					break
				}
			}
			if err != nil {
				t.Fatalf("netnstest.New: the topology does not come up: %v", err)
			}
		}
	}
	return top
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

// Ping sends one ICMP echo from the namespace from to toIP (IPv4 or IPv6)
// and waits at most a second for the reply; an error says it got none.
func Ping(from, toIP string) error {
	out, err := exec.Command("ip", "netns", "exec", from, "ping", "-n", "-c", "1", "-W", "1", toIP).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping from %s to %s: %v: %s", from, toIP, err, bytes.TrimSpace(out))
	}
	return nil
}

// Nft runs the nft command in a namespace and returns its output (for
// tests that show or cross-check a ruleset).
func Nft(ns string, args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "nft"}, args...)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("nft %s in %s: %v: %s", strings.Join(args, " "), ns, err, out)
	}
	return string(out), nil
}

// Listen listens on TCP addr ("10.231.2.2:502") inside the namespace ns
// until the test ends. Each connection it accepts gets "ok\n", then has
// every byte it sends echoed back.
func Listen(t testing.TB, ns, addr string) {
	t.Helper()
	var l net.Listener
	err := InNetns(ns, func() error {
		var err error
		l, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, ns, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := c.Write([]byte("ok\n")); err == nil {
					io.Copy(c, c)
				}
			}()
		}
	}()
}

// Dial opens a TCP connection from the namespace ns to a Listen listener
// at addr and reads its greeting, waiting at most a second for each; an
// error says the connection did not get through.
func Dial(ns, addr string) (net.Conn, error) {
	var c net.Conn
	err := InNetns(ns, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect from %s to %s: %w", ns, addr, err)
	}
	buf := make([]byte, 3)
	if err := Echo(c, buf); err != nil || string(buf) != "ok\n" {
		c.Close()
		return nil, fmt.Errorf("connect from %s to %s: no greeting: %q %v", ns, addr, buf, err)
	}
	return c, nil
}

// Echo reads len(buf) bytes from c into buf, waiting at most a second; an
// error says they did not come.
func Echo(c net.Conn, buf []byte) error {
	if err := c.SetReadDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	_, err := io.ReadFull(c, buf)
	return err
}

// Connect is Dial and close: an error says a new connection from ns to
// addr does not get through.
func Connect(ns, addr string) error {
	c, err := Dial(ns, addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// InNetns runs fn on an OS thread that has entered the namespace ns, so
// sockets fn creates live there. The thread is never handed back to other
// goroutines: it ends with fn.
func InNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// No UnlockOSThread: the runtime ends a thread still locked
		// when its goroutine returns, so no other goroutine runs in ns.
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- fmt.Errorf("open network namespace %s: %w", ns, err)
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter network namespace %s: %w", ns, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
