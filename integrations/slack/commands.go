package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	slackapi "github.com/slack-go/slack"
)

// SlashCommand is the slash command the gateway answers.
const SlashCommand = "/firebreak"

// Limits on a slash command's text.
const (
	maxCommandText = 4000
	maxCommandArgs = 64
)

var paramKeyPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,63}$`)

// CommandHelp is the gateway's answer to "/firebreak help".
const CommandHelp = "*/firebreak* starts and follows incidents.\n" +
	"• `/firebreak run PLAYBOOK key=value …` starts a playbook; quote a value with spaces: `site=\"north plant\"`\n" +
	"• `/firebreak status [INCIDENT]` shows an incident, or the open incidents\n" +
	"• `/firebreak list` lists the playbooks you can run\n" +
	"• `/firebreak help` shows this"

// ParseCommand reads the text of a /firebreak command into a Command (its
// Name, Args and Params; the caller fills in who asked). "help" and an
// empty text parse to the Name "help". Errors say what to type instead.
func ParseCommand(text string) (Command, error) {
	if len(text) > maxCommandText {
		return Command{}, fmt.Errorf("the command is longer than %d characters", maxCommandText)
	}
	words, err := splitWords(unescapeSlack(text))
	if err != nil {
		return Command{}, err
	}
	if len(words) > maxCommandArgs {
		return Command{}, fmt.Errorf("the command has more than %d words", maxCommandArgs)
	}
	if len(words) == 0 {
		return Command{Name: "help"}, nil
	}
	name, rest := strings.ToLower(words[0].text), words[1:]
	switch name {
	case "help":
		return Command{Name: "help"}, nil
	case "list":
		if len(rest) > 0 {
			return Command{}, errors.New("`list` takes nothing after it: type `/firebreak list`")
		}
		return Command{Name: "list"}, nil
	case "status":
		if len(rest) > 1 {
			return Command{}, errors.New("`status` takes at most one incident: type `/firebreak status [INCIDENT]`")
		}
		c := Command{Name: "status"}
		for _, w := range rest {
			if w.key != "" {
				return Command{}, errors.New("`status` takes an incident ID, not key=value: type `/firebreak status [INCIDENT]`")
			}
			c.Args = append(c.Args, w.text)
		}
		return c, nil
	case "run":
		if len(rest) == 0 || rest[0].quoted || rest[0].key != "" {
			return Command{}, errors.New("`run` needs a playbook: type `/firebreak run PLAYBOOK key=value …`")
		}
		c := Command{Name: "run", Args: []string{rest[0].text}}
		for _, w := range rest[1:] {
			if w.key == "" {
				return Command{}, fmt.Errorf("%q is not key=value: write each input as key=value, quoting values with spaces", clipLog(w.text))
			}
			if !paramKeyPattern.MatchString(w.key) {
				return Command{}, fmt.Errorf("%q is not an input name: names are letters, digits, '_', '.' and '-', starting with a letter", clipLog(w.key))
			}
			if c.Params == nil {
				c.Params = map[string]string{}
			}
			if _, dup := c.Params[w.key]; dup {
				return Command{}, fmt.Errorf("the input %q is given twice", w.key)
			}
			c.Params[w.key] = w.text
		}
		return c, nil
	}
	return Command{}, fmt.Errorf("there is no command %q: try `/firebreak help`", clipLog(words[0].text))
}

// word is one word of a command: key is set for key=value, text is the
// value (or the whole word).
type word struct {
	key, text string
	quoted    bool
}

// isQuote says whether r opens a quoted value, and which rune closes it.
// Slack clients may turn straight quotes into curly ones.
func isQuote(r rune) (rune, bool) {
	switch r {
	case '"':
		return '"', true
	case '\'':
		return '\'', true
	case '“':
		return '”', true
	case '‘':
		return '’', true
	}
	return 0, false
}

