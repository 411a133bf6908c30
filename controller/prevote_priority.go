package controller

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
)

// Pre-vote priority. When a leader dies, both survivors of a three-node
// cluster usually stand within a round trip of each other: each grants
// the other's pre-vote (neither has a leader any more), each then votes
// for itself, and the vote splits. hashicorp/raft has each wait a random
// one to two election timeouts before the next round, and over a WAN,
// where a round trip is a quarter of that window, the next rounds fall
// within half a round trip of each other (a split again) about one time
// in four (chaos lab, 100 ms one way: 2 of 20 elections split twice and
// took 4.8 and 5.9 s against the 4.4 s stated).
//
// priorityTransport breaks the tie between campaigning nodes without
// touching Raft's rules: a node that is campaigning itself refuses the
// pre-vote of a voter ranked after it (voters ranked by ID) when its own
// log is at least as complete as the candidate's, so the candidate would
// grant it its vote. The lower-ranked node wins its pre-vote and the
// other, refused, stands down at the lower one's vote; when the
// candidate's log is the more complete, the request goes to Raft as
// before. Refusing a pre-vote never affects safety (a pre-vote changes no
// term and no vote), and a node stops refusing a peer that refused its
// own pre-vote, or that it could not ask (chaos seed 10064: its pooled
// connections to that peer were dead), so that the tie-break never
// stalls an election it cannot win itself.
type priorityTransport struct {
	*raft.NetworkTransport
	self     raft.ServerID
	consumer chan raft.RPC
	done     chan struct{}
	wg       sync.WaitGroup

	// view is what the node knows of itself, read when a pre-vote
	// arrives; nil until Raft runs (pre-votes go to Raft as they are).
	view atomic.Pointer[nodeView]
	// aside: this node must not stand for election (its Raft log cannot
	// be written, see Store.standAside); its own pre-votes and votes
	// are not sent.
	aside atomic.Bool

	mu sync.Mutex
	// campaign is the term of this node's latest pre-vote round and
	// when it was sent (a round asks every peer at once; a new round
	// of the same term comes an election timeout later), and lost the
	// peers that refused it or could not be asked: refusing them in
	// turn would only stall them.
	campaign   uint64
	campaignAt time.Time
	lost       map[raft.ServerID]bool
}

// newRound is how long after a round's first pre-vote another one is a
// new round (rounds are an election timeout apart, 500 ms at least).
const newRound = 200 * time.Millisecond

// nodeView is how the transport asks Raft about this node.
type nodeView struct {
	state     func() raft.RaftState
	voters    func() []raft.ServerID // sorted by ID
	lastEntry func() (index, term uint64)
}

// watch has the transport read r's state from now on.
func (p *priorityTransport) watch(r *raft.Raft) {
	p.view.Store(&nodeView{state: r.State, voters: func() []raft.ServerID { return raftVoters(r) }, lastEntry: func() (uint64, uint64) { return raftLastEntry(r) }})
}

// newPriorityTransport wraps t. Close stops its goroutine (before or
// after t closes).
func newPriorityTransport(t *raft.NetworkTransport, self raft.ServerID) *priorityTransport {
	p := &priorityTransport{NetworkTransport: t, self: self, consumer: make(chan raft.RPC), done: make(chan struct{})}
	p.wg.Add(1)
	go p.filter()
	return p
}

// Consumer is the channel Raft takes requests from: the wrapped
// transport's, less the pre-votes this node refuses itself.
func (p *priorityTransport) Consumer() <-chan raft.RPC { return p.consumer }

// Close stops the filter and closes the wrapped transport.
func (p *priorityTransport) Close() error {
	p.stop()
	return p.NetworkTransport.Close()
}

func (p *priorityTransport) stop() {
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.wg.Wait()
}

