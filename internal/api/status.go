package api

import (
	"net/http"

	"github.com/seed3787e6f1/detour/internal/api/wire"
)

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.buildStatus()
	members, q := s.store.MembersHealth(r.Context())
	st.Members, st.Quorum = wireMembers(members), wireQuorum(q)
	st.Minority = s.minorityStatus()
	writeJSON(w, http.StatusOK, st)
}

// minorityStatus is whether this node is cut off, "none" for the mode of
// a node without minority mode.
func (s *Server) minorityStatus() wire.MinorityStatus {
	m := wireMinority(s.minority.Status())
	if m.Mode == "" {
		m.Mode = "none"
	}
	return m
}

func (s *Server) buildStatus() Status {
	st := Status{Freshness: s.freshness(), Observers: []ObserverStatus{}, Datacenters: []DatacenterStatus{},
		Records: []RecordStatus{}}
	st.Leader = st.Freshness.LeaderID
	members, err := s.store.Members()
	if err != nil {
		s.logger.Warn("status: members", "err", err)
	}
	st.Members = wireMembers(members)
	view := s.store.FSM().View()
	st.SpecVersion, st.StateTime, st.Index = view.SpecVersion(), view.Now(), view.Index()
	observers := view.Observers()
	for _, o := range observers {
		st.Observers = append(st.Observers, ObserverStatus{ID: o.ID, Datacenter: o.Datacenter, Fresh: o.Fresh, LastReport: o.LastReport})
	}
	st.Overrides = wireOverrides(view.Overrides())
	st.Notifications = convertSlice(view.Cursors(), wireCursor)
	st.Providers = convertSlice(view.Providers(), wireProviderSync)
	if len(st.Notifications) == 0 {
		st.Notifications = nil
	}
	if len(st.Providers) == 0 {
		st.Providers = nil
	}
	sp := view.Spec()
	if sp == nil {
		return st
	}
	health := view.HealthWithout(sp, nil)
	for _, dc := range sp.Datacenters {
		ds := DatacenterStatus{Name: dc.Name, Pools: []PoolStatus{}}
		if d, ok := view.Drain(dc.Name); ok {
			ds.Drained = d.Reason
		}
		for _, p := range sp.Pools {
			if p.Datacenter != dc.Name {
				continue
			}
			ps := PoolStatus{Name: p.Name, Datacenter: p.Datacenter, Check: p.Check, MinHealthy: p.MinHealthy, Endpoints: []EndpointStatus{}}
			for _, ep := range p.Endpoints {
				h := health.Endpoint(p.Name, ep.Address)
				es := EndpointStatus{Address: ep.Address, Known: h.Known, Up: !h.Known || h.Up, Reason: h.Reason, Observers: []ObserverView{}}
				if es.Up {
					ps.Up++
				}
				for _, o := range observers {
					ov := ObserverView{Observer: o.ID, Fresh: o.Fresh}
					if v, ok := view.Verdict(o.ID, p.Name, ep.Address); ok {
						ov.Known, ov.Up, ov.Reason, ov.LatencyMS, ov.Since = true, v.Up, v.Reason, v.Latency, v.Since
					}
					es.Observers = append(es.Observers, ov)
				}
				ps.Endpoints = append(ps.Endpoints, es)
			}
			ps.Healthy = ps.Up >= p.MinHealthy
			ds.Up = ds.Up || ps.Healthy
			ds.Pools = append(ds.Pools, ps)
		}
		st.Datacenters = append(st.Datacenters, ds)
	}
	for _, d := range view.Decisions() {
		rs := RecordStatus{Name: d.Name, Type: d.Type, Answers: d.Answers, Pool: d.Pool, Reason: d.Reason, Fallback: d.Fallback}
		if rs.Answers == nil {
			rs.Answers = []string{}
		}
		if pin, ok := view.Pin(d.Name, d.Type); ok {
			rs.PinnedTo = pin.Pool
		}
		rs.GeoPolicy, rs.Geo = d.GeoPolicy, convertSlice(d.Geo, wireGeoAnswer)
		st.Records = append(st.Records, rs)
	}
	return st
}
