package api

import (
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/controller"
)

// Status is GET /v1/status: what `detour status` shows.
type Status struct {
	// Leader is the leader's node ID, empty when none is known.
	Leader      string                  `json:"leader"`
	Freshness   Freshness               `json:"freshness"`
	SpecVersion uint64                  `json:"spec_version"`
	Members     []controller.MemberInfo `json:"members"`
	// Quorum is how many voters are up and how many more may fail, as
	// the leader sees them.
	Quorum controller.Quorum `json:"quorum"`
	// Minority says whether this node is cut off from the leader.
	Minority    controller.MinorityStatus `json:"minority"`
	Observers   []ObserverStatus          `json:"observers"`
	Datacenters []DatacenterStatus        `json:"datacenters"`
	Records     []RecordStatus            `json:"records"`
	Overrides   []*controller.Override    `json:"overrides"`
	// Notifications is each channel's delivery cursor and last error.
	Notifications []controller.NotifyCursor `json:"notifications,omitempty"`
	// Providers is each DNS provider's sync as the leader last committed
	// it.
	Providers []controller.ProviderSync `json:"providers,omitempty"`
	// StateTime is the time of the latest change applied: the state's
	// clock.
	StateTime time.Time `json:"state_time"`
	// Index is the log index of the latest change applied in the state
	// shown: a write whose index is at or below it is in it.
	Index uint64 `json:"index"`
}

// ObserverStatus is one node's standing as an observer of health.
type ObserverStatus struct {
	ID         string    `json:"id"`
	Datacenter string    `json:"datacenter"`
	Fresh      bool      `json:"fresh"`
	LastReport time.Time `json:"last_report"`
}

// DatacenterStatus is a datacenter's health: up while any of its pools
// is healthy.
type DatacenterStatus struct {
	Name    string       `json:"name"`
	Up      bool         `json:"up"`
	Drained string       `json:"drained,omitempty"`
	Pools   []PoolStatus `json:"pools"`
}

// PoolStatus is a pool's health: healthy with at least MinHealthy
// endpoints up.
type PoolStatus struct {
	Name       string           `json:"name"`
	Datacenter string           `json:"datacenter"`
	Check      string           `json:"check"`
	Healthy    bool             `json:"healthy"`
	Up         int              `json:"up"`
	MinHealthy int              `json:"min_healthy"`
	Endpoints  []EndpointStatus `json:"endpoints"`
}

// EndpointStatus is the cluster's verdict on an endpoint (drains
// applied) and each observer's own view of it.
type EndpointStatus struct {
	Address string `json:"address"`
	// Known is false until an observer reported; unknown counts as up.
	Known     bool           `json:"known"`
	Up        bool           `json:"up"`
	Reason    string         `json:"reason,omitempty"`
	Observers []ObserverView `json:"observers"`
}

// ObserverView is one observer's local verdict on an endpoint.
type ObserverView struct {
	Observer string `json:"observer"`
	// Fresh is false when the observer stopped reporting: its view no
	// longer counts.
	Fresh     bool      `json:"fresh"`
	Known     bool      `json:"known"`
	Up        bool      `json:"up"`
	Reason    string    `json:"reason,omitempty"`
	LatencyMS float64   `json:"latency_ms,omitempty"`
	Since     time.Time `json:"since,omitzero"`
}

// RecordStatus is a record's current answer and why.
type RecordStatus struct {
	Name     string   `json:"name"`
	Type     string   `json:"type"`
	Answers  []string `json:"answers"`
	Pool     string   `json:"pool"`
	Reason   string   `json:"reason"`
	Fallback bool     `json:"fallback"`
	// PinnedTo is the pool an operator pinned the record to.
	PinnedTo string `json:"pinned_to,omitempty"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	st := s.buildStatus()
	st.Members, st.Quorum = s.store.MembersHealth(r.Context())
	if st.Members == nil {
		st.Members = []controller.MemberInfo{}
	}
	st.Minority = s.minority.Status()
	if st.Minority.Mode == "" {
		st.Minority.Mode = "none"
	}
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) buildStatus() Status {
	st := Status{Freshness: s.freshness(), Observers: []ObserverStatus{}, Datacenters: []DatacenterStatus{},
		Records: []RecordStatus{}, Overrides: []*controller.Override{}}
	st.Leader = st.Freshness.LeaderID
	members, err := s.store.Members()
	if err != nil {
		s.logger.Warn("status: members", "err", err)
	}
	st.Members = members
	if st.Members == nil {
		st.Members = []controller.MemberInfo{}
	}
	view := s.store.FSM().View()
	st.SpecVersion, st.StateTime, st.Index = view.SpecVersion(), view.Now(), view.Index()
	observers := view.Observers()
	for _, o := range observers {
		st.Observers = append(st.Observers, ObserverStatus{ID: o.ID, Datacenter: o.Datacenter, Fresh: o.Fresh, LastReport: o.LastReport})
	}
	for _, o := range view.Overrides() {
		st.Overrides = append(st.Overrides, &o)
	}
	st.Notifications = view.Cursors()
	st.Providers = view.Providers()
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
		st.Records = append(st.Records, rs)
	}
	return st
}
