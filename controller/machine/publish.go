package machine

// Publishing the read view: after applies, under its owner's lock,
// Machine.Publish builds a new View from the state and swaps it in. The cost is
// what the command touched, not the size of the state: the parts a
// command cannot have changed are shared with the previous View.

// part names a part of the state that commands change.
type part uint16

const (
	partSpec part = 1 << iota
	partObservers
	partOverrides
	partMembers
	partIncidents
	partCursors
	partProviders

	partAll = ^part(0)
)

// touches says which parts of the state c may have changed and, when
// they include the observers, the one observer changed ("" for any).
// A command type not listed here touches everything: a command added
// without a line here costs a full copy, never a stale view.
func touches(c *Command) (part, string) {
	switch c.Type {
	case CmdSetSpec, CmdActivateSpec:
		return partSpec, ""
	case CmdObserverReport:
		if c.Report != nil {
			return partObservers, c.Report.Observer
		}
	case CmdObserverLiveness:
		if c.Liveness != nil {
			return partObservers, c.Liveness.Observer
		}
	case CmdSetOverride, CmdClearOverride, CmdExpireOverrides:
		return partOverrides, ""
	case CmdRegisterMember, CmdRemoveMember:
		if c.Member != nil {
			return partMembers | partObservers, c.Member.ID
		}
	case CmdHeartbeat:
		return 0, ""
	case CmdIncident:
		return partIncidents, ""
	case CmdNotifyCursor:
		return partCursors, ""
	case CmdProviderSync:
		return partProviders, ""
	}
	return partAll, ""
}

// dirt gathers what the applies since the last publication changed.
type dirt struct {
	parts part
	// observer is the only observer changed, "" for any; valid when
	// parts has partObservers.
	observer string
}

// add notes that p changed, and observer (when p has partObservers).
func (d *dirt) add(p part, observer string) {
	if p&partObservers != 0 {
		if d.parts&partObservers != 0 && d.observer != observer {
			observer = ""
		}
		d.observer = observer
	}
	d.parts |= p
}

// buildView returns a view of st that shares with prev whatever d says
// did not change.
func buildView(prev *View, st *State, d dirt) *View {
	v := &View{
		index: st.Index, term: st.Term, now: st.Now,
		spec: st.spec, specHash: st.SpecHash, specVersion: st.SpecVersion, staged: st.Staged, refused: st.refused,
		observers: prev.observers, overrides: prev.overrides, members: prev.members,
		incidents: prev.incidents, cursors: prev.cursors, providers: prev.providers,
		events:    st.Events[:len(st.Events):len(st.Events)],
		nextEvent: st.NextEvent, nextIncident: st.NextIncident, versions: st.Serials,
		decisions: st.decisions, extra: extraOf(st),
		applied: st.Applied, results: st.Results, lastKnown: st.LastKnown,
		changed: make(chan struct{}),
	}
	if d.parts&partObservers != 0 {
		v.observers = copyObservers(prev.observers, st.Observers, d.observer)
	}
	if d.parts&partOverrides != 0 {
		v.overrides = copyValues(st.Overrides)
	}
	if d.parts&partMembers != 0 {
		v.members = copyValues(st.Members)
	}
	if d.parts&partIncidents != 0 {
		v.incidents = make(map[string]*Incident, len(st.Incidents))
		for id, inc := range st.Incidents {
			c := copyIncident(inc)
			v.incidents[id] = &c
		}
	}
	if d.parts&partCursors != 0 {
		v.cursors = copyValues(st.Cursors)
	}
	if d.parts&partProviders != 0 {
		v.providers = copyValues(st.Providers)
	}
	return v
}

// copyObservers copies the observer records of cur, reusing prev's copy
// of every observer but only ("" copies all).
func copyObservers(prev, cur map[string]*ObserverRecord, only string) map[string]*ObserverRecord {
	out := make(map[string]*ObserverRecord, len(cur))
	for id, o := range cur {
		if p := prev[id]; p != nil && only != "" && id != only {
			out[id] = p
			continue
		}
		out[id] = copyObserver(o)
	}
	return out
}
