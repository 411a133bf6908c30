package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Slack posts to an incoming webhook: a plain text fallback (shown in
// notifications) and blocks (shown in the channel).
type Slack struct {
	URL  string
	deps Deps
}

// SlackMessage is an incoming webhook's payload.
type SlackMessage struct {
	Text   string       `json:"text"`
	Blocks []SlackBlock `json:"blocks"`
}

// SlackBlock is a Block Kit layout block: header, section or context.
type SlackBlock struct {
	Type     string       `json:"type"`
	Text     *SlackText   `json:"text,omitempty"`
	Elements []*SlackText `json:"elements,omitempty"`
}

// SlackText is a Block Kit text object.
type SlackText struct {
	Type string `json:"type"` // plain_text or mrkdwn
	Text string `json:"text"`
}

// Deliver implements Channel.
func (s *Slack) Deliver(ctx context.Context, n Notification) error {
	body, err := json.Marshal(slackMessage(n))
	if err != nil {
		return err
	}
	return post(ctx, s.deps.client, s.URL, body, nil)
}

func slackMessage(n Notification) SlackMessage {
	details := slackEscape(n.Message)
	if inc := n.Incident; inc != nil {
		if len(inc.Updates) > 0 && inc.Updates[len(inc.Updates)-1].Message != "" {
			details += "\n>" + slackEscape(inc.Updates[len(inc.Updates)-1].Message)
		}
		if !inc.ETA.IsZero() {
			details += fmt.Sprintf("\n*Expected resolution:* %s", inc.ETA.UTC().Format("2006-01-02 15:04 MST"))
		}
	}
	ctxLine := fmt.Sprintf("%s · %s · event %s · %s", n.Severity, n.Kind, n.ID, n.Time.UTC().Format(time.RFC3339))
	return SlackMessage{
		Text: truncate(headline(n), 3000),
		Blocks: []SlackBlock{
			// Slack caps header text at 150 characters, section text at
			// 3000.
			{Type: "header", Text: &SlackText{Type: "plain_text", Text: truncate(headline(n), 150)}},
			{Type: "section", Text: &SlackText{Type: "mrkdwn", Text: truncate(details, 3000)}},
			{Type: "context", Elements: []*SlackText{{Type: "mrkdwn", Text: ctxLine}}},
		},
	}
}

// slackEscape escapes the three characters Slack's mrkdwn reserves.
func slackEscape(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		switch r {
		case '&':
			out = append(out, []rune("&amp;")...)
		case '<':
			out = append(out, []rune("&lt;")...)
		case '>':
			out = append(out, []rune("&gt;")...)
		default:
			out = append(out, r)
		}
	}
	return string(out)
}
