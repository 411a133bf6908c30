package geoip

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
)

func newDB(t *testing.T) (*DB, string, *atomic.Value) {
	t.Helper()
	path, err := geodb.WriteTemp(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var p atomic.Value
	p.Store(path)
	d := New(Options{Path: func() string { return p.Load().(string) }})
	d.Check()
	if st := d.Status(); st.SHA256 == "" || st.Error != "" {
		t.Fatalf("status after load: %+v", st)
	}
	return d, path, &p
}

func TestLocate(t *testing.T) {
	d, _, _ := newDB(t)
	cases := []struct {
		addr               string
		known              bool
		continent, country string
		bits               int
		location           bool
	}{
		{"10.1.2.3", true, "EU", "DE", 16, true},
		{"::ffff:10.1.2.3", true, "EU", "DE", 16, true},
		{"10.9.0.77", true, "EU", "FR", 24, true},
		{"10.9.1.5", true, "EU", "GB", 25, true},
		// The same /24 as the one before, outside its /25: the cache by
		// client network must not answer GB.
		{"10.9.1.200", false, "", "", 0, false},
		{"10.3.0.1", true, "NA", "US", 16, true},
		{"10.6.0.1", true, "AS", "JP", 16, true},
		{"10.10.0.1", true, "OC", "AU", 16, false},
		{"2001:db8:1::1", true, "EU", "DE", 48, true},
		{"10.200.0.1", false, "", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.addr, func(t *testing.T) {
			for range 2 { // the second from the cache
				pl := d.Locate(netip.MustParseAddr(c.addr))
				if pl.Known != c.known || string(pl.Continent[:]) != pad(c.continent) || string(pl.Country[:]) != pad(c.country) || pl.HasLocation != c.location {
					t.Fatalf("Locate = %+v", pl)
				}
				if c.known && pl.Bits != c.bits {
					t.Errorf("bits = %d, want %d", pl.Bits, c.bits)
				}
				if !c.known && pl.Bits == 0 {
					t.Errorf("an unknown address's network has no length")
				}
			}
		})
	}
	want := dnsserver.UnitVector(50.11, 8.68)
	if got := d.Locate(netip.MustParseAddr("10.1.0.1")).Vec; got != want {
		t.Errorf("vector %v, want %v", got, want)
	}
}

func pad(s string) string {
	if s == "" {
		return "\x00\x00"
	}
	return s
}

// A replaced file is loaded on the next check: a new hash and new
// answers; a broken file keeps the old database; no path drops it.
func TestReload(t *testing.T) {
	d, path, p := newDB(t)
	before := d.Status()
	nets := []geodb.Network{{CIDR: "10.1.0.0/16", Continent: "AS", Country: "JP", Lat: 35.68, Lon: 139.69}}
	if err := geodb.Write(path, nets); err != nil {
		t.Fatal(err)
	}
	// A rename within the same second keeps the size and maybe the
	// mtime: move the clock of the file instead of waiting.
	future := time.Now().Add(time.Minute)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	d.Check()
	after := d.Status()
	if after.SHA256 == before.SHA256 || after.Error != "" {
		t.Fatalf("after a change: %+v (before %+v)", after, before)
	}
	if pl := d.Locate(netip.MustParseAddr("10.1.2.3")); string(pl.Country[:]) != "JP" {
		t.Errorf("after reload 10.1.2.3 is in %s, want JP", pl.Country[:])
	}
	d.Check() // unchanged: nothing happens
	if d.Status() != after {
		t.Error("an unchanged file was reloaded")
	}

	bad := filepath.Join(t.TempDir(), "bad.mmdb")
	if err := os.WriteFile(bad, []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.Store(bad)
	d.Check()
	if st := d.Status(); st.Error == "" || st.Path != bad {
		t.Errorf("a broken file: %+v", st)
	}
	if pl := d.Locate(netip.MustParseAddr("10.1.2.3")); string(pl.Country[:]) != "JP" {
		t.Error("a broken file replaced the database in use")
	}
	p.Store(filepath.Join(t.TempDir(), "missing.mmdb"))
	d.Check()
	if st := d.Status(); !strings.Contains(st.Error, "no such file") {
		t.Errorf("a missing file: %+v", st)
	}
	p.Store("")
	d.Check()
	if st, pl := d.Status(), d.Locate(netip.MustParseAddr("10.1.2.3")); st.Path != "" || pl.Known {
		t.Errorf("no path: status %+v, place %+v", st, pl)
	}
}

func BenchmarkLocate(b *testing.B) {
	path, err := geodb.WriteTemp(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	d := New(Options{Path: func() string { return path }})
	d.Check()
	addrs := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.6.0.1"), netip.MustParseAddr("10.200.0.1"), netip.MustParseAddr("2001:db8:2::5")}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d.Locate(addrs[i%len(addrs)])
	}
}

// BenchmarkLocateFlood places an address of a new /24 each time: the
// tree walk and the cache store, as under a flood of new clients.
func BenchmarkLocateFlood(b *testing.B) {
	path, err := geodb.WriteTemp(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	d := New(Options{Path: func() string { return path }})
	d.Check()
	b.ReportAllocs()
	for i := uint32(0); b.Loop(); i++ {
		d.Locate(floodAddr(i))
	}
}

// floodAddr is an address in the i-th /24 of 10.0.0.0/8 (and on past
// it, wrapping over 10/8 every 65,536).
func floodAddr(i uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 7})
}
