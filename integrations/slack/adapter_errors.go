package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/activities"
)

// errKind says what the delivery loop does with a failed call.
type errKind int

const (
	// kindOther is a Slack error that is not known to be permanent: the
	// call fails at once and the caller (or Temporal) may try again.
	kindOther errKind = iota
	// kindPermanent is a Slack error a retry cannot fix.
	kindPermanent
	// kindLimited is a 429: wait RetryAfter and send the same call again.
	kindLimited
	// kindTransient is a 5xx, a lost connection or a Slack-side hiccup:
	// back off and send again.
	kindTransient
)

// apiError is a failed Slack call, mapped by classify. Its text names the
// method and Slack's error code and says what to do; it never holds the
// token.
type apiError struct {
	method     string
	code       string // Slack's error code, or "http_503", "connection"...
	kind       errKind
	retryAfter time.Duration
	// maybeApplied is true when Slack may have carried the call out even
	// though no answer said so (a 5xx, a lost connection).
	maybeApplied bool
	msg          string
}

func (e *apiError) Error() string { return e.msg }

// Unwrap makes permanent errors match activities.ErrPermanent.
func (e *apiError) Unwrap() error {
	if e.kind == kindPermanent {
		return activities.ErrPermanent
	}
	return nil
}

// permanentCodes are Slack error codes a retry cannot fix, with what the
// operator can do about them.
var permanentCodes = map[string]string{
	"channel_not_found":                     "the channel does not exist or the app cannot see it",
	"not_in_channel":                        "invite the app to the channel",
	"is_archived":                           "the channel is archived; unarchive it or use another",
	"invalid_blocks":                        "the message's blocks were refused; this is a firebreak bug, please report it",
	"invalid_blocks_format":                 "the message's blocks were refused; this is a firebreak bug, please report it",
	"msg_too_long":                          "the message is too long",
	"no_text":                               "the message is empty",
	"user_not_found":                        "the Slack user ID is not in this workspace; check the person's slack attribute",
	"users_not_found":                       "a Slack user ID is not in this workspace; check the people's slack attributes",
	"user_disabled":                         "the Slack user is deactivated",
	"cannot_dm_bot":                         "the Slack user ID is a bot's",
	"invalid_auth":                          "the bot token is not valid; check the Slack bot token the worker is configured with",
	"not_authed":                            "no bot token was sent; configure the Slack bot token",
	"account_inactive":                      "the bot token belongs to an uninstalled app or a deactivated user; reinstall the app",
	"token_revoked":                         "the bot token was revoked; reinstall the app and configure its new token",
	"token_expired":                         "the bot token expired; configure a fresh one",
	"not_allowed_token_type":                "the token is not a bot token (xoxb-); configure the bot token",
	"no_permission":                         "the app lacks the permission for this; check its scopes and the workspace's settings",
	"missing_scope":                         "add the missing scope to the app and reinstall it",
	"restricted_action":                     "the workspace's settings forbid this for the app",
	"restricted_action_read_only_channel":   "the channel is read-only for the app",
	"restricted_action_thread_only_channel": "the channel only takes threaded replies",
	"ekm_access_denied":                     "the workspace's key management denied access",
	"team_access_not_granted":               "the app is not granted access to this workspace",
	"two_factor_setup_required":             "the workspace requires two-factor setup",
	"invalid_arguments":                     "Slack refused the request's arguments; this is a firebreak bug, please report it",
	"invalid_form_data":                     "Slack refused the request's form; this is a firebreak bug, please report it",
	"invalid_metadata_format":               "Slack refused the message metadata; this is a firebreak bug, please report it",
	"invalid_metadata_schema":               "Slack refused the message metadata; this is a firebreak bug, please report it",
	"metadata_too_large":                    "the message metadata is too large",
	"message_not_found":                     "the message was deleted",
	"cant_update_message":                   "only messages the app posted can be updated",
	"edit_window_closed":                    "the message can no longer be edited",
	"invalid_name":                          "the channel name is not valid",
	"invalid_name_specials":                 "the channel name has characters Slack does not allow",
	"invalid_name_required":                 "the channel name is empty",
	"invalid_name_maxlength":                "the channel name is longer than 80 characters",
	"invalid_name_punctuation":              "the channel name is only punctuation",
	"invalid_cursor":                        "Slack refused the page cursor",
	"invalid_limit":                         "Slack refused the page size",
	"invalid_types":                         "Slack refused the conversation types",
	"invalid_ts_latest":                     "Slack refused the message timestamp",
	"invalid_ts_oldest":                     "Slack refused the message timestamp",
	"no_such_subteam":                       "the user group does not exist; check the roster's slack_usergroup",
	"subteam_not_found":                     "the user group does not exist; check the roster's slack_usergroup",
	"too_long":                              "the text is too long",
	"too_many_users":                        "too many users in one call",
	"users_list_not_supplied":               "no users were given",
	"no_item_specified":                     "no message was given to pin",
	"method_deprecated":                     "Slack retired this method; upgrade firebreak",
	"deprecated_endpoint":                   "Slack retired this method; upgrade firebreak",
	"unknown_method":                        "the Slack API does not know this method; check the API URL",
	"not_allowed":                           "Slack does not allow this",
	"posting_to_general_channel_denied":     "only admins may post in the general channel",
	"team_not_found":                        "the workspace was not found",
	"org_login_required":                    "the workspace is migrating; try again once it is done",
	"cant_invite_self":                      "the app cannot invite itself",
	"cant_invite":                           "the user cannot be invited",
	"ura_max_channels":                      "the user is a single-channel guest already in a channel",
	"user_is_restricted":                    "the user is a guest the channel cannot take",
}

