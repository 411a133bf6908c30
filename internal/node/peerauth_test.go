package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// tlsCluster is three nodes over mutual TLS, with the certificates that
// made them and what they logged.
type tlsCluster struct {
	ca    *testutil.CA
	nodes []*Node
	ids   []string
	addrs []string // node ports
	certs map[string][2]string
	logs  *lockedBuffer
}

// steadyTiming elects quickly but keeps its leader under a loaded -race
// run: the tests pick a follower and expect it to stay one.
var steadyTiming = controller.Timing{HeartbeatTimeout: time.Second, ElectionTimeout: time.Second,
	LeaderLeaseTimeout: 500 * time.Millisecond, CommitTimeout: 20 * time.Millisecond}

// operateToken is the API token of the operator "oncall".
const operateToken = "operate-token-0123456789abcdef"

func startTLSCluster(t *testing.T) *tlsCluster {
	t.Helper()
	c := &tlsCluster{ca: testutil.NewCA(t), ids: []string{"a-1", "b-1", "c-1"}, certs: map[string][2]string{}, logs: &lockedBuffer{}}
	dir := t.TempDir()
	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: pa, datacenter: a, endpoints: [{address: 192.0.2.1}]}
  - {name: pb, datacenter: b, endpoints: [{address: 192.0.2.2}]}
