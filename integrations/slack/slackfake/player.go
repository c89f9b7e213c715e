package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Interaction types the player builds.
const (
	TypeBlockActions   = "block_actions"
	TypeViewSubmission = "view_submission"
	TypeSlashCommand   = "slash_command"
)

// VerificationToken is the deprecated token field Slack still puts in
// every payload; receivers should ignore it and check the signature.
const VerificationToken = "fake-verification-token"

// Interaction is what a user's click, modal submission or slash command
// makes Slack send, ready to deliver over HTTP or Socket Mode.
type Interaction struct {
	Type        string          // TypeBlockActions, TypeViewSubmission or TypeSlashCommand
	Payload     json.RawMessage // the JSON Slack sends: the interaction, or a command's fields
	TriggerID   string          // valid for views.open for 3 s, once
	ResponseURL string
	form        url.Values
}

// Body is the HTTP request body Slack posts: payload=<json> for an
// interaction, the form fields for a command.
func (in *Interaction) Body() []byte {
	if in.form != nil {
		return []byte(in.form.Encode())
	}
	return []byte(url.Values{"payload": {string(in.Payload)}}.Encode())
}

func (f *Fake) issueTrigger(userID string) string {
	f.ids++
	id := fmt.Sprintf("%013d.%d.%s", f.ids, 1733058000, randHex(16))
	f.triggers[id] = &trigger{user: userID, issued: f.now()}
	return id
}

func (f *Fake) issueResponseURL(channel, ts, userID string) string {
	id := randHex(16)
	f.respURLs[id] = &respURL{channel: channel, ts: ts, user: userID}
	return f.srv.URL + "/respond/" + id
}

func (f *Fake) userRef(u *user) map[string]any {
	return map[string]any{"id": u.id, "username": u.name, "name": u.name, "team_id": TeamID}
}

func teamRef() map[string]any { return map[string]any{"id": TeamID, "domain": TeamDomain} }

func channelName(ch *channel) string {
	if ch.IM {
		return "directmessage"
	}
	return ch.Name
}

// who finds the user and channel a player acts as and in.
func (f *Fake) who(userID, channel string) (*user, *channel, error) {
	u, ch := f.users[userID], f.channel(channel)
	if u == nil {
		return nil, nil, fmt.Errorf("no user %s in the fake workspace: add it with AddUser", userID)
	}
	if ch == nil {
		return nil, nil, fmt.Errorf("no channel %s in the fake workspace", channel)
	}
	return u, ch, nil
}

type element struct {
	blockID string
	el      map[string]any
}

// buttons are the buttons of a message's blocks: in actions blocks and as
// section accessories.
func buttons(blocks json.RawMessage) []element {
	var bs []map[string]any
	_ = json.Unmarshal(blocks, &bs)
	var out []element
	for _, b := range bs {
		id, _ := b["block_id"].(string)
		els, _ := b["elements"].([]any)
		if acc, ok := b["accessory"].(map[string]any); ok {
			els = append(els, acc)
		}
		for _, e := range els {
			if m, ok := e.(map[string]any); ok && m["type"] == "button" {
				out = append(out, element{id, m})
			}
		}
	}
	return out
}

// Click is userID pressing the button with actionID (and value, when
// several buttons share the action ID) in a message that is really in the
// channel. Slack sends the block_actions payload it returns; a confirm
// dialog on the button counts as confirmed.
func (f *Fake) Click(userID, channel, ts, actionID string, value ...string) (*Interaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ch, err := f.who(userID, channel)
	if err != nil {
		return nil, err
	}
	m := ch.message(ts)
	if m == nil {
		return nil, fmt.Errorf("no message %s in %s", ts, channel)
	}
	var found []element
	for _, b := range buttons(m.Blocks) {
		v, _ := b.el["value"].(string)
		if b.el["action_id"] == actionID && (len(value) == 0 || v == value[0]) {
			found = append(found, b)
		}
	}
	switch {
	case len(found) == 0:
		return nil, fmt.Errorf("message %s in %s has no button %s %v: its blocks are %s", ts, channel, actionID, value, m.Blocks)
	case len(found) > 1:
		return nil, fmt.Errorf("message %s in %s has %d buttons %s: name the value", ts, channel, len(found), actionID)
	}
	b := found[0]
	now := f.now()
	act := map[string]any{"action_id": actionID, "block_id": b.blockID, "type": "button", "text": b.el["text"],
		"action_ts": fmt.Sprintf("%d.%06d", now.Unix(), now.Nanosecond()/1000)}
	for _, k := range []string{"value", "style"} {
		if v, ok := b.el[k]; ok {
			act[k] = v
		}
	}
	in := &Interaction{Type: TypeBlockActions, TriggerID: f.issueTrigger(userID), ResponseURL: f.issueResponseURL(ch.ID, ts, userID)}
	in.Payload, _ = json.Marshal(map[string]any{
		"type": TypeBlockActions, "user": f.userRef(u), "api_app_id": AppID, "token": VerificationToken,
		"container":  map[string]any{"type": "message", "message_ts": ts, "channel_id": ch.ID, "is_ephemeral": false},
		"trigger_id": in.TriggerID, "team": teamRef(), "enterprise": nil, "is_enterprise_install": false,
		"channel": map[string]any{"id": ch.ID, "name": channelName(ch)}, "message": f.msgJSON(m, false),
		"state": map[string]any{"values": map[string]any{}}, "response_url": in.ResponseURL, "actions": []any{act},
	})
	return in, nil
}

