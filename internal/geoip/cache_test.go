package geoip

import (
	"net/netip"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil/geodb"
)

// A flood of client networks never seen before costs no allocation per
// address, and the heap does not grow with it: the caches are fixed
// size and evict.
func TestLocateFloodDoesNotAllocate(t *testing.T) {
	d, _, _ := newDB(t)
	var pl dnsserver.Place
	// Decode every record once (the record cache fills from the file,
	// which is bounded): an address in each of 10.0-15.0.0/24 and in
	// 10.9.1.0/25. After that nothing may allocate.
	for i := range uint32(16) {
		d.LocateInto(floodAddr(i<<8), &pl)
	}
	d.LocateInto(floodAddr(9<<8|1), &pl)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	next := uint32(0)
	// Each run places an address of a /24 never seen (11.0.0.0/8 on, not
	// in the database: the empty network; three times the cache's
	// slots in all) and one of 10.0.0.0/8 (placed, new the first time
	// round, then maybe evicted).
	allocs := testing.AllocsPerRun(3*netSlots, func() {
		next++
		d.LocateInto(netip.AddrFrom4([4]byte{11 + byte(next>>16), byte(next >> 8), byte(next), 1}), &pl)
		d.LocateInto(floodAddr(next), &pl)
	})
	runtime.GC()
	runtime.ReadMemStats(&after)
	if allocs != 0 {
		t.Errorf("%v allocations per new client network, want 0", allocs)
	}
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 1<<20 {
		t.Errorf("the heap grew %d bytes over a flood of %d networks", grew, 3*netSlots)
	}
}

// A database network inside a /24 (10.9.1.0/25) is cached under the /24
// with its last octet: the addresses inside it are answered from the
// cache, the others of the /24 are not answered as if inside it.
func TestLocateCachesNetworksInsideA24(t *testing.T) {
	d, _, _ := newDB(t)
	in, out := netip.MustParseAddr("10.9.1.5"), netip.MustParseAddr("10.9.1.200")
	for range 3 {
		if pl := d.Locate(in); string(pl.Country[:]) != "GB" || pl.Bits != 25 {
			t.Fatalf("%s: %+v", in, pl)
		}
		if pl := d.Locate(netip.MustParseAddr("10.9.1.0")); string(pl.Country[:]) != "GB" || pl.Bits != 25 {
			t.Fatalf("10.9.1.0: %+v", pl)
		}
		if pl := d.Locate(out); pl.Known {
			t.Fatalf("%s: %+v", out, pl)
		}
	}
	// The last store was 10.9.1.200's (not placed, a network longer than
	// /24 too); place 10.9.1.5 again and look in its slot.
	d.Locate(in)
	c := d.cur.Load()
	key, _ := netKey(in)
	var pl dnsserver.Place
	if sub, ok := c.nets[(key*0x9E3779B97F4A7C15)>>(64-netBits)].load(key, &pl); !ok || sub != 0 || pl.Bits != 25 {
		t.Errorf("10.9.1.0/25 is not cached under its /24: %v %d %+v", ok, sub, pl)
	}
}

// Readers of a slot that writers keep changing see one whole entry or a
// miss, never a mix of two.
func TestSlotConcurrent(t *testing.T) {
	var s slot
	placeFor := func(k uint64) dnsserver.Place {
		return dnsserver.Place{Known: k&1 == 0, Continent: [2]byte{byte(k), byte(k >> 8)}, Country: [2]byte{byte(k >> 16), 'X'},
			HasLocation: true, Vec: [3]float64{float64(k), -float64(k), float64(k) / 3}, Bits: int(k % 129)}
	}
	var writers, readers sync.WaitGroup
	var done atomic.Bool
	var running, hits atomic.Int64
	for range 2 {
		readers.Go(func() {
			running.Add(1)
			var pl dnsserver.Place
			for i := 0; i < 2_000_000 && !done.Load(); i++ {
				k := s.key.Load() // the key a writer stored last, or is storing
				sub, ok := s.load(k, &pl)
				if !ok {
					continue
				}
				if want := placeFor(k); pl != want || sub != uint8(k) {
					t.Errorf("read %d: key %d gave %+v sub %d, want %+v", i, k, pl, sub, want)
					return
				}
				hits.Add(1)
			}
		})
	}
	for w := range 2 {
		writers.Go(func() {
			for i := 0; i < 1000 && running.Load() < 2; i++ {
				time.Sleep(time.Millisecond) // the readers start
			}
			for i := range uint64(20000) {
				k := i*2 + uint64(w) + 1
				pl := placeFor(k)
				s.store(k, uint8(k), &pl)
				if i%16 == 0 {
					runtime.Gosched()
				}
			}
		})
	}
	writers.Wait()
	done.Store(true)
	readers.Wait()
	var pl dnsserver.Place
	if k := s.key.Load(); !func() bool { _, ok := s.load(k, &pl); return ok }() || pl != placeFor(k) {
		t.Errorf("after the writers: key %d gave %+v", k, pl)
	}
	t.Logf("%d concurrent reads hit", hits.Load())
}

// Two sibling networks of one place (10.20.0.0/17 and 10.20.128.0/17,
// records that differ in a field detour does not read) are one /16 to a
// reply's scope; a sibling of another place, or split in the file, is
// not merged.
func TestLocateWidensToSiblingsOfOneRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "geo.mmdb")
	fr := geodb.Network{Continent: "EU", Country: "FR", Lat: 48.86, Lon: 2.35}
	// Postal codes make records of one place that the writer keeps apart.
	nets := []geodb.Network{
		{CIDR: "10.20.0.0/17", Postal: "1"}, {CIDR: "10.20.128.0/17", Postal: "2"}, // one /16 of FR
		{CIDR: "10.30.0.0/17", Postal: "1"}, {CIDR: "10.30.128.0/18", Postal: "2"}, {CIDR: "10.30.192.0/18", Postal: "3"}, // FR, the second half split
		{CIDR: "10.40.0.0/17", Postal: "1"}, {CIDR: "10.40.128.0/17", Country: "DE"}, // FR and DE
	}
	for i := range nets {
		n := fr
		n.CIDR, n.Postal = nets[i].CIDR, nets[i].Postal
		if nets[i].Country != "" {
			n.Country = nets[i].Country
		}
		nets[i] = n
	}
	if err := geodb.Write(path, nets); err != nil {
		t.Fatal(err)
	}
	d := New(Options{Path: func() string { return path }})
	d.Check()
	if res := d.cur.Load().r.Lookup(netip.MustParseAddr("10.20.5.5")); res.Prefix().Bits() != 17 {
		t.Fatalf("the writer merged the /17s itself (%v): the test proves nothing", res.Prefix())
	}
	for _, c := range []struct {
		addr    string
		bits    int
		country string
	}{
		{"10.20.5.5", 16, "FR"}, {"10.20.200.1", 16, "FR"},
		// From the whole /17 the split sibling stops the climb (narrower
		// than it could be); from a /18 its sibling /18 and then the /17
		// are single networks of the place.
		{"10.30.5.5", 17, "FR"}, {"10.30.130.1", 16, "FR"}, {"10.30.200.1", 16, "FR"},
		{"10.40.5.5", 17, "FR"}, {"10.40.200.1", 17, "DE"},
	} {
		for range 2 { // the second from the cache
			if pl := d.Locate(netip.MustParseAddr(c.addr)); pl.Bits != c.bits || string(pl.Country[:]) != c.country {
				t.Errorf("%s: bits %d country %s, want %d %s", c.addr, pl.Bits, pl.Country[:], c.bits, c.country)
			}
		}
	}
}
