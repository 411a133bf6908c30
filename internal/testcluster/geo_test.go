package testcluster

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
	"github.com/seed3787e6f1/detour/spec"
)

// geoCluster is a cluster whose spec gains located datacenters, the
// test database, a nearest record (near) and a geo record (shop) whose
// EU rule never leaves the EU.
func geoCluster(t *testing.T) *Cluster {
	t.Helper()
	c := New(t, Options{Configure: func(_ *Member, cfg *node.Config) { cfg.GeoIPPoll = spec.Duration(50 * time.Millisecond) }})
	db, err := geodb.WriteTemp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(c.Spec, "datacenters: [{name: us-east}, {name: us-west}, {name: eu-west}]",
		"geoip: {database: "+db+"}\ndatacenters:\n  - {name: us-east, location: {lat: 39.04, lon: -77.49}}\n"+
			"  - {name: us-west, location: {lat: 37.39, lon: -122.08}}\n  - {name: eu-west, location: {lat: 53.35, lon: -6.26}}", 1)
	text += fmt.Sprintf(`  - {name: near.example.test, type: A, ttl: 1, policy: nearest, pools: [web-us-east, web-us-west, web-eu-west], fallback: [%s]}
  - name: shop.example.test
    type: A
    ttl: 1
    policy: geo
    fallback: [%s]
    geo:
      - {match: [continent:EU], pools: [web-eu-west], on_all_down: fallback}
      - {match: [country:US], pools: [web-us-east, web-us-west]}
      - {match: [default], pools: [web-us-west, web-eu-west]}
`, Fallback, Fallback)
	if text == c.Spec || !strings.Contains(text, "geoip:") {
		t.Fatal("the geo spec did not change the cluster's spec")
	}
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(text), Author: "geo test"}}); err != nil {
		t.Fatal(err)
	}
	c.Spec = text
	// Every node has loaded the database and registered its hash.
	testutil.Eventually(t, "every member to register its geoip hash", 10*time.Second, func() bool {
		ms, err := c.Leader().Node.Store().Members()
		if err != nil || len(ms) != len(c.Members) {
			return false
		}
		for _, m := range ms {
			if m.GeoIP == "" || m.GeoIP != ms[0].GeoIP {
				return false
			}
		}
		return true
	})
	return c
}

// geoQuery asks member m for name A with an ECS option for subnet; it
// returns the last A record and the reply's scope (-1 without ECS).
func geoQuery(m *Member, name, subnet string) (string, int) {
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	q.SetEdns0(1232, false)
	p := netip.MustParsePrefix(subnet)
	e := &dns.EDNS0_SUBNET{Code: dns.EDNS0SUBNET, Family: 1, SourceNetmask: uint8(p.Bits()), Address: p.Addr().AsSlice()}
	if p.Addr().Is6() {
		e.Family = 2
	}
	q.IsEdns0().Option = append(q.IsEdns0().Option, e)
	r, _, err := (&dns.Client{Timeout: time.Second}).Exchange(q, m.Node.DNSAddr())
	if err != nil {
		return "error: " + err.Error(), -1
	}
	a, scope := "none", -1
	for _, rr := range r.Answer {
		if x, ok := rr.(*dns.A); ok {
			a = x.A.String()
		}
	}
	if opt := r.IsEdns0(); opt != nil {
		for _, o := range opt.Option {
			if s, ok := o.(*dns.EDNS0_SUBNET); ok {
				scope = int(s.SourceScope)
			}
		}
	}
	return a, scope
}

// waitGeo waits until every live member answers want to subnet.
func (c *Cluster) waitGeo(name, subnet, want string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for _, m := range c.Live() {
		got := ""
		testutil.Eventually(c.t, fmt.Sprintf("%s to answer %s for %s from %s", m.ID, want, name, subnet), timeout, func() bool {
			got, _ = geoQuery(m, name, subnet)
			return got == want
		})
	}
	return time.Since(start)
}

// Subnets of the test database and where they are.
const (
	euSubnet      = "10.1.2.0/24" // Frankfurt
	usEastSubnet  = "10.3.4.0/24" // Ashburn
	usWestSubnet  = "10.4.5.0/24" // Mountain View
	asiaSubnet    = "10.6.7.0/24" // Tokyo
	unknownSubnet = "10.200.1.0/24"
)