// Submit is userID submitting a modal opened with views.open, with values
// for its inputs by block ID and action ID. Inputs not given are empty; a
// required one is an error, as Slack would not let the user submit.
func (f *Fake) Submit(userID, viewID string, values map[string]map[string]string) (*Interaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, u := f.views[viewID], f.users[userID]
	switch {
	case v == nil:
		return nil, fmt.Errorf("no view %s was opened", viewID)
	case u == nil:
		return nil, fmt.Errorf("no user %s in the fake workspace: add it with AddUser", userID)
	case v.User != userID:
		return nil, fmt.Errorf("view %s was opened for %s, not %s", viewID, v.User, userID)
	case v.Submitted:
		return nil, fmt.Errorf("view %s was already submitted", viewID)
	}
	var view map[string]any
	if err := json.Unmarshal(v.JSON, &view); err != nil {
		return nil, err
	}
	blocks, _ := view["blocks"].([]any)
	state, used := map[string]any{}, 0
	for _, b := range blocks {
		bm, _ := b.(map[string]any)
		el, _ := bm["element"].(map[string]any)
		if bm["type"] != "input" || el == nil {
			continue
		}
		bid, _ := bm["block_id"].(string)
		aid, _ := el["action_id"].(string)
		val, ok := values[bid][aid]
		if ok {
			used++
		} else if opt, _ := bm["optional"].(bool); !opt {
			return nil, fmt.Errorf("view %s needs input %s/%s", viewID, bid, aid)
		}
		var jv any
		if ok {
			jv = val
		}
		state[bid] = map[string]any{aid: map[string]any{"type": el["type"], "value": jv}}
	}
	n := 0
	for _, acts := range values {
		n += len(acts)
	}
	if n != used {
		return nil, fmt.Errorf("view %s has no input for some of the values %v", viewID, values)
	}
	v.Submitted = true
	view["state"] = map[string]any{"values": state}
	in := &Interaction{Type: TypeViewSubmission, TriggerID: f.issueTrigger(userID)}
	in.Payload, _ = json.Marshal(map[string]any{
		"type": TypeViewSubmission, "team": teamRef(), "user": f.userRef(u), "api_app_id": AppID,
		"token": VerificationToken, "trigger_id": in.TriggerID, "view": view, "response_urls": []any{},
		"enterprise": nil, "is_enterprise_install": false,
	})
	f.touch()
	return in, nil
}

// Command is userID typing a slash command ("/firebreak") with text in a
// channel.
func (f *Fake) Command(userID, channel, command, text string) (*Interaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ch, err := f.who(userID, channel)
	if err != nil {
		return nil, err
	}
	in := &Interaction{Type: TypeSlashCommand, TriggerID: f.issueTrigger(userID), ResponseURL: f.issueResponseURL(ch.ID, "", userID)}
	in.form = url.Values{"token": {VerificationToken}, "team_id": {TeamID}, "team_domain": {TeamDomain},
		"channel_id": {ch.ID}, "channel_name": {channelName(ch)}, "user_id": {u.id}, "user_name": {u.name},
		"command": {command}, "text": {text}, "api_app_id": {AppID}, "is_enterprise_install": {"false"},
		"response_url": {in.ResponseURL}, "trigger_id": {in.TriggerID}}
	fields := map[string]string{}
	for k, v := range in.form {
		fields[k] = v[0]
	}
	in.Payload, _ = json.Marshal(fields)
	return in, nil
}

// DeliverOption changes how DeliverHTTP and PostSigned sign a request.
type DeliverOption func(*delivery)

type delivery struct {
	contentType   string
	forged, stale bool
	retryNum      int
	retryReason   string
}

// ContentType sends the body with another content type than the form
// encoding, such as "application/json" for an Events API callback.
func ContentType(ct string) DeliverOption { return func(d *delivery) { d.contentType = ct } }

// Forged signs with a wrong secret.
func Forged() DeliverOption { return func(d *delivery) { d.forged = true } }

// Stale signs with a timestamp ten minutes old, outside Slack's window.
func Stale() DeliverOption { return func(d *delivery) { d.stale = true } }

