package dnsserver_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
)

// gdnsdConfig is geoSpecText's two records as gdnsd's geoip plugin
// writes them: near in city auto mode over the same coordinates, shop as
// a map of the same rules (EU, US and CA, AS, default).
const gdnsdConfig = `plugins => { geoip => {
  maps => {
    near => {
      geoip2_db => %[1]s,
      datacenters => [us-east, eu-west, ap-south],
      auto_dc_coords => { us-east => [39.04, -77.49], eu-west => [53.35, -6.26], ap-south => [1.35, 103.82] }
    }
    shop => {
      geoip2_db => %[1]s,
      datacenters => [us-east, eu-west, ap-south],
      map => { EU => [eu-west], NA => { US => [us-east, eu-west], CA => [us-east, eu-west], default => [us-east, eu-west] }, AS => [ap-south], default => [us-east, eu-west] }
    }
  }
  resources => { }
}}
`

// dcOf names the datacenter of geoSpecText's answers.
var dcOf = map[string]string{"192.0.2.1": "us-east", "192.0.2.2": "eu-west", "192.0.2.3": "ap-south"}

// parityAddrs are a few hundred client addresses: random hosts of every
// network of the test database, and random ones around them (most of
// them unknown to it), IPv4 and IPv6.
func parityAddrs() []netip.Addr {
	r := rand.New(rand.NewPCG(16, 7871))
	var out []netip.Addr
	host := func(p netip.Prefix) netip.Addr {
		b := p.Addr().AsSlice()
		for i := p.Bits() / 8; i < len(b); i++ {
			keep := 0
			if i == p.Bits()/8 {
				keep = p.Bits() % 8
			}
			b[i] = b[i]&^(0xFF>>keep) | byte(r.IntN(256))&(0xFF>>keep)
		}
		a, _ := netip.AddrFromSlice(b)
		return a
	}
	for _, n := range geodb.Networks {
		for range 15 {
			out = append(out, host(netip.MustParsePrefix(n.CIDR)))
		}
	}
	for range 60 {
		out = append(out, host(netip.MustParsePrefix("10.0.0.0/11")))
	}
	for range 20 {
		out = append(out, host(netip.MustParsePrefix("2001:db8::/45")))
	}
	return out
}

// gdnsdLists asks gdnsd_geoip_test for the datacenter list of every
// address under map name.
func gdnsdLists(t *testing.T, dir, name string, addrs []netip.Addr) map[netip.Addr][]string {
	t.Helper()
	var in strings.Builder
	for _, a := range addrs {
		fmt.Fprintf(&in, "%s %s\n", name, a)
	}
	cmd := exec.Command(testutil.Require(t, "gdnsd_geoip_test"), "-c", dir)
	cmd.Stdin = strings.NewReader(in.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("gdnsd_geoip_test: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`(?m)^` + name + ` => ([0-9a-f.:]+)/\d+ => (.*)$`)
	lists := map[netip.Addr][]string{}
	for _, m := range re.FindAllStringSubmatch(string(out), -1) {
		lists[netip.MustParseAddr(m[1])] = strings.Split(m[2], ", ")
	}
	if len(lists) == 0 {
		t.Fatalf("no answers from gdnsd_geoip_test:\n%s", out)
	}
	return lists
}

// Parity with gdnsd's geoip plugin: the same database and the same map
// of regions to datacenters give the same datacenter for a few hundred
// client addresses, with every datacenter up and, for nearest, with
// each one down in turn (gdnsd's next in its distance order).
func TestGeoParityWithGdnsd(t *testing.T) {
	dir := t.TempDir()
	db, err := geodb.WriteTemp(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(fmt.Sprintf(gdnsdConfig, db)), 0o644); err != nil {
		t.Fatal(err)
	}
	addrs := parityAddrs()
	near, shop := gdnsdLists(t, dir, "near", addrs), gdnsdLists(t, dir, "shop", addrs)
	poolOf := map[string]string{"us-east": "pus", "eu-west": "peu", "ap-south": "pap"}
	for _, down := range []string{"", "us-east", "eu-west", "ap-south"} {
		h := geoHandlerDB(t, downSet{poolOf[down]: down != ""}, db)
		sc := dnsserver.NewScratch(1)
		compared := 0
		for _, a := range addrs {
			want := firstUp(near[a], down)
			got, _, _ := geoReply(t, h.ServeFrom(ecsQuery(t, "near.geo.test.", ""), sc, a, false))
			if dcOf[got] != want {
				t.Errorf("%s down: near for %s: detour %s, gdnsd %s (list %v)", down, a, dcOf[got], want, near[a])
			}
			if down == "" {
				got, _, _ = geoReply(t, h.ServeFrom(ecsQuery(t, "shop.geo.test.", ""), sc, a, false))
				if dcOf[got] != shop[a][0] {
					t.Errorf("shop for %s: detour %s, gdnsd %v", a, dcOf[got], shop[a])
				}
			}
			compared++
		}
		if compared < 200 {
			t.Fatalf("compared %d addresses", compared)
		}
	}
}

// firstUp is the first datacenter of list other than down.
func firstUp(list []string, down string) string {
	for _, dc := range list {
		if dc != down {
			return dc
		}
	}
	return ""
}
