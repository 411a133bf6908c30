package controller

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// tcpTransport is a real hashicorp/raft TCP transport on loopback.
func tcpTransport(t *testing.T) *raft.NetworkTransport {
	t.Helper()
	tr, err := raft.NewTCPTransport("127.0.0.1:0", nil, 2, 2*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// answer serves ch's pre-votes with granted until stop closes, and
// reports each request it saw.
func answer(ch <-chan raft.RPC, granted bool, seen chan<- string, stop <-chan struct{}) {
	for {
		select {
		case rpc := <-ch:
			if req, ok := rpc.Command.(*raft.RequestPreVoteRequest); ok {
				seen <- string(req.ID)
				rpc.Respond(&raft.RequestPreVoteResponse{Term: req.Term, Granted: granted}, nil)
				continue
			}
			rpc.Respond(nil, io.EOF)
		case <-stop:
			return
		}
	}
}

// A campaigning node refuses the pre-vote of a voter ranked after it
// when its own log would win that voter's vote, without Raft seeing the
// request; every other pre-vote reaches Raft as before: the candidate
// ranked first, a candidate with the more complete log, a node not
// campaigning, one whose own campaign a peer refused, and any while Raft
// is not watched yet.
func TestPreVotePriority(t *testing.T) {
	inner := tcpTransport(t)
	p := newPriorityTransport(inner, "n1")
	defer p.Close()
	toRaft := make(chan string, 8)
	stop := make(chan struct{})
	defer close(stop)
	go answer(p.Consumer(), true, toRaft, stop)

	client := tcpTransport(t)
	defer client.Close()
	// Pooled connections keep the other side's handlers reading.
	t.Cleanup(func() { client.CloseStreams(); p.CloseStreams() })
	ask := func(id string, index, term uint64) (granted, reachedRaft bool) {
		t.Helper()
		req := &raft.RequestPreVoteRequest{
			RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(id), Addr: []byte(client.LocalAddr())},
			Term:      7, LastLogIndex: index, LastLogTerm: term,
		}
		var resp raft.RequestPreVoteResponse
		if err := client.RequestPreVote(raft.ServerID("n1"), p.LocalAddr(), req, &resp); err != nil {
			t.Fatal(err)
		}
		select {
		case <-toRaft:
			reachedRaft = true
		default:
		}
		return resp.Granted, reachedRaft
	}

	if granted, raft := ask("n2", 10, 3); !granted || !raft {
		t.Errorf("before Raft runs: granted %v, reached Raft %v; want the request passed on", granted, raft)
	}
	state := raft.Candidate
	p.view.Store(&nodeView{
		state:     func() raft.RaftState { return state },
		voters:    func() []raft.ServerID { return []raft.ServerID{"n1", "n2", "n3"} },
		lastEntry: func() (uint64, uint64) { return 10, 3 },
	})
	if granted, raft := ask("n2", 10, 3); granted || raft {
		t.Errorf("campaigning, n2's log as complete as ours: granted %v, reached Raft %v; want refused here", granted, raft)
	}
	if granted, raft := ask("n3", 9, 3); granted || raft {
		t.Errorf("campaigning, n3's log behind ours: granted %v, reached Raft %v; want refused here", granted, raft)
	}
	for _, c := range []struct {
		why         string
		id          string
		index, term uint64
	}{
		{"n2's log longer", "n2", 11, 3},
		{"n2's last term later", "n2", 5, 4},
		{"n0 ranked first", "n0", 10, 3},
		{"n9 not a voter", "n9", 10, 3},
	} {
		if _, raft := ask(c.id, c.index, c.term); !raft {
			t.Errorf("campaigning, %s: refused here, want it passed to Raft", c.why)
		}
	}
	state = raft.Follower
	p.view.Store(p.view.Load()) // publish the new state to the filter
	if _, raft := ask("n2", 10, 3); !raft {
		t.Error("a follower refused a pre-vote itself")
	}

	// This node's own pre-vote, refused by n2: it stops refusing n2's
	// for that round, and still refuses n3's.
	state = raft.Candidate
	p.view.Store(p.view.Load())
	peer := tcpTransport(t)
	defer peer.Close()
	go answer(peer.Consumer(), false, make(chan string, 8), stop)
	own := func(to raft.ServerID, addr raft.ServerAddress) error {
		var resp raft.RequestPreVoteResponse
		req := &raft.RequestPreVoteRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("n1"), Addr: []byte(p.LocalAddr())}, Term: 7, LastLogIndex: 10, LastLogTerm: 3}
		err := p.RequestPreVote(to, addr, req, &resp)
		if err == nil && resp.Granted {
			t.Fatalf("own pre-vote to %s granted", to)
		}
		return err
	}
	if err := own("n2", peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if _, raft := ask("n2", 10, 3); !raft {
		t.Error("n2 refused this node's own pre-vote, and it still refused n2's itself")
	}
	if _, raft := ask("n3", 10, 3); raft {
		t.Error("n2 refused this node's own pre-vote, and it stopped refusing n3's too")
	}
	// n3 cannot be asked (nothing listens there): n3's pre-vote goes
	// to Raft.
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := closed.Addr().String()
	closed.Close()
	if err := own("n3", raft.ServerAddress(gone)); err == nil {
		t.Fatal("a pre-vote to a closed port went through")
	}
	if _, raft := ask("n3", 10, 3); !raft {
		t.Error("this node could not ask n3, and it still refused n3's pre-vote itself")
	}
}

