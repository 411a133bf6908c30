package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/controller/nodeport"
)

// Operations a follower forwards to the leader.
const (
	opApply       = "apply"
	opAddVoter    = "add_voter"
	opAddNonvoter = "add_nonvoter"
	opRemove      = "remove"
	opStepDown    = "stepdown"
	opReadIndex   = "read_index"
)

type rpcRequest struct {
	Op   string `json:"op"`
	Data []byte `json:"data,omitempty"`
	ID   string `json:"id,omitempty"`
	Addr string `json:"addr,omitempty"`
	// From is the sender's node ID: a claim, used only on plaintext
	// node ports; over TLS the certificate says who sent it.
	From string `json:"from,omitempty"`
}

type rpcResponse struct {
	// Rejected is the FSM's or Raft's refusal, final; Code names its
	// sentinel so the follower's caller can tell refusals apart.
	Rejected string `json:"rejected,omitempty"`
	Code     string `json:"code,omitempty"`
	// NotLeader asks the caller to find the leader again.
	NotLeader bool `json:"not_leader,omitempty"`
	// Result is what an applied command did. A leader of an older
	// version sends none: the caller then knows neither index nor value.
	Result *Result `json:"result,omitempty"`
	// Data is the answer of an operation that has one (membership.go).
	Data []byte `json:"data,omitempty"`
}

// applyTimeout bounds one attempt to commit on the leader.
const applyTimeout = 5 * time.Second

