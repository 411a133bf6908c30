package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// Errors of membership changes. Check them with errors.Is.
var (
	// ErrUnreachable means a node to add does not answer on its node
	// port: nothing was changed.
	ErrUnreachable = errors.New("unreachable node")
	// ErrNeedsForce means a membership change would lower the cluster's
	// fault tolerance and was not forced: nothing was changed.
	ErrNeedsForce = errors.New("the change lowers fault tolerance")
)

// Membership operations over the node port.
const (
	opStats  = "stats"  // any node: its own replication state
	opHealth = "health" // the leader: every member's reachability
	opJoin   = "join"   // the leader: a safe add
	opLeave  = "leave"  // the leader: a guarded remove
	opResign = "resign" // the leader: a stepdown with its author
)

// NodeStats is what a node says of itself over the node port.
type NodeStats struct {
	ID           string  `json:"id"`
	State        string  `json:"state"`
	AppliedIndex uint64  `json:"applied_index"`
	LastIndex    uint64  `json:"last_index"`
	LastContact  float64 `json:"last_contact_ms"`
	// Clock is the node's wall clock when it answered (clockskew.go).
	Clock time.Time `json:"clock,omitzero"`
}

func (s *Store) stats() NodeStats {
	state, lc := s.RaftState()
	return NodeStats{ID: s.cfg.NodeID, State: state, AppliedIndex: s.AppliedIndex(), LastIndex: s.raft.LastIndex(),
		LastContact: float64(lc) / float64(time.Millisecond), Clock: s.cfg.Now()}
}

// memberRequest is the payload of a join or leave over the node port.
type memberRequest struct {
	ID     string `json:"id"`
	Addr   string `json:"address,omitempty"`
	Voter  bool   `json:"voter,omitempty"`
	Force  bool   `json:"force,omitempty"`
	Author string `json:"author,omitempty"`
}

// answerMembership answers the membership operations of the node port;
// ok is false for the other operations.
func (s *Store) answerMembership(req rpcRequest, peer []string) (resp rpcResponse, ok bool) {
	switch req.Op {
	case opStats:
		resp.Data, _ = json.Marshal(s.stats())
		return resp, true
	case opHealth, opJoin, opLeave, opResign:
	default:
		return resp, false
	}
	if !s.IsLeader() {
		return rpcResponse{NotLeader: true}, true
	}
	var mr memberRequest
	if len(req.Data) > 0 {
		if err := json.Unmarshal(req.Data, &mr); err != nil {
			return rpcResponse{Rejected: err.Error(), Code: "bad_command"}, true
		}
	}
	hop := strings.Join(peer, " or ")
	if len(peer) == 0 {
		hop = orUnknown(req.From) + " (plaintext, unauthenticated)"
	}
	mr.Author = via(mr.Author, hop)
	ctx, cancel := context.WithTimeout(context.Background(), applyTimeout)
	defer cancel()
	msg, data, err := s.leaderMembership(ctx, req.Op, mr)
	if err != nil {
		if leadershipError(err) {
			return rpcResponse{NotLeader: true}, true
		}
		return rpcResponse{Rejected: trimRejected(err), Code: codeOf(err)}, true
	}
	if data == nil {
		data, _ = json.Marshal(msg)
	}
	return rpcResponse{Data: data}, true
}

// leaderMembership runs a membership operation on this node, the leader.
func (s *Store) leaderMembership(ctx context.Context, op string, mr memberRequest) (string, []byte, error) {
	switch op {
	case opHealth:
		data, err := json.Marshal(s.health.snapshot())
		return "", data, err
	case opJoin:
		msg, err := s.join(ctx, mr)
		return msg, nil, err
	case opLeave:
		msg, err := s.leave(ctx, mr)
		return msg, nil, err
	case opResign:
		msg, err := s.resign(ctx, mr)
		return msg, nil, err
	}
	return "", nil, fmt.Errorf("%w: unknown operation %q", ErrRejected, op)
}

