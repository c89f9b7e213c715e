package adapters

import (
	"context"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firebreak-ir/firebreak/internal/org"
)

func load(t *testing.T, src string, vars map[string]string) *org.Org {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "org.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	o, _, diags := org.Load(dir, org.Options{Getenv: func(k string) string { return vars[k] }})
	if o == nil {
		t.Fatal(diags.Error())
	}
	return o
}

// TestEveryKindIsKnown: every kind the language declares has an entry.
func TestEveryKindIsKnown(t *testing.T) {
	for _, k := range []string{"slack", "nftables", "pagerduty", "webhook", "modbus"} {
		if _, ok := Kinds[k]; !ok {
			t.Errorf("no entry for kind %s", k)
		}
		if Kinds[k].Twin == "" || Kinds[k].Target == nil {
			t.Errorf("kind %s does not say what its twin does or what it reaches", k)
		}
	}
}

// TestResolve: an instance is real unless its block says simulate = true,
// and says what it reaches either way.
func TestResolve(t *testing.T) {
	o := load(t, `
integration "modbus" "plc" {
  address = "10.30.1.21:502"
  unit_id = 1
}
integration "nftables" "gw" {
  netns    = "plant3-gw"
  simulate = true
}
integration "webhook" "hook" {
  url = "https://user:pw@fw.example:8443/api/block?token=abc"
}
`, nil)
	got := map[string]Resolution{}
	for _, r := range Resolve(o) {
		got[r.Instance.ID] = r
	}
	cases := map[string]struct {
		mode        Mode
		why, target string
	}{
		"modbus.plc":   {Real, "", "Modbus TCP at 10.30.1.21:502 unit 1"},
		"nftables.gw":  {Simulated, "simulate = true", "nftables in network namespace plant3-gw"},
		"webhook.hook": {Real, "", "HTTP POST to fw.example:8443"},
	}
	for id, c := range cases {
		r := got[id]
		if r.Mode != c.mode || r.Why != c.why || r.Target != c.target {
			t.Errorf("%s: %+v, want %s (%s) reaching %q", id, r, c.mode, c.why, c.target)
		}
	}
	// A kind without an adapter runs on its twin and says so.
	saved := Kinds["modbus"]
	defer func() { Kinds["modbus"] = saved }()
	k := saved
	k.New = nil
	Kinds["modbus"] = k
	if r := Resolve(o)[0]; r.Instance.ID != "modbus.plc" || r.Mode != Simulated || r.Why != "no modbus adapter yet" {
		t.Errorf("without an adapter: %+v", r)
	}
}

func TestProbes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close()
	// Slack's auth.test goes to a local fake, never to slack.com.
	fake := slackfake.New()
	defer fake.Close()
	NetnsDir = t.TempDir()
	if err := os.WriteFile(filepath.Join(NetnsDir, "present"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	o := load(t, `
integration "modbus" "up" { address = "`+ln.Addr().String()+`" }
integration "modbus" "down" { address = "`+deadAddr+`" }
integration "webhook" "up" {
  url    = "http://`+ln.Addr().String()+`/hook"
  secret = env("HOOK_SECRET")
}
integration "nftables" "present" { netns = "present" }
integration "nftables" "absent" { netns = "absent" }
integration "slack" "main" {
  bot_token = env("TOKEN")
  api_url   = "`+fake.URL()+`"
}
integration "slack" "revoked" {
  bot_token = env("OLD_TOKEN")
  api_url   = "`+fake.URL()+`"
}
integration "pagerduty" "fromenv" {
  routing_key = env("PD_KEY")
  api_url     = env("PD_URL")
  simulate    = true
}
integration "webhook" "secreturl" {
  url = env("HOOK_URL")
}
`, map[string]string{"HOOK_SECRET": "s3cr3t", "TOKEN": fake.BotToken, "OLD_TOKEN": "xoxb-revoked", "HOOK_URL": "http://" + deadAddr + "/secret-path"})
	want := map[string]string{
		"modbus.up": "reachable", "modbus.down": "unreachable", "webhook.up": "reachable",
		"nftables.present": "reachable", "nftables.absent": "unreachable", "slack.main": "reachable", "slack.revoked": "unreachable",
		// The URL is in a variable not read: never the default host.
		"pagerduty.fromenv": "not probed: $PD_URL is not read while the instance is simulated (or is unset)",
		"webhook.secreturl": "unreachable",
	}
	for _, in := range o.Instances {
		got, err := Probe(context.Background(), in, 2*time.Second)
		if got != want[in.ID] {
			t.Errorf("%s: %q (%v), want %q", in.ID, got, err, want[in.ID])
		}
		if err != nil && (strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), "xoxb") || (in.ID == "webhook.secreturl" && strings.Contains(err.Error(), deadAddr))) {
			t.Errorf("%s: the probe error shows a secret: %v", in.ID, err)
		}
	}
}

func TestHostOfDropsCredentials(t *testing.T) {
	cases := map[string]string{
		"https://user:pw@fw.example/api?token=x": "fw.example:443",
		"http://127.0.0.1:9000/x":                "127.0.0.1:9000",
		"ftp://x":                                "",
		"not a url":                              "",
	}
	for in, want := range cases {
		if got := hostOf(in, ""); got != want {
			t.Errorf("hostOf(%q) = %q, want %q", in, got, want)
		}
	}
}