// TestStandingAsideRefusesItsOwnVotes: a node standing aside asks no
// peer for a pre-vote or a vote; each comes back refused at the
// request's term, as Raft records a request that failed, but without an
// error (which Raft logs at ERROR for every peer, twice an election
// timeout). Once it may stand again, its requests reach the peer.
func TestStandingAsideRefusesItsOwnVotes(t *testing.T) {
	peer := tcpTransport(t)
	defer peer.Close()
	seen := make(chan string, 8)
	stop := make(chan struct{})
	defer close(stop)
	go answer(peer.Consumer(), true, seen, stop)

	p := newPriorityTransport(tcpTransport(t), "n1")
	defer p.Close()
	t.Cleanup(func() { p.CloseStreams(); peer.CloseStreams() })
	header := raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("n1"), Addr: []byte(p.LocalAddr())}

	p.aside.Store(true)
	var pre raft.RequestPreVoteResponse
	if err := p.RequestPreVote("n2", peer.LocalAddr(), &raft.RequestPreVoteRequest{RPCHeader: header, Term: 9}, &pre); err != nil {
		t.Fatalf("pre-vote while standing aside: %v, want a refusal without an error", err)
	}
	var vote raft.RequestVoteResponse
	if err := p.RequestVote("n2", peer.LocalAddr(), &raft.RequestVoteRequest{RPCHeader: header, Term: 9}, &vote); err != nil {
		t.Fatalf("vote while standing aside: %v, want a refusal without an error", err)
	}
	if pre.Granted || pre.Term != 9 || vote.Granted || vote.Term != 9 {
		t.Errorf("standing aside: pre-vote %+v, vote %+v; want both refused at term 9", pre, vote)
	}
	select {
	case s := <-seen:
		t.Errorf("the peer was asked (%s) while this node stood aside", s)
	case <-time.After(100 * time.Millisecond):
	}

	p.aside.Store(false)
	pre = raft.RequestPreVoteResponse{}
	if err := p.RequestPreVote("n2", peer.LocalAddr(), &raft.RequestPreVoteRequest{RPCHeader: header, Term: 10}, &pre); err != nil {
		t.Fatal(err)
	}
	if !pre.Granted {
		t.Errorf("pre-vote after standing aside: %+v, want the peer's grant", pre)
	}
	select {
	case <-seen:
	case <-time.After(5 * time.Second):
		t.Error("the peer was not asked once this node may stand again")
	}
}
