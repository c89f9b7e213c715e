package slackfake

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxBody bounds a request body, as Slack refuses large ones.
const maxBody = 1 << 20

type request struct {
	p   map[string]string
	now time.Time
	ch  *channel // the "channel" parameter's conversation, for methods that need one
}

func (r *request) has(k string) bool { _, ok := r.p[k]; return ok }

func (r *request) bool(k string) bool {
	v := r.p[k]
	return v == "1" || v == "true"
}

type method func(f *Fake, r *request) (map[string]any, string)

var methods = map[string]method{
	"auth.test": (*Fake).authTest, "chat.postMessage": (*Fake).postMessage, "chat.update": (*Fake).update,
	"chat.postEphemeral": (*Fake).postEphemeral, "conversations.create": (*Fake).create,
	"conversations.list": (*Fake).list, "conversations.info": (*Fake).info, "conversations.invite": (*Fake).invite,
	"conversations.setTopic": (*Fake).setTopic, "conversations.open": (*Fake).open,
	"conversations.history": (*Fake).history, "pins.add": (*Fake).pinsAdd, "pins.list": (*Fake).pinsList,
	"usergroups.users.list": (*Fake).usergroupUsers, "users.info": (*Fake).usersInfo,
	"views.open": (*Fake).viewsOpen, "apps.connections.open": (*Fake).connectionsOpen,
}

// needChannel are the methods that answer channel_not_found for an
// unknown "channel" parameter.
var needChannel = map[string]bool{"chat.postMessage": true, "chat.update": true, "chat.postEphemeral": true,
	"conversations.info": true, "conversations.invite": true, "conversations.setTopic": true,
	"conversations.history": true, "pins.add": true, "pins.list": true}

func errBody(code string) map[string]any { return map[string]any{"ok": false, "error": code} }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"ok":false,"error":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// readParams reads a form-encoded or JSON request and its token (a token
// parameter or a bearer Authorization header). JSON values that are not
// strings keep their JSON text, so blocks read the same either way.
func readParams(w http.ResponseWriter, r *http.Request) (map[string]string, string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return nil, "", err
	}
	p := map[string]string{}
	for k, v := range r.URL.Query() {
		p[k] = v[0]
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		if len(bytes.TrimSpace(body)) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, "", err
			}
			for k, raw := range m {
				var s string
				if json.Unmarshal(raw, &s) == nil {
					p[k] = s
				} else {
					p[k] = string(raw)
				}
			}
		}
	} else {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, "", err
		}
		for k, v := range vals {
			p[k] = v[0]
		}
	}
	token := p["token"]
	delete(p, "token")
	if a := r.Header.Get("Authorization"); token == "" && strings.HasPrefix(a, "Bearer ") {
		token = strings.TrimPrefix(a, "Bearer ")
	}
	return p, token, nil
}

func (f *Fake) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	p, token, perr := readParams(w, r)
	f.mu.Lock()
	now := f.now()
	a := f.call(name, token, p, perr, now)
	c := Call{Method: name, Params: p, Status: a.status}
	if a.drop {
		c.Status = 0
	}
	if a.body != nil && a.body["ok"] == false {
		c.Error, _ = a.body["error"].(string)
	}
	if a.status == http.StatusTooManyRequests {
		f.limited++
	}
	f.calls = append(f.calls, c)
	f.touch()
	f.mu.Unlock()
	a.write(w)
}

// call answers one Web API call; the caller holds f.mu.
func (f *Fake) call(name, token string, p map[string]string, perr error, now time.Time) answer {
	m, ok := methods[name]
	if !ok {
		return answer{status: 200, body: errBody("unknown_method")}
	}
	if perr != nil {
		return answer{status: 200, body: errBody("invalid_form_data")}
	}
	fl, faulty := f.takeFault(name)
	if faulty && !fl.AfterApply {
		return faultAnswer(fl)
	}
	if code := f.auth(name, token); code != "" {
		return answer{status: 200, body: errBody(code)}
	}
	r := &request{p: p, now: now, ch: f.channel(p["channel"])}
	if needChannel[name] && r.ch == nil {
		return answer{status: 200, body: errBody("channel_not_found")}
	}
	if name == "chat.postMessage" && r.ch.member(BotUserID) {
		if wait := f.rateLimit(r.ch.ID, now); wait > 0 {
			return answer{status: http.StatusTooManyRequests, body: errBody("ratelimited"), retryAfter: retryAfterSeconds(wait)}
		}
	}
	body, code := m(f, r)
	if faulty {
		return faultAnswer(fl)
	}
	if code != "" {
		return answer{status: 200, body: errBody(code)}
	}
	body["ok"] = true
	return answer{status: 200, body: body}
}