// transientCodes are Slack error codes of a hiccup on Slack's side: back
// off and send again. The call may have been carried out.
var transientCodes = map[string]bool{
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"team_added_to_org":   true,
}

// classify maps any error of a Slack call to an apiError. It is the one
// place that knows which Slack failures are permanent.
func classify(method, token string, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := &apiError{method: method}
	var rl *slackapi.RateLimitedError
	var se slackapi.SlackErrorResponse
	var sc slackapi.StatusCodeError
	switch {
	case errors.As(err, &rl):
		e.code, e.kind, e.retryAfter = "ratelimited", kindLimited, rl.RetryAfter
		e.msg = fmt.Sprintf("slack %s: rate limited, retry after %s", method, rl.RetryAfter)
	case errors.As(err, &se):
		e.code = se.Err
		switch hint, ok := permanentCodes[se.Err]; {
		case ok:
			e.kind = kindPermanent
			if se.Err == "missing_scope" && se.Needed != "" {
				hint = fmt.Sprintf("add the scope %s to the app and reinstall it", se.Needed)
			}
			e.msg = fmt.Sprintf("slack %s: %s: %s", method, se.Err, hint)
		case se.Err == "ratelimited":
			e.kind, e.retryAfter = kindLimited, time.Second
			e.msg = fmt.Sprintf("slack %s: rate limited", method)
		case transientCodes[se.Err]:
			e.kind, e.maybeApplied = kindTransient, true
			e.msg = fmt.Sprintf("slack %s: %s (a problem on Slack's side; retrying)", method, se.Err)
		default:
			e.msg = fmt.Sprintf("slack %s: %s", method, se.Err)
		}
	case errors.As(err, &sc):
		e.code = fmt.Sprintf("http_%d", sc.Code)
		switch {
		case sc.Code >= 500 || sc.Code == http.StatusRequestTimeout || sc.Code == http.StatusTooManyRequests:
			e.kind, e.maybeApplied = kindTransient, true
			e.msg = fmt.Sprintf("slack %s: HTTP %d from Slack (retrying)", method, sc.Code)
		case sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden:
			e.kind = kindPermanent
			e.msg = fmt.Sprintf("slack %s: HTTP %d: check the bot token and the API URL", method, sc.Code)
		default:
			e.kind = kindPermanent
			e.msg = fmt.Sprintf("slack %s: HTTP %d: check the API URL", method, sc.Code)
		}
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		e.code, e.kind, e.maybeApplied = "timeout", kindTransient, true
		e.msg = fmt.Sprintf("slack %s: %v", method, redact(err.Error(), token))
	default:
		// Connection failures (refused, reset, dropped mid-answer) and
		// answers that are not Slack's JSON. A dropped connection may have
		// been carried out; only a failed dial surely was not.
		e.code, e.kind, e.maybeApplied = "connection", kindTransient, true
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			e.maybeApplied = false
		}
		var ue *url.Error
		text := err.Error()
		if errors.As(err, &ue) {
			text = ue.Err.Error()
		}
		e.msg = fmt.Sprintf("slack %s: could not reach Slack: %s", method, redact(text, token))
	}
	e.msg = redact(e.msg, token)
	return e
}

// refusal is a permanent failure that is not Slack's: its text is msg
// alone, for lists of who could not be reached.
func refusal(msg string) error { return &apiError{kind: kindPermanent, msg: msg} }

// redact removes the token from text, in case a transport put it there.
func redact(text, token string) string {
	if token == "" {
		return text
	}
	return strings.ReplaceAll(text, token, "[token]")
}

// errCode is the Slack error code of err, or "".
func errCode(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.code
	}
	return ""
}

// isPermanent reports whether err wraps activities.ErrPermanent.
func isPermanent(err error) bool { return errors.Is(err, activities.ErrPermanent) }
