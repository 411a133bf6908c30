package chaos

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// The lab's WAN: every node-network link has a one-way delay drawn
// between minDelay and maxDelay per datacenter pair, and linkJitter.
const (
	minDelay   = 40 * time.Millisecond
	maxDelay   = 120 * time.Millisecond
	linkJitter = 10 * time.Millisecond
)

// Bounds of the invariants. One election is the figure cluster.md states
// for the lab's round trip (controller.Timing.ElectionTime of the timing
// --wan-rtt derives).
var (
	election = timing.ElectionTime()
	// Bound is interval x fall + one election + 1 s: how long a dead site
	// may stay in a majority node's answers (invariants 1 and 2).
	Bound = checkInterval*checkFall + election + time.Second
	// quiet is how long without changes before the nodes must agree: 5 s,
	// or Bound when longer (a failover may rightly take that long).
	quiet = max(5*time.Second, Bound)
)

// Violation is one broken invariant.
type Violation struct {
	Invariant int
	T         time.Duration // since the trial's start
	Node      string
	What      string
	Fault     string // the fault in force or last healed
}

func (v Violation) String() string {
	return fmt.Sprintf("invariant %d at %s on %s (during %s): %s", v.Invariant, v.T.Round(time.Millisecond), v.Node, v.Fault, v.What)
}

// answerDC is the datacenter whose address a is, or -1.
func answerDC(a string, n int) int {
	for i := range n {
		if Answer(i) == a {
			return i
		}
	}
	return -1
}

// expected is the www answer the truth calls for at t: the first site up.
func expected(w *World, t time.Time) string {
	for i := range w.n {
		if up, _ := w.SiteUp(i, t); up {
			return Answer(i)
		}
	}
	return Fallback
}

// checkTimeline checks invariants 1-4 over the samples. Consecutive
// violations of one invariant on one node (less than a second apart) are
// one episode, reported once with its length.
func checkTimeline(w *World, c *Cluster, samples []Sample, start time.Time) []Violation {
	var all []Violation
	add := func(s Sample, inv int, format string, args ...any) {
		all = append(all, Violation{Invariant: inv, T: s.T.Sub(start), Node: c.Nodes[s.Node].ID, What: fmt.Sprintf(format, args...)})
	}
	for _, s := range samples {
		if w.Proc(s.Node, s.T) != procRunning {
			continue
		}
		if w.InMajority(s.Node, s.T) && !fullAndLast(w, c, s) {
			checkMajority(w, s, add)
		}
		checkCutOff(w, c, s, add)
	}
	checkAgreement(w, c, samples, add)
	return episodes(all)
}

