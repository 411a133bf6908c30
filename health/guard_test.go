package health

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// metadataStandIn plays the cloud metadata service on loopback: it
// answers every HTTP request with a secret and counts the connections it
// accepted, so a test can tell that a refused probe never reached it.
type metadataStandIn struct {
	addr    string
	conns   atomic.Int64
	packets atomic.Int64 // DNS queries, over UDP
}

const standInSecret = "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

func newMetadataStandIn(t *testing.T, host string) *metadataStandIn {
	t.Helper()
	m := &metadataStandIn{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, standInSecret)
	}))
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	srv.Listener = l
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			m.conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	m.addr = l.Addr().String()
	// The same port over UDP, for dns checks.
	pc, err := net.ListenPacket("udp", m.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			m.packets.Add(1)
		}
	}()
	return m
}

// probeAllowing runs one probe of c at probe from an engine environment
// that allows only the given networks.
func probeAllowing(t *testing.T, c spec.Check, probe string, allow ...string) Result {
	t.Helper()
	g := &guard{}
	for _, a := range allow {
		g.allow = append(g.allow, netip.MustParsePrefix(a))
	}
	mk, err := kinds()[c.Type](&c, &env{beats: newBeatBook(), now: time.Now, guard: g})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Timeout.D())
	defer cancel()
	return mk(Target{ID: TargetID{Pool: "p", Address: "192.0.2.1"}, Probe: probe}).Check(ctx)
}

// A spec's check cannot reach loopback (or, the same way, the metadata
// service at 169.254.169.254, which a test cannot bind) through any kind
// of check or connection: the probe fails with a fixed reason and the
// server never sees a connection.
func TestGuardRefusesEveryDialer(t *testing.T) {
	m := newMetadataStandIn(t, "127.0.0.1")
	_, port, _ := net.SplitHostPort(m.addr)
	base := spec.Check{Name: "c", Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second), Rise: 1, Fall: 1}
	web := func(typ string, edit func(*spec.Check)) spec.Check {
		c := base
		c.Type, c.Method, c.Path, c.ExpectStatus, c.ExpectBody = typ, "GET", "/latest/meta-data/iam/security-credentials/", spec.StatusCodes{{Lo: 200, Hi: 299}}, "nothing like this"
		if edit != nil {
			edit(&c)
		}
		return c
	}
	typed := func(typ string, edit func(*spec.Check)) spec.Check {
		c := base
		c.Type = typ
		if edit != nil {
			edit(&c)
		}
		return c
	}
	refused := "target address 127.0.0.1 is not allowed by this node's check_allow_networks"
	cases := []struct {
		name   string
		check  spec.Check
		probe  string
		reason string // "" means any refusal naming a loopback address
	}{
		{"http", web(spec.CheckHTTP, nil), m.addr, refused},
		{"http keep_alive", web(spec.CheckHTTP, func(c *spec.Check) { c.KeepAlive = true }), m.addr, refused},
		{"http follow_redirects", web(spec.CheckHTTP, func(c *spec.Check) { c.FollowRedirects = true }), m.addr, refused},
		{"https", web(spec.CheckHTTPS, func(c *spec.Check) { c.InsecureSkipVerify = true }), m.addr, refused},
		{"tcp", typed(spec.CheckTCP, func(c *spec.Check) { c.Send, c.Expect = "GET / HTTP/1.0\r\n\r\n", "nothing like this" }), m.addr, refused},
		{"tls", typed(spec.CheckTLS, func(c *spec.Check) { c.InsecureSkipVerify = true }), m.addr, refused},
		{"dns", typed(spec.CheckDNS, func(c *spec.Check) { c.QueryName, c.QueryType, c.ExpectRcode = "metadata.test.", "A", "NOERROR" }), m.addr, refused},
		{"a name that resolves to loopback", web(spec.CheckHTTP, nil), net.JoinHostPort("localhost", port), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conns, packets := m.conns.Load(), m.packets.Load()
			r := probeAllowing(t, c.check, c.probe)
			if r.Up || r.Class != ClassBlocked {
				t.Fatalf("got up=%v class=%s reason=%q, want a refusal", r.Up, r.Class, r.Reason)
			}
			if c.reason != "" && r.Reason != c.reason {
				t.Errorf("reason %q, want %q", r.Reason, c.reason)
			}
			if c.reason == "" && r.Reason != refused && r.Reason != "target address ::1 is not allowed by this node's check_allow_networks" {
				t.Errorf("reason %q, want a refusal of 127.0.0.1 or ::1", r.Reason)
			}
			if n := m.conns.Load() - conns; n != 0 {
				t.Errorf("the stand-in accepted %d connections", n)
			}
			if n := m.packets.Load() - packets; n != 0 {
				t.Errorf("the stand-in got %d DNS queries", n)
			}
		})
	}
	// The same checks, allowed by the node, reach it: the refusals above
	// were the guard's, not a broken test server.
	if r := probeAllowing(t, web(spec.CheckHTTP, func(c *spec.Check) { c.ExpectBody = "" }), m.addr, "127.0.0.0/8"); !r.Up {
		t.Errorf("allowed probe: %+v, want up", r)
	}
	if r := probeAllowing(t, typed(spec.CheckDNS, func(c *spec.Check) { c.QueryName, c.QueryType, c.ExpectRcode = "metadata.test.", "A", "NOERROR" }), m.addr, "127.0.0.1/32"); r.Class == ClassBlocked {
		t.Errorf("allowed dns probe refused: %+v", r)
	}
	if m.packets.Load() == 0 {
		t.Error("the allowed dns probe never reached the stand-in")
	}
}

