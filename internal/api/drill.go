package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/controller"
)

// controlPlane works out which voters losing dc leaves.
func (s *Server) controlPlane(r *http.Request, dc string) DrillControlPlane {
	members, q := s.store.MembersHealth(r.Context())
	cp := DrillControlPlane{Lost: []string{}}
	for _, m := range members {
		if !m.Voter {
			continue
		}
		cp.Voters++
		switch {
		case m.Datacenter == dc:
			cp.Lost = append(cp.Lost, m.ID)
		case m.Reachability == "unreachable":
			cp.Down = append(cp.Down, m.ID)
		default:
			cp.Left++
		}
	}
	cp.Needed = cp.Voters/2 + 1
	cp.QuorumKept = cp.Left >= cp.Needed
	already := ""
	if len(cp.Down) > 0 {
		already = fmt.Sprintf(" (%s already unreachable)", strings.Join(cp.Down, ", "))
	}
	if cp.QuorumKept {
		cp.Summary = fmt.Sprintf("losing %s leaves %d/%d voters%s: quorum kept, can lose %d more", dc, cp.Left, cp.Voters, already, cp.Left-cp.Needed)
	} else {
		cp.Summary = fmt.Sprintf("losing %s leaves %d/%d voters%s: loses the Raft majority (%d needed): no leader, so no failover and no changes until voters return", dc, cp.Left, cp.Voters, already, cp.Needed)
	}
	if !q.Known {
		cp.Summary += " (reachability unknown: " + q.Summary + ")"
	}
	return cp
}

// lostDC marks every endpoint of a datacenter's pools down.
type lostDC struct {
	inner  controller.Health
	dc     string
	poolDC map[string]string
}

func (l lostDC) Endpoint(pool, addr string) controller.EndpointHealth {
	if l.poolDC[pool] == l.dc {
		return controller.EndpointHealth{Known: true, Up: false, Reason: "datacenter " + l.dc + " lost (drill)"}
	}
	return l.inner.Endpoint(pool, addr)
}

func (s *Server) drill(w http.ResponseWriter, r *http.Request) {
	var req DrillRequest
	if !decode(w, r, &req) {
		return
	}
	sp, version := s.store.FSM().Spec()
	if req.YAML != "" {
		if !s.specSlot.acquire(w, r) {
			return
		}
		defer s.specSlot.release()
		var ok bool
		if sp, _, ok = parseSpec(w, req.YAML); !ok {
			return
		}
		version = 0
	}
	if sp == nil {
		writeError(w, http.StatusServiceUnavailable, "the cluster has no spec yet: drill a file with --spec FILE, or apply one")
		return
	}
	var dcs []string
	for _, d := range sp.Datacenters {
		dcs = append(dcs, d.Name)
	}
	if !slices.Contains(dcs, req.Lose) {
		writeError(w, http.StatusBadRequest, "datacenter %q is not in the spec (datacenters: %s)", req.Lose, strings.Join(dcs, ", "))
		return
	}
	res := DrillResult{Lose: req.Lose, SpecVersion: version, Records: []DrillRecord{}, Problems: []string{}, Survivable: true}
	view := s.store.FSM().View()
	gone := map[string]bool{}
	for _, m := range view.Members() {
		if m.Datacenter == req.Lose {
			gone[m.ID] = true
		}
	}
	poolDC := map[string]string{}
	for _, p := range sp.Pools {
		poolDC[p.Name] = p.Datacenter
	}
	now := view.EvaluatePinned(sp, view.HealthWithout(sp, nil))
	after := view.EvaluatePinned(sp, lostDC{inner: view.HealthWithout(sp, gone), dc: req.Lose, poolDC: poolDC})
	for i, d := range after {
		dr := DrillRecord{RecordStatus: RecordStatus{Name: d.Name, Type: d.Type, Answers: d.Answers, Pool: d.Pool, Reason: d.Reason, Fallback: d.Fallback,
			GeoPolicy: d.GeoPolicy, Geo: convertSlice(d.Geo, wireGeoAnswer)},
			Now: now[i].Answers, Survives: true}
		if dr.Answers == nil {
			dr.Answers = []string{}
		}
		if dr.Now == nil {
			dr.Now = []string{}
		}
		pin, pinned := view.Pin(d.Name, d.Type)
		if pinned {
			dr.PinnedTo = pin.Pool
		}
		var problem string
		switch {
		case pinned && poolDC[pin.Pool] == req.Lose:
			problem = fmt.Sprintf("%s %s: pinned to pool %s in %s, so it would keep answering the lost datacenter; release the pin (detour failover %s --release)", d.Name, d.Type, pin.Pool, req.Lose, d.Name)
		case d.Fallback:
			problem = fmt.Sprintf("%s %s: %s", d.Name, d.Type, d.Reason)
		case len(d.Answers) == 0:
			problem = fmt.Sprintf("%s %s: nothing to answer", d.Name, d.Type)
		}
		if problem != "" {
			dr.Survives, res.Survivable = false, false
			res.Problems = append(res.Problems, problem)
		}
		res.Records = append(res.Records, dr)
	}
	res.ControlPlane = s.controlPlane(r, req.Lose)
	if !res.ControlPlane.QuorumKept {
		res.Survivable = false
		res.Problems = append(res.Problems, "control plane: "+res.ControlPlane.Summary)
	}
	res.Freshness = s.freshness()
	writeJSON(w, http.StatusOK, res)
}
