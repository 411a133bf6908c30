package machine

import (
	"fmt"
	"time"
)

// Membership change operations, as the event log records them.
const (
	MemberAdd      = "add"
	MemberPromote  = "promote"
	MemberRemove   = "remove"
	MemberStepDown = "stepdown"
	MemberLeader   = "leader"
)

// MembershipChange is a membership change for the record: who changed
// what, and what the cluster must remember (a member waiting to become
// a voter).
type MembershipChange struct {
	Op   string `json:"op"`
	ID   string `json:"id"`
	Addr string `json:"address,omitempty"`
	// Voter, on an add, means the member joins as a non-voter and is
	// promoted once it has caught up.
	Voter  bool   `json:"voter,omitempty"`
	Forced string `json:"forced,omitempty"` // what a forced change costs
	Author string `json:"author,omitempty"`
	// Term is the term a leader announces itself in: a copy appended
	// in another term (forwarded after it lost leadership) is dropped.
	Term uint64 `json:"term,omitempty"`
	// Note says more (a promotion's catch-up).
	Note string `json:"note,omitempty"`
}

// Joining is a member added as a non-voter that becomes a voter once it
// has caught up.
type Joining struct {
	Addr   string    `json:"address"`
	Author string    `json:"author,omitempty"`
	Since  time.Time `json:"since"`
}

// membership applies a membership change to the state.
func (st *State) membership(c *MembershipChange, now time.Time) error {
	if c == nil || c.ID == "" || c.Op == "" {
		return fmt.Errorf("%w: membership change without op or id", ErrBadCommand)
	}
	by := " by " + orUnknown(c.Author)
	forced := ""
	if c.Forced != "" {
		forced = " (forced: " + c.Forced + ")"
	}
	switch c.Op {
	case MemberAdd:
		// A non-voter does not observe: no observer record, which would
		// count, without verdicts, among the fresh observers.
		if st.NonVoters == nil {
			st.NonVoters = map[string]bool{}
		}
		st.NonVoters[c.ID] = true
		if o := st.Observers[c.ID]; o != nil && len(o.Verdicts) == 0 {
			delete(st.Observers, c.ID)
		}
		role := "as a non-voter (serves DNS, does not vote)"
		if c.Voter {
			if st.Joining == nil {
				st.Joining = map[string]*Joining{}
			}
			st.Joining[c.ID] = &Joining{Addr: c.Addr, Author: c.Author, Since: now}
			role = "as a non-voter; it becomes a voter once it has caught up"
		}
		st.event(now, "member", c.ID, fmt.Sprintf("member %s at %s added%s %s%s", c.ID, c.Addr, by, role, forced))
	case MemberPromote:
		delete(st.Joining, c.ID)
		if st.NonVoters[c.ID] {
			delete(st.NonVoters, c.ID)
			// An observer from now on, with no verdicts yet, as a
			// registering voter is (registerMember).
			if st.Observers[c.ID] == nil && st.Members[c.ID] != nil {
				st.Observers[c.ID] = &ObserverRecord{Fresh: true, LastReport: now, Verdicts: map[string]*Verdict{}}
			}
		}
		st.event(now, "member", c.ID, fmt.Sprintf("member %s promoted to voter: %s", c.ID, c.Note))
	case MemberRemove:
		delete(st.Joining, c.ID)
		delete(st.NonVoters, c.ID)
		delete(st.Members, c.ID)
		delete(st.Observers, c.ID)
		st.event(now, "member", c.ID, fmt.Sprintf("member %s removed%s; its verdicts no longer count%s", c.ID, by, forced))
	case MemberStepDown:
		st.event(now, "member", c.ID, fmt.Sprintf("leader %s asked to step down%s", c.ID, by))
	case MemberLeader:
		if c.Term != st.Term || st.LeaderID == c.ID {
			return nil // appended in another term, or nothing new
		}
		was := ""
		if st.LeaderID != "" {
			was = "; was " + st.LeaderID
		}
		st.LeaderID = c.ID
		st.event(now, "member", c.ID, fmt.Sprintf("%s is the leader (term %d%s)", c.ID, c.Term, was))
	default:
		return fmt.Errorf("%w: membership op %q", ErrBadCommand, c.Op)
	}
	return nil
}
