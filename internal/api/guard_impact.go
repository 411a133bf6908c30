package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// The impact guard: a drain, a pin or a spec apply that would send a
// record to its fallback, or leave it no healthy pool, is refused with
// 409 unless the request says force; with dry_run any of them only says
// what it would do. The check runs here, on the node that takes the
// request, so every client is protected, not only the CLI: the change is
// applied hypothetically to the state in force (its health, drains and
// pins), as a drill applies the loss of a datacenter. The callers catch
// up with the leader first (catchUp), so a follower judges the state
// the leader holds, not its own possibly older copy.

// change is a write the guard evaluates before it is made.
type change struct {
	// spec replaces the spec in force when set.
	spec *spec.Spec
	// drain is a target drained on top of the drains in force.
	drain string
	// pin is a pin set on top of the pins in force.
	pin *controller.Override
}

// extraDrain counts one more drain target down.
type extraDrain struct {
	inner  controller.Health
	target string
	poolDC map[string]string
}

func (d extraDrain) Endpoint(pool, addr string) controller.EndpointHealth {
	if d.target == pool+"/"+addr || d.target == pool || d.target == d.poolDC[pool] {
		return controller.EndpointHealth{Known: true, Up: false, Reason: "drained " + d.target + " (this change)"}
	}
	return d.inner.Endpoint(pool, addr)
}

// impact evaluates ch against the state in force: every record's answer
// now and after it.
func (s *Server) impact(ch change) Impact {
	res := Impact{Records: []RecordImpact{}, Harmful: []string{}}
	view := s.store.FSM().View()
	next := view.Spec()
	if ch.spec != nil {
		next = ch.spec
	}
	if next == nil {
		return res
	}
	before := answersNow(view)
	h := view.HealthWithout(next, nil)
	if ch.drain != "" {
		h = extraDrain{inner: h, target: ch.drain, poolDC: poolDCs(next)}
	}
	pins := view.Pins()
	if ch.pin != nil {
		pins[ch.pin.Record+"/"+ch.pin.Type] = ch.pin
	}
	for _, d := range controller.EvaluatePinned(next, h, pins) {
		ri := compare(d.Name, d.Type, before, answerOf(d, next, h, pins))
		if ri.Harm != "" {
			res.Harmful = append(res.Harmful, ri.Harm)
		}
		res.Records = append(res.Records, ri)
	}
	return res
}

// answersNow is every record's answer in force, by "name/type".
func answersNow(view *controller.View) map[string]RecordAnswer {
	out := map[string]RecordAnswer{}
	cur := view.Spec()
	if cur == nil {
		return out
	}
	h, pins := view.HealthWithout(cur, nil), view.Pins()
	for _, d := range controller.EvaluatePinned(cur, h, pins) {
		out[d.Name+"/"+d.Type] = answerOf(d, cur, h, pins)
	}
	return out
}

// compare is one record's answer before and after; a record new to the
// spec counts as healthy before.
func compare(name, typ string, before map[string]RecordAnswer, after RecordAnswer) RecordImpact {
	ri := RecordImpact{Name: name, Type: typ, After: after}
	b, existed := before[name+"/"+typ]
	if existed {
		ri.Before = b
	} else {
		ri.Before = RecordAnswer{Answers: []string{}, Healthy: true, Reason: "not in the spec in force"}
	}
	ri.Changed = !existed || b.Pool != after.Pool || b.Fallback != after.Fallback || !slices.Equal(b.Answers, after.Answers)
	if ri.Before.Healthy && !after.Healthy {
		ri.Harm = harm(ri)
	}
	return ri
}

// answerOf is a decision as the guard compares it.
func answerOf(d controller.Decision, sp *spec.Spec, h controller.Health, pins map[string]*controller.Override) RecordAnswer {
	a := RecordAnswer{Answers: d.Answers, Pool: d.Pool, Fallback: d.Fallback, Healthy: !d.Fallback, Reason: d.Reason}
	if a.Answers == nil {
		a.Answers = []string{}
	}
	if pin := pins[d.Name+"/"+d.Type]; pin != nil && a.Healthy {
		for i := range sp.Pools {
			if p := &sp.Pools[i]; p.Name == pin.Pool {
				a.Healthy = poolHealthy(p, h)
			}
		}
	}
	return a
}

// poolHealthy applies the policy's rule: enough endpoints up (or not yet
// checked).
func poolHealthy(p *spec.Pool, h controller.Health) bool {
	up := 0
	for _, ep := range p.Endpoints {
		if e := h.Endpoint(p.Name, ep.Address); !e.Known || e.Up {
			up++
		}
	}
	return up >= max(p.MinHealthy, 1)
}

func poolDCs(sp *spec.Spec) map[string]string {
	m := map[string]string{}
	for _, p := range sp.Pools {
		m[p.Name] = p.Datacenter
	}
	return m
}

// harm says what the change does to a record it hurts, and why.
func harm(ri RecordImpact) string {
	return fmt.Sprintf("%s (%s → %s): %s", shortHarm(ri), answerText(ri.Before), answerText(ri.After), ri.After.Reason)
}

// shortHarm is harm without the answers and the reason.
func shortHarm(ri RecordImpact) string {
	what := "would lose every healthy pool"
	if ri.After.Fallback {
		what = "would go to its fallback"
	}
	return ri.Name + " " + ri.Type + " " + what
}

// answerText is an answer in one phrase: "192.0.2.10 (pool web-us-east)".
func answerText(a RecordAnswer) string { return policy.Phrase(a.Answers, a.Pool, a.Fallback) }

// guardWrite decides whether a write goes ahead: it answers a dry run
// with the impact, refuses a harmful change without force (409), and
// logs a forced one. It reports true when the caller should make the
// change; the string is a note for the reply of a forced change.
func (s *Server) guardWrite(w http.ResponseWriter, r *http.Request, g Guard, ch change, what string) (string, bool) {
	imp := s.impact(ch)
	imp.Refused = len(imp.Harmful) > 0 && !g.Force
	if g.DryRun {
		imp.DryRun = true
		imp.Message = "dry run of " + what + ": nothing was changed"
		writeJSON(w, http.StatusOK, imp)
		return "", false
	}
	if imp.Refused {
		e := RefusalError{Impact: imp}
		e.Error.Error = fmt.Sprintf("refused: %s would leave %d record(s) without a healthy answer, so nothing was changed; see it with --dry-run, make it anyway with --force (force: true)", what, len(imp.Harmful))
		for _, h := range imp.Harmful {
			name, msg, _ := strings.Cut(h, " would ")
			e.Problems = append(e.Problems, Problem{Path: name, Message: "would " + msg})
		}
		writeJSON(w, http.StatusConflict, e)
		return "", false
	}
	if len(imp.Harmful) == 0 {
		return "", true
	}
	s.logger.Warn("forced a change the guard refuses", "change", what, "by", caller(r.Context()).Name, "records", strings.Join(imp.Harmful, "; "))
	var short []string
	for _, ri := range imp.Records {
		if ri.Harm != "" {
			short = append(short, shortHarm(ri))
		}
	}
	return fmt.Sprintf(" (forced: %s)", strings.Join(short, "; ")), true
}
