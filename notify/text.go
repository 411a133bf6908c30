package notify

import (
	"fmt"
	"strings"
	"time"
)

// headline is the severity's marker and the title, for chat and mail
// subjects.
func headline(n Notification) string {
	mark := map[string]string{SeverityCritical: "[DOWN]", SeverityWarning: "[WARNING]", SeverityResolved: "[RESOLVED]", SeverityInfo: "[INFO]"}[n.Severity]
	return strings.TrimSpace(mark + " " + n.Title)
}

// plainText is the body shared by email and chat: what happened, the
// incident if any, and the event's ID for dedupe and audit.
func plainText(n Notification) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n", n.Title, n.Message)
	if inc := n.Incident; inc != nil {
		fmt.Fprintf(&b, "\nIncident %s (%s): %s\n", inc.ID, inc.Status, inc.Title)
		if len(inc.Updates) > 0 {
			if u := inc.Updates[len(inc.Updates)-1]; u.Message != "" {
				fmt.Fprintf(&b, "Latest update: %s\n", u.Message)
			}
		}
		if !inc.ETA.IsZero() {
			fmt.Fprintf(&b, "Expected resolution: %s\n", inc.ETA.UTC().Format(time.RFC1123))
		}
	}
	fmt.Fprintf(&b, "\nSeverity: %s\nWhen: %s\nEvent: %s (%s %s)\n", n.Severity, n.Time.UTC().Format(time.RFC1123), n.ID, n.Kind, n.Subject)
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	for len(string(r)) > n-3 {
		r = r[:len(r)-1]
	}
	return string(r) + "..."
}
