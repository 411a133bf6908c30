package chaos

import (
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// FaultMembers adds a fourth member and removes it again while one node
// is partitioned or killed, after a mistyped add.
const FaultMembers = "member add/remove during a fault"

// invMembers is the number of the membership change's assertion
// (docs/reliability.md).
const invMembers = 9

// spareID is the member the fault adds and removes.
const spareID = "n4"

// spare makes a fourth datacenter's namespace (once per lab) and a node in
// it that is not a member: it lists the three as its peers and waits to be
// added. It is not among c.Nodes: the timeline does not sample it.
func (c *Cluster) spare() (*Node, error) {
	const i = 3
	if len(c.Lab.NS) <= i {
		if err := c.Lab.addDatacenter(i); err != nil {
			return nil, err
		}
		for j := range i {
			l := c.Lab.Switch.Get(0, 1)
			l.Blocked = false
			c.Lab.Switch.Set(i, j, l)
			c.Lab.Switch.Set(j, i, l)
		}
		tlsDir := filepath.Join(c.dir, "tls")
		if out, err := exec.Command(c.bin, "tls", "cert", "create", "--node", spareID,
			"--address", c.Lab.NodeIP(i)+","+c.Lab.ServiceIP(i), "--dir", tlsDir).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("chaos: tls cert %s: %w: %s", spareID, err, out)
		}
	}
	var peers []string
	for _, n := range c.Nodes {
		peers = append(peers, fmt.Sprintf("%s@%s:7000", n.ID, c.Lab.NodeIP(n.Idx)))
	}
	n := &Node{ID: spareID, Idx: i, Mode: "local", DNS: c.Lab.ServiceIP(i) + ":53", API: c.Lab.ServiceIP(i) + ":8053"}
	tlsDir := filepath.Join(c.dir, "tls")
	n.args = []string{"agent", "--node-id", n.ID, "--datacenter", "dc3",
		"--raft-addr", c.Lab.NodeIP(i) + ":7000", "--peers", strings.Join(peers, ","),
		"--dns-addr", n.DNS, "--api-addr", n.API,
		// A fresh data dir each time: a removed member does not come back.
		"--data-dir", filepath.Join(c.dir, fmt.Sprintf("%s-%d", n.ID, time.Now().UnixNano())),
		"--spec", filepath.Join(c.dir, "spec.yaml"),
		"--tls-ca", filepath.Join(tlsDir, "ca.pem"),
		"--tls-cert", filepath.Join(tlsDir, n.ID+".pem"), "--tls-key", filepath.Join(tlsDir, n.ID+"-key.pem"),
		"--api-tokens", filepath.Join(c.dir, "tokens.yaml"),
		"--minority-mode", n.Mode,
	}
	if c.rtt > 0 { // the same timing as the others
		n.args = append(n.args, "--wan-rtt", c.rtt.String())
	}
	return n, c.Start(n)
}

// memberView is what a node's /v1/members says, as far as the fault
// looks.
type memberView struct {
	Members []struct {
		ID    string `json:"id"`
		Voter bool   `json:"voter"`
	} `json:"members"`
}

// voters lists the voters' IDs, sorted as the node gives them, and all
// members'.
func (v memberView) voters() (voters, all string) {
	var vs, as []string
	for _, m := range v.Members {
		as = append(as, m.ID)
		if m.Voter {
			vs = append(vs, m.ID)
		}
	}
	return strings.Join(vs, ","), strings.Join(as, ",")
}

// members runs while node i is cut off (both ways) or killed: a members
// add with a mistyped address must be refused and change nothing; the
// spare node is added (a fourth voter: forced) and, once a voter or
// after 5 s, removed again. The cluster must commit a write after each
// step; after the heal every node must list the three voters and only
// them.
func (tr *trial) members(f *FaultRun) error {
	i, pickLeader, kill := tr.rng.IntN(len(tr.c.Nodes)), tr.rng.IntN(3) == 0, tr.rng.IntN(2) == 0
	if l, ok := tr.leaderIdx(); ok && pickLeader {
		i, f.Leader = l, true
	}
	how := "partitioned"
	if kill {
		how = "killed"
		tr.kill(i)
	} else {
		tr.cut(i, true, true)
	}
	f.Label = fmt.Sprintf("%s (n%d %s, leader: %v)", f.Kind, i+1, how, f.Leader)
	bad := func(format string, args ...any) {
		f.Violations = append(f.Violations, Violation{Invariant: invMembers, T: time.Since(tr.t0), Fault: f.Kind, What: fmt.Sprintf(format, args...)})
	}
	spare, err := tr.c.spare()
	tr.cutSpare(i, !kill)
	if err == nil {
		tr.changeMembers(i, spare, bad)
		_ = tr.c.Signal(spare, syscall.SIGKILL)
	}
	tr.hold(time.Second, 2*time.Second)
	if kill {
		if serr := tr.start(i); serr != nil && err == nil {
			err = serr
		}
	} else {
		tr.cut(i, false, false)
		tr.cutSpare(i, false)
	}
	tr.membersConverge(bad)
	return err
}

