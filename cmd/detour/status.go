package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/spf13/cobra"
)

func newStatusCmd() *cobra.Command {
	var (
		o     clientOpts
		check bool
	)
	cmd := &cobra.Command{
		Use:   "status [--check]",
		Short: "Show members, health per datacenter/pool/endpoint and every record's answer",
		Long: `Show the cluster as the node at --api sees it: members and leader, the health
of every datacenter, pool and endpoint with each observer's view, each
record's current answer and why, and the overrides in force. A follower
answers from its own replica; the first line says how fresh it is.

Exits 1 (after the report, with a warning on stderr) when there is no leader,
no quorum, or the node asked is cut off from the leader (minority mode).
--check prints one line and exits as a Nagios check does: 0 OK, 1 WARNING (a
member unreachable, no voter failure left to survive, a record on its
fallback), 2 CRITICAL (no leader, no quorum, cut off), 3 UNKNOWN (the API did
not answer).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				if check {
					return checkResult(cmd.OutOrStdout(), checkUnknown, "cannot ask: "+err.Error())
				}
				return err
			}
			var st api.Status
			if err := c.do(cmd.Context(), "GET", "/v1/status", nil, &st); err != nil {
				if check {
					return checkResult(cmd.OutOrStdout(), checkUnknown, "cannot ask: "+err.Error())
				}
				return err
			}
			if check {
				code, line := judge(st)
				return checkResult(cmd.OutOrStdout(), code, line)
			}
			if o.json {
				if err := printJSON(cmd.OutOrStdout(), st); err != nil {
					return err
				}
			} else {
				printStatus(cmd.OutOrStdout(), st, colorFor(cmd.OutOrStdout()))
			}
			if code, line := judge(st); code == checkCritical {
				p := colorFor(cmd.ErrOrStderr())
				fmt.Fprintln(cmd.ErrOrStderr(), p.bad("detour: status: "+line))
				return errReported
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().BoolVar(&check, "check", false, "one line and a Nagios exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)")
	return cmd
}

// Nagios plugin exit codes.
const (
	checkOK       = 0
	checkWarning  = 1
	checkCritical = 2
	checkUnknown  = 3
)

// exitCode makes the process exit with its value, the output already
// written.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

func checkResult(w io.Writer, code int, line string) error {
	fmt.Fprintf(w, "DETOUR %s - %s\n", []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}[code], line)
	if code == checkOK {
		return nil
	}
	return exitCode(code)
}

// judge sums the status up as a check: its code and one line.
func judge(st api.Status) (int, string) {
	q := st.Quorum
	node := st.Freshness.Node
	switch {
	case st.Minority.CutOff:
		return checkCritical, fmt.Sprintf("%s is cut off from the leader (minority mode %s); %s", node, st.Minority.Mode, q.Summary)
	case st.Leader == "":
		return checkCritical, "no leader (asked " + node + "): " + q.Summary
	case q.Known && !q.OK:
		return checkCritical, q.Summary
	}
	var warn []string
	if !q.Known {
		warn = append(warn, "quorum unknown: "+q.Summary)
	}
	for _, m := range st.Members {
		if m.Reachability == "unreachable" {
			warn = append(warn, m.ID+" unreachable")
		}
	}
	if ids := geoIPDiffers(st.Members); len(ids) > 0 {
		warn = append(warn, "geoip database differs on "+strings.Join(ids, ", "))
	}
	if q.CanLose == 0 && q.Voters > 1 {
		warn = append(warn, "no voter failure left to survive")
	}
	for _, r := range st.Records {
		if r.Fallback {
			warn = append(warn, r.Name+" "+r.Type+" on its fallback")
		}
	}
	line := fmt.Sprintf("leader %s; %s", st.Leader, q.Summary)
	if len(warn) > 0 {
		return checkWarning, line + "; " + strings.Join(warn, "; ")
	}
	return checkOK, line
}

func printStatus(w io.Writer, st api.Status, p palette) {
	f := st.Freshness
	leader := p.bad("no leader")
	if st.Leader != "" {
		leader = "leader " + p.bold(st.Leader)
	}
	if st.Minority.CutOff {
		fmt.Fprintln(w, p.bad("!! THIS NODE IS CUT OFF; INFORMATION MAY BE OUT OF DATE"))
		fmt.Fprintln(w, p.bad("!! "+st.Minority.Message))
	}
	fmt.Fprintf(w, "%s · spec v%d · read from %s (%s, %s, applied index %d)\n", leader, st.SpecVersion, f.Node, strings.ToLower(f.RaftState), contactAge(f.LastContactMS), f.AppliedIndex)

	fmt.Fprintln(w, "\n"+p.bold("MEMBERS"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ID\tDATACENTER\tADDRESS\tVOTER\tROLE\tREACHABLE\tLAST CONTACT\tOBSERVER")
	fresh := map[string]string{}
	for _, o := range st.Observers {
		fresh[o.ID] = p.good("fresh")
		switch {
		case st.Minority.CutOff:
			// Freshness is the leader's judgement, which a cut-off node
			// cannot hear: its last replicated mark proves nothing.
			fresh[o.ID] = p.warn("unknown (cut off)")
		case !o.Fresh:
			fresh[o.ID] = p.bad("stale") + " (last report " + o.LastReport.UTC().Format(time.RFC3339) + ")"
		}
	}
	nonvoter := map[string]bool{}
	for _, m := range st.Members {
		obs := firstOf(fresh[m.ID], "-")
		if !m.Voter {
			nonvoter[m.ID] = true
			obs = "- (non-voters do not observe)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, firstOf(m.Datacenter, "-"), m.Address, yesNo(m.Voter), roleText(m, p), reachText(m, p), lastContact(m), obs)
	}
	tw.Flush()
	fmt.Fprintln(w, "  "+quorumLine(st.Quorum, p))
	printGeoIP(w, st.Members, p)

	fmt.Fprintln(w, "\n"+p.bold("HEALTH")+cutOffNote(st.Minority, p))
	for _, dc := range st.Datacenters {
		state := p.good("up")
		if !dc.Up {
			state = p.bad("DOWN")
		}
		if dc.Drained != "" {
			state += p.warn(" (drained: " + dc.Drained + ")")
		}
		fmt.Fprintf(w, "  datacenter %s: %s\n", dc.Name, state)
		for _, pl := range dc.Pools {
			ps := p.good("healthy")
			if !pl.Healthy {
				ps = p.bad("unhealthy")
			}
			fmt.Fprintf(w, "    pool %s: %s, %d/%d up (needs %d), check %s\n", pl.Name, ps, pl.Up, len(pl.Endpoints), pl.MinHealthy, pl.Check)
			for _, ep := range pl.Endpoints {
				es := p.good("up")
				switch {
				case !ep.Known:
					es = p.warn("unknown") + " (not checked yet, counted as up)"
				case !ep.Up:
					es = p.bad("DOWN")
				}
				if ep.Reason != "" {
					es += ": " + ep.Reason
				}
				fmt.Fprintf(w, "      %s %s\n", ep.Address, es)
				for _, ov := range ep.Observers {
					if nonvoter[ov.Observer] {
						continue
					}
					fmt.Fprintf(w, "        %s\n", observerView(ov, p))
				}
			}
		}
	}

	printMinorityAnswers(w, st.Minority, p)
	fmt.Fprintln(w, "\n"+p.bold("RECORDS")+cutOffNote(st.Minority, p))
	for _, r := range st.Records {
		ans, from := answerLine(r.Answers, r.Pool, r.Fallback, p)
		if r.PinnedTo != "" {
			from += p.warn(" (pinned)")
		}
		fmt.Fprintf(w, "  %s %s → %s  %s\n", r.Name, r.Type, ans, from)
		fmt.Fprintf(w, "      %s\n", p.dim(r.Reason))
		printGeo(w, r.GeoPolicy, r.Geo, p)
	}

	fmt.Fprintln(w, "\n"+p.bold("OVERRIDES"))
	if len(st.Overrides) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, o := range st.Overrides {
		what := "drain " + o.Target
		if o.Kind == "pin" {
			what = fmt.Sprintf("pin %s %s to pool %s", o.Record, o.Type, o.Pool)
		}
		until := "until cleared"
		if !o.Expires.IsZero() {
			until = "until " + o.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %s by %s: %s (%s)\n", p.warn(what), firstOf(o.Author, "unknown"), o.Reason, until)
	}

	if len(st.Notifications) > 0 {
		fmt.Fprintln(w, "\n"+p.bold("NOTIFICATIONS"))
	}
	for _, c := range st.Notifications {
		state := p.good("delivered")
		if c.Error != "" {
			state = p.bad("failing: " + c.Error)
		}
		fmt.Fprintf(w, "  %s: through event %d, %s\n", c.Channel, c.Seq, state)
		if c.Dropped > 0 {
			fmt.Fprintf(w, "    %s\n", p.warn(fmt.Sprintf("%d event(s) refused for good and dropped; last: %s", c.Dropped, c.LastDropped)))
		}
	}
	if len(st.Providers) > 0 {
		fmt.Fprintln(w, "\n"+p.bold("PROVIDERS"))
	}
	for _, pr := range st.Providers {
		state := p.good("in sync")
		if !pr.InSync {
			state = p.warn(fmt.Sprintf("%d change(s) pending", pr.Pending))
		}
		if pr.LastError != "" {
			state = p.bad("failing: " + pr.LastError)
		}
		last := "never synced"
		if !pr.LastSuccess.IsZero() {
			last = "last success " + pr.LastSuccess.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "  %s (%s, zone %s): %s; %s (pushed by %s)\n", pr.Name, pr.Type, pr.Zone, state, last, pr.By)
	}
}

func observerView(ov api.ObserverView, p palette) string {
	s := ov.Observer + ": "
	switch {
	case !ov.Known:
		s += "no verdict yet"
	case ov.Up:
		s += p.good("up")
	default:
		s += p.bad("down")
	}
	if ov.Reason != "" {
		s += " (" + ov.Reason + ")"
	}
	if !ov.Fresh {
		s += p.dim(" [stale: not counted]")
	}
	return s
}

func contactAge(ms float64) string {
	switch {
	case ms < 0:
		return "no contact with a leader yet"
	case ms == 0:
		return "current"
	}
	return "last contact " + time.Duration(ms*float64(time.Millisecond)).Round(time.Millisecond).String() + " ago"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// answerLine is a record's answers and where they come from, as status
// prints them: "no data", "pool web-us-east", FALLBACK, "no pool".
func answerLine(answers []string, pool string, fallback bool, p palette) (ans, from string) {
	ans = strings.Join(answers, ", ")
	if ans == "" {
		ans = "no data"
	}
	from = "pool " + pool
	switch {
	case fallback:
		from = p.bad("FALLBACK")
	case pool == "":
		from = "no pool"
	}
	return ans, from
}