// onLeaderData runs a membership operation on the leader, here or over
// the node port, retrying across leader changes until ctx ends, and
// returns the leader's reply.
func (s *Store) onLeaderData(ctx context.Context, op string, mr memberRequest) ([]byte, error) {
	var last error = ErrNoLeader
	for {
		if s.IsLeader() {
			msg, data, err := s.leaderMembership(ctx, op, mr)
			if err == nil {
				if data == nil {
					data, _ = json.Marshal(msg)
				}
				return data, nil
			}
			if !leadershipError(err) {
				return nil, err
			}
			last = err
		} else if id, addr := s.Leader(); addr != "" {
			resp, err := s.call(ctx, id, addr, rpcRequest{Op: op, Data: mustJSON(mr)})
			switch {
			case err != nil:
				last = err
			case resp.Rejected != "":
				return nil, &refusal{msg: resp.Rejected, cause: sentinel(resp.Code)}
			case !resp.NotLeader:
				return resp.Data, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last try: %w): %w", ErrNoLeader, last, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// call sends one request to a member's node port on a connection of
// its own and reads the reply.
func (s *Store) call(ctx context.Context, id, addr string, req rpcRequest) (rpcResponse, error) {
	c, err := s.mux.DialMember(ctx, id, addr, nodeport.KindRPC)
	if err != nil {
		return rpcResponse{}, err
	}
	return s.exchange(ctx, c, req)
}

func (s *Store) exchange(ctx context.Context, c net.Conn, req rpcRequest) (rpcResponse, error) {
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	req.From = s.cfg.NodeID
	var resp rpcResponse
	if err := nodeport.WriteFrame(c, req); err != nil {
		return resp, err
	}
	if err := nodeport.ReadFrame(c, &resp); err != nil {
		return resp, err
	}
	return resp, nil
}

// JoinRequest asks the cluster to take a node in.
type JoinRequest struct {
	ID   string
	Addr string
	// Voter makes it a voter once it has caught up; it joins as a
	// non-voter either way.
	Voter bool
	// Force adds a voter that would make the number of voters even.
	Force  bool
	Author string
}

// Join adds a node safely (see docs/cluster.md): the leader checks that
// it answers on its node port, refuses a voter that would make their
// number even unless forced, and adds it as a non-voter; a voter-to-be
// is promoted by the leader once it has caught up. It returns what was
// done.
func (s *Store) Join(ctx context.Context, r JoinRequest) (string, error) {
	data, err := s.onLeaderData(ctx, opJoin, memberRequest{ID: r.ID, Addr: r.Addr, Voter: r.Voter, Force: r.Force, Author: r.Author})
	return message(data), err
}

// LeaveRequest asks the cluster to remove a member.
type LeaveRequest struct {
	ID string
	// Force removes a voter although that lowers fault tolerance.
	Force  bool
	Author string
}

// Leave removes a member, refusing unless forced a removal that lowers
// the number of voter failures the cluster survives.
func (s *Store) Leave(ctx context.Context, r LeaveRequest) (string, error) {
	data, err := s.onLeaderData(ctx, opLeave, memberRequest{ID: r.ID, Force: r.Force, Author: r.Author})
	return message(data), err
}

// Resign asks the leader to hand leadership over, recording who asked.
func (s *Store) Resign(ctx context.Context, author string) (string, error) {
	data, err := s.onLeaderData(ctx, opResign, memberRequest{ID: "-", Author: author})
	return message(data), err
}

func message(data []byte) string {
	var msg string
	_ = json.Unmarshal(data, &msg)
	return msg
}

// join runs on the leader.
func (s *Store) join(ctx context.Context, r memberRequest) (string, error) {
	cfg, err := s.configuration()
	if err != nil {
		return "", err
	}
	for _, srv := range cfg.Servers {
		if string(srv.ID) == r.ID && string(srv.Address) == r.Addr && (srv.Suffrage == raft.Voter || !r.Voter) {
			return fmt.Sprintf("%s is already a member at %s", r.ID, r.Addr), nil
		}
	}
	if id := s.health.older(); id != "" {
		return "", fmt.Errorf("%w: member %s runs an older detour version: finish upgrading every node before changing members", ErrRejected, id)
	}
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	st, err := s.probeCandidate(pctx, r.ID, r.Addr)
	cancel()
	if err != nil {
		return "", err
	}
	forced := ""
	if r.Voter {
		voters, _ := s.voterCount(cfg)
		if cost := evenCost(voters); cost != "" {
			if !r.Force {
				return "", fmt.Errorf("%w: %s; add it with --nonvoter (it serves DNS without voting), or give --force", ErrNeedsForce, cost)
			}
			forced = cost
		}
	}
	if err := s.raft.AddNonvoter(raft.ServerID(r.ID), raft.ServerAddress(r.Addr), 0, applyTimeout).Error(); err != nil {
		return "", err
	}
	if err := s.record(ctx, &MembershipChange{Op: MemberAdd, ID: r.ID, Addr: r.Addr, Voter: r.Voter, Forced: forced, Author: r.Author}); err != nil {
		return "", fmt.Errorf("%s was added as a non-voter, but the record failed (run the same add again): %w", r.ID, err)
	}
	msg := fmt.Sprintf("added %s at %s as a non-voter (it answered: %s, applied index %d)", r.ID, r.Addr, strings.ToLower(st.State), st.AppliedIndex)
	if r.Voter {
		msg += "; it becomes a voter once it has caught up (watch `detour members`)"
	}
	return msg, nil
}

// leave runs on the leader.
func (s *Store) leave(ctx context.Context, r memberRequest) (string, error) {
	cfg, err := s.configuration()
	if err != nil {
		return "", err
	}
	var target *raft.Server
	for i, srv := range cfg.Servers {
		if string(srv.ID) == r.ID {
			target = &cfg.Servers[i]
		}
	}
	if target == nil {
		return "", fmt.Errorf("%w: %w: no member %q (members: %s)", ErrRejected, ErrNotFound, r.ID, memberIDs(cfg.Servers))
	}
	if id := s.health.older(); id != "" {
		return "", fmt.Errorf("%w: member %s runs an older detour version: finish upgrading every node before changing members", ErrRejected, id)
	}
	forced := ""
	if target.Suffrage == raft.Voter {
		voters, up := s.voterCount(cfg)
		gone := 0
		// Not judged yet (a term just began) counts as up, as in
		// voterCount: removing it may cost fault tolerance.
		if r.ID == s.cfg.NodeID || !s.health.known(r.ID) || s.health.reachable(r.ID) {
			gone = 1
		}
		if cost := removeCost(r.ID, voters, up, gone); cost != "" {
			if !r.Force {
				return "", fmt.Errorf("%w: %s; to replace it, add the new node first (detour members add, which needs --force too: a 4th voter), then remove this one; or remove it now with --force", ErrNeedsForce, cost)
			}
			forced = cost
		}
	}
	rec := &MembershipChange{Op: MemberRemove, ID: r.ID, Addr: string(target.Address), Forced: forced, Author: r.Author}
	if r.ID == s.cfg.NodeID {
		// The record first: once the leader removed itself it
		// commits nothing more.
		if err := s.record(ctx, rec); err != nil {
			return "", err
		}
	}
	if err := s.raft.RemoveServer(raft.ServerID(r.ID), 0, applyTimeout).Error(); err != nil {
		return "", err
	}
	if r.ID != s.cfg.NodeID {
		if err := s.record(ctx, rec); err != nil {
			return "", fmt.Errorf("%s was removed, but the record failed: %w", r.ID, err)
		}
	}
	msg := "removed " + r.ID
	if forced != "" {
		msg += " (forced: " + forced + ")"
	}
	return msg, nil
}

// resign runs on the leader.
func (s *Store) resign(ctx context.Context, r memberRequest) (string, error) {
	if s.health.older() == "" { // else unrecorded, as before the upgrade
		if err := s.record(ctx, &MembershipChange{Op: MemberStepDown, ID: s.cfg.NodeID, Author: r.Author}); err != nil {
			return "", err
		}
	}
	if err := s.raft.LeadershipTransfer().Error(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return "the leader stepped down; a new one is being elected", nil
}

// record commits a membership change for the event log. While a member
// runs an older version, which would halt at it, nothing is written.
func (s *Store) record(ctx context.Context, c *MembershipChange) error {
	if id := s.health.older(); id != "" {
		return fmt.Errorf("%w: %w: member %s runs an older detour version that cannot apply membership records; upgrade every node first", ErrRejected, ErrBadCommand, id)
	}
	cmd := &Command{Type: CmdMembership, Membership: c, ID: s.commandID()}
	_, err := s.Propose(ctx, cmd)
	return err
}

func (s *Store) configuration() (raft.Configuration, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return raft.Configuration{}, err
	}
	return f.Configuration(), nil
}

// voterCount counts the voters of cfg, and those up as the leader sees
// them (itself, and those its probes reach or has not judged yet).
func (s *Store) voterCount(cfg raft.Configuration) (voters, up int) {
	for _, srv := range cfg.Servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if string(srv.ID) == s.cfg.NodeID || !s.health.known(string(srv.ID)) || s.health.reachable(string(srv.ID)) {
			up++
		}
	}
	return voters, up
}

// Tolerates is how many voters of n may fail with the cluster still
// electing a leader.
func Tolerates(n int) int {
	if n <= 0 {
		return 0
	}
	return (n - 1) / 2
}

func failures(n int) string {
	switch n {
	case 0:
		return "none"
	case 1:
		return "1 failure"
	}
	return fmt.Sprintf("%d failures", n)
}

// evenCost says what adding a voter to n costs, empty when it makes the
// cluster survive more.
func evenCost(n int) string {
	after := n + 1
	if after%2 == 1 {
		return ""
	}
	return fmt.Sprintf("%d voters tolerate %s; %d voters still tolerate %s: the quorum grows to %d of %d, so one more node must answer every write and no further failure is survived",
		n, failures(Tolerates(n)), after, failures(Tolerates(after)), after/2+1, after)
}

// removeCost says what removing voter id (gone is 1 when it is up)
// from voters (up of them up) costs, empty when the failures the
// cluster survives stay as they are.
func removeCost(id string, voters, up, gone int) string {
	before := up - (voters/2 + 1)
	after := (up - gone) - ((voters-1)/2 + 1)
	if after >= before {
		return ""
	}
	return fmt.Sprintf("%d voters tolerate %s; %d voters tolerate %s: once %s is removed, %s",
		voters, failures(Tolerates(voters)), voters-1, failures(Tolerates(voters-1)), id, loseWhat(after))
}

func loseWhat(canLose int) string {
	if canLose <= 0 {
		return "losing any voter stops the cluster (no leader, no failover decisions)"
	}
	return fmt.Sprintf("only %s more can be survived", failures(canLose))
}

// probeCandidate asks the node at addr for its stats over its node port,
// with the real TLS handshake: a node that does not answer, or is not
// the node id, is refused before it is added.
func (s *Store) probeCandidate(ctx context.Context, id, addr string) (NodeStats, error) {
	var st NodeStats
	c, err := s.mux.DialCandidate(ctx, id, addr)
	var hs nodeport.HandshakeError
	switch {
	case errors.As(err, &hs):
		return st, fmt.Errorf("%w: %w: the node at %s answers but fails the TLS check (%w); give it a certificate of this cluster's CA naming %s, and --peers naming this cluster's members (a node that bootstrapped a cluster of its own refuses every other cluster's nodes: its log says \"peer refused\"; restart it on an empty data dir); nothing was changed",
			ErrRejected, ErrUnreachable, addr, hs.Err, nodeport.NodeURI(id))
	case err != nil:
		return st, fmt.Errorf("%w: %w: nothing answers at %s (%w); start it first with --node-id %s --raft-addr %s and check the address and the firewall; nothing was changed",
			ErrRejected, ErrUnreachable, addr, err, id, addr)
	}
	resp, err := s.exchange(ctx, c, rpcRequest{Op: opStats})
	if err == nil && resp.NotLeader {
		err = errors.New("it answers as a detour node of an older version (no stats)")
	}
	if err == nil {
		err = json.Unmarshal(resp.Data, &st)
	}
	if err != nil {
		return st, fmt.Errorf("%w: %w: the node at %s does not answer as a detour node: %w; nothing was changed", ErrRejected, ErrUnreachable, addr, err)
	}
	if st.ID != id {
		return st, fmt.Errorf("%w: %w: the node at %s is %q, not %q; nothing was changed", ErrRejected, ErrUnreachable, addr, st.ID, id)
	}
	return st, nil
}

// Member health, as the leader's probes see it.

// probeEvery is how often the leader probes every member.
const probeEvery = 500 * time.Millisecond

// promotionLag is how many log entries behind the leader a member may
// be and count as caught up.
const promotionLag = 64

// promoteAfter is how long a joining member must stay reachable and
// caught up before it is promoted.
func (t Timing) promoteAfter() time.Duration { return 4 * t.ElectionTimeout }

// peerHealth is the leader's record of one member.
type peerHealth struct {
	Reachable   bool      `json:"reachable"`
	LastContact time.Time `json:"last_contact"`
	Applied     uint64    `json:"applied_index"`
	Error       string    `json:"error,omitempty"`
	State       string    `json:"state,omitempty"`
	// ClockSkewMS is how far its wall clock is ahead of the leader's
	// (clockskew.go), 0 when not known.
	ClockSkewMS float64   `json:"clock_skew_ms,omitempty"`
	skewed      bool      // its skew is over clockSkewWarn (logged)
	caughtUp    time.Time // since when it is reachable and caught up
	old         bool      // an older version: cannot apply membership records
}

// memberHealth is the leader's table of member health.
type memberHealth struct {
	mu sync.Mutex
	m  map[string]*peerHealth
}

func (h *memberHealth) snapshot() map[string]peerHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]peerHealth{}
	for id, p := range h.m {
		out[id] = *p
	}
	return out
}

