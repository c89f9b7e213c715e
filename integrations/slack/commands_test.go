package slack

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		text    string
		want    Command
		wantErr string
	}{
		{"", Command{Name: "help"}, ""},
		{"  help  ", Command{Name: "help"}, ""},
		{"list", Command{Name: "list"}, ""},
		{"LIST", Command{Name: "list"}, ""},
		{"status", Command{Name: "status"}, ""},
		{"status INC-20261201-4F2A", Command{Name: "status", Args: []string{"INC-20261201-4F2A"}}, ""},
		{"run ransomware-ot", Command{Name: "run", Args: []string{"ransomware-ot"}}, ""},
		{`run ransomware-ot site="north plant" zone=cell-3`, Command{Name: "run", Args: []string{"ransomware-ot"},
			Params: map[string]string{"site": "north plant", "zone": "cell-3"}}, ""},
		{"run p note='it''s'", Command{}, "runs into"},
		{`run p note="say \"stop\" \\ now"`, Command{Name: "run", Args: []string{"p"}, Params: map[string]string{"note": `say "stop" \ now`}}, ""},
		{"run p site=“north plant”", Command{Name: "run", Args: []string{"p"}, Params: map[string]string{"site": "north plant"}}, ""},
		{"run p url=a=b empty=", Command{Name: "run", Args: []string{"p"}, Params: map[string]string{"url": "a=b", "empty": ""}}, ""},
		{"run p host=&lt;h&gt;&amp;", Command{Name: "run", Args: []string{"p"}, Params: map[string]string{"host": "<h>&"}}, ""},
		{"run  p\u00a0a=1", Command{Name: "run", Args: []string{"p"}, Params: map[string]string{"a": "1"}}, ""},
		{`run p site="north plant`, Command{}, "never closed"},
		{`run p site=north"plant"`, Command{}, "middle"},
		{`run p "site"=x`, Command{}, "runs into"},
		{"run", Command{}, "needs a playbook"},
		{"run a=b", Command{}, "needs a playbook"},
		{`run "p"`, Command{}, "needs a playbook"},
		{"run p loose", Command{}, "not key=value"},
		{"run p =x", Command{}, "no name"},
		{"run p 9x=1", Command{}, "not an input name"},
		{"run p a=1 a=2", Command{}, "given twice"},
		{"status a b", Command{}, "at most one"},
		{"status a=b", Command{}, "not key=value"},
		{"list all", Command{}, "nothing after"},
		{"rm -rf /", Command{}, "no command"},
		{"<!channel>", Command{}, "no command"},
		{strings.Repeat("a ", 3000), Command{}, "longer than"},
		{"run p " + strings.Repeat("a=1 ", 70), Command{}, "more than"},
	} {
		got, err := ParseCommand(tc.text)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseCommand(%.40q) = %+v, %v; want an error with %q", tc.text, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseCommand(%.40q) = %+v, %v; want %+v", tc.text, got, err, tc.want)
		}
	}
}

func FuzzParseCommand(f *testing.F) {
	f.Add(`run p site="north plant" a=b`)
	f.Add(`status "x`)
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCommand(text)
		if err == nil && c.Name != "help" && c.Name != "run" && c.Name != "status" && c.Name != "list" {
			t.Fatalf("parsed to %q", c.Name)
		}
	})
}

func commandForm(text, responseURL string) string {
	return url.Values{
		"token": {"legacy"}, "team_id": {"T0PLANT"}, "team_domain": {"plant"}, "channel_id": {"C0INC"},
		"channel_name": {"inc-1"}, "user_id": {"U0ALICE"}, "user_name": {"alice"}, "command": {"/firebreak"},
		"text": {text}, "api_app_id": {"A0FIRE"}, "response_url": {responseURL}, "trigger_id": {"13345224609.738474920.8088930838d88f008e0"},
	}.Encode()
}