// splitWords splits s at spaces; a quoted part (after key= or as a whole
// word) may hold spaces, and \" or \\ inside double quotes stand for the
// character.
func splitWords(s string) ([]word, error) {
	var out []word
	rs := []rune(s)
	for i := 0; i < len(rs); {
		if isSpace(rs[i]) {
			i++
			continue
		}
		var w word
		var b strings.Builder
		for i < len(rs) && !isSpace(rs[i]) {
			r := rs[i]
			if r == '=' && w.key == "" && !w.quoted {
				w.key = b.String()
				if w.key == "" {
					return nil, errors.New("an input has no name before '='")
				}
				b.Reset()
				i++
				continue
			}
			if closer, ok := isQuote(r); ok {
				if b.Len() > 0 {
					return nil, fmt.Errorf("a quote in the middle of %q: quote the whole value", clipLog(b.String()))
				}
				j := i + 1
				for ; j < len(rs) && rs[j] != closer; j++ {
					if rs[j] == '\\' && closer == '"' && j+1 < len(rs) && (rs[j+1] == '"' || rs[j+1] == '\\') {
						j++
					}
					b.WriteRune(rs[j])
				}
				if j >= len(rs) {
					return nil, fmt.Errorf("the quote %c is never closed: end the value with %c", r, closer)
				}
				w.quoted = true
				i = j + 1
				if i < len(rs) && !isSpace(rs[i]) {
					return nil, fmt.Errorf("the quoted value %q runs into %q: put a space after the closing quote", clipLog(b.String()), string(rs[i]))
				}
				continue
			}
			b.WriteRune(r)
			i++
		}
		w.text = b.String()
		out = append(out, w)
	}
	return out, nil
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0'
}

// unescapeSlack undoes the escaping Slack applies to '&', '<' and '>' in a
// slash command's text.
func unescapeSlack(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// commandKey names one slash command however it arrives.
func commandKey(sc slackapi.SlashCommand) string {
	if sc.TriggerID == "" {
		return ""
	}
	return "command:" + sc.TriggerID
}

// commandResponse is a slash command's message, in an ack or posted to
// its response URL.
type commandResponse struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func ephemeralResponse(text string) commandResponse {
	return commandResponse{ResponseType: "ephemeral", Text: text}
}

// onCommand handles a verified, new slash command and returns the ack.
func (g *Gateway) onCommand(sc slackapi.SlashCommand, transport string) any {
	log := g.log.With("transport", transport, "user", sc.UserID)
	if sc.UserID == "" {
		log.Warn("slack: dropped a slash command without a user")
		return nil
	}
	if sc.Command != "" && sc.Command != SlashCommand {
		log.Warn("slack: dropped a slash command firebreak does not answer", "command", clipLog(sc.Command))
		return ephemeralResponse("firebreak answers " + SlashCommand + " only.")
	}
	c, err := ParseCommand(sc.Text)
	if err != nil {
		return ephemeralResponse(Mrkdwn("Could not read that command: "+err.Error(), MaxSectionText))
	}
	if c.Name == "help" {
		return ephemeralResponse(CommandHelp)
	}
	dest, err := g.responseURL(sc.ResponseURL)
	if err != nil {
		log.Warn("slack: dropped a slash command with a response URL firebreak does not post to", "err", err)
		return ephemeralResponse("That command came without a Slack response URL; nothing was done.")
	}
	c.UserID, c.UserName, c.TeamID, c.ChannelID, c.Transport = sc.UserID, sc.UserName, sc.TeamID, sc.ChannelID, transport
	g.later(func(ctx context.Context) {
		reply, err := g.recv.Command(ctx, c)
		var out commandResponse
		var refused *Refused
		switch {
		case errors.As(err, &refused):
			log.Info("slack: command refused", "command", c.Name, "code", refused.Code)
			out = ephemeralResponse(fmt.Sprintf("`%s` was refused: %s", c.Name, Mrkdwn(refused.Message, 2000)))
		case err != nil:
			log.Error("slack: command failed", "command", c.Name, "err", err)
			out = ephemeralResponse("Could not reach the incidents; try again.")
		default:
			out = commandResponse{ResponseType: "ephemeral", Text: Mrkdwn(reply.Text, MaxFallbackText)}
			if reply.InChannel {
				out.ResponseType = "in_channel"
			}
		}
		if err := g.respond(ctx, dest, out); err != nil {
			log.Warn("slack: posting the command's reply failed", "err", err)
		}
	})
	return ephemeralResponse("Working on `" + c.Name + "`…")
}

// responseURL checks that raw is a URL Slack gave for replies: https on
// hooks.slack.com, or the configured API host (tests).
func (g *Gateway) responseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("the response URL does not parse")
	}
	if u.User != nil || u.Opaque != "" {
		return nil, errors.New("the response URL has user information")
	}
	if u.Scheme == "https" && u.Host == "hooks.slack.com" {
		return u, nil
	}
	if g.apiHost != nil && u.Scheme == g.apiHost.Scheme && u.Host == g.apiHost.Host {
		return u, nil
	}
	return nil, fmt.Errorf("the response URL is on %q, not hooks.slack.com", clipLog(u.Host))
}

// respond posts a reply to a response URL.
func (g *Gateway) respond(ctx context.Context, dest *url.URL, body commandResponse) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dest.String(), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := g.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("the response URL answered %s", resp.Status)
	}
	return nil
}
