// Package sim holds the simulated twin of every integration: a Twin that
// implements all the activities interfaces by recording into a Journal what
// it would have done, and answering with plausible, deterministic results.
// Exercise runs use it on their own task queue, so no exercise can reach a
// real actuator; tests use it to steer and observe runs.
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"

	"github.com/firebreak-ir/firebreak/activities"
	"github.com/firebreak-ir/firebreak/playbooks/rules"
)

// Operations the twin journals; FailNext and FailWhen name them too.
const (
	// OpOpenChannel is Chat.OpenChannel.
	OpOpenChannel = "slack.open_channel"
	// OpPostMessage is Chat.PostMessage.
	OpPostMessage = "slack.post"
	// OpNotify is Chat.Deliver of a notice.
	OpNotify = "chat.notify"
	// OpPage is Chat.Deliver of a page.
	OpPage = "chat.page"
	// OpPrompt is Chat.Deliver of a prompt.
	OpPrompt = "chat.prompt"
	// OpTrigger is Pager.Trigger.
	OpTrigger = "pagerduty.trigger"
	// OpAcknowledge is Pager.Acknowledge.
	OpAcknowledge = "pagerduty.acknowledge"
	// OpResolve is Pager.Resolve.
	OpResolve = "pagerduty.resolve"
	// OpCut is Isolator.Cut (from ot.isolate_zone or ot.block_conduit).
	OpCut = "isolator.cut"
	// OpRestore is Isolator.Restore (from ot.restore_zone or
	// ot.restore_conduit).
	OpRestore = "isolator.restore"
	// OpWebhook is Webhook.Send.
	OpWebhook = "webhook.post"
	// OpReadRegister is PlantState.ReadRegister; reads are not effects.
	OpReadRegister = "modbus.read"
	// OpContain is EDR.Contain.
	OpContain = "edr.contain_host"
	// OpSettle is Chat.Settle.
	OpSettle = "chat.settle"
	// OpStatus is Chat.PublishStatus.
	OpStatus = "chat.status"
	// OpGroupMembers is Chat.GroupMembers; reads are not effects.
	OpGroupMembers = "chat.group_members"
)

// DefaultRegisterValue is what a register reads unless SetRegister said
// otherwise: 1, the value a safe_state check usually expects.
const DefaultRegisterValue = 1

// Compile-time checks that the twin is every integration.
var (
	_ activities.Chat       = (*Twin)(nil)
	_ activities.Pager      = (*Twin)(nil)
	_ activities.Isolator   = (*Twin)(nil)
	_ activities.Webhook    = (*Twin)(nil)
	_ activities.PlantState = (*Twin)(nil)
	_ activities.EDR        = (*Twin)(nil)
)

// Twin is the simulated twin of every integration. Its zero value is not
// usable; call New. A Twin is safe for concurrent use.
type Twin struct {
	j *Journal

	mu        sync.Mutex
	failNext  map[string]int
	failWhen  func(op, key string) error
	registers map[string]int
	groups    map[string][]string
	// contained is the EDR's answer by host; containedAll the answer for
	// hosts not in it (nil: confirmed).
	contained    map[string]bool
	containedAll *bool
	// unreachable are the people no delivery reaches; deliveryDown makes
	// every delivery fail.
	unreachable  map[string]bool
	deliveryDown bool
}

// New returns a twin recording into j (a new in-memory journal when j is nil).
func New(j *Journal) *Twin {
	if j == nil {
		j = NewJournal()
	}
	return &Twin{j: j, failNext: map[string]int{}, registers: map[string]int{}, groups: map[string][]string{},
		contained: map[string]bool{}, unreachable: map[string]bool{}}
}

// Activities returns an Activities wired to a new twin recording into j:
// what the worker registers on the exercise task queue.
func Activities(j *Journal) *activities.Activities {
	return New(j).Activities()
}

// Activities returns an Activities with every integration wired to t.
func (t *Twin) Activities() *activities.Activities {
	return &activities.Activities{Chat: t, Pager: t, Isolator: t, Webhook: t, PlantState: t, EDR: t}
}

// Journal returns the journal t records into.
func (t *Twin) Journal() *Journal { return t.j }

// FailNext makes the next n attempts of op (an Op constant) fail with a
// retryable error, journaled as failed attempts that apply no effect.
// n <= 0 clears it.
func (t *Twin) FailNext(op string, n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n <= 0 {
		delete(t.failNext, op)
		return
	}
	t.failNext[op] = n
}

