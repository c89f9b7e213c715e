package main

import (
	"encoding/json"
	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
	"net"
	"strings"
	"testing"
)

// TestIntegrations: every instance is listed with its mode and why, what it
// would reach, and whether each variable is set, never a value; --probe
// reports reachability and an unreachable instance exits 1.
func TestIntegrations(t *testing.T) {
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
	// The Slack probe (auth.test) goes to a local fake, never slack.com.
	fake := slackfake.New(slackfake.WithTokens("xoxb-do-not-print", "xapp-unused"))
	defer fake.Close()
	dir := writeDir(t, map[string]string{"org.hcl": `
integration "slack" "main" {
  bot_token = env("FB_TEST_SLACK_TOKEN")
  api_url   = "` + fake.URL() + `"
}
integration "modbus" "plc" {
  address  = "` + ln.Addr().String() + `"
  unit_id  = 1
  simulate = true
}
integration "pagerduty" "default" {
  routing_key = env("FB_TEST_PD_KEY")
  api_url     = "http://` + ln.Addr().String() + `/v2/enqueue"
  simulate    = true
}
`})
	t.Setenv("FB_TEST_SLACK_TOKEN", "xoxb-do-not-print")
	code, out, errOut := runCLI(t, "integrations", "--dir", dir, "--format", "json", "--probe")
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "xoxb-do-not-print") {
		t.Fatal("a secret's value was printed")
	}
	var got struct {
		Integrations []integrationRow `json:"integrations"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	rows := map[string]integrationRow{}
	for _, r := range got.Integrations {
		rows[r.ID] = r
	}
	if r := rows["slack.main"]; r.Mode != "real" || r.Why != "" || len(r.Env) != 1 || !r.Env[0].Set || !r.Env[0].Needed || r.Probe == nil || r.Probe.Result != "reachable" {
		t.Errorf("slack.main: %+v", r)
	}
	if r := rows["pagerduty.default"]; r.Why != "simulate = true" || r.Env[0].Set || r.Env[0].Needed {
		t.Errorf("pagerduty.default: %+v", r)
	}
	if r := rows["modbus.plc"]; r.Probe == nil || r.Probe.Result != "reachable" || !strings.Contains(r.Target, ln.Addr().String()) {
		t.Errorf("modbus.plc: %+v", r)
	}

	ln.Close()
	code, out, _ = runCLI(t, "integrations", "--dir", dir, "--probe")
	if code != exitInvalid || !strings.Contains(out, "unreachable") {
		t.Errorf("an unreachable instance: exit %d\n%s", code, out)
	}
	for _, want := range []string{"INSTANCE", "slack.main", "simulated", "$FB_TEST_SLACK_TOKEN set", "$FB_TEST_PD_KEY unset, not read while simulated"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}
