package controller

// Zone serials are replicated state, numbered from replicated data only:
// a zone's serial rises when the answer of a health-driven record in it
// changes (decisions are plain data) or when the spec defines the zone
// differently (spec.ZoneDigests), never from how a DNS library renders
// records, so replicas of any version agree. The DNS server serves the
// serial it is given.

// ZoneSerial is a zone's SOA serial and the spec digest it numbers.
type ZoneSerial struct {
	Serial uint32 `json:"serial"`
	// Digest is the zone's spec.ZoneDigests entry when Serial was last
	// set. Empty in snapshots of versions that numbered serials from
	// their DNS content: the serial is kept, and the digest adopted.
	Digest string `json:"digest,omitempty"`
}

// updateSerials moves the zone serials on after an apply that may have
// moved answers: before are the decisions before it. A zone whose definition or answers changed gets
// the next serial; the others keep theirs; the zones the spec no longer
// has are forgotten. The map is replaced, never changed in place: views
// share it.
func (st *State) updateSerials(before []Decision) {
	if st.spec == nil {
		return
	}
	if st.digestsOf != st.spec {
		// A spec compiled in the background comes with its digests
		// (FSM.compiled); one set in force directly is digested here.
		st.digests, st.digestsOf = st.spec.ZoneDigests(), st.spec
	}
	bump := map[string]bool{}
	old := make(map[string]Decision, len(before))
	for _, d := range before {
		old[holdKey(d.Name, d.Type)] = d
	}
	for _, d := range st.decisions {
		if o, ok := old[holdKey(d.Name, d.Type)]; !ok || !o.SameRecords(d) {
			if z := st.spec.ZoneFor(d.Name); z != nil {
				bump[z.Name] = true
			}
		}
	}
	next, changed := make(map[string]ZoneSerial, len(st.digests)), len(st.Serials) != len(st.digests)
	for origin, digest := range st.digests {
		v, ok := st.Serials[origin]
		switch {
		case !ok:
			v = ZoneSerial{Serial: st.clockSerial(), Digest: digest}
		case v.Digest == "":
			v.Digest = digest // numbered by an older version: keep its serial
			if bump[origin] {
				v.Serial = st.nextSerial(v.Serial)
			}
		case v.Digest != digest || bump[origin]:
			v = ZoneSerial{Serial: st.nextSerial(v.Serial), Digest: digest}
		}
		changed = changed || v != st.Serials[origin]
		next[origin] = v
	}
	if changed {
		st.Serials = next
	}
}

// adoptSerials numbers the zones of the spec in force without moving
// any serial on: after a restore, for the zones a snapshot of an older
// version numbered (or did not).
func (st *State) adoptSerials() {
	st.updateSerials(st.decisions)
}

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

// serialNumbers is the serial of every zone, for the DNS server.
func (st *State) serialNumbers() map[string]uint32 {
	out := make(map[string]uint32, len(st.Serials))
	for origin, v := range st.Serials {
		out[origin] = v.Serial
	}
	return out
}

// Serials returns the serial of every zone of the spec in force.
func (v *View) Serials() map[string]uint32 {
	out := make(map[string]uint32, len(v.versions))
	for origin, zv := range v.versions {
		out[origin] = zv.Serial
	}
	return out
}