// cutSpare blocks (or unblocks) the links between node i and the spare,
// so that a partitioned node is cut off from every member.
func (tr *trial) cutSpare(i int, blocked bool) {
	if len(tr.c.Lab.NS) < 4 {
		return
	}
	for _, p := range [][2]int{{3, i}, {i, 3}} {
		l := tr.c.Lab.Switch.Get(p[0], p[1])
		l.Blocked = blocked
		tr.c.Lab.Switch.Set(p[0], p[1], l)
	}
}

// changeMembers makes the mistyped add, the add and the removal through a
// node that reaches the majority (i is the node out).
func (tr *trial) changeMembers(i int, spare *Node, bad func(string, ...any)) {
	via := tr.c.Nodes[(i+1)%len(tr.c.Nodes)]
	tr.hold(time.Second, 2*time.Second)
	// A typo: nothing listens there. Refused, nothing changed.
	typo := map[string]any{"id": spareID, "address": tr.c.Lab.NodeIP(3) + ":7999", "force": true}
	before := tr.memberList(via)
	if code, b, err := tr.callRetry(via, http.MethodPost, "/v1/members", typo); err == nil && code < 400 {
		bad("members add with a mistyped address was accepted: %d %s", code, firstLine(string(b)))
	} else if after := tr.memberList(via); after != before {
		bad("members add with a mistyped address changed the members from %s to %s", before, after)
	}
	add := map[string]any{"id": spareID, "address": tr.c.Lab.NodeIP(3) + ":7000", "force": true}
	if code, b, err := tr.callRetry(via, http.MethodPost, "/v1/members", add); err != nil || code >= 300 {
		bad("members add %s with one node out: %d %s %v", spareID, code, firstLine(string(b)), err)
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		var v memberView
		if tr.c.Get(via, "/v1/members", &v) == nil {
			if vs, _ := v.voters(); strings.Contains(vs, spareID) {
				break
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	tr.quorumWrite("adding "+spareID, bad)
	code, b, err := tr.callRetry(via, http.MethodDelete, "/v1/members/"+spareID, nil)
	if err == nil && code == http.StatusConflict {
		code, b, err = tr.callRetry(via, http.MethodDelete, "/v1/members/"+spareID+"?force=true", nil)
	}
	if err != nil || code >= 300 {
		bad("members remove %s with one node out: %d %s %v", spareID, code, firstLine(string(b)), err)
	}
	tr.quorumWrite("removing "+spareID, bad)
}

// quorumWrite checks that the cluster still commits after a membership
// change: an incident written through a majority node is applied within
// 10 s (a write with no answer, or a 5xx, is made again).
func (tr *trial) quorumWrite(after string, bad func(string, ...any)) {
	arg := 50 + tr.extra%12
	tr.extra++
	deadline := time.Now().Add(10 * time.Second)
	for {
		out := tr.write(OpInput{Kind: OpIncident, Arg: arg})
		if out.Outcome == Applied {
			return
		}
		if out.Outcome != Unknown || time.Now().After(deadline) {
			bad("quorum lost after %s: a write was not applied: %s", after, out.Detail)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// callRetry calls path on n, again for up to 6 s while the answer is a
// 5xx (no leader yet, a leader change).
func (tr *trial) callRetry(n *Node, method, path string, body any) (int, []byte, error) {
	deadline := time.Now().Add(6 * time.Second)
	for {
		code, b, err := tr.c.Call(n, method, path, body)
		if (err == nil && code < 500) || time.Now().After(deadline) {
			return code, b, err
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// memberList is n's members, or what kept it from saying.
func (tr *trial) memberList(n *Node) string {
	var v memberView
	if err := tr.c.Get(n, "/v1/members", &v); err != nil {
		return err.Error()
	}
	_, all := v.voters()
	return all
}

// membersConverge waits up to 15 s for every node to list n1-n3 as
// its voters and no other member.
func (tr *trial) membersConverge(bad func(string, ...any)) {
	var want []string
	for _, n := range tr.c.Nodes {
		want = append(want, n.ID)
	}
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for {
		ok := true
		var seen []string
		for _, n := range tr.c.Nodes {
			var v memberView
			err := tr.c.Get(n, "/v1/members", &v)
			vs, all := v.voters()
			good := err == nil && vs == strings.Join(want, ",") && all == vs
			ok = ok && good
			seen = append(seen, fmt.Sprintf("%s: voters %s, members %s %v", n.ID, vs, all, err))
		}
		last = strings.Join(seen, "; ")
		if ok {
			return
		}
		if time.Now().After(deadline) {
			bad("members not converged 15s after the heal: %s", last)
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
}
