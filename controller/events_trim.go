package controller

// trimEvents keeps the last MaxEvents events, once per applied command
// rather than once per event: a command that moves thousands of records
// (a region lost, a spec changing every TTL) logs an event for each, and
// trimming after each one copied the whole log every time (quadratic:
// 6,000 events cost 600 MB of copying). The log after each command is the
// same as before. The trimmed log is a new array: published views share
// the old one.
func (st *State) trimEvents() {
	if over := len(st.Events) - MaxEvents; over > 0 {
		st.Events = append(st.Events[:0:0], st.Events[over:]...)
	}
}
