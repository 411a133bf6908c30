package machine

import "github.com/seed3787e6f1/detour/spec"

// Zone serials are replicated state, numbered from replicated data only:
// a zone's serial rises when the answer of a health-driven record in it
// changes (decisions are plain data) or when a spec change defines the
// zone differently (spec.SameZone), never from how a DNS library renders
// records, so replicas of any version agree. The DNS server serves the
// serial it is given.

// ZoneSerial is a zone's SOA serial. Older versions stored a hash of the
// zone's DNS content beside it ("hash"), which this version ignores: it
// goes on from the stored serial.
type ZoneSerial struct {
	Serial uint32 `json:"serial"`
}

// updateSerials moves the zone serials on after an apply that may have
// moved answers: before are the decisions before it, specBefore the spec
// in force before it. A zone whose definition or answers changed gets
// the next serial, a new zone the clock's; the others keep theirs; the
// zones the spec no longer has are forgotten. The map is replaced, never
// changed in place: views share it.
func (st *State) updateSerials(before []Decision, specBefore *spec.Spec) {
	if st.spec == nil {
		return
	}
	bump := map[string]bool{}
	if st.spec != specBefore {
		for _, z := range st.spec.Zones {
			bump[z.Name] = !st.spec.SameZone(specBefore, z.Name)
		}
	}
	for _, d := range st.movedRecords(before, specBefore) {
		if z := st.spec.ZoneFor(d.Name); z != nil {
			bump[z.Name] = true
		}
	}
	zones := st.spec.CompiledZones()
	next, changed := make(map[string]ZoneSerial, len(zones)), len(st.Serials) != len(zones)
	for _, z := range zones {
		v, ok := st.Serials[z.Name]
		switch {
		case !ok:
			v = ZoneSerial{Serial: st.clockSerial()}
		case bump[z.Name]:
			v = ZoneSerial{Serial: st.nextSerial(v.Serial)}
		}
		changed = changed || !ok || v != st.Serials[z.Name]
		next[z.Name] = v
	}
	if changed {
		st.Serials = next
	}
}

// adoptSerials numbers the zones of the spec in force without moving
// any serial on: after a restore, the zones a snapshot numbered keep
// their serials, and the others start from the clock.
func (st *State) adoptSerials() { st.updateSerials(st.decisions, st.spec) }

// clockSerial is a new zone's first serial: the state's clock in Unix
// seconds, so that a zone removed and added again does not go back.
func (st *State) clockSerial() uint32 { return uint32(st.Now.Unix()) }

// nextSerial is the serial after old: the state's clock when it is
// ahead (RFC 1982 arithmetic), else old plus one.
func (st *State) nextSerial(old uint32) uint32 {
	if clock := st.clockSerial(); int32(clock-old) > 0 {
		return clock
	}
	return old + 1
}

// Serials returns the serial of every zone of the spec in force.
func (v *View) Serials() map[string]uint32 {
	out := make(map[string]uint32, len(v.versions))
	for origin, zv := range v.versions {
		out[origin] = zv.Serial
	}
	return out
}

// movedRecords returns the decisions that serve other records than
// before, the decisions under specBefore. Under the same spec the
// decisions are in the same order, and compared one by one.
func (st *State) movedRecords(before []Decision, specBefore *spec.Spec) []Decision {
	var out []Decision
	if st.spec == specBefore && len(before) == len(st.decisions) {
		for i, d := range st.decisions {
			if !before[i].SameRecords(d) {
				out = append(out, d)
			}
		}
		return out
	}
	old := make(map[string]Decision, len(before))
	for _, d := range before {
		old[holdKey(d.Name, d.Type)] = d
	}
	for _, d := range st.decisions {
		if o, ok := old[holdKey(d.Name, d.Type)]; !ok || !o.SameRecords(d) {
			out = append(out, d)
		}
	}
	return out
}
