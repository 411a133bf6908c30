package notify

import (
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

// onStatusPage reports whether the status page shows the record: one of
// its services, or any record when it names none.
func onStatusPage(s *spec.Spec, name, typ string) bool {
	if s == nil || s.StatusPage == nil {
		return false
	}
	if len(s.StatusPage.Services) == 0 {
		return true
	}
	return slices.ContainsFunc(s.StatusPage.Services, func(svc spec.Service) bool {
		return svc.Record == name && (svc.Type == "" || svc.Type == typ)
	})
}

// onFirstChoice reports whether a record event leaves the record where
// it answers from when all is well (its first pool; all pools for the
// other policies), as the status page's services table judges it.
func onFirstChoice(s *spec.Spec, note Notification) bool {
	return !note.Fallback && note.Pool != "" && note.Pool == firstPool(s, note.Record, note.RecordType)
}

// firstDC is the datacenter a failover record answers from when all is
// well, or "".
func firstDC(s *spec.Spec, name, typ string) string {
	return poolDC(s, firstPool(s, name, typ))
}

// startUp reports whether a failover is the cluster starting up rather
// than an outage: every endpoint of the pools the record moved away from
// that is down went down on its observers' first verdicts (never seen
// up: a cold start whose first probes ran before the sites listened, or
// a new pool whose site is not serving yet).
func startUp(view *controller.View, note Notification) bool {
	latest := map[string]controller.Event{}
	for _, ev := range view.Events() {
		if ev.Seq >= note.Seq {
			break
		}
		if ev.Kind == "endpoint" {
			latest[ev.Subject] = ev
		}
	}
	marked, unmarked := 0, 0
	for _, k := range awayFrom(view.Spec(), note) {
		ev, ok := latest[k]
		if !ok || !strings.Contains(ev.Message, " is down") {
			continue
		}
		if strings.Contains(ev.Message, controller.NeverSeenUp) {
			marked++
		} else {
			unmarked++
		}
	}
	return marked > 0 && unmarked == 0
}

// awayFrom lists the endpoints (pool/address) of the pools a record
// event moved away from: those it prefers to the one answering now.
func awayFrom(s *spec.Spec, note Notification) []string {
	if s == nil {
		return nil
	}
	var out []string
	for _, r := range s.Records {
		if r.Name != note.Record || r.Type != note.RecordType {
			continue
		}
		answering := strings.Split(note.Pool, ",")
		for _, ref := range r.Pools {
			if r.Policy == spec.PolicyFailover && ref.Pool == note.Pool {
				break // the pools after it were not left
			}
			if slices.Contains(answering, ref.Pool) {
				continue
			}
			for _, p := range s.Pools {
				if p.Name != ref.Pool {
					continue
				}
				for _, ep := range p.Endpoints {
					out = append(out, p.Name+"/"+ep.Address)
				}
			}
		}
	}
	return out
}

// plannedDrain reports whether the record event was made by an
// operator's drain: the command that moved it logged the drain just
// before (the record's and endpoints' events of one command come after
// the command's own, with its time).
func plannedDrain(view *controller.View, note Notification) bool {
	events := view.Events()
	i := slices.IndexFunc(events, func(ev controller.Event) bool { return ev.Seq == note.Seq })
	for i--; i >= 0; i-- {
		ev := events[i]
		if !ev.Time.Equal(note.Time) {
			return false
		}
		if ev.Kind == "record" || ev.Kind == "endpoint" {
			continue
		}
		return ev.Kind == "override" && strings.HasPrefix(ev.Subject, "drain:")
	}
	return false
}
