package slackfake_test

import (
	"context"
	"fmt"
	"time"

	slackapi "github.com/slack-go/slack"

	"github.com/firebreak-ir/firebreak/integrations/slack/slackfake"
)

// A test posts a prompt through slack-go, waits for it without sleeping,
// and clicks its button as a user would.
func Example() {
	f := slackfake.New()
	defer f.Close()
	f.AddUser("U1", "ana")
	ch := f.AddChannel("inc-1", true, "U1")

	api := slackapi.New(f.BotToken, slackapi.OptionAPIURL(f.URL()))
	ack := slackapi.NewButtonBlockElement("firebreak/ack", `{"i":"inc-1","s":"page"}`, slackapi.NewTextBlockObject("plain_text", "Acknowledge", false, false))
	go api.PostMessage(ch, slackapi.MsgOptionText("You are paged", false), slackapi.MsgOptionBlocks(slackapi.NewActionBlock("page", ack)))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var prompt slackfake.Message
	err := f.Wait(ctx, func(s *slackfake.Snapshot) bool {
		found := s.WithButton(ch, "firebreak/ack")
		if len(found) > 0 {
			prompt = found[0]
		}
		return len(found) > 0
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	click, err := f.Click("U1", ch, prompt.TS, "firebreak/ack")
	fmt.Println(click.Type, err)
	// Then: f.DeliverHTTP(ctx, gatewayURL, click) or f.DeliverSocket(ctx, click).
	// Output: block_actions <nil>
}