// FailWhen installs a hook asked before every attempt (after FailNext);
// a non-nil error fails the attempt with it. Wrap activities.ErrPermanent
// for a failure the activity must not retry. nil removes the hook.
func (t *Twin) FailWhen(f func(op, key string) error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failWhen = f
}

// SetRegister makes a register of a modbus integration ("modbus.NAME" or
// "NAME") read value, so tests can steer plant-state checks.
func (t *Twin) SetRegister(integration string, register, value int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.registers[registerKey(integration, register)] = value
}

// SetContained makes the EDR answer contained for host from now on (by
// default it confirms every containment).
func (t *Twin) SetContained(host string, contained bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.contained[host] = contained
}

// SetContainedAll makes the EDR answer contained for every host from now
// on, replacing what SetContained said of single hosts.
func (t *Twin) SetContainedAll(contained bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.contained)
	t.containedAll = &contained
}

// FailDeliveryTo makes every later notice, page and prompt to these
// people (person IDs) fail for them: Deliver names them in Failed and
// counts them out of Delivered. Messages to the others still go.
func (t *Twin) FailDeliveryTo(people ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, p := range people {
		t.unreachable[p] = true
	}
}

// FailAllDelivery makes every later notice, page and prompt fail for
// every recipient and for the incident channel, as when the chat is down.
func (t *Twin) FailAllDelivery() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deliveryDown = true
}

// RestoreDelivery undoes FailDeliveryTo and FailAllDelivery: every later
// delivery succeeds again.
func (t *Twin) RestoreDelivery() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.unreachable)
	t.deliveryDown = false
}

// Reachable reports whether a delivery to person (a person ID) would
// reach them now.
func (t *Twin) Reachable(person string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.deliveryDown && !t.unreachable[person]
}

// SetGroup makes a user group list the given members (Slack user IDs);
// a group never set has none.
func (t *Twin) SetGroup(usergroup string, users ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.groups[usergroup] = append([]string(nil), users...)
}

func registerKey(integration string, register int) string {
	if !strings.Contains(integration, ".") {
		integration = "modbus." + integration
	}
	// 40001 and 400001 are the same holding register, offset 0.
	if off, problem := rules.RegisterOffset(float64(register)); problem == "" {
		return fmt.Sprintf("%s/%d", integration, off)
	}
	return fmt.Sprintf("%s/raw%d", integration, register)
}

// failure is the injected failure for this attempt of op, if any.
func (t *Twin) failure(op, key string) error {
	t.mu.Lock()
	if n := t.failNext[op]; n > 0 {
		if n == 1 {
			delete(t.failNext, op)
		} else {
			t.failNext[op] = n - 1
		}
		t.mu.Unlock()
		return fmt.Errorf("simulated failure of %s (injected by FailNext)", op)
	}
	hook := t.failWhen
	t.mu.Unlock()
	if hook != nil {
		// Called unlocked, so the hook may reconfigure the twin.
		return hook(op, key)
	}
	return nil
}

// do journals one call and decodes its response into out.
func (t *Twin) do(ctx context.Context, c call, out any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.fail = t.failure(c.op, c.key)
	return t.j.do(ctx, c, out)
}