func (h *memberHealth) known(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[id] != nil
}

func (h *memberHealth) reachable(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	p := h.m[id]
	return p != nil && p.Reachable
}

// older names a member that runs an older version, empty when none
// does: it would halt at a membership record (CmdMembership), so none
// is written until every member is upgraded.
func (h *memberHealth) older() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, p := range h.m {
		if p.old {
			return id
		}
	}
	return ""
}

func (h *memberHealth) reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.m = nil
}

// promoteLoop is the leader's membership task: it announces a new
// leader in the event log, probes every member, and promotes the
// joining members that have caught up. It acts only while this node
// leads.
func (s *Store) promoteLoop(ctx context.Context) {
	var announced uint64
	every(ctx, probeEvery, func() bool {
		if !s.IsLeader() || s.fsm.Halted() != nil {
			s.health.reset()
			announced = 0
			return true
		}
		s.probeMembers(ctx) // first: the announcement waits for every member to know it
		if term := s.raft.CurrentTerm(); term != announced {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			if err := s.record(cctx, &MembershipChange{Op: MemberLeader, ID: s.cfg.NodeID, Term: term}); err == nil {
				announced = term
			}
			cancel()
		}
		s.promoteCaughtUp(ctx)
		return true
	})
}

// probeTimeout bounds one probe of a member: a connection of its own
// (TCP, TLS, the hello) and the request, four round trips. Twice the
// probe interval on a LAN; over a WAN, two heartbeat timeouts (each four
// of the longest round trips, see WANTiming): a fixed second called
// members 240 ms away unreachable while they answered every write.
func (s *Store) probeTimeout() time.Duration {
	return max(2*probeEvery, 2*s.cfg.Timing.HeartbeatTimeout)
}