func same(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// auth checks the token as Slack does: the app-level token only for
// apps.connections.open, the bot token for everything else.
func (f *Fake) auth(name, token string) string {
	want, other := f.BotToken, f.AppToken
	if name == "apps.connections.open" {
		want, other = other, want
	}
	switch {
	case token == "":
		return "not_authed"
	case same(token, want):
		return ""
	case same(token, other):
		return "not_allowed_token_type"
	}
	return "invalid_auth"
}

func (f *Fake) authTest(r *request) (map[string]any, string) {
	return map[string]any{"url": "https://" + TeamDomain + ".slack.com/", "team": TeamDomain, "user": BotName,
		"team_id": TeamID, "user_id": BotUserID, "bot_id": BotID, "is_enterprise_install": false}, ""
}

func (f *Fake) msgJSON(m *Message, withMeta bool) map[string]any {
	out := map[string]any{"type": "message", "ts": m.TS, "text": m.Text, "user": m.User, "team": TeamID}
	if m.User == BotUserID {
		out["bot_id"], out["app_id"] = BotID, AppID
	}
	if m.Blocks != nil {
		out["blocks"] = m.Blocks
	}
	if withMeta && m.Metadata != nil {
		out["metadata"] = m.Metadata
	}
	if m.Edits > 0 {
		out["edited"] = map[string]any{"user": BotUserID, "ts": m.TS}
	}
	return out
}

func (f *Fake) chanJSON(ch *channel) map[string]any {
	creator := ""
	if len(ch.Members) > 0 {
		creator = ch.Members[0]
	}
	out := map[string]any{"id": ch.ID, "name": ch.Name, "is_channel": !ch.IM, "is_group": false, "is_im": ch.IM,
		"is_mpim": false, "is_private": ch.Private || ch.IM, "created": ch.created, "creator": creator,
		"is_archived": false, "is_general": false, "is_member": ch.member(BotUserID), "num_members": len(ch.Members),
		"topic": map[string]any{"value": ch.Topic, "creator": "", "last_set": 0}, "purpose": map[string]any{"value": "", "creator": "", "last_set": 0}}
	if ch.IM {
		delete(out, "name")
		for _, m := range ch.Members {
			if m != BotUserID {
				out["user"] = m
			}
		}
	}
	return out
}

// content validates a message's text, blocks and metadata, as posted or
// updated, into m; only the parameters present change.
func content(r *request, m *Message) string {
	if r.has("text") {
		m.Text = r.p["text"]
	}
	if utf8.RuneCountInString(m.Text) > 40000 {
		return "msg_too_long"
	}
	if r.has("blocks") && strings.TrimSpace(r.p["blocks"]) != "" {
		var blocks []map[string]any
		if err := json.Unmarshal([]byte(r.p["blocks"]), &blocks); err != nil || len(blocks) > 50 {
			return "invalid_blocks"
		}
		for _, b := range blocks {
			if t, _ := b["type"].(string); t == "" {
				return "invalid_blocks"
			}
		}
		m.Blocks = nil
		if len(blocks) > 0 {
			m.Blocks = json.RawMessage(r.p["blocks"])
		}
	}
	if r.has("metadata") && strings.TrimSpace(r.p["metadata"]) != "" {
		var md struct {
			EventType    string          `json:"event_type"`
			EventPayload json.RawMessage `json:"event_payload"`
		}
		if err := json.Unmarshal([]byte(r.p["metadata"]), &md); err != nil || md.EventType == "" ||
			!bytes.HasPrefix(bytes.TrimSpace(md.EventPayload), []byte("{")) {
			return "invalid_metadata_format"
		}
		m.Metadata = &Metadata{EventType: md.EventType, EventPayload: md.EventPayload}
	}
	if m.Text == "" && m.Blocks == nil {
		return "no_text"
	}
	return ""
}

func (f *Fake) postMessage(r *request) (map[string]any, string) {
	ch := r.ch
	if !ch.member(BotUserID) {
		return nil, "not_in_channel"
	}
	m := &Message{Channel: ch.ID, User: BotUserID}
	if code := content(r, m); code != "" {
		return nil, code
	}
	m.TS = f.nextTS()
	ch.msgs = append(ch.msgs, m)
	f.lastPost[ch.ID] = r.now
	return map[string]any{"channel": ch.ID, "ts": m.TS, "message": f.msgJSON(m, true)}, ""
}

func (f *Fake) update(r *request) (map[string]any, string) {
	ch := r.ch
	m := ch.message(r.p["ts"])
	if m == nil {
		return nil, "message_not_found"
	}
	if m.User != BotUserID {
		return nil, "cant_update_message"
	}
	next := copyMsg(m)
	if code := content(r, &next); code != "" {
		return nil, code
	}
	next.Edits++
	*m = next
	return map[string]any{"channel": ch.ID, "ts": m.TS, "text": m.Text, "message": f.msgJSON(m, true)}, ""
}

func (f *Fake) postEphemeral(r *request) (map[string]any, string) {
	ch := r.ch
	u := r.p["user"]
	if f.users[u] == nil {
		return nil, "user_not_found"
	}
	if !ch.member(u) {
		return nil, "user_not_in_channel"
	}
	var m Message
	if code := content(r, &m); code != "" {
		return nil, code
	}
	ts := f.nextTS()
	f.ephemerals = append(f.ephemerals, Ephemeral{Channel: ch.ID, User: u, TS: ts, Text: m.Text, Blocks: m.Blocks})
	return map[string]any{"message_ts": ts}, ""
}

// nameError checks a channel name against Slack's rules.
func nameError(name string) string {
	switch {
	case name == "":
		return "invalid_name_required"
	case utf8.RuneCountInString(name) > 80:
		return "invalid_name_maxlength"
	case strings.Trim(name, "-_") == "":
		return "invalid_name_punctuation"
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "invalid_name_specials"
		}
	}
	return ""
}