func TestSlashCommandRepliesThroughResponseURL(t *testing.T) {
	e := newTestEnv(t)
	e.recv.cmdReply = CommandReply{Text: "INC-1 *open* <!channel>", InChannel: true}
	rec := e.post(t, PathCommands, commandForm("status INC-1", e.api.srv.URL+"/hooks/commands/T0PLANT/1/x"))
	var ack commandResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &ack); err != nil || ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, "Working") {
		t.Fatalf("ack = %d %s", rec.Code, rec.Body)
	}
	_, cmds := e.recv.got()
	want := Command{Name: "status", Args: []string{"INC-1"}, UserID: "U0ALICE", UserName: "alice", TeamID: "T0PLANT", ChannelID: "C0INC", Transport: TransportHTTP}
	if len(cmds) != 1 || !reflect.DeepEqual(cmds[0], want) {
		t.Fatalf("commands = %+v; want %+v", cmds, want)
	}
	hooks := e.api.hookPosts()
	if len(hooks) != 1 || hooks[0]["response_type"] != "in_channel" || hooks[0]["text"] != "INC-1 *open* &lt;!channel&gt;" {
		t.Fatalf("response URL posts = %+v", hooks)
	}
}

func TestSlashCommandRefusalAndFailure(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&Refused{Code: "NotAuthorised", Message: "only commanders start playbooks"}, "`run` was refused: only commanders start playbooks"},
		{errors.New("temporal: deadline exceeded at 10.1.1.1"), "Could not reach the incidents; try again."},
	} {
		e := newTestEnv(t)
		e.recv.cmdErr = tc.err
		e.post(t, PathCommands, commandForm("run p a=1", e.api.srv.URL+"/hooks/x"))
		hooks := e.api.hookPosts()
		if len(hooks) != 1 || hooks[0]["response_type"] != "ephemeral" || hooks[0]["text"] != tc.want {
			t.Errorf("response URL posts = %+v; want %q", hooks, tc.want)
		}
	}
}

func TestSlashCommandAnsweredInTheAck(t *testing.T) {
	for _, tc := range []struct{ text, responseURL, want string }{
		{"help", "https://hooks.slack.com/commands/1", "/firebreak run PLAYBOOK"},
		{"run p site=\"x", "https://hooks.slack.com/commands/1", "never closed"},
		{"status", "https://evil.example/steal", "without a Slack response URL"},
		{"status", "http://hooks.slack.com/commands/1", "without a Slack response URL"},
		{"status", "https://hooks.slack.com.evil.example/c", "without a Slack response URL"},
		{"status", "https://user@hooks.slack.com/c", "without a Slack response URL"},
		{"status", "", "without a Slack response URL"},
	} {
		e := newTestEnv(t)
		rec := e.post(t, PathCommands, commandForm(tc.text, tc.responseURL))
		var ack commandResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &ack); err != nil || ack.ResponseType != "ephemeral" || !strings.Contains(ack.Text, tc.want) {
			t.Errorf("%q via %q: ack = %d %s; want %q", tc.text, tc.responseURL, rec.Code, rec.Body, tc.want)
		}
		if _, cmds := e.recv.got(); len(cmds) != 0 {
			t.Errorf("%q via %q reached the receiver", tc.text, tc.responseURL)
		}
		if len(e.api.hookPosts()) != 0 {
			t.Errorf("%q via %q posted to a response URL", tc.text, tc.responseURL)
		}
	}
}

func TestResponseURLRedirectNotFollowed(t *testing.T) {
	e := newTestEnv(t)
	e.post(t, PathCommands, commandForm("list", e.api.srv.URL+"/hooks/redirect"))
	if _, cmds := e.recv.got(); len(cmds) != 1 {
		t.Fatalf("commands = %+v", cmds)
	}
	if hooks := e.api.hookPosts(); len(hooks) != 0 {
		t.Errorf("the gateway followed the response URL's redirect: %+v", hooks)
	}
}
