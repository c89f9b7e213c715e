package slack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	slackapi "github.com/slack-go/slack"
)

// HTTP paths the gateway serves (POST only), to be named in the Slack
// app's manifest.
const (
	// PathInteractions receives clicks and modal submissions.
	PathInteractions = "/slack/interactions"
	// PathCommands receives the /firebreak slash command.
	PathCommands = "/slack/commands"
	// PathEvents receives the Events API (URL verification only).
	PathEvents = "/slack/events"
)

// MaxRequestBody is the largest request body the HTTP endpoints read.
const MaxRequestBody = 1 << 20

// signatureWindow is how far a request's timestamp may be from the clock.
const signatureWindow = 5 * time.Minute

// Handler serves Slack's signed HTTP requests on PathInteractions,
// PathCommands and PathEvents.
func (g *Gateway) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathInteractions, g.serveInteraction)
	mux.HandleFunc("POST "+PathCommands, g.serveCommand)
	mux.HandleFunc("POST "+PathEvents, g.serveEvent)
	return mux
}

// verified reads the body of r and checks Slack's v0 signature over it.
// On failure it has answered w and returns false.
func (g *Gateway) verified(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			g.log.Warn("slack: refused an over-long request", "path", r.URL.Path, "remote", r.RemoteAddr)
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "could not read the request", http.StatusBadRequest)
		return nil, false
	}
	if err := g.checkSignature(r.Header, body); err != nil {
		g.log.Warn("slack: refused a request whose signature does not verify", "path", r.URL.Path, "remote", r.RemoteAddr, "err", err)
		http.Error(w, "invalid Slack signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// checkSignature verifies Slack's v0 signature of body: HMAC-SHA256 of
// "v0:timestamp:body" under the signing secret, compared in constant time,
// with the timestamp at most five minutes from the clock.
func (g *Gateway) checkSignature(h http.Header, body []byte) error {
	ts, err := strconv.ParseInt(h.Get("X-Slack-Request-Timestamp"), 10, 64)
	if err != nil {
		return errors.New("no valid X-Slack-Request-Timestamp")
	}
	if d := g.now().Sub(time.Unix(ts, 0)); d > signatureWindow || d < -signatureWindow {
		return fmt.Errorf("the request timestamp is %s from the clock", d.Round(time.Second))
	}
	sv, err := slackapi.NewSecretsVerifier(h, g.secret)
	if err != nil {
		return err
	}
	if _, err := sv.Write(body); err != nil {
		return err
	}
	return sv.Ensure()
}

// deliveryKey names a delivery by what it carries, or by its body when it
// carries no ID.
func deliveryKey(key string, body []byte) string {
	if key != "" {
		return key
	}
	sum := sha256.Sum256(body)
	return "body:" + hex.EncodeToString(sum[:])
}

// parseInteraction reads an interaction payload: a form whose payload
// field is the interaction's JSON.
func parseInteraction(body []byte) (*slackapi.InteractionCallback, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("the request is not a form: %w", err)
	}
	payload := form.Get("payload")
	if payload == "" {
		return nil, errors.New("the request has no payload")
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &cb); err != nil {
		return nil, fmt.Errorf("the payload is not an interaction: %w", err)
	}
	return &cb, nil
}

func (g *Gateway) serveInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := g.verified(w, r)
	if !ok {
		return
	}
	cb, err := parseInteraction(body)
	if err != nil {
		g.log.Warn("slack: dropped a signed request that is not an interaction", "err", err)
		http.Error(w, "not an interaction payload", http.StatusBadRequest)
		return
	}
	if !g.firstTime(deliveryKey(interactionKey(cb), body)) {
		g.log.Info("slack: dropped a repeated delivery", "transport", TransportHTTP, "retry", clipLog(r.Header.Get("X-Slack-Retry-Num")))
		w.WriteHeader(http.StatusOK)
		return
	}
	writeAck(w, g.onInteraction(cb, TransportHTTP))
}

func (g *Gateway) serveCommand(w http.ResponseWriter, r *http.Request) {
	if isSSLCheck(r) {
		// Slack's certificate check of a slash command URL: answered, and
		// nothing else happens.
		w.WriteHeader(http.StatusOK)
		return
	}
	body, ok := g.verified(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	sc := slackapi.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), UserID: form.Get("user_id"),
		UserName: form.Get("user_name"), Command: form.Get("command"), Text: form.Get("text"),
		ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
	}
	if !g.firstTime(deliveryKey(commandKey(sc), body)) {
		g.log.Info("slack: dropped a repeated delivery", "transport", TransportHTTP, "retry", clipLog(r.Header.Get("X-Slack-Retry-Num")))
		w.WriteHeader(http.StatusOK)
		return
	}
	writeAck(w, g.onCommand(sc, TransportHTTP))
}

// isSSLCheck says whether r is Slack's certificate check (a form with
// ssl_check=1 and no command), reading at most a small body and leaving
// it readable for verification.
func isSSLCheck(r *http.Request) bool {
	const peek = 4 << 10
	head, err := io.ReadAll(io.LimitReader(r.Body, peek+1))
	r.Body = readCloser{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
	if err != nil || len(head) > peek {
		return false
	}
	form, err := url.ParseQuery(string(head))
	return err == nil && form.Get("ssl_check") == "1" && form.Get("command") == ""
}

type readCloser struct {
	io.Reader
	io.Closer
}

// eventEnvelope is the part of an Events API request the gateway reads.
type eventEnvelope struct {
	Type      string `json:"type"`
	Challenge string `json:"challenge"`
	EventID   string `json:"event_id"`
}

func (g *Gateway) serveEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := g.verified(w, r)
	if !ok {
		return
	}
	var ev eventEnvelope
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not an Events API request", http.StatusBadRequest)
		return
	}
	if ev.Type == "url_verification" {
		writeAck(w, map[string]string{"challenge": ev.Challenge})
		return
	}
	if ev.EventID != "" && !g.firstTime("event:"+ev.EventID) {
		g.log.Info("slack: dropped a repeated event", "retry", clipLog(r.Header.Get("X-Slack-Retry-Num")))
	} else {
		g.log.Debug("slack: acknowledged an event firebreak does not use", "type", clipLog(ev.Type))
	}
	w.WriteHeader(http.StatusOK)
}

// writeAck answers 200 with body as JSON, or empty when body is nil.
func writeAck(w http.ResponseWriter, body any) {
	if body == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	b, err := json.Marshal(body)
	if err != nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