// A target the node allows cannot redirect a probe to one it does not.
func TestGuardRefusesRedirect(t *testing.T) {
	m := newMetadataStandIn(t, "127.0.0.2")
	front := httptest.NewServer(http.RedirectHandler("http://"+m.addr+"/latest/api/token", http.StatusFound))
	t.Cleanup(front.Close)
	c := spec.Check{Name: "c", Type: spec.CheckHTTP, Method: "GET", Path: "/", FollowRedirects: true,
		ExpectStatus: spec.StatusCodes{{Lo: 200, Hi: 299}}, Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second), Rise: 1, Fall: 1}
	r := probeAllowing(t, c, front.Listener.Addr().String(), "127.0.0.1/32")
	want := "target address 127.0.0.2 is not allowed by this node's check_allow_networks"
	if r.Up || r.Reason != want {
		t.Errorf("got up=%v reason=%q, want %q", r.Up, r.Reason, want)
	}
	if n := m.conns.Load(); n != 0 {
		t.Errorf("the redirect target accepted %d connections", n)
	}
}

// An engine without allowed networks refuses loopback; its verdict says
// why and quotes nothing the target sent.
func TestEngineRefusesLoopbackByDefault(t *testing.T) {
	m := newMetadataStandIn(t, "127.0.0.1")
	c := httpCheckSpec("web")
	c.ExpectBody = "nothing like this"
	_, rec := startEngine(t, specWith(c, m.addr), Options{AllowNetworks: []netip.Prefix{}})
	tr := rec.next(t)
	want := "target address 127.0.0.1 is not allowed by this node's check_allow_networks"
	if tr.To != Down || tr.Reason != want {
		t.Fatalf("got %+v, want down with %q", tr, want)
	}
	if n := m.conns.Load(); n != 0 {
		t.Errorf("the stand-in accepted %d connections", n)
	}
}

// Probe reasons quote no byte of what the target sent, whatever the check
// looks for: the attack read 36 bytes of a metadata response from the
// reasons in /v1/status.
func TestReasonsQuoteNothingTheTargetSent(t *testing.T) {
	m := newMetadataStandIn(t, "127.0.0.1")
	base := spec.Check{Name: "c", Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second), Rise: 1, Fall: 1}
	body := base
	body.Type, body.Method, body.Path, body.ExpectStatus, body.ExpectBody = spec.CheckHTTP, "GET", "/", spec.StatusCodes{{Lo: 200, Hi: 299}}, "nothing like this"
	regex := body
	regex.ExpectBody, regex.ExpectBodyRegex = "", "^nothing$"
	tcp := base
	tcp.Type, tcp.Send, tcp.Expect = spec.CheckTCP, "GET / HTTP/1.0\r\n\r\n", "nothing like this"
	for _, c := range []spec.Check{body, regex, tcp} {
		r := probeAllowing(t, c, m.addr, "127.0.0.0/8")
		if r.Up || r.Class != ClassContent {
			t.Fatalf("%s: got %+v, want a content failure", c.Type, r)
		}
		for _, part := range []string{"AKIA", "EXAMPLE", "200 OK", "HTTP/1", "got"} {
			if strings.Contains(r.Reason, part) {
				t.Errorf("%s: reason %q quotes the response (%q)", c.Type, r.Reason, part)
			}
		}
	}
}

func TestForbiddenAddresses(t *testing.T) {
	cases := []struct {
		addr  string
		allow string
		ok    bool
	}{
		{"169.254.169.254", "", false},
		{"::ffff:169.254.169.254", "", false},
		{"64:ff9b::a9fe:a9fe", "", false},
		{"fd00:ec2::254", "", false},
		{"100.100.100.200", "", false},
		{"127.0.0.1", "", false},
		{"127.8.9.10", "", false},
		{"::1", "", false},
		{"fe80::1%eth0", "", false},
		{"0.0.0.0", "", false},
		{"::", "", false},
		{"224.0.0.1", "", false},
		{"ff02::1", "", false},
		{"255.255.255.255", "", false},
		{"192.0.2.10", "", true},
		{"10.0.0.5", "", true},
		{"100.100.100.201", "", true},
		{"2001:db8::5", "", true},
		{"127.0.0.1", "127.0.0.0/8", true},
		{"169.254.169.254", "169.254.0.0/16", true},
		{"169.254.169.254", "127.0.0.0/8", false},
	}
	for _, c := range cases {
		g := &guard{}
		if c.allow != "" {
			g.allow = []netip.Prefix{netip.MustParsePrefix(c.allow)}
		}
		if got := g.permits(netip.MustParseAddr(c.addr)); got != c.ok {
			t.Errorf("%s allowing %q: permitted %v, want %v", c.addr, c.allow, got, c.ok)
		}
	}
}

// A check cannot send anything but GET or HEAD, even from a spec that
// predates the rule: a PUT is how a metadata session token is fetched.
func TestHTTPCheckRefusesOtherMethods(t *testing.T) {
	for _, method := range []string{"PUT", "POST", "DELETE"} {
		c := httpCheckSpec("web")
		c.Method = method
		if _, err := httpKind(&c, testEnv()); !errors.Is(err, ErrCheckConfig) {
			t.Errorf("%s: %v, want ErrCheckConfig", method, err)
		}
	}
}
