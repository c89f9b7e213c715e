package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
)

// MetadataEventType is the event type of the message metadata every
// firebreak message carries; its payload holds the message's idempotency
// key ("key") and incident ("incident").
const MetadataEventType = "firebreak_message"

// DefaultRate is how many messages per second the adapter posts to one
// channel unless configured otherwise: Slack's documented limit.
const DefaultRate = 1.0

// Bounds of what the adapter remembers and searches.
const (
	// memoSize bounds each of the adapter's memories (posted keys,
	// message bodies, rooms, channel names, status versions).
	memoSize = 8192
	// historyPage and historyPages bound the search for an earlier
	// attempt's message: the channel's most recent 1,000 messages.
	historyPage  = 200
	historyPages = 5
	// listPages bounds the search for a channel by name (200 a page).
	listPages = 100
	// maxTopic is Slack's limit on a channel topic.
	maxTopic = 250
)

// Config configures a Chat.
type Config struct {
	// Token is the bot token (xoxb-...). Required.
	Token string
	// APIURL is the Web API base URL, ending in "/"; "" means Slack's.
	// Tests point it at a local fake.
	APIURL string
	// HTTPClient makes the API calls; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Resolve turns an invite principal ("person.alice", "roster.safety")
	// into Slack user IDs, from the worker's own configuration. An error
	// means the principal is unknown or has no Slack user: it is logged
	// and the others are invited. Nil resolves nothing.
	Resolve func(principal string) ([]string, error)
	// Rate is how many messages per second go to one channel; 0 means
	// DefaultRate.
	Rate float64
	// Logger receives the adapter's logs; nil means slog.Default().
	Logger *slog.Logger
	// Now is the clock the pacing uses; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends, returning ctx's error then; nil
	// means a timer. Tests pair it with Now to run without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRateLimited, when set, is told the Web API method of every call
	// Slack answered 429 (the call is then retried after Retry-After).
	// It must return quickly; metrics count with it.
	OnRateLimited func(method string)
}

// Chat is activities.Chat on Slack's Web API: incident rooms with a pinned
// status message, Block Kit pages and prompts, settling them once their
// step closes, and user groups. Messages to one channel go out in order at
// the configured rate, and each idempotency key shows at most one message,
// even across a worker that crashed between posting and completing. Rate
// limits and Slack's outages are retried until the call's ctx ends (the
// activity's deadline). It is safe for concurrent use.
type Chat struct {
	api     *slackapi.Client
	q       *queue
	resolve func(string) ([]string, error)
	log     *slog.Logger
	now     func() time.Time

	mu       sync.Mutex
	posted   *memo[activities.MessageRef] // by idempotency key
	bodies   *memo[body]                  // by channel+" "+ts
	rooms    *memo[activities.OpenChannelResponse]
	names    *memo[string] // channel name to ID
	dms      *memo[string] // user ID to DM conversation ID
	versions *memo[int]    // status message to the version applied
	botUser  string
	botID    string // the app's bot ID, which its messages carry

	statusLocks [64]sync.Mutex
}

var _ activities.Chat = (*Chat)(nil)

// body is a message as firebreak posted it, for Settle to rebuild.
type body struct {
	text   string
	blocks []slackapi.Block
	// meta is the message's metadata, sent again with an update so the
	// key stays findable; nil when it has none.
	meta *slackapi.SlackMetadata
}

// New makes a Chat. It does not call Slack.
func New(cfg Config) (*Chat, error) {
	if strings.TrimSpace(cfg.Token) == "" {
		return nil, errors.New("slack: no bot token is configured; set the Slack app's bot token (xoxb-...)")
	}
	if !(cfg.Rate >= 0) || math.IsInf(cfg.Rate, 0) {
		return nil, fmt.Errorf("slack: the message rate must be positive; got %g", cfg.Rate)
	}
	rate := cfg.Rate
	if rate == 0 {
		rate = DefaultRate
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	opts := []slackapi.Option{slackapi.OptionHTTPClient(hc)}
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(cfg.APIURL))
	}
	c := &Chat{
		api:      slackapi.New(cfg.Token, opts...),
		resolve:  cfg.Resolve,
		log:      cfg.Logger,
		now:      cfg.Now,
		posted:   newMemo[activities.MessageRef](memoSize),
		bodies:   newMemo[body](memoSize),
		rooms:    newMemo[activities.OpenChannelResponse](memoSize),
		names:    newMemo[string](memoSize),
		dms:      newMemo[string](memoSize),
		versions: newMemo[int](memoSize),
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.now == nil {
		c.now = time.Now
	}
	sleep := cfg.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	c.q = newQueue(time.Duration(float64(time.Second)/rate), c.now, sleep, cfg.Token)
	c.q.onLimited = cfg.OnRateLimited
	return c, nil
}