// OpenChannel simulates opening a channel: its ID is "CSIM" and a short
// hash of the name.
func (t *Twin) OpenChannel(ctx context.Context, req activities.OpenChannelRequest) (activities.OpenChannelResponse, error) {
	var resp activities.OpenChannelResponse
	err := t.do(ctx, call{op: OpOpenChannel, key: req.Key, incident: req.IncidentID, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.OpenChannelResponse{ChannelID: channelID(req.Name), ChannelName: req.Name, StatusTS: messageTS(req.Name + "/status"), Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// PostMessage simulates a post. Without a channel it goes to the channel
// last opened for the incident (or, if none was, to the one OpenChannel
// would open for "inc-INCIDENT").
func (t *Twin) PostMessage(ctx context.Context, req activities.PostMessageRequest) (activities.PostMessageResponse, error) {
	var resp activities.PostMessageResponse
	// Resolved before the journal is locked: it reads the journal.
	channel := t.channelFor(req.IncidentID, req.Channel)
	err := t.do(ctx, call{op: OpPostMessage, key: req.Key, incident: req.IncidentID, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.PostMessageResponse{ChannelID: channel, TS: messageTS(req.Key), Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// channelFor resolves a channel argument to a channel ID.
func (t *Twin) channelFor(incident, channel string) string {
	if channel == "" {
		var opened activities.OpenChannelResponse
		if t.j.lastResult(OpOpenChannel, incident, &opened) && opened.ChannelID != "" {
			return opened.ChannelID
		}
		return channelID("inc-" + incident)
	}
	if looksLikeChannelID(channel) {
		return channel
	}
	return channelID(strings.TrimPrefix(channel, "#"))
}

// Deliver simulates delivering a notice, page or prompt; every recipient
// (and the incident channel, when asked) counts as reached, except those
// FailDeliveryTo or FailAllDelivery made unreachable, which Failed names.
// Pages and prompts name one message per reached recipient with a Slack
// ID (a direct message) and one in the incident room when the call has
// one, as the Slack adapter does.
func (t *Twin) Deliver(ctx context.Context, req activities.DeliverRequest) (activities.DeliverResponse, error) {
	var resp activities.DeliverResponse
	op := "chat." + req.Purpose
	t.mu.Lock()
	down := t.deliveryDown
	unreachable := map[string]bool{}
	for _, r := range req.To {
		if down || t.unreachable[r.Person] {
			unreachable[r.Person] = true
		}
	}
	t.mu.Unlock()
	err := t.do(ctx, call{op: op, key: req.Key, incident: req.IncidentID, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			out := activities.DeliverResponse{Simulated: true}
			var reached []activities.Recipient
			for _, r := range req.To {
				if unreachable[r.Person] {
					out.Failed = append(out.Failed, "person."+r.Person+": not delivered (simulated delivery failure)")
					continue
				}
				reached = append(reached, r)
			}
			// The incident channel is written to when asked, and by every
			// page and prompt once the incident has a room.
			inRoom := req.IncidentChannel || (req.Purpose != activities.PurposeNotify && req.Room != nil && req.Room.ChannelID != "")
			if down && inRoom {
				out.Failed = append(out.Failed, "incident channel: not delivered (simulated delivery failure)")
			}
			out.Delivered = len(reached)
			if req.IncidentChannel && !down {
				out.Delivered++
			}
			if req.Purpose == activities.PurposeNotify {
				return out, nil
			}
			for _, r := range reached {
				if r.Slack != "" {
					out.Messages = append(out.Messages, activities.MessageRef{Channel: "D" + strings.TrimPrefix(channelID(r.Slack), "C"), TS: messageTS(req.Key + "/" + r.Person)})
				}
			}
			if req.Room != nil && req.Room.ChannelID != "" && !down {
				out.Messages = append(out.Messages, activities.MessageRef{Channel: req.Room.ChannelID, TS: messageTS(req.Key + "/room")})
			}
			return out, nil
		}}, &resp)
	return resp, err
}

// Settle simulates closing a step's messages: each counts as updated.
func (t *Twin) Settle(ctx context.Context, req activities.SettleRequest) (activities.SettleResponse, error) {
	var resp activities.SettleResponse
	err := t.do(ctx, call{op: OpSettle, key: req.Key, incident: req.IncidentID, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.SettleResponse{Updated: len(req.Messages), Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// PublishStatus simulates updating the pinned status message.
func (t *Twin) PublishStatus(ctx context.Context, req activities.StatusRequest) (activities.StatusResponse, error) {
	var resp activities.StatusResponse
	err := t.do(ctx, call{op: OpStatus, key: req.Key, incident: req.IncidentID, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.StatusResponse{Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// GroupMembers answers with the members SetGroup gave the group (none by
// default).
func (t *Twin) GroupMembers(ctx context.Context, req activities.GroupRequest) (activities.GroupResponse, error) {
	var resp activities.GroupResponse
	t.mu.Lock()
	users := append([]string{}, t.groups[req.Usergroup]...)
	t.mu.Unlock()
	err := t.do(ctx, call{op: OpGroupMembers, key: req.Key, exercise: req.Exercise, request: req,
		result: func() (any, error) {
			return activities.GroupResponse{Users: users, Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// Trigger simulates opening an alert; its dedup key is the idempotency key.
func (t *Twin) Trigger(ctx context.Context, req activities.TriggerRequest) (activities.TriggerResponse, error) {
	var resp activities.TriggerResponse
	err := t.do(ctx, call{op: OpTrigger, key: req.Key, incident: req.Details["incident"], exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.TriggerResponse{DedupKey: req.Key, Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// Acknowledge simulates acknowledging an alert.
func (t *Twin) Acknowledge(ctx context.Context, req activities.AcknowledgeRequest) (activities.AcknowledgeResponse, error) {
	var resp activities.AcknowledgeResponse
	err := t.do(ctx, call{op: OpAcknowledge, key: req.Key, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) { return activities.AcknowledgeResponse{Simulated: true}, nil }}, &resp)
	return resp, err
}

// Resolve simulates resolving an alert.
func (t *Twin) Resolve(ctx context.Context, req activities.ResolveRequest) (activities.ResolveResponse, error) {
	var resp activities.ResolveResponse
	err := t.do(ctx, call{op: OpResolve, key: req.Key, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) { return activities.ResolveResponse{Simulated: true}, nil }}, &resp)
	return resp, err
}

// Cut simulates cutting a conduit.
func (t *Twin) Cut(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	return t.conduit(ctx, OpCut, req)
}

// Restore simulates reopening a conduit.
func (t *Twin) Restore(ctx context.Context, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	return t.conduit(ctx, OpRestore, req)
}

func (t *Twin) conduit(ctx context.Context, op string, req activities.ConduitRequest) (activities.ConduitResponse, error) {
	var resp activities.ConduitResponse
	err := t.do(ctx, call{op: op, key: req.Key, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			if req.Enforcement == "" {
				return nil, fmt.Errorf("conduit %s has no enforcement point: %w", req.Conduit.ID, activities.ErrPermanent)
			}
			return activities.ConduitResponse{Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// Send simulates a webhook post: status 200.
func (t *Twin) Send(ctx context.Context, req activities.WebhookRequest) (activities.WebhookResponse, error) {
	var resp activities.WebhookResponse
	err := t.do(ctx, call{op: OpWebhook, key: req.Key, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.WebhookResponse{Status: 200, Body: `{"ok":true,"simulated":true}`, Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// ReadRegister simulates a register read: the value SetRegister gave, or
// DefaultRegisterValue. Reads observe the current value on every attempt.
func (t *Twin) ReadRegister(ctx context.Context, req activities.ReadRegisterRequest) (activities.ReadRegisterResponse, error) {
	var resp activities.ReadRegisterResponse
	t.mu.Lock()
	v, ok := t.registers[registerKey(req.Integration, req.Register)]
	t.mu.Unlock()
	if !ok {
		v = DefaultRegisterValue
	}
	err := t.do(ctx, call{op: OpReadRegister, key: req.Key, exercise: req.Exercise, request: req, effect: false,
		result: func() (any, error) {
			return activities.ReadRegisterResponse{Value: v, Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// Contain simulates containing a host: confirmed, unless SetContained or
// SetContainedAll said otherwise.
func (t *Twin) Contain(ctx context.Context, req activities.ContainRequest) (activities.ContainResponse, error) {
	var resp activities.ContainResponse
	t.mu.Lock()
	contained, ok := t.contained[req.Host]
	if !ok {
		contained = t.containedAll == nil || *t.containedAll
	}
	t.mu.Unlock()
	err := t.do(ctx, call{op: OpContain, key: req.Key, exercise: req.Exercise, request: req, effect: true,
		result: func() (any, error) {
			return activities.ContainResponse{Contained: contained, Simulated: true}, nil
		}}, &resp)
	return resp, err
}

// channelID is the simulated channel ID for a channel name.
func channelID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "CSIM" + strings.ToUpper(hex.EncodeToString(sum[:4]))
}

// messageTS is a plausible Slack message timestamp derived from the key.
func messageTS(key string) string {
	sum := sha256.Sum256([]byte(key))
	hi := binary.BigEndian.Uint64(sum[:8])
	lo := binary.BigEndian.Uint64(sum[8:16])
	return fmt.Sprintf("%d.%06d", 1700000000+hi%100000000, lo%1000000)
}

// looksLikeChannelID reports whether s is a Slack conversation ID rather
// than a name: C, G or D followed by upper-case letters and digits.
func looksLikeChannelID(s string) bool {
	if len(s) < 9 || !strings.ContainsRune("CGD", rune(s[0])) {
		return false
	}
	for _, c := range s[1:] {
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
