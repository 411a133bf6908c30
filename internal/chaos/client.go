package chaos

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Call sends an API request to n with the admin token; body (if not nil)
// is sent as JSON. It returns the status and the reply.
func (c *Cluster) Call(n *Node, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("chaos: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, "https://"+n.API+path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("chaos: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("chaos: %s %s on %s: %w", method, path, n.ID, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, b, fmt.Errorf("chaos: %s %s on %s: %w", method, path, n.ID, err)
	}
	return resp.StatusCode, b, nil
}

// Get decodes a 200 reply of GET path on n into v.
func (c *Cluster) Get(n *Node, path string, v any) error {
	code, b, err := c.Call(n, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	if code != http.StatusOK {
		return fmt.Errorf("chaos: GET %s on %s: %d %s", path, n.ID, code, strings.TrimSpace(string(b)))
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("chaos: GET %s on %s: %w", path, n.ID, err)
	}
	return nil
}

// freshness is the part of every read this suite looks at.
type freshness struct {
	Freshness struct {
		RaftState    string `json:"raft_state"`
		LeaderID     string `json:"leader_id"`
		AppliedIndex uint64 `json:"applied_index"`
	} `json:"freshness"`
}

// Leader is the node the others agree leads, or nil.
func (c *Cluster) Leader() *Node {
	for _, n := range c.Nodes {
		if !n.Running() {
			continue
		}
		var f freshness
		if err := c.Get(n, "/v1/ready", &f); err == nil && f.Freshness.RaftState == "Leader" {
			return n
		}
	}
	return nil
}

// DNSAnswer is what a node answered for a name: the sorted A records, or
// the rcode, or that it did not answer.
type DNSAnswer struct {
	OK    bool // a reply came
	Rcode int
	Addrs []string
}

// String is the answer as the report shows it.
func (a DNSAnswer) String() string {
	switch {
	case !a.OK:
		return "no reply"
	case a.Rcode != dns.RcodeSuccess:
		return dns.RcodeToString[a.Rcode]
	}
	return strings.Join(a.Addrs, ",")
}

// QueryA asks addr for name's A records over UDP.
func QueryA(cl *dns.Client, addr, name string) DNSAnswer {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeA)
	r, _, err := cl.Exchange(m, addr)
	if err != nil {
		return DNSAnswer{}
	}
	a := DNSAnswer{OK: true, Rcode: r.Rcode}
	for _, rr := range r.Answer {
		if x, ok := rr.(*dns.A); ok {
			a.Addrs = append(a.Addrs, x.A.String())
		}
	}
	slices.Sort(a.Addrs)
	return a
}

// QuerySerial asks addr for the zone's SOA serial (0 without one).
func QuerySerial(cl *dns.Client, addr string) uint32 {
	m := new(dns.Msg)
	m.SetQuestion("example.test.", dns.TypeSOA)
	r, _, err := cl.Exchange(m, addr)
	if err != nil {
		return 0
	}
	for _, rr := range r.Answer {
		if s, ok := rr.(*dns.SOA); ok {
			return s.Serial
		}
	}
	return 0
}

// newDNSClient is the sampler's client: short timeouts, one try.
func newDNSClient() *dns.Client {
	return &dns.Client{Net: "udp", Timeout: 250 * time.Millisecond}
}