// OpenChannel creates the incident channel (private unless req.Public) or,
// when its name is taken by a channel the app made (a retry, a second
// attempt), reuses it; sets the topic, invites the people req.Invite
// resolves to, and posts and pins the status message.
func (c *Chat) OpenChannel(ctx context.Context, req activities.OpenChannelRequest) (activities.OpenChannelResponse, error) {
	if req.Key == "" {
		return activities.OpenChannelResponse{}, errNoKey("opening a channel")
	}
	if resp, ok := c.room(req.Key); ok {
		return resp, nil
	}
	if req.Name == "" {
		return activities.OpenChannelResponse{}, fmt.Errorf("slack: opening a channel: no name was given: %w", activities.ErrPermanent)
	}
	ch, reused, err := c.createChannel(ctx, req.Name, !req.Public)
	if err != nil {
		return activities.OpenChannelResponse{}, err
	}
	log := c.log.With("channel", ch.ID, "name", ch.Name, "incident", req.IncidentID)
	if reused {
		log.Info("reusing the incident channel the app made before")
	}
	topic := req.Topic
	if req.Exercise && !strings.Contains(topic, "EXERCISE") {
		topic = activities.ExercisePrefix + topic
	}
	if topic = Plain(topic, maxTopic); topic != "-" && topic != ch.Topic.Value {
		err := c.q.call(ctx, op{method: "conversations.setTopic", what: "setting the topic of #" + ch.Name, do: func(ctx context.Context) error {
			_, err := c.api.SetTopicOfConversationContext(ctx, ch.ID, topic)
			return err
		}})
		if err != nil {
			return activities.OpenChannelResponse{}, err
		}
	}
	if err := c.invite(ctx, ch.ID, req.Invite, log); err != nil {
		return activities.OpenChannelResponse{}, err
	}
	title := "Incident " + req.IncidentID
	if req.Exercise {
		title = activities.ExercisePrefix + title
	}
	blocks, text := statusBlocks(activities.StatusRequest{IncidentID: req.IncidentID, Exercise: req.Exercise, Title: title, State: "open"})
	ref, err := c.post(ctx, ch.ID, outgoing{key: req.Key + "/status", incident: req.IncidentID, text: text, blocks: blocks}, reused)
	if err != nil {
		return activities.OpenChannelResponse{}, err
	}
	err = c.q.call(ctx, op{method: "pins.add", what: "pinning the status message in #" + ch.Name, do: func(ctx context.Context) error {
		err := c.api.AddPinContext(ctx, ch.ID, slackapi.NewRefToMessage(ch.ID, ref.TS))
		if err != nil && errCode(classify("pins.add", "", err)) == "already_pinned" {
			return nil
		}
		return err
	}})
	if err != nil {
		return activities.OpenChannelResponse{}, err
	}
	resp := activities.OpenChannelResponse{ChannelID: ch.ID, ChannelName: ch.Name, StatusTS: ref.TS}
	c.mu.Lock()
	c.rooms.put(req.Key, resp)
	c.names.put(ch.Name, ch.ID)
	c.mu.Unlock()
	return resp, nil
}

func (c *Chat) room(key string) (activities.OpenChannelResponse, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rooms.get(key)
}

