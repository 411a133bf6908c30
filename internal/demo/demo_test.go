package demo

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

func startDemo(t *testing.T) *Demo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := Start(ctx, Options{Interval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// dig asks a node with the real dig for www.example.test.
func dig(t *testing.T, addr string) string {
	t.Helper()
	return strings.TrimSpace(testutil.Dig(t, addr, "+short", "+tries=1", "+time=1", "www.example.test", "A"))
}

func waitDig(t *testing.T, d *Demo, dc, want string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := dig(t, d.DNSAddr(dc))
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answers %q, want %s", dc, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The demo's story: every node answers us-east; take us-east down (its
// node and its site, maybe the leader) and the survivors answer us-west;
// bring it back and every node answers us-east again.
func TestDemoFailoverWithDig(t *testing.T) {
	testutil.Require(t, "dig")
	d := startDemo(t)
	for _, dc := range Datacenters {
		if got := dig(t, d.DNSAddr(dc)); got != Answers["us-east"] {
			t.Fatalf("%s answers %q at start, want %s", dc, got, Answers["us-east"])
		}
	}
	text := d.Instructions("detour")
	for _, dc := range Datacenters {
		host, port, _ := net.SplitHostPort(d.DNSAddr(dc))
		if want := "dig @" + host + " -p " + port + " +short www.example.test"; !strings.Contains(text, want) {
			t.Errorf("the instructions lack %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"demo down us-east", "demo up us-east", "status", "events --follow"} {
		if !strings.Contains(text, want) {
			t.Errorf("the instructions lack %q", want)
		}
	}
	if err := d.Down("us-east"); err != nil {
		t.Fatal(err)
	}
	if got := Query(d.DNSAddr("us-east"), "www.example.test"); !strings.HasPrefix(got, "error") {
		t.Errorf("us-east's node still answers: %s", got)
	}
	waitDig(t, d, "us-west", Answers["us-west"])
	waitDig(t, d, "eu-west", Answers["us-west"])
	if err := d.Up("us-east"); err != nil {
		t.Fatal(err)
	}
	for _, dc := range Datacenters {
		waitDig(t, d, dc, Answers["us-east"])
	}
	if err := d.Down("mars"); err == nil {
		t.Error("taking down an unknown datacenter succeeded")
	}
}