// probeMembers asks every other member for its stats, all at once.
func (s *Store) probeMembers(ctx context.Context) {
	cfg, err := s.configuration()
	if err != nil {
		return
	}
	last := s.raft.LastIndex()
	var wg sync.WaitGroup
	results := make([]struct {
		st   NodeStats
		old  bool
		err  error
		skew clockReading
	}, len(cfg.Servers))
	for i, srv := range cfg.Servers {
		if string(srv.ID) == s.cfg.NodeID {
			continue
		}
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
			defer cancel()
			sent := s.cfg.Now()
			resp, err := s.call(cctx, string(srv.ID), string(srv.Address), rpcRequest{Op: opStats})
			results[i].skew = clockReading{sent: sent, got: s.cfg.Now()}
			switch {
			case err == nil && resp.NotLeader:
				// An older version answers what it does not know
				// as a follower would: reachable, but it cannot
				// apply membership records.
				results[i].old = true
			case err == nil:
				err = json.Unmarshal(resp.Data, &results[i].st)
			}
			results[i].err = err
		})
	}
	wg.Wait()
	now := time.Now()
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	old := s.health.m
	s.health.m = map[string]*peerHealth{}
	for i, srv := range cfg.Servers {
		id := string(srv.ID)
		if id == s.cfg.NodeID {
			continue
		}
		p := &peerHealth{}
		if o := old[id]; o != nil {
			*p = *o
		}
		r := results[i]
		p.old = r.old
		switch {
		case r.err != nil:
			p.Reachable, p.Error, p.caughtUp = false, r.err.Error(), time.Time{}
		case r.old:
			p.Reachable, p.Error, p.LastContact, p.caughtUp = true, "runs an older detour version", now, time.Time{}
		default:
			p.Reachable, p.Error, p.LastContact, p.Applied, p.State = true, "", now, r.st.AppliedIndex, r.st.State
			s.noteSkew(id, p, r.skew.of(r.st.Clock))
			if last > r.st.AppliedIndex+promotionLag {
				p.caughtUp = time.Time{}
			} else if p.caughtUp.IsZero() {
				p.caughtUp = now
			}
		}
		s.health.m[id] = p
	}
}