// Retry marks the request as Slack's retry number num, for reason
// ("http_timeout", "http_error"), in X-Slack-Retry-Num and -Reason.
func Retry(num int, reason string) DeliverOption {
	return func(d *delivery) { d.retryNum, d.retryReason = num, reason }
}

// Sign is the X-Slack-Signature of a body sent at a Unix timestamp.
func (f *Fake) Sign(timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(f.SigningSecret))
	_, _ = fmt.Fprintf(mac, "v0:%s:", timestamp)
	_, _ = mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// PostSigned posts a body (form-encoded unless ContentType says otherwise)
// to url, signed as Slack signs it, and returns the answer's status and
// body (at most 1 MiB of it).
func (f *Fake) PostSigned(ctx context.Context, url string, body []byte, opts ...DeliverOption) (int, []byte, error) {
	d := delivery{contentType: "application/x-www-form-urlencoded"}
	for _, o := range opts {
		o(&d)
	}
	now := time.Now()
	if d.stale {
		now = now.Add(-10 * time.Minute)
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := f.Sign(ts, body)
	if d.forged {
		sig = (&Fake{SigningSecret: "not-" + f.SigningSecret}).Sign(ts, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", d.contentType)
	req.Header.Set("User-Agent", "Slackbot 1.0 (+https://api.slack.com/robots)")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	if d.retryNum > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(d.retryNum))
		req.Header.Set("X-Slack-Retry-Reason", d.retryReason)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	return resp.StatusCode, b, err
}

// DeliverHTTP sends an interaction to an HTTP endpoint as Slack does,
// signed, and returns the answer's status and body.
func (f *Fake) DeliverHTTP(ctx context.Context, url string, in *Interaction, opts ...DeliverOption) (int, []byte, error) {
	return f.PostSigned(ctx, url, in.Body(), opts...)
}

// DeliverSocket sends an interaction as a Socket Mode envelope and waits
// for its ack, returning the ack's payload (nil when it carried none).
func (f *Fake) DeliverSocket(ctx context.Context, in *Interaction) (json.RawMessage, error) {
	typ, accepts := EnvelopeInteractive, in.Type == TypeViewSubmission
	if in.Type == TypeSlashCommand {
		typ, accepts = EnvelopeSlashCommands, true
	}
	return f.WaitAck(ctx, f.Push(typ, in.Payload, accepts))
}

// flag reads a JSON boolean that some senders write as a string.
type flag bool

func (b *flag) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	*b = flag(s == "true")
	return nil
}

func (f *Fake) serveResponseURL(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimPrefix(r.URL.Path, "/respond/")
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var msg struct {
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ResponseType    string          `json:"response_type"`
		ReplaceOriginal flag            `json:"replace_original"`
		DeleteOriginal  flag            `json:"delete_original"`
	}
	if err == nil {
		err = json.Unmarshal(body, &msg)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ru := f.respURLs[id]
	switch {
	case ru == nil:
		writeJSON(w, http.StatusNotFound, errBody("invalid_url"))
		return
	case ru.uses >= 5:
		writeJSON(w, http.StatusNotFound, errBody("used_url"))
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, errBody("invalid_payload"))
		return
	}
	if b := bytes.TrimSpace(msg.Blocks); len(b) == 0 || string(b) == "null" || string(b) == "[]" {
		msg.Blocks = nil
	} else if !json.Valid(b) || b[0] != '[' {
		writeJSON(w, http.StatusBadRequest, errBody("invalid_blocks"))
		return
	}
	ru.uses++
	f.responses = append(f.responses, Response{URL: f.srv.URL + r.URL.Path, Channel: ru.channel, MessageTS: ru.ts, User: ru.user,
		Text: msg.Text, Blocks: msg.Blocks, ResponseType: msg.ResponseType, ReplaceOriginal: bool(msg.ReplaceOriginal), DeleteOriginal: bool(msg.DeleteOriginal)})
	ch := f.channels[ru.channel]
	var orig *Message
	if ch != nil && ru.ts != "" {
		orig = ch.message(ru.ts)
	}
	switch {
	case ch == nil:
	case orig != nil && bool(msg.DeleteOriginal):
		for i, m := range ch.msgs {
			if m == orig {
				ch.msgs = append(ch.msgs[:i], ch.msgs[i+1:]...)
				break
			}
		}
	case orig != nil && bool(msg.ReplaceOriginal):
		orig.Text, orig.Blocks = msg.Text, msg.Blocks
		orig.Edits++
	case msg.ResponseType == "in_channel":
		ch.msgs = append(ch.msgs, &Message{Channel: ch.ID, TS: f.nextTS(), User: BotUserID, Text: msg.Text, Blocks: msg.Blocks})
	default:
		f.ephemerals = append(f.ephemerals, Ephemeral{Channel: ch.ID, User: ru.user, TS: f.nextTS(), Text: msg.Text, Blocks: msg.Blocks})
	}
	f.touch()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true})
}