records:
  - {name: www.example.test, type: A, pools: [pa, pb]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	peers, lns := heldPeers(t, c.ids)
	for _, p := range peers {
		c.addrs = append(c.addrs, p.Address)
	}
	tokens := &api.Tokens{}
	tokens.Add("oncall", api.ScopeOperate, operateToken)
	logger := slog.New(slog.NewTextHandler(c.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	for i, id := range c.ids {
		cert, key := c.ca.Issue(t, id)
		c.certs[id] = [2]string{cert, key}
		n, err := Start(Config{NodeID: id, Datacenter: string(rune('a' + i)), RaftAddr: peers[i].Address, Peers: peers,
			DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, id), Spec: specFile,
			TLSCA: c.ca.CAFile, TLSCert: cert, TLSKey: key, Tokens: tokens, Timing: steadyTiming, Deps: Deps{Listener: lns[i]}}, logger.With("node", id))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close(context.Background()) })
		c.nodes = append(c.nodes, n)
	}
	deadline := time.Now().Add(20 * time.Second)
	for _, n := range c.nodes {
		for !n.readyNow() {
			if time.Now().After(deadline) {
				t.Fatalf("%s has no leader or spec over TLS", n.cfg.NodeID)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// leader returns the index of the leading node.
func (c *tlsCluster) leader(t *testing.T) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for i, n := range c.nodes {
			if n.Store().IsLeader() {
				return i
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("no leader")
	return -1
}

// clientTLS is a TLS client setup with the certificate in files, trusting
// the cluster's CA.
func (c *tlsCluster) clientTLS(t *testing.T, files [2]string) *tls.Config {
	t.Helper()
	kp, err := tls.LoadX509KeyPair(files[0], files[1])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(c.ca.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool.AppendCertsFromPEM(caPEM)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{kp}, ServerName: "127.0.0.1"}
}

// drains lists the drain targets in node i's state.
func (c *tlsCluster) drains(i int) []string {
	var out []string
	for _, o := range c.nodes[i].Store().FSM().View().Overrides() {
		out = append(out, o.Target)
	}
	return out
}

// events returns node i's event messages.
func (c *tlsCluster) events(i int) []string {
	var out []string
	for _, e := range c.nodes[i].Store().FSM().View().Events() {
		out = append(out, e.Message)
	}
	return out
}

// forward sends one forwarding request, as a follower does, on conn (the
// kind byte already sent), and returns the raw reply.
func forward(conn net.Conn, req any) (map[string]any, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := conn.Write(append(frame, body...)); err != nil {
		return nil, err
	}
	return readReply(conn)
}

func readReply(conn net.Conn) (map[string]any, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(conn, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > 1<<20 {
		return nil, fmt.Errorf("reply of %d bytes", n)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(conn, body); err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(body, &out)
}

// applyRequest is a forwarded proposal of cmd.
func applyRequest(t *testing.T, cmd *controller.Command) map[string]any {
	t.Helper()
	data, err := cmd.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return map[string]any{"op": "apply", "data": data}
}

func drainCommand(target, author string) *controller.Command {
	return &controller.Command{Type: controller.CmdSetOverride, Time: time.Now().UTC(), ID: "test-" + target + "-" + author,
		Override: &controller.Override{Kind: controller.OverrideDrain, Target: target, Reason: "from the node port", Author: author}}
}

// dialPeer opens a node-port connection of the given kind with the
// certificate in files; the error is the handshake's or the refusal's.
func (c *tlsCluster) dialPeer(t *testing.T, addr string, files [2]string, kind byte) (net.Conn, error) {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, c.clientTLS(t, files))
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	// The kind, then the hello: no cluster ID (one that matches any),
	// and the node's answer.
	if _, err := conn.Write([]byte{kind, 0}); err != nil {
		conn.Close()
		return nil, err
	}
	var answer [2]byte
	if _, err := io.ReadFull(conn, answer[:]); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := io.ReadFull(conn, make([]byte, answer[1])); err != nil || answer[0] != 0 {
		conn.Close()
		return nil, fmt.Errorf("hello refused (%d): %v", answer[0], err)
	}
	return conn, nil
}

// The audit's attack: an operator's client certificate from the cluster's
// CA (CN=alice, clientAuth only, no node SAN) drained a datacenter through
// the node port. Every node now refuses it at the handshake, for Raft and
// forwarding alike, logs why, and nothing is drained. A certificate from
// the CA for a node that is not a member is refused the same way.
func TestNodePortRefusesNonMembers(t *testing.T) {
	c := startTLSCluster(t)
	alice := func() [2]string {
		cert, key := c.ca.IssueSpec(t, testutil.CertSpec{CommonName: "alice", Client: true})
		return [2]string{cert, key}
	}()
	// The same operator certificate carrying the members' host as an IP
	// SAN (all test nodes listen on 127.0.0.1): before node certificates
	// had to be usable as a server's, it passed for every member and
	// drained a datacenter through the node port.
	aliceAtMemberHost := func() [2]string {
		cert, key := c.ca.IssueSpec(t, testutil.CertSpec{CommonName: "alice-ip", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Client: true})
		return [2]string{cert, key}
	}()
	stranger := func() [2]string {
		cert, key := c.ca.Issue(t, "d-9") // a node certificate, but d-9 is no member
		return [2]string{cert, key}
	}()
	for _, who := range []struct {
		name  string
		files [2]string
		why   string
	}{
		{"operator certificate", alice, `has no spiffe://detour/node/<id> URI SAN and no SAN for a member's address`},
		{"non-member node", stranger, `which is not a member (members: a-1, b-1, c-1)`},
		{"operator certificate with a member's address", aliceAtMemberHost, `lacks the serverAuth extended key usage`},
	} {
		t.Run(who.name, func(t *testing.T) {
			for i, addr := range c.addrs {
				for _, kind := range []byte{'C', 'R'} {
					conn, err := c.dialPeer(t, addr, who.files, kind)
					if err == nil {
						// TLS 1.3 reports the refusal of a client
						// certificate on the first read.
						_, err = forward(conn, applyRequest(t, drainCommand("a", "alice")))
						conn.Close()
					}
					if err == nil {
						t.Errorf("%s, kind %c: a forward was answered", c.ids[i], kind)
					}
				}
			}
			for i := range c.nodes {
				if d := c.drains(i); len(d) != 0 {
					t.Errorf("%s has drains %v", c.ids[i], d)
				}
			}
			// One refusal logged with the reason per node and kind;
			// a node logs it just after the client hears of it.
			for _, id := range c.ids {
				if n := c.waitRefusals(id, who.why, 2); n < 2 {
					t.Errorf("%s logged %d refusals with %q, want 2:\n%s", id, n, who.why, tail(c.logs.String(), 3000))
				}
			}
		})
	}
	// A member's certificate still gets through: the refusals above are
	// about who, not about TLS.
	f := c.follower(t)
	conn, err := c.dialPeer(t, c.addrs[c.leader(t)], c.certs[c.ids[f]], 'C')
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if reply, err := forward(conn, applyRequest(t, drainCommand("a", "oncall"))); err != nil || reply["rejected"] != nil {
		t.Fatalf("a member's forward: %v %v", reply, err)
	}
}

// waitRefusals waits (up to 5 s) until node id has logged want refusals
// of a peer with the reason why, and returns how many it logged.
func (c *tlsCluster) waitRefusals(id, why string, want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := 0
		for _, line := range strings.Split(c.logs.String(), "\n") {
			if strings.Contains(line, "node="+id+" ") && strings.Contains(line, "peer refused") && strings.Contains(line, why) {
				n++
			}
		}
		if n >= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// follower returns the index of a node that does not lead.
func (c *tlsCluster) follower(t *testing.T) int {
	return (c.leader(t) + 1) % len(c.nodes)
}

// A drain made through a follower's API is recorded as the token's name
// and the follower that forwarded it. A member that forges the author
// field cannot pass for another node: the node that forwarded it is
// always the last "via", and a member reports and registers only as
// itself.
func TestForwardedAuthorIsVouchedFor(t *testing.T) {
	c := startTLSCluster(t)
	l, f := c.leader(t), c.follower(t)
	body := `{"target": "a", "reason": "maintenance"}`
	req, err := http.NewRequest(http.MethodPost, "https://"+c.nodes[f].APIAddr()+"/v1/overrides/drain", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+operateToken)
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.clientTLS(t, c.certs[c.ids[f]]).RootCAs}}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("drain through %s: %d %s", c.ids[f], resp.StatusCode, out)
	}
	want := "drain datacenter a by oncall via " + c.ids[f] + ": maintenance"
	if !containsLine(c.events(l), want) {
		t.Errorf("events lack %q:\n%s", want, strings.Join(c.events(l), "\n"))
	}

	// The follower's own certificate, used to forge: it claims the
	// author "alice via <leader>", as if the leader's own API had taken
	// alice's drain.
	conn, err := c.dialPeer(t, c.addrs[l], c.certs[c.ids[f]], 'C')
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	forged := "alice via " + c.ids[l]
	if reply, err := forward(conn, applyRequest(t, drainCommand("b", forged))); err != nil || reply["rejected"] != nil {
		t.Fatalf("forward: %v %v", reply, err)
	}
	want = fmt.Sprintf("drain datacenter b by %q via %s: from the node port", forged, c.ids[f])
	if !containsLine(c.events(l), want) {
		t.Errorf("events lack %q:\n%s", want, strings.Join(c.events(l), "\n"))
	}
	for _, e := range c.events(l) {
		if strings.Contains(e, "by "+forged+":") {
			t.Errorf("the forged author passed: %s", e)
		}
	}
	other := c.ids[(f+1)%3]
	if other == c.ids[l] {
		other = c.ids[(f+2)%3]
	}
	for _, cmd := range []*controller.Command{
		{Type: controller.CmdObserverReport, Time: time.Now().UTC(), Report: &controller.ObserverReport{Observer: other,
			Changes: []controller.VerdictChange{{Pool: "pa", Address: "192.0.2.1", Up: false, Reason: "forged"}}}},
		{Type: controller.CmdRegisterMember, Time: time.Now().UTC(), ID: "test-register", Member: &controller.Member{ID: other, Datacenter: "x", RaftAddr: "192.0.2.9:7001"}},
	} {
		reply, err := forward(conn, applyRequest(t, cmd))
		if err != nil || reply["code"] != "bad_command" || !strings.Contains(fmt.Sprint(reply["rejected"]), "a member speaks only for itself") {
			t.Errorf("%s for %s sent by %s: %v %v, want refused", cmd.Type, other, c.ids[f], reply, err)
		}
	}
	if m, ok := c.nodes[l].Store().FSM().View().Member(other); ok && m.RaftAddr == "192.0.2.9:7001" {
		t.Errorf("forged registration applied: %+v", m)
	}

}

// A member may forward what its operators and its own observer say, but
// not the commands only the leader's duties make: with its own valid
// certificate it marked another observer stale (its verdicts stopped
// counting), and could likewise expire overrides, skip notifications
// (a cursor past the events) or rewrite the providers' sync state. Each
// is now refused and nothing changes.
func TestMemberCannotSpeakForTheLeader(t *testing.T) {
	c := startTLSCluster(t)
	l, f := c.leader(t), c.follower(t)
	other := c.ids[(f+1)%3]
	if other == c.ids[l] {
		other = c.ids[(f+2)%3]
	}
	conn, err := c.dialPeer(t, c.addrs[l], c.certs[c.ids[f]], 'C')
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC()
	for _, cmd := range []*controller.Command{
		{Type: controller.CmdObserverLiveness, Time: now, Liveness: &controller.ObserverLiveness{Observer: other, Fresh: false, Reason: "forged stale"}},
		{Type: controller.CmdExpireOverrides, Time: now},
		{Type: controller.CmdNotifyCursor, Time: now, Cursor: &controller.NotifyCursor{Channel: "forged-channel", Seq: 1 << 40}},
		{Type: controller.CmdProviderSync, Time: now, Provider: &controller.ProviderSync{Name: "forged-provider", InSync: true, By: other}},
	} {
		reply, err := forward(conn, applyRequest(t, cmd))
		if err != nil || reply["code"] != "bad_command" || !strings.Contains(fmt.Sprint(reply["rejected"]), "the leader's own decision") {
			t.Errorf("%s sent by %s: %v %v, want refused", cmd.Type, c.ids[f], reply, err)
		}
	}
	// The refusals are final: give the leader's log a moment in which an
	// accepted command would have applied, then look.
	if reply, err := forward(conn, applyRequest(t, drainCommand("b", "oncall"))); err != nil || reply["rejected"] != nil {
		t.Fatalf("a member's ordinary forward: %v %v", reply, err)
	}
	for i := range c.nodes {
		for _, e := range c.events(i) {
			if strings.Contains(e, "forged") {
				t.Errorf("%s applied a forged command: %s", c.ids[i], e)
			}
		}
		view := c.nodes[i].Store().FSM().View()
		if _, ok := view.Provider("forged-provider"); ok {
			t.Errorf("%s holds the forged provider state", c.ids[i])
		}
		if _, ok := view.Cursor("forged-channel"); ok {
			t.Errorf("%s holds the forged notification cursor", c.ids[i])
		}
	}
}

// Connections that do not authenticate in time are closed: a TCP
// connection that sends nothing, one that stops mid-handshake, and a
// member that completes TLS but never says what it is.
func TestNodePortHandshakeDeadline(t *testing.T) {
	c := startTLSCluster(t)
	addr := c.addrs[0]
	closedWithin := func(name string, conn net.Conn) {
		t.Helper()
		start := time.Now()
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		took := time.Since(start)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("%s: still open after %s", name, took.Round(time.Millisecond))
		} else if took > 10*time.Second {
			t.Errorf("%s: closed after %s, want within the 5 s handshake deadline", name, took.Round(time.Millisecond))
		}
		conn.Close()
	}
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := half.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}); err != nil { // a ClientHello's first bytes
		t.Fatal(err)
	}
	member, err := tls.Dial("tcp", addr, c.clientTLS(t, c.certs["b-1"]))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for name, conn := range map[string]net.Conn{"silent TCP": silent, "half a handshake": half, "member without a kind": member} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			closedWithin(name, conn)
		}()
	}
	wg.Wait()
}