func (f *Fake) create(r *request) (map[string]any, string) {
	name := r.p["name"]
	if code := nameError(name); code != "" {
		return nil, code
	}
	if f.channel(name) != nil {
		return nil, "name_taken"
	}
	ch := f.newChannel(name, r.bool("is_private"), false, BotUserID)
	return map[string]any{"channel": f.chanJSON(ch)}, ""
}

// page reads limit and cursor; the cursor is an opaque offset.
func page(r *request, def int) (offset, limit int, code string) {
	limit = def
	if v := r.p["limit"]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return 0, 0, "invalid_limit"
		}
		if n > 0 {
			limit = min(n, 1000)
		}
	}
	if c := r.p["cursor"]; c != "" {
		b, err := base64.StdEncoding.DecodeString(c)
		s, ok := strings.CutPrefix(string(b), "next:")
		n, aerr := strconv.Atoi(s)
		if err != nil || !ok || aerr != nil || n < 0 {
			return 0, 0, "invalid_cursor"
		}
		offset = n
	}
	return offset, limit, ""
}

func cursor(next, total int) string {
	if next >= total {
		return ""
	}
	return base64.StdEncoding.EncodeToString([]byte("next:" + strconv.Itoa(next)))
}

func (f *Fake) list(r *request) (map[string]any, string) {
	offset, limit, code := page(r, 100)
	if code != "" {
		return nil, code
	}
	types := map[string]bool{}
	for _, t := range strings.Split(r.p["types"], ",") {
		switch t = strings.TrimSpace(t); t {
		case "":
		case "public_channel", "private_channel", "im", "mpim":
			types[t] = true
		default:
			return nil, "invalid_types"
		}
	}
	if len(types) == 0 {
		types["public_channel"] = true
	}
	var all []*channel
	for _, id := range f.chanOrder {
		ch := f.channels[id]
		if ch.IM && types["im"] || !ch.IM && !ch.Private && types["public_channel"] ||
			!ch.IM && ch.Private && types["private_channel"] && ch.member(BotUserID) {
			all = append(all, ch)
		}
	}
	out := []map[string]any{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		out = append(out, f.chanJSON(all[i]))
	}
	return map[string]any{"channels": out, "response_metadata": map[string]any{"next_cursor": cursor(offset+limit, len(all))}}, ""
}