// createChannel creates a channel, or finds the one of that name the app
// made earlier. A channel of that name someone else made is refused:
// incident messages must not go to a room a stranger prepared.
func (c *Chat) createChannel(ctx context.Context, name string, private bool) (*slackapi.Channel, bool, error) {
	var ch *slackapi.Channel
	err := c.q.call(ctx, op{method: "conversations.create", what: "creating #" + name, do: func(ctx context.Context) error {
		var err error
		ch, err = c.api.CreateConversationContext(ctx, slackapi.CreateConversationParams{ChannelName: name, IsPrivate: private})
		return err
	}})
	if err == nil {
		return ch, false, nil
	}
	if errCode(err) != "name_taken" {
		return nil, false, err
	}
	found, err := c.findChannel(ctx, name)
	if err != nil {
		return nil, false, err
	}
	if found == nil {
		return nil, false, fmt.Errorf("slack: channel #%s exists but the app cannot see it (a private channel it is not in, or an archived one); rename or archive that channel, or invite the app: %w", name, activities.ErrPermanent)
	}
	bot, err := c.botUserID(ctx)
	if err != nil {
		return nil, false, err
	}
	if found.Creator != bot {
		return nil, false, fmt.Errorf("slack: channel #%s exists and was not made by the app (creator %s); firebreak does not post an incident into a room it did not open: rename or archive that channel: %w", name, Plain(found.Creator, 40), activities.ErrPermanent)
	}
	if !found.IsMember {
		return nil, false, fmt.Errorf("slack: channel #%s was made by the app but the app is no longer in it; invite the app back: %w", name, activities.ErrPermanent)
	}
	return found, true, nil
}

// findChannel looks for an unarchived channel by name, public and private
// (the app sees the private ones it is in); nil when there is none.
func (c *Chat) findChannel(ctx context.Context, name string) (*slackapi.Channel, error) {
	cursor := ""
	for range listPages {
		var page []slackapi.Channel
		var next string
		err := c.q.call(ctx, op{method: "conversations.list", what: "looking for #" + name, do: func(ctx context.Context) error {
			var err error
			page, next, err = c.api.GetConversationsContext(ctx, &slackapi.GetConversationsParameters{
				Cursor: cursor, ExcludeArchived: true, Limit: 200, Types: []string{"public_channel", "private_channel"},
			})
			return err
		}})
		if err != nil {
			return nil, err
		}
		for i := range page {
			if page[i].Name == name && !page[i].IsArchived {
				return &page[i], nil
			}
		}
		if next == "" {
			return nil, nil
		}
		cursor = next
	}
	return nil, fmt.Errorf("slack: looking for #%s: the workspace has more than %d channels; stopped looking", name, listPages*200)
}

// botUserID is the app's bot user (auth.test), asked once.
func (c *Chat) botUserID(ctx context.Context) (string, error) {
	id, _, err := c.whoAmI(ctx)
	return id, err
}

// whoAmI is the app's bot user and bot ID (auth.test), asked once.
func (c *Chat) whoAmI(ctx context.Context) (string, string, error) {
	c.mu.Lock()
	id, bot := c.botUser, c.botID
	c.mu.Unlock()
	if id != "" {
		return id, bot, nil
	}
	err := c.q.call(ctx, op{method: "auth.test", what: "asking Slack who the app is", do: func(ctx context.Context) error {
		r, err := c.api.AuthTestContext(ctx)
		if err == nil {
			id, bot = r.UserID, r.BotID
		}
		return err
	}})
	if err != nil {
		return "", "", err
	}
	c.mu.Lock()
	c.botUser, c.botID = id, bot
	c.mu.Unlock()
	return id, bot, nil
}

// invite invites the users principals resolve to, one at a time so one
// that cannot be invited does not keep the others out. Users that cannot
// be invited are logged; only a failure that retrying may fix is returned.
func (c *Chat) invite(ctx context.Context, channel string, principals []string, log *slog.Logger) error {
	var users []string
	for _, p := range principals {
		if c.resolve == nil {
			log.Warn("cannot invite: this worker resolves no people to Slack users", "principal", p)
			continue
		}
		ids, err := c.resolve(p)
		if err != nil {
			log.Warn("cannot invite", "principal", p, "error", err)
			continue
		}
		users = append(users, ids...)
	}
	slices.Sort(users)
	for _, u := range slices.Compact(users) {
		if u == "" {
			continue
		}
		err := c.q.call(ctx, op{method: "conversations.invite", what: "inviting " + u, do: func(ctx context.Context) error {
			_, err := c.api.InviteUsersToConversationContext(ctx, channel, u)
			return err
		}})
		switch code := errCode(err); {
		case err == nil, code == "already_in_channel", code == "cant_invite_self":
		case isPermanent(err):
			log.Warn("could not invite a user to the incident channel", "user", u, "error", err)
		default:
			return err
		}
	}
	return nil
}