// A forwarding message's length is checked before it is read: a member
// announcing 4 GiB is answered with a refusal and the connection closed,
// and the node goes on.
func TestNodePortRefusesHugeMessage(t *testing.T) {
	c := startTLSCluster(t)
	l, f := c.leader(t), c.follower(t)
	conn, err := c.dialPeer(t, c.addrs[l], c.certs[c.ids[f]], 'C')
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte{0xff, 0xff, 0xff, 0xf0}); err != nil {
		t.Fatal(err)
	}
	reply, err := readReply(conn)
	if err != nil || !strings.Contains(fmt.Sprint(reply["rejected"]), "4294967280 bytes announced, limit 16777216") {
		t.Fatalf("reply to a 4 GiB length: %v %v", reply, err)
	}
	if n, err := conn.Read(make([]byte, 1)); err == nil {
		t.Errorf("connection still open after the refusal (read %d bytes)", n)
	}
	// The leader still takes forwarded commands.
	conn2, err := c.dialPeer(t, c.addrs[l], c.certs[c.ids[f]], 'C')
	if err != nil {
		t.Fatal(err)
	}
	defer conn2.Close()
	if reply, err := forward(conn2, applyRequest(t, drainCommand("a", "oncall"))); err != nil || reply["rejected"] != nil {
		t.Fatalf("forward after the refusal: %v %v", reply, err)
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.Contains(l, want) {
			return true
		}
	}
	return false
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// lockedBuffer is a log sink nodes write to from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// One host cannot hold more than 32 connections authenticating at once:
// the next one is closed at once, while the earlier ones still wait out
// their handshake deadline.
func TestNodePortBoundsAuthenticatingConnections(t *testing.T) {
	c := startTLSCluster(t)
	addr := c.addrs[0]
	var held []net.Conn
	defer func() {
		for _, h := range held {
			h.Close()
		}
	}()
	for range 32 {
		h, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, h)
	}
	// The accept loop counts a connection when it takes it: wait until
	// one more is refused (bounded), then check the first still waits.
	deadline := time.Now().Add(10 * time.Second)
	for {
		extra, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = extra.SetReadDeadline(time.Now().Add(time.Second))
		_, err = extra.Read(make([]byte, 1))
		extra.Close()
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			break // closed by the node
		}
		if time.Now().After(deadline) {
			t.Fatal("a 33rd authenticating connection from one host was kept open")
		}
	}
	_ = held[0].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := held[0].Read(make([]byte, 1)); err == nil {
		t.Fatal("read data from a silent connection")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("the first connection was closed (%v) before the extra one was refused: the bound did not act", err)
	}
}