func (f *Fake) info(r *request) (map[string]any, string) {
	ch := r.ch
	return map[string]any{"channel": f.chanJSON(ch)}, ""
}

func (f *Fake) invite(r *request) (map[string]any, string) {
	ch := r.ch
	if !ch.member(BotUserID) {
		return nil, "not_in_channel"
	}
	var users []string
	for _, u := range strings.Split(r.p["users"], ",") {
		if u = strings.TrimSpace(u); u != "" {
			users = append(users, u)
		}
	}
	if len(users) == 0 {
		return nil, "no_user"
	}
	if len(users) > 1000 {
		return nil, "too_many_users"
	}
	for _, u := range users {
		switch {
		case u == BotUserID:
			return nil, "cant_invite_self"
		case f.users[u] == nil:
			return nil, "user_not_found"
		case ch.member(u):
			return nil, "already_in_channel"
		}
	}
	for _, u := range users {
		if !ch.member(u) {
			ch.Members = append(ch.Members, u)
		}
	}
	return map[string]any{"channel": f.chanJSON(ch)}, ""
}

func (f *Fake) setTopic(r *request) (map[string]any, string) {
	ch := r.ch
	if utf8.RuneCountInString(r.p["topic"]) > 250 {
		return nil, "too_long"
	}
	ch.Topic = r.p["topic"]
	return map[string]any{"channel": f.chanJSON(ch)}, ""
}

func (f *Fake) open(r *request) (map[string]any, string) {
	users := strings.Split(r.p["users"], ",")
	if r.p["users"] == "" {
		return nil, "users_list_not_supplied"
	}
	if len(users) > 1 {
		return nil, "invalid_arguments" // group DMs are not modelled
	}
	u := strings.TrimSpace(users[0])
	if f.users[u] == nil || u == BotUserID {
		return nil, "user_not_found"
	}
	id, existed := f.dms[u]
	if !existed {
		ch := f.newChannel("", true, true, BotUserID)
		ch.Members = append(ch.Members, u)
		id = ch.ID
		f.dms[u] = id
	}
	out := map[string]any{"no_op": existed, "already_open": existed, "channel": map[string]any{"id": id}}
	if r.bool("return_im") {
		out["channel"] = f.chanJSON(f.channels[id])
	}
	return out, ""
}

// tsKey orders message timestamps numerically; ok is false for a malformed one.
func tsKey(ts string) (int64, bool) {
	sec, frac, _ := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if err != nil || len(frac) > 6 || s < 0 || s > 1e11 {
		return 0, false
	}
	var u int64
	if frac != "" {
		if u, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil || u < 0 {
			return 0, false
		}
	}
	return s*1e6 + u, true
}

func (f *Fake) history(r *request) (map[string]any, string) {
	ch := r.ch
	if !ch.member(BotUserID) {
		return nil, "not_in_channel"
	}
	offset, limit, code := page(r, 100)
	if code != "" {
		return nil, code
	}
	lo, hi := int64(-1), int64(1<<62)
	for k, dst := range map[string]*int64{"oldest": &lo, "latest": &hi} {
		if v := r.p[k]; v != "" {
			n, ok := tsKey(v)
			if !ok {
				return nil, "invalid_ts_" + k
			}
			*dst = n
		}
	}
	incl := r.bool("inclusive")
	var sel []*Message
	for i := len(ch.msgs) - 1; i >= 0; i-- {
		k, _ := tsKey(ch.msgs[i].TS)
		if (k > lo || incl && k == lo) && (k < hi || incl && k == hi) {
			sel = append(sel, ch.msgs[i])
		}
	}
	out := []map[string]any{}
	for i := offset; i < len(sel) && i < offset+limit; i++ {
		out = append(out, f.msgJSON(sel[i], r.bool("include_all_metadata")))
	}
	return map[string]any{"messages": out, "has_more": offset+limit < len(sel), "pin_count": len(ch.pins),
		"response_metadata": map[string]any{"next_cursor": cursor(offset+limit, len(sel))}}, ""
}