// PostMessage posts req.Text to req.Channel (an ID or a name) or, when it
// is empty, to the incident channel.
func (c *Chat) PostMessage(ctx context.Context, req activities.PostMessageRequest) (activities.PostMessageResponse, error) {
	if req.Key == "" {
		return activities.PostMessageResponse{}, errNoKey("posting a message")
	}
	channel := strings.TrimPrefix(req.Channel, "#")
	if channel == "" && req.Room != nil {
		channel = req.Room.ChannelID
	}
	if channel == "" {
		return activities.PostMessageResponse{}, fmt.Errorf("slack: posting a message: it names no channel and no incident channel was opened (run slack.open_channel first, or name a channel): %w", activities.ErrPermanent)
	}
	id, err := c.channelID(ctx, channel)
	if err != nil {
		return activities.PostMessageResponse{}, err
	}
	blocks, text := textBlocks(req.Text, req.Exercise)
	ref, err := c.post(ctx, id, outgoing{key: req.Key, incident: req.IncidentID, text: text, blocks: blocks}, req.Retry)
	if err != nil {
		return activities.PostMessageResponse{}, err
	}
	return activities.PostMessageResponse{ChannelID: ref.Channel, TS: ref.TS}, nil
}

// conversationIDPattern matches conversation IDs (C…, G…, D…).
var conversationIDPattern = regexp.MustCompile(`^[CGD][A-Z0-9]{6,}$`)

// channelID is the ID of a channel given by ID or name.
func (c *Chat) channelID(ctx context.Context, ref string) (string, error) {
	if conversationIDPattern.MatchString(ref) {
		return ref, nil
	}
	c.mu.Lock()
	id, ok := c.names.get(ref)
	c.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, err := c.findChannel(ctx, ref)
	if err != nil {
		return "", err
	}
	if ch == nil {
		return "", fmt.Errorf("slack: there is no channel #%s the app can see; create it or invite the app: %w", Plain(ref, 80), activities.ErrPermanent)
	}
	c.mu.Lock()
	c.names.put(ref, ch.ID)
	c.mu.Unlock()
	return ch.ID, nil
}

// GroupMembers lists a user group's members (usergroups.users.list).
func (c *Chat) GroupMembers(ctx context.Context, req activities.GroupRequest) (activities.GroupResponse, error) {
	if req.Usergroup == "" {
		return activities.GroupResponse{}, fmt.Errorf("slack: listing a user group: no user group ID was given: %w", activities.ErrPermanent)
	}
	var users []string
	err := c.q.call(ctx, op{method: "usergroups.users.list", what: "listing user group " + Plain(req.Usergroup, 40), do: func(ctx context.Context) error {
		var err error
		users, err = c.api.GetUserGroupMembersContext(ctx, req.Usergroup)
		return err
	}})
	if err != nil {
		return activities.GroupResponse{}, err
	}
	if users == nil {
		users = []string{}
	}
	return activities.GroupResponse{Users: users}, nil
}

// outgoing is a message to post once per key.
type outgoing struct {
	key, incident string
	text          string // top-level text, already neutralised
	blocks        []slackapi.Block
}

