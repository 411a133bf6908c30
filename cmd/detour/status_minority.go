package main

import (
	"fmt"
	"io"

	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// cutOffNote marks a section of the status of a cut-off node as the
// cluster's last replicated view: the node cannot know what the
// cluster decided since.
func cutOffNote(m wire.MinorityStatus, p palette) string {
	if !m.CutOff {
		return ""
	}
	return p.warn(" (the cluster's last view before this node was cut off: may be out of date)")
}

// printMinorityAnswers prints what a cut-off node's DNS server answers
// by its minority mode, which may differ from the cluster's last
// answers listed under RECORDS.
func printMinorityAnswers(w io.Writer, m wire.MinorityStatus, p palette) {
	if !m.CutOff {
		return
	}
	switch m.Mode {
	case "servfail": // the node settings' minority_mode values
		fmt.Fprintln(w, "\n"+p.bold("DNS ANSWERS OF THIS NODE")+p.warn(" (cut off, minority_mode servfail)"))
		fmt.Fprintln(w, "  SERVFAIL for every query, so resolvers ask another nameserver")
		return
	case "last":
		fmt.Fprintln(w, "\n"+p.bold("DNS ANSWERS OF THIS NODE")+p.warn(" (cut off, minority_mode last)"))
		fmt.Fprintln(w, "  the cluster's last answers, as under RECORDS")
		return
	}
	if len(m.Answers) == 0 {
		return
	}
	fmt.Fprintln(w, "\n"+p.bold("DNS ANSWERS OF THIS NODE")+p.warn(" (cut off, minority_mode local: from this node's own health checks)"))
	for _, d := range m.Answers {
		ans, from := answerLine(d.Answers, d.Pool, d.Fallback, p)
		fmt.Fprintf(w, "  %s %s → %s  %s\n", d.Name, d.Type, ans, from)
		fmt.Fprintf(w, "      %s\n", p.dim(d.Reason))
	}
}