// onLeader runs req on the leader: here, or forwarded. It retries while
// there is no leader or leadership moves, until ctx ends, and returns
// what an applied command did.
func (s *Store) onLeader(ctx context.Context, req rpcRequest) (Result, error) {
	backoff := 20 * time.Millisecond
	var last error
	for {
		var retry bool
		var res Result
		var err error
		if s.IsLeader() {
			retry, res, err = s.local(req)
		} else if id, addr := s.Leader(); addr != "" {
			retry, res, err = s.forward(ctx, id, addr, req)
		} else {
			retry, err = true, ErrNoLeader
		}
		if !retry {
			return res, err
		}
		if !errors.Is(last, ErrStorage) || errors.Is(err, ErrStorage) {
			last = err // a storage failure is the news, not the election it caused
		}
		select {
		case <-ctx.Done():
			return Result{}, fmt.Errorf("%w (last try: %w): %w", ErrNoLeader, last, ctx.Err())
		case <-time.After(backoff):
		}
		// Capped low: right after an election, every report waiting
		// for a leader is on the failover's critical path.
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// local runs req on this node, the leader, and returns what an applied
// command did. retry is true when leadership was lost under it.
func (s *Store) local(req rpcRequest) (retry bool, res Result, err error) {
	var f raft.Future
	switch req.Op {
	case opApply:
		return s.applyLocal(req.Data)
	case opReadIndex:
		return s.readIndexLocal()
	case opAddVoter:
		f = s.raft.AddVoter(raft.ServerID(req.ID), raft.ServerAddress(req.Addr), 0, applyTimeout)
	case opAddNonvoter:
		f = s.raft.AddNonvoter(raft.ServerID(req.ID), raft.ServerAddress(req.Addr), 0, applyTimeout)
	case opRemove:
		f = s.raft.RemoveServer(raft.ServerID(req.ID), 0, applyTimeout)
	case opStepDown:
		f = s.raft.LeadershipTransfer()
	default:
		return false, res, fmt.Errorf("%w: unknown operation %q", ErrRejected, req.Op)
	}
	if err := f.Error(); err != nil {
		if leadershipError(err) {
			return true, res, err
		}
		return false, res, fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return false, res, nil
}

// applyLocal commits a command on this node, the leader, and returns
// what it did.
func (s *Store) applyLocal(data []byte) (retry bool, res Result, err error) {
	data, err = s.stamp(data)
	if err != nil {
		return !errors.Is(err, ErrBadCommand), res, err
	}
	af := s.raft.Apply(data, applyTimeout)
	if err := af.Error(); err != nil {
		// A leader that cannot write its log steps down: retry.
		return leadershipError(err) || errors.Is(err, ErrStorage), res, err
	}
	switch resp := af.Response().(type) {
	case error:
		return false, res, fmt.Errorf("%w: %w", ErrRejected, resp)
	case Result:
		return false, resp, nil
	}
	return false, Result{Index: af.Index()}, nil
}

func leadershipError(err error) bool {
	return errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) ||
		errors.Is(err, raft.ErrLeadershipTransferInProgress) || errors.Is(err, raft.ErrEnqueueTimeout)
}

// rpcConn is a connection to the leader's node port kept between
// forwarded requests: a fresh one costs a round trip (two with TLS) that
// would sit on the failover's critical path.
type rpcConn struct {
	mu   sync.Mutex
	addr string
	c    net.Conn
}

func (p *rpcConn) drop() {
	if p.c != nil {
		p.c.Close()
	}
	p.c, p.addr = nil, ""
}

// forward sends req to the leader's node port (id at addr), on the kept connection
// when it is free, else on a connection of its own.
func (s *Store) forward(ctx context.Context, id, addr string, req rpcRequest) (retry bool, res Result, err error) {
	cctx, cancel := context.WithTimeout(ctx, applyTimeout+time.Second)
	defer cancel()
	moved := s.lead.leaderMoved() // before reading the leader: a change after aborts
	// A dial to a frozen leader (TCP accepted, TLS unanswered) too.
	go func() {
		select {
		case <-moved:
			cancel()
		case <-cctx.Done():
		}
	}()
	p := &s.rpc
	if !p.mu.TryLock() {
		p = &rpcConn{}
		p.mu.Lock()
		defer p.drop()
	}
	defer p.mu.Unlock()
	if p.c != nil && p.addr != addr {
		p.drop()
	}
	if p.c == nil {
		c, err := s.mux.DialMember(cctx, id, addr, nodeport.KindRPC)
		if err != nil {
			return true, res, fmt.Errorf("forward to leader %s: %w", addr, err)
		}
		p.c, p.addr = c, addr
	}
	if dl, ok := cctx.Deadline(); ok {
		_ = p.c.SetDeadline(dl)
	}
	defer abortOnLeaderChange(p.c, moved)()
	req.From = s.cfg.NodeID
	if err := nodeport.WriteFrame(p.c, req); err != nil {
		if errors.Is(err, nodeport.ErrMessageTooLarge) {
			return false, res, fmt.Errorf("%w: %w", ErrRejected, err) // nothing was sent
		}
		p.drop()
		return true, res, fmt.Errorf("forward to leader %s: %w", addr, err)
	}
	var resp rpcResponse
	if err := nodeport.ReadFrame(p.c, &resp); err != nil {
		p.drop()
		// The leader may have applied it; the retry is idempotent
		// enough for every command (a repeated report changes nothing
		// more), and a once-only command's copy answers with the first
		// copy's result.
		return true, res, fmt.Errorf("forward to leader %s: no reply: %w", addr, err)
	}
	switch {
	case resp.NotLeader:
		return true, res, fmt.Errorf("%s is no longer the leader", addr)
	case resp.Rejected != "":
		return false, res, resp.refusal()
	case resp.Result != nil:
		res = *resp.Result
	}
	return false, res, nil
}

// rpcIdle closes a forwarding connection nobody used for this long.
const rpcIdle = 2 * time.Minute

// serveRPC answers forwarded requests from peer (the authenticated
// member, none for plaintext) on one connection until the peer closes it
// or it idles. A message over nodeport.MaxMessage is answered with a refusal
// and ends the connection, unread.
func (s *Store) serveRPC(c net.Conn, peer []string) {
	defer c.Close()
	for {
		_ = c.SetReadDeadline(time.Now().Add(rpcIdle))
		var req rpcRequest
		if err := nodeport.ReadFrame(c, &req); err != nil {
			if errors.Is(err, nodeport.ErrMessageTooLarge) {
				s.logger.Warn("node port: forwarded message refused", "remote", c.RemoteAddr().String(), "peer", peer, "err", err)
				_ = c.SetWriteDeadline(time.Now().Add(time.Second))
				_ = nodeport.WriteFrame(c, rpcResponse{Rejected: err.Error(), Code: "too_large"})
			}
			return
		}
		_ = c.SetDeadline(time.Now().Add(applyTimeout + 2*time.Second))
		if err := nodeport.WriteFrame(c, s.answerRPC(req, peer)); err != nil {
			return
		}
	}
}

// answerRPC runs one forwarded request on this node if it leads.
func (s *Store) answerRPC(req rpcRequest, peer []string) rpcResponse {
	if resp, ok := s.answerMembership(req, peer); ok {
		return resp
	}
	var resp rpcResponse
	if !s.IsLeader() {
		resp.NotLeader = true
		return resp
	}
	req, err := vouch(req, peer)
	if err == nil {
		if req.Op != opApply && req.Op != opReadIndex {
			s.logger.Info("forwarded cluster change", "op", req.Op, "id", req.ID, "from", peer, "claimed_from", req.From)
		}
		var retry bool
		var res Result
		if retry, res, err = s.local(req); retry {
			resp.NotLeader = true
			return resp
		}
		if err == nil && (req.Op == opApply || req.Op == opReadIndex) {
			resp.Result = &res
		}
	}
	if err != nil {
		resp.Rejected, resp.Code = trimRejected(err), codeOf(err)
	}
	return resp
}

// refusal rebuilds the leader's refusal on this side of the wire.
func (r rpcResponse) refusal() error {
	return &refusal{msg: r.Rejected, cause: sentinel(r.Code)}
}

// refusal is a refusal forwarded from the leader: errors.Is finds
// ErrRejected and the original sentinel.
type refusal struct {
	msg   string
	cause error
}

func (r *refusal) Error() string { return ErrRejected.Error() + ": " + r.msg }

func (r *refusal) Unwrap() []error {
	if r.cause == nil {
		return []error{ErrRejected}
	}
	return []error{ErrRejected, r.cause}
}

// trimRejected drops the "refused: " prefix the caller adds back.
func trimRejected(err error) string {
	msg := err.Error()
	prefix := ErrRejected.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}

// AddVoter adds a node as a voter (it also observes and votes on health).
func (s *Store) AddVoter(ctx context.Context, id, addr string) error {
	_, err := s.onLeader(ctx, rpcRequest{Op: opAddVoter, ID: id, Addr: addr})
	return err
}

// AddNonvoter adds a node that replicates and serves DNS but does not vote.
func (s *Store) AddNonvoter(ctx context.Context, id, addr string) error {
	_, err := s.onLeader(ctx, rpcRequest{Op: opAddNonvoter, ID: id, Addr: addr})
	return err
}

// RemoveServer removes a node from the cluster and forgets its verdicts.
func (s *Store) RemoveServer(ctx context.Context, id string) error {
	if _, err := s.onLeader(ctx, rpcRequest{Op: opRemove, ID: id}); err != nil {
		return err
	}
	_, err := s.Propose(ctx, &Command{Type: CmdRemoveMember, Member: &Member{ID: id}})
	return err
}

// StepDown asks the leader to hand leadership to another voter.
func (s *Store) StepDown(ctx context.Context) error {
	_, err := s.onLeader(ctx, rpcRequest{Op: opStepDown})
	return err
}

// MemberInfo is a member as Raft and the FSM know it.
type MemberInfo struct {
	ID         string `json:"id"`
	Datacenter string `json:"datacenter"`
	Address    string `json:"address"`
	Voter      bool   `json:"voter"`
	Leader     bool   `json:"leader"`
	APIAddr    string `json:"api_address,omitempty"`
	DNSAddr    string `json:"dns_address,omitempty"`
	// GeoIP is the SHA-256 of the member's geoip database (geo).
	GeoIP string `json:"geoip_sha256,omitempty"`

	// Health, as the leader's probes see it (MembersHealth): Role is
	// leader, follower, non-voter, joining or unreachable;
	// Reachability is reachable, unreachable or unknown.
	Role          string  `json:"role,omitempty"`
	Reachability  string  `json:"reachability,omitempty"`
	LastContactMS float64 `json:"last_contact_ms,omitempty"`
	AppliedIndex  uint64  `json:"applied_index,omitempty"`
	Promoting     bool    `json:"promoting,omitempty"`
	Error         string  `json:"error,omitempty"`
	// ClockSkewMS is how far the member's wall clock is ahead of the
	// leader's, as the leader's probes measure it (0: not known).
	ClockSkewMS float64 `json:"clock_skew_ms,omitempty"`
}

// Members lists the Raft configuration with what each member registered.
func (s *Store) Members() ([]MemberInfo, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	leaderID, _ := s.Leader()
	var out []MemberInfo
	v := s.fsm.View()
	for _, srv := range f.Configuration().Servers {
		m := MemberInfo{ID: string(srv.ID), Address: string(srv.Address), Voter: srv.Suffrage == raft.Voter, Leader: string(srv.ID) == leaderID}
		if reg, ok := v.Member(m.ID); ok {
			m.Datacenter, m.APIAddr, m.DNSAddr, m.GeoIP = reg.Datacenter, reg.APIAddr, reg.DNSAddr, reg.GeoIP
		}
		out = append(out, m)
	}
	return out, nil
}

// IsVoter reports whether id is a voter in the current configuration.
func (s *Store) IsVoter(id string) bool {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return false
	}
	for _, srv := range f.Configuration().Servers {
		if string(srv.ID) == id {
			return srv.Suffrage == raft.Voter
		}
	}
	return false
}
