package machine

// Result is what a committed command did: where it sits in the log and
// what it produced. A once-only command retried after a leader change
// (the same Command.ID) answers with the first copy's result.
type Result struct {
	// Index is the Raft log index of the entry that applied the
	// command. A node that has applied Index shows the change.
	Index uint64 `json:"index"`
	// SpecVersion is the version a set_spec made: the version its spec
	// gets when the activate_spec that follows puts it in force.
	SpecVersion uint64 `json:"spec_version,omitempty"`
	// Override is the override a set_override stored (its Created and
	// Expires in the cluster's clock), or the one a clear_override
	// removed.
	Override *Override `json:"override,omitempty"`
	// Incident is the ID of the incident an incident command opened,
	// updated or resolved.
	Incident string `json:"incident,omitempty"`
	// Duplicate is true when this copy of a once-only command was a
	// retry: it changed nothing, the result is the first copy's.
	Duplicate bool `json:"duplicate,omitempty"`
	// StagedAt is the entry that staged a set_spec's spec (its own, or
	// an earlier one of the same text it joined): its activation puts
	// version SpecVersion in force. 0 when the spec went in force at once
	// (a state without background compiles), or from an older leader.
	StagedAt uint64 `json:"staged_at,omitempty"`
}

// clone returns a copy that shares nothing with r.
func (r Result) clone() Result {
	r.Override = r.Override.clone()
	return r
}

// clone returns a copy of o, nil for nil.
func (o *Override) clone() *Override {
	if o == nil {
		return nil
	}
	c := *o
	return &c
}

// rememberResult keeps what the once-only command id produced, for a
// retried copy; forgotten with its ID (see remember).
// Like Applied, the map is replaced, never changed in place.
func (st *State) rememberResult(id string, r Result) {
	st.remember(id)
	next := make(map[string]Result, len(st.Applied))
	for k, res := range st.Results {
		if _, kept := st.Applied[k]; kept {
			next[k] = res
		}
	}
	next[id] = r.clone()
	st.Results = next
}

// firstResult is the result of the command id, already applied at index
// at. Entries applied by an older version kept no result: the index is
// all there is.
func (st *State) firstResult(id string, at uint64) Result {
	r, ok := st.Results[id]
	if !ok {
		r = Result{Index: at}
	}
	r = r.clone()
	r.Duplicate = true
	return r
}