// promoteCaughtUp makes voters of the joining members that have been
// reachable and caught up for promoteAfter.
func (s *Store) promoteCaughtUp(ctx context.Context) {
	joining := s.fsm.View().Joining()
	if len(joining) == 0 {
		return
	}
	cfg, err := s.configuration()
	if err != nil {
		return
	}
	wait := s.cfg.Timing.promoteAfter()
	for _, srv := range cfg.Servers {
		j, ok := joining[string(srv.ID)]
		if !ok || srv.Suffrage == raft.Voter {
			continue
		}
		s.health.mu.Lock()
		p := s.health.m[string(srv.ID)]
		var since time.Time
		var applied uint64
		if p != nil {
			since, applied = p.caughtUp, p.Applied
		}
		s.health.mu.Unlock()
		if since.IsZero() || time.Since(since) < wait {
			continue
		}
		if err := s.raft.AddVoter(srv.ID, srv.Address, 0, applyTimeout).Error(); err != nil {
			s.logger.Warn("promoting a member", "member", srv.ID, "err", err)
			continue
		}
		note := fmt.Sprintf("caught up (applied index %d of %d) and reachable for %s; added by %s", applied, s.raft.LastIndex(), wait, orUnknown(j.Author))
		s.logger.Info("promoted a member to voter", "member", srv.ID, "applied", applied)
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if err := s.record(cctx, &MembershipChange{Op: MemberPromote, ID: string(srv.ID), Note: note}); err != nil {
			s.logger.Warn("recording a promotion", "member", srv.ID, "err", err)
		}
		cancel()
	}
	// A joining member that is already a voter (promoted by hand, or
	// the record failed) or gone is forgotten.
	for id := range joining {
		idx := slices.IndexFunc(cfg.Servers, func(srv raft.Server) bool { return string(srv.ID) == id })
		if idx < 0 || cfg.Servers[idx].Suffrage == raft.Voter {
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			_ = s.record(cctx, &MembershipChange{Op: MemberPromote, ID: id, Note: "no longer waiting (already a voter, or gone)"})
			cancel()
		}
	}
}