func (f *Fake) pinsAdd(r *request) (map[string]any, string) {
	ch := r.ch
	ts := r.p["timestamp"]
	if ts == "" {
		return nil, "no_item_specified"
	}
	if ch.message(ts) == nil {
		return nil, "message_not_found"
	}
	for _, p := range ch.pins {
		if p.TS == ts {
			return nil, "already_pinned"
		}
	}
	ch.pins = append(ch.pins, Pin{Channel: ch.ID, TS: ts, By: BotUserID, created: r.now.Unix()})
	return map[string]any{}, ""
}

func (f *Fake) pinsList(r *request) (map[string]any, string) {
	ch := r.ch
	items := []map[string]any{}
	for i := len(ch.pins) - 1; i >= 0; i-- {
		p := ch.pins[i]
		items = append(items, map[string]any{"type": "message", "channel": ch.ID, "created": p.created,
			"created_by": p.By, "message": f.msgJSON(ch.message(p.TS), false)})
	}
	return map[string]any{"items": items}, ""
}

func (f *Fake) usergroupUsers(r *request) (map[string]any, string) {
	members, ok := f.groups[r.p["usergroup"]]
	if !ok {
		return nil, "no_such_subteam"
	}
	return map[string]any{"users": append([]string{}, members...)}, ""
}

func (f *Fake) userJSON(u *user) map[string]any {
	return map[string]any{"id": u.id, "team_id": TeamID, "name": u.name, "real_name": u.name, "deleted": false,
		"is_bot": u.id == BotUserID, "profile": map[string]any{"real_name": u.name, "display_name": u.name}}
}

func (f *Fake) usersInfo(r *request) (map[string]any, string) {
	u := f.users[r.p["user"]]
	if u == nil {
		return nil, "user_not_found"
	}
	return map[string]any{"user": f.userJSON(u)}, ""
}

// triggerLife is how long a trigger_id may open a modal.
const triggerLife = 3 * time.Second

func (f *Fake) viewsOpen(r *request) (map[string]any, string) {
	t := f.triggers[r.p["trigger_id"]]
	switch {
	case r.p["trigger_id"] == "":
		return nil, "invalid_arguments"
	case t == nil:
		return nil, "invalid_trigger_id"
	case t.used || r.now.Sub(t.issued) > triggerLife:
		return nil, "expired_trigger_id"
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(r.p["view"]), &v); err != nil || v == nil {
		return nil, "invalid_arguments"
	}
	blocks, _ := v["blocks"].([]any)
	title, _ := v["title"].(map[string]any)
	pm, _ := v["private_metadata"].(string)
	cb, _ := v["callback_id"].(string)
	if v["type"] != "modal" || title == nil || len(blocks) > 100 || len(pm) > 3000 || len(cb) > 255 {
		return nil, "invalid_arguments"
	}
	t.used = true
	id := f.nextID("V")
	v["id"], v["team_id"], v["app_id"], v["bot_id"] = id, TeamID, AppID, BotID
	v["state"] = map[string]any{"values": map[string]any{}}
	v["hash"], v["root_view_id"], v["previous_view_id"], v["app_installed_team_id"] = randHex(8), id, nil, TeamID
	raw, _ := json.Marshal(v)
	f.views[id] = &View{ID: id, User: t.user, CallbackID: cb, PrivateMetadata: pm, JSON: raw}
	f.viewOrder = append(f.viewOrder, id)
	return map[string]any{"view": json.RawMessage(raw)}, ""
}

func (f *Fake) connectionsOpen(r *request) (map[string]any, string) {
	if f.openFails > 0 {
		f.openFails--
		return nil, "invalid_auth"
	}
	ticket := randHex(12)
	f.sock.tickets[ticket] = true
	return map[string]any{"url": "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/socket?ticket=" + ticket}, ""
}