// episodes merges violations of one invariant on one node less than a
// second apart.
func episodes(all []Violation) []Violation {
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.Invariant != b.Invariant {
			return a.Invariant < b.Invariant
		}
		if a.Node != b.Node {
			return a.Node < b.Node
		}
		return a.T < b.T
	})
	var out []Violation
	n, last := 0, time.Duration(0)
	flush := func() {
		if n > 1 {
			out[len(out)-1].What += fmt.Sprintf(" (%d samples over %s)", n, (last - out[len(out)-1].T).Round(time.Millisecond))
		}
	}
	for _, v := range all {
		if len(out) > 0 {
			p := out[len(out)-1]
			if p.Invariant == v.Invariant && p.Node == v.Node && v.T-last < time.Second {
				n, last = n+1, v.T
				continue
			}
		}
		flush()
		out = append(out, v)
		n, last = 1, v.T
	}
	flush()
	sort.SliceStable(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

type addFunc func(s Sample, inv int, format string, args ...any)

// checkMajority is invariants 1 and 2 for a sample of a node that reaches
// a majority: no address dead longer than Bound, no fallback while a site
// has been up longer than Bound.
func checkMajority(w *World, s Sample, add addFunc) {
	if !s.WWW.OK || s.WWW.Rcode != dns.RcodeSuccess {
		return
	}
	quorum := w.QuorumSince(s.T)
	for _, a := range s.WWW.Addrs {
		if a == Fallback {
			for i := range w.n {
				up, since := w.SiteUp(i, s.T)
				if up && s.T.Sub(later(since, quorum)) > Bound {
					add(s, 2, "answers the fallback while site dc%d has been up %s", i+1, s.T.Sub(since).Round(time.Millisecond))
					break
				}
			}
			continue
		}
		i := answerDC(a, w.n)
		if i < 0 {
			add(s, 1, "answers %s, no site's address", a)
			continue
		}
		up, since := w.SiteUp(i, s.T)
		if !up && s.T.Sub(later(since, quorum)) > Bound {
			add(s, 1, "answers %s of site dc%d, dead for %s (bound %s)", a, i+1, s.T.Sub(since).Round(time.Millisecond), Bound)
		}
	}
}

// checkCutOff is invariant 4: a node cut off both ways for longer than
// minority_after (and 2 s to notice) is not ready and answers by its mode.
func checkCutOff(w *World, c *Cluster, s Sample, add addFunc) {
	cut, since, asym := w.CutOff(s.Node, s.T)
	if !cut || asym || s.T.Sub(since) < minorityAfter+2*time.Second {
		return
	}
	if s.Ready != 0 && (s.Ready != http.StatusServiceUnavailable || !strings.Contains(s.Why, "cut off")) {
		add(s, 4, "cut off for %s but /v1/ready says %d %q", s.T.Sub(since).Round(time.Millisecond), s.Ready, s.Why)
	}
	if !s.WWW.OK {
		return
	}
	switch c.Nodes[s.Node].Mode {
	case "servfail":
		if s.WWW.Rcode != dns.RcodeServerFailure {
			add(s, 4, "cut off in mode servfail, answers %s", s.WWW)
		}
	case "local":
		// Its own checks need interval x fall and a second to see a change.
		if w.QuietSince(s.T, false).After(s.T.Add(-(checkInterval*checkFall + time.Second))) {
			return
		}
		if want := expected(w, s.T); s.WWW.String() != want {
			add(s, 4, "cut off in mode local, answers %s, its own checks say %s", s.WWW, want)
		}
	}
}

// checkAgreement is invariant 3: after quiet with no change, every node
// that reaches a majority answers the same, for www (health only) and, when
// no write was made either, for app.
func checkAgreement(w *World, c *Cluster, samples []Sample, add addFunc) {
	byRound := map[int][]Sample{}
	for _, s := range samples {
		byRound[s.Round] = append(byRound[s.Round], s)
	}
	rounds := make([]int, 0, len(byRound))
	for r := range byRound {
		rounds = append(rounds, r)
	}
	sort.Ints(rounds)
	for _, r := range rounds {
		ss := byRound[r]
		t := ss[0].T
		for _, name := range []string{"www", "app"} {
			if w.QuietSince(t, name == "app").After(t.Add(-quiet)) {
				continue
			}
			seen := map[string][]string{}
			for _, s := range ss {
				a := s.WWW
				if name == "app" {
					a = s.App
				}
				if !a.OK || w.Proc(s.Node, s.T) != procRunning || !w.InMajority(s.Node, s.T) || fullAndApart(w, s) {
					continue
				}
				seen[a.String()] = append(seen[a.String()], c.Nodes[s.Node].ID)
			}
			if len(seen) > 1 {
				var parts []string
				for a, ns := range seen {
					parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(ns, ","), a))
				}
				slices.Sort(parts)
				add(ss[0], 3, "%s differs after %s quiet: %s", name, t.Sub(w.QuietSince(t, name == "app")).Round(time.Millisecond), strings.Join(parts, "; "))
			}
		}
	}
}

// Failover is how long after a site died the majority nodes stopped
// answering its address.
type Failover struct {
	Kind  string
	Took  time.Duration
	Never bool // still answered when the site came back
}

// failovers measures, for each fault that killed a site, the time from the
// death to the first sample after the last one in which a majority node
// still answered the dead address.
func failovers(w *World, faults []FaultRun, samples []Sample) []Failover {
	var out []Failover
	for _, f := range faults {
		if f.SiteDown < 0 || f.Kind == FaultFlap {
			continue
		}
		dead := Answer(f.SiteDown)
		var back time.Time
		for _, s := range samples {
			if up, since := w.SiteUp(f.SiteDown, s.T); up && since.After(f.SiteAt) {
				back = since
				break
			}
		}
		var last time.Time
		for _, s := range samples {
			if s.T.Before(f.SiteAt) || (!back.IsZero() && !s.T.Before(back)) {
				continue
			}
			if w.InMajority(s.Node, s.T) && slices.Contains(s.WWW.Addrs, dead) {
				last = s.T
			}
		}
		kind := f.Kind
		if f.Kind == FaultKillDC && f.Leader {
			kind += " (leader's)"
		}
		if last.IsZero() {
			continue // nobody answered it: it was not serving
		}
		out = append(out, Failover{Kind: kind, Took: last.Add(100 * time.Millisecond).Sub(f.SiteAt),
			Never: !back.IsZero() && back.Sub(last) < 200*time.Millisecond})
	}
	return out
}

// recoveries measures, for each fault, the time from its heal to the first
// round in which every node is ready and answers what the truth calls for
// (-1: not within the samples).
func recoveries(w *World, n int, faults []FaultRun, samples []Sample) []time.Duration {
	byRound := map[int][]Sample{}
	var rounds []int
	for _, s := range samples {
		if _, ok := byRound[s.Round]; !ok {
			rounds = append(rounds, s.Round)
		}
		byRound[s.Round] = append(byRound[s.Round], s)
	}
	sort.Ints(rounds)
	out := make([]time.Duration, len(faults))
	for k, f := range faults {
		out[k] = -1
		for _, r := range rounds {
			ss := byRound[r]
			if ss[0].T.Before(f.Healed) || len(ss) < n {
				continue
			}
			good := true
			for _, s := range ss {
				good = good && s.Ready == http.StatusOK && s.WWW.String() == expected(w, s.T)
			}
			if good {
				out[k] = ss[0].T.Sub(f.Healed)
				break
			}
		}
	}
	return out
}