// Quorum is the control plane's standing: how many voters are up and
// how many more may fail.
type Quorum struct {
	// Known is false when this node could not learn it (no leader).
	Known    bool   `json:"known"`
	Leader   string `json:"leader"`
	Voters   int    `json:"voters"`
	VotersUp int    `json:"voters_up"`
	Needed   int    `json:"needed"`
	// CanLose is how many more voters may fail; negative: no quorum.
	CanLose int `json:"can_lose"`
	// OK is true when a leader is known and a majority of voters is up.
	OK      bool   `json:"ok"`
	Summary string `json:"summary"`
}

func (q *Quorum) summarise() {
	q.Needed = q.Voters/2 + 1
	q.CanLose = q.VotersUp - q.Needed
	q.OK = q.Known && q.Leader != "" && q.CanLose >= 0
	switch {
	case q.Leader == "":
		q.Summary = fmt.Sprintf("no leader: %d voters, a majority of %d is needed to elect one", q.Voters, q.Needed)
	case !q.Known:
		q.Summary = fmt.Sprintf("leader %s could not be asked which voters are up (%d voters)", q.Leader, q.Voters)
	case q.CanLose < 0:
		q.Summary = fmt.Sprintf("%d/%d voters up: no quorum (%d needed)", q.VotersUp, q.Voters, q.Needed)
	default:
		q.Summary = fmt.Sprintf("%d/%d voters up, can lose %d more", q.VotersUp, q.Voters, q.CanLose)
	}
}