// post puts m in channel (an ID) at most once per key: a key the adapter
// remembers returns the message it posted; with retry set (an earlier
// attempt may have posted) the channel's recent history is searched for
// the key before posting. The retry loop searches too before it sends
// again after a failure Slack may have carried out.
func (c *Chat) post(ctx context.Context, channel string, m outgoing, retry bool) (activities.MessageRef, error) {
	c.mu.Lock()
	ref, ok := c.posted.get(m.key)
	c.mu.Unlock()
	if ok {
		return ref, nil
	}
	meta := slackapi.SlackMetadata{EventType: MetadataEventType, EventPayload: map[string]any{"key": m.key, "incident": m.incident}}
	opts := []slackapi.MsgOption{
		slackapi.MsgOptionText(m.text, false),
		slackapi.MsgOptionBlocks(m.blocks...),
		slackapi.MsgOptionDisableLinkUnfurl(),
		slackapi.MsgOptionDisableMediaUnfurl(),
		slackapi.MsgOptionMetadata(meta),
	}
	err := c.q.post(ctx, channel, op{
		method: "chat.postMessage",
		what:   "posting to " + channel,
		check:  retry,
		already: func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			var ok bool
			ref, ok = c.posted.get(m.key)
			return ok
		},
		do: func(ctx context.Context) error {
			ch, ts, err := c.api.PostMessageContext(ctx, channel, opts...)
			if err == nil {
				ref = activities.MessageRef{Channel: ch, TS: ts}
			}
			return err
		},
		landed: func(ctx context.Context) (bool, error) {
			found, ok, err := c.findByKey(ctx, channel, m.key)
			if ok {
				ref = found
				c.log.Info("found the message an earlier attempt posted", "channel", channel, "ts", found.TS, "key", m.key)
			}
			return ok, err
		},
	})
	if err != nil {
		return activities.MessageRef{}, err
	}
	c.mu.Lock()
	if _, ok := c.posted.get(m.key); !ok {
		c.posted.put(m.key, ref)
		c.bodies.put(ref.Channel+" "+ref.TS, body{text: m.text, blocks: m.blocks, meta: &meta})
	}
	c.mu.Unlock()
	return ref, nil
}

// findByKey searches channel's recent history for the app's message whose
// metadata carries key.
func (c *Chat) findByKey(ctx context.Context, channel, key string) (activities.MessageRef, bool, error) {
	// Only the app's own messages count: another app in the channel could
	// post a message with firebreak's metadata under a guessable key.
	_, self, err := c.whoAmI(ctx)
	if err != nil {
		return activities.MessageRef{}, false, err
	}
	cursor := ""
	for range historyPages {
		var resp *slackapi.GetConversationHistoryResponse
		err := c.q.call(ctx, op{method: "conversations.history", what: "looking for an earlier attempt's message in " + channel, do: func(ctx context.Context) error {
			var err error
			resp, err = c.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{
				ChannelID: channel, Cursor: cursor, Limit: historyPage, IncludeAllMetadata: true,
			})
			return err
		}})
		if err != nil {
			return activities.MessageRef{}, false, err
		}
		for _, msg := range resp.Messages {
			md := msg.Metadata
			if md.EventType == MetadataEventType && self != "" && msg.BotID == self {
				if k, _ := md.EventPayload["key"].(string); k == key {
					return activities.MessageRef{Channel: channel, TS: msg.Timestamp}, true, nil
				}
			}
		}
		cursor = resp.ResponseMetaData.NextCursor
		if !resp.HasMore || cursor == "" {
			break
		}
	}
	return activities.MessageRef{}, false, nil
}

// errNoKey refuses a request without an idempotency key: without one the
// adapter could not tell a retry from a new message.
func errNoKey(what string) error {
	return fmt.Errorf("slack: %s: the request has no idempotency key: %w", what, activities.ErrPermanent)
}

// memo is a map that forgets its oldest entries past max. Callers lock.
type memo[V any] struct {
	max   int
	m     map[string]V
	order []string
}

func newMemo[V any](max int) *memo[V] { return &memo[V]{max: max, m: map[string]V{}} }

func (m *memo[V]) get(k string) (V, bool) {
	v, ok := m.m[k]
	return v, ok
}

func (m *memo[V]) put(k string, v V) {
	if _, ok := m.m[k]; !ok {
		m.order = append(m.order, k)
		if len(m.order) > m.max {
			delete(m.m, m.order[0])
			m.order = slices.Delete(m.order, 0, 1)
		}
	}
	m.m[k] = v
}
