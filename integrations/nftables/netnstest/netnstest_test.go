package netnstest

import (
	"os"
	"testing"
)

func TestNetnsNewAndCleanup(t *testing.T) {
	var names []string
	t.Run("build", func(t *testing.T) {
		top := New(t, "fbnstest")
		names = top.Namespaces()
		hosts := []Host{top.IT, top.OT, top.Safety}
		for _, from := range hosts {
			for _, to := range hosts {
				if from.Netns == to.Netns {
					continue
				}
				for _, ip := range []string{to.Addr, to.Addr6} {
					if err := Ping(from.Netns, ip); err != nil {
						t.Errorf("through the gateway: %v", err)
					}
				}
			}
		}
		Listen(t, top.OT.Netns, top.OT.Addr+":502")
		c, err := Dial(top.IT.Netns, top.OT.Addr+":502")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		buf := []byte("echo")
		if _, err := c.Write(buf); err != nil || Echo(c, buf) != nil || string(buf) != "echo" {
			t.Errorf("echo: %q %v", buf, err)
		}
		if err := Connect(top.IT.Netns, top.OT.Addr+":503"); err == nil {
			t.Error("connect to a port nobody listens on succeeded")
		}
	})
	if t.Failed() || len(names) == 0 {
		return // skipped (not root) or failed
	}
	for _, ns := range names {
		if _, err := os.Stat("/run/netns/" + ns); !os.IsNotExist(err) {
			t.Errorf("namespace %s is still there after the test: %v", ns, err)
		}
	}
}