// MembersHealth lists the members with their reachability as the leader
// sees it (asked over the node port from a follower), and the quorum.
func (s *Store) MembersHealth(ctx context.Context) ([]MemberInfo, Quorum) {
	members, err := s.Members()
	if err != nil {
		s.logger.Debug("members", "err", err)
	}
	leaderID, _ := s.Leader()
	q := Quorum{Leader: leaderID}
	var table map[string]peerHealth
	if s.IsLeader() {
		table, q.Known = s.health.snapshot(), true
	} else if leaderID != "" && s.leaderHeardRecently() {
		cctx, cancel := context.WithTimeout(ctx, s.probeTimeout())
		data, err := s.onLeaderData(cctx, opHealth, memberRequest{ID: "-"})
		cancel()
		if err == nil && json.Unmarshal(data, &table) == nil {
			q.Known = true
		}
	}
	joining := s.fsm.View().Joining()
	now := time.Now()
	for i := range members {
		m := &members[i]
		_, promoting := joining[m.ID]
		m.Promoting = promoting && !m.Voter
		m.LastContactMS = -1
		p, seen := table[m.ID]
		switch {
		case m.ID == leaderID && q.Known:
			m.Reachability, m.LastContactMS = "reachable", 0
		case m.ID == s.cfg.NodeID && !q.Known:
			m.Reachability = "this node"
		case !q.Known || !seen:
			m.Reachability = "unknown"
		case p.Reachable:
			m.Reachability = "reachable"
		default:
			m.Reachability, m.Error = "unreachable", p.Error
		}
		if seen && !p.LastContact.IsZero() {
			m.LastContactMS = float64(now.Sub(p.LastContact)) / float64(time.Millisecond)
		}
		if seen {
			m.AppliedIndex, m.ClockSkewMS = p.Applied, p.ClockSkewMS
		}
		m.Role = role(*m)
		if leaderID == "" && m.Role == "follower" {
			m.Role = roleWithoutLeader(m.ID == s.cfg.NodeID, s)
		}
		if m.Voter {
			q.Voters++
			if m.Reachability != "unreachable" && (q.Known || m.ID == s.cfg.NodeID) {
				q.VotersUp++
			}
		}
	}
	sort.SliceStable(members, func(i, j int) bool { return members[i].ID < members[j].ID })
	q.summarise()
	return members, q
}

func role(m MemberInfo) string {
	switch {
	case m.Reachability == "unreachable":
		return "unreachable"
	case m.Leader:
		return "leader"
	case m.Promoting:
		return "joining (non-voter until caught up)"
	case !m.Voter:
		return "non-voter"
	}
	return "follower"
}

// roleWithoutLeader is a voter's role when no leader is known: this
// node's own Raft state (candidate, most often), and "unknown" for the
// others, whose state this node cannot see. Calling them followers
// would hide that the cluster has no leader.
func roleWithoutLeader(self bool, s *Store) string {
	if !self {
		return "unknown"
	}
	state, _ := s.RaftState()
	return strings.ToLower(state)
}

// VotersAfterLoss says how the control plane fares when the members
// in lost are gone: the voters left of all, and whether they are a
// majority.
func (s *Store) VotersAfterLoss(lost map[string]bool) (left, voters int, err error) {
	cfg, err := s.configuration()
	if err != nil {
		return 0, 0, err
	}
	for _, srv := range cfg.Servers {
		if srv.Suffrage != raft.Voter {
			continue
		}
		voters++
		if !lost[string(srv.ID)] {
			left++
		}
	}
	return left, voters, nil
}

// orUnknown names an unknown author.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// leaderHeardRecently reports whether Raft heard from the leader within
// one heartbeat timeout. A follower whose leader went quiet (killed,
// frozen, cut off) does not ask it for member health: the answer would
// come only at the timeout, and /v1/status, drills and scrapes would wait
// that long on every call while an operator most needs them. Reachability
// is then "unknown" until Raft hears from a leader again.
func (s *Store) leaderHeardRecently() bool {
	lc := s.raft.LastContact()
	return !lc.IsZero() && time.Since(lc) < s.cfg.Timing.HeartbeatTimeout
}