func (p *priorityTransport) filter() {
	defer p.wg.Done()
	in := p.NetworkTransport.Consumer()
	for {
		var rpc raft.RPC
		select {
		case rpc = <-in:
		case <-p.done:
			return
		}
		if req, ok := rpc.Command.(*raft.RequestPreVoteRequest); ok && p.refuse(req) {
			header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(p.self), Addr: p.EncodePeer(p.self, p.LocalAddr())}
			rpc.Respond(&raft.RequestPreVoteResponse{RPCHeader: header, Term: req.Term}, nil)
			continue
		}
		select {
		case p.consumer <- rpc:
		case <-p.done:
			rpc.Respond(nil, raft.ErrTransportShutdown)
			return
		}
	}
}

// refuse reports whether this node, campaigning, refuses req's pre-vote
// in favour of its own.
func (p *priorityTransport) refuse(req *raft.RequestPreVoteRequest) bool {
	v := p.view.Load()
	if v == nil || v.state() != raft.Candidate {
		return false
	}
	p.mu.Lock()
	lost := p.lost[raft.ServerID(req.ID)]
	p.mu.Unlock()
	if lost {
		return false
	}
	voters := v.voters()
	mine, theirs := slices.Index(voters, p.self), slices.Index(voters, raft.ServerID(req.ID))
	if mine < 0 || theirs < 0 || mine > theirs {
		return false
	}
	index, term := v.lastEntry()
	return term > req.LastLogTerm || term == req.LastLogTerm && index >= req.LastLogIndex
}

// A node standing aside sends none of its own pre-votes or votes: each
// comes back refused at the request's term, which is what Raft records
// for a request that fails, without the "failed to make requestVote
// RPC" it logs at ERROR for every peer twice an election timeout (the
// node said once, at WARN, that it stands aside).

// RequestVote sends this node's vote request, unless it stands aside.
func (p *priorityTransport) RequestVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestVoteRequest, resp *raft.RequestVoteResponse) error {
	if p.aside.Load() {
		resp.Term, resp.Granted = args.Term, false
		return nil
	}
	return p.NetworkTransport.RequestVote(id, target, args, resp)
}

// RequestPreVote sends this node's pre-vote to id, unless it stands
// aside, and notes whether id refused it or could not be asked.
func (p *priorityTransport) RequestPreVote(id raft.ServerID, target raft.ServerAddress, args *raft.RequestPreVoteRequest, resp *raft.RequestPreVoteResponse) error {
	if p.aside.Load() {
		resp.Term, resp.Granted = args.Term, false
		return nil
	}
	p.mu.Lock()
	if args.Term != p.campaign || time.Since(p.campaignAt) > newRound {
		p.campaign, p.campaignAt, p.lost = args.Term, time.Now(), map[raft.ServerID]bool{}
	}
	p.mu.Unlock()
	err := p.NetworkTransport.RequestPreVote(id, target, args, resp)
	if err != nil || !resp.Granted {
		p.mu.Lock()
		if args.Term == p.campaign {
			p.lost[id] = true
		}
		p.mu.Unlock()
	}
	return err
}

// sortedVoters lists the voters of servers by ID.
func sortedVoters(servers []raft.Server) []raft.ServerID {
	var out []raft.ServerID
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			out = append(out, s.ID)
		}
	}
	slices.Sort(out)
	return out
}

// raftLastEntry is r's last log entry or snapshot, whichever is later,
// as Raft compares them in a vote.
func raftLastEntry(r *raft.Raft) (index, term uint64) {
	st := r.Stats()
	num := func(k string) uint64 { n, _ := strconv.ParseUint(st[k], 10, 64); return n }
	index, term = num("last_log_index"), num("last_log_term")
	if si := num("last_snapshot_index"); si > index {
		index, term = si, num("last_snapshot_term")
	}
	return index, term
}

// raftVoters lists r's voters by ID.
func raftVoters(r *raft.Raft) []raft.ServerID {
	f := r.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	return sortedVoters(f.Configuration().Servers)
}