func TestGeoAnswersPerClientOnEveryNode(t *testing.T) {
	c := geoCluster(t)
	cases := []struct {
		name, subnet, want string
		scope              int
	}{
		{"near.example.test.", euSubnet, Answers["eu-west"], 16},
		{"near.example.test.", usEastSubnet, Answers["us-east"], 16},
		{"near.example.test.", usWestSubnet, Answers["us-west"], 16},
		{"near.example.test.", asiaSubnet, Answers["us-west"], 16},
		{"near.example.test.", unknownSubnet, Answers["us-east"], 9},
		{"near.example.test.", "2001:db8:1::/56", Answers["eu-west"], 48},
		{"shop.example.test.", euSubnet, Answers["eu-west"], 16},
		{"shop.example.test.", usWestSubnet, Answers["us-east"], 16},
		{"shop.example.test.", asiaSubnet, Answers["us-west"], 16},
		{"shop.example.test.", unknownSubnet, Answers["us-west"], 9},
		{"www.example.test.", euSubnet, Answers["us-east"], 0},
	}
	c.waitGeo("near.example.test.", euSubnet, Answers["eu-west"], 10*time.Second)
	for _, m := range c.Live() {
		for _, tc := range cases {
			if got, scope := geoQuery(m, tc.name, tc.subnet); got != tc.want || scope != tc.scope {
				t.Errorf("%s: %s from %s = %s scope %d, want %s scope %d", m.ID, tc.name, tc.subnet, got, scope, tc.want, tc.scope)
			}
		}
	}
	// Without ECS the source (127.0.0.1, not in the database) decides:
	// the answer for clients not placed.
	if got := c.Query(c.Members[0], "near.example.test."); got != Answers["us-east"] {
		t.Errorf("near without ECS from loopback = %s, want %s", got, Answers["us-east"])
	}
	c.CheckInvariants()
}

// The nearest datacenter dying moves each region to its next nearest; a
// drained one is skipped; EU users of the EU-only rule never get the US.
func TestGeoFailover(t *testing.T) {
	c := geoCluster(t)
	c.waitGeo("near.example.test.", euSubnet, Answers["eu-west"], 10*time.Second)

	// eu-west's site dies: Frankfurt goes to Ashburn, its next nearest;
	// the EU rule answers the fallback, never a US address.
	stop := make(chan struct{})
	leaked := make(chan string, 1)
	go func() {
		defer close(leaked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, m := range c.Live() {
				if got, _ := geoQuery(m, "shop.example.test.", euSubnet); got == Answers["us-east"] || got == Answers["us-west"] {
					leaked <- m.ID + " answered " + got
					return
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	c.Member("eu-west").Site.SetUp(false)
	took := c.waitGeo("near.example.test.", euSubnet, Answers["us-east"], 10*time.Second)
	c.waitGeo("shop.example.test.", euSubnet, Fallback, 10*time.Second)
	t.Logf("EU moved to its next nearest in %s", took)
	c.waitGeo("near.example.test.", usWestSubnet, Answers["us-west"], time.Second)
	c.Member("eu-west").Site.SetUp(true)
	c.waitGeo("shop.example.test.", euSubnet, Answers["eu-west"], 10*time.Second)
	close(stop)
	if msg, ok := <-leaked; ok {
		t.Errorf("an EU user was sent to the US: %s", msg)
	}

	// us-west's site dies: Tokyo goes to Dublin (nearer than Ashburn),
	// Mountain View to Ashburn.
	c.Member("us-west").Site.SetUp(false)
	c.waitGeo("near.example.test.", asiaSubnet, Answers["eu-west"], 10*time.Second)
	c.waitGeo("near.example.test.", usWestSubnet, Answers["us-east"], 10*time.Second)
	c.Member("us-west").Site.SetUp(true)
	c.waitGeo("near.example.test.", usWestSubnet, Answers["us-west"], 10*time.Second)

	// A drained datacenter is skipped: Ashburn goes to Mountain View.
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetOverride, Override: &controller.Override{
		Kind: controller.OverrideDrain, Target: "us-east", Reason: "maintenance", Author: "alice"}}); err != nil {
		t.Fatal(err)
	}
	c.waitGeo("near.example.test.", usEastSubnet, Answers["us-west"], 10*time.Second)
	c.waitGeo("shop.example.test.", usEastSubnet, Answers["us-west"], 10*time.Second)
	c.CheckInvariants()
}
