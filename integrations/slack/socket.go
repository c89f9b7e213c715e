package slack

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives clicks, modal submissions and slash commands over
// Socket Mode with the app-level token appToken (xapp-…) until ctx ends,
// and then returns nil. When Slack refuses the connection (a revoked or
// wrong token), the refusal is logged and the connection tried again after
// a growing, jittered wait, so the worker keeps running until the token is
// fixed.
func (g *Gateway) RunSocketMode(ctx context.Context, appToken string) error {
	if !strings.HasPrefix(appToken, "xapp-") {
		return errors.New("the Slack app-level token must start with xapp-: generate one with the connections:write scope (Basic Information, App-Level Tokens)")
	}
	smc := socketmode.New(g.api, socketmode.OptionReadLimit(MaxRequestBody))
	slackapi.OptionAppLevelToken(appToken)(&smc.Client)

	var connected atomic.Bool
	var events sync.WaitGroup
	events.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case evt := <-smc.Events:
				g.onSocketEvent(ctx, smc, evt, &connected)
			}
		}
	})
	defer events.Wait()

	for attempt := 0; ; {
		err := smc.RunContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected.Swap(false) {
			attempt = 0
		}
		attempt++
		wait := g.reconnectWait(attempt)
		g.log.Error("slack: Socket Mode connection ended; connecting again", "err", err, "attempt", attempt, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// reconnectWait is the wait before the attempt-th reconnection: doubling
// from ReconnectMin up to ReconnectMax, with its upper half jittered.
func (g *Gateway) reconnectWait(attempt int) time.Duration {
	d := g.reconnMin
	for i := 1; i < attempt && d < g.reconnMax; i++ {
		d *= 2
	}
	d = min(d, g.reconnMax)
	half := d / 2
	return half + rand.N(half+1)
}

// socketKeys are the de-duplication keys of a Socket Mode request: its
// envelope ID and what it carries.
func socketKeys(req *socketmode.Request, content string) []string {
	keys := []string{content}
	if req != nil && req.EnvelopeID != "" {
		keys = append(keys, "envelope:"+req.EnvelopeID)
	}
	return keys
}

func (g *Gateway) onSocketEvent(ctx context.Context, smc *socketmode.Client, evt socketmode.Event, connected *atomic.Bool) {
	var ack any
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		g.log.Debug("slack: Socket Mode connecting")
		return
	case socketmode.EventTypeConnected:
		connected.Store(true)
		g.log.Info("slack: Socket Mode connected")
		return
	case socketmode.EventTypeConnectionError:
		g.log.Warn("slack: Socket Mode could not connect; slack-go tries again", "err", socketErr(evt.Data))
		return
	case socketmode.EventTypeInvalidAuth:
		g.log.Error("slack: Socket Mode refused the app-level token")
		return
	case socketmode.EventTypeErrorBadMessage, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		g.log.Warn("slack: Socket Mode message dropped", "event", string(evt.Type), "err", socketErr(evt.Data))
		return
	case socketmode.EventTypeInteractive:
		cb, ok := evt.Data.(slackapi.InteractionCallback)
		if !ok {
			break
		}
		if g.firstTime(socketKeys(evt.Request, interactionKey(&cb))...) {
			ack = g.onInteraction(&cb, TransportSocket)
		} else {
			g.log.Info("slack: dropped a repeated delivery", "transport", TransportSocket)
		}
	case socketmode.EventTypeSlashCommand:
		sc, ok := evt.Data.(slackapi.SlashCommand)
		if !ok {
			break
		}
		if g.firstTime(socketKeys(evt.Request, commandKey(sc))...) {
			ack = g.onCommand(sc, TransportSocket)
		} else {
			g.log.Info("slack: dropped a repeated delivery", "transport", TransportSocket)
		}
	}
	// hello and disconnect carry no envelope ID: only envelopes are acked.
	if evt.Request == nil || evt.Request.EnvelopeID == "" {
		return
	}
	if err := smc.AckCtx(ctx, evt.Request.EnvelopeID, ack); err != nil {
		g.log.Warn("slack: Socket Mode ack failed", "err", err)
	}
}

// socketErr is the error a Socket Mode event carries, for a log line.
func socketErr(data any) any {
	switch d := data.(type) {
	case *slackapi.ConnectionErrorEvent:
		return d.ErrorObj
	case *socketmode.ErrorBadMessage:
		return d.Cause
	case *socketmode.ErrorWriteFailed:
		return d.Cause
	case error:
		return d
	}
	return nil
}