// A node outside --peers joins over mutual TLS: before it has a
// configuration it trusts its --peers, the leader trusts it once added.
// Removed, its certificate no longer opens the node port.
func TestNodeJoinsAndLeavesOverTLS(t *testing.T) {
	c := startTLSCluster(t)
	var peers []Peer
	for i, id := range c.ids {
		peers = append(peers, Peer{ID: id, Address: c.addrs[i]})
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
	cert, key := c.ca.Issue(t, "d-1")
	dir := t.TempDir()
	n, err := Start(Config{NodeID: "d-1", Datacenter: "a", RaftAddr: addr, Peers: peers,
		DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0", DataDir: filepath.Join(dir, "d-1"), Spec: c.nodes[0].cfg.Spec,
		TLSCA: c.ca.CAFile, TLSCert: cert, TLSKey: key, Timing: steadyTiming}, slog.New(slog.NewTextHandler(c.logs, nil)).With("node", "d-1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.nodes[c.follower(t)].Store().AddNonvoter(ctx, "d-1", addr); err != nil {
		t.Fatal(err)
	}
	for !n.readyNow() {
		if ctx.Err() != nil {
			t.Fatal("d-1 never got the spec and a leader over TLS")
		}
		time.Sleep(50 * time.Millisecond)
	}
	l := c.leader(t)
	conn, err := c.dialPeer(t, c.addrs[l], [2]string{cert, key}, 'C')
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forward(conn, applyRequest(t, drainCommand("c", "member"))); err != nil {
		t.Fatalf("d-1, a member, forwards: %v", err)
	}
	conn.Close()

	if err := c.nodes[l].Store().RemoveServer(ctx, "d-1"); err != nil {
		t.Fatal(err)
	}
	conn, err = c.dialPeer(t, c.addrs[l], [2]string{cert, key}, 'C')
	if err == nil {
		_, err = forward(conn, applyRequest(t, drainCommand("b", "removed")))
		conn.Close()
	}
	if err == nil {
		t.Fatal("a removed node's certificate still forwards")
	}
	for _, d := range c.drains(l) {
		if d == "b" {
			t.Error("the removed node's drain applied")
		}
	}
}
