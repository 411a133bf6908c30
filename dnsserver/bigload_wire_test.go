package dnsserver

import (
	"testing"

	"github.com/miekg/dns"
)

// TestStaticWireAsRecords: a zone's static records split from their wire
// form are the compiled zone's records, in RRsets as the records have
// them, and hash as their packed dns.RR did before (so a zone's content
// hash, and the serials it drives, do not move on upgrade).
func TestStaticWireAsRecords(t *testing.T) {
	s := tableSpec(t)
	for _, cz := range s.CompiledZones() {
		w := splitStatic(cz.StaticWire())
		rrs := cz.StaticRecords()
		if w.count() != len(rrs) || w.count() != cz.StaticCount() {
			t.Fatalf("%s: %d records split, %d unpacked, count %d", cz.Name, w.count(), len(rrs), cz.StaticCount())
		}
		var sum uint64
		buf := make([]byte, dns.MaxMsgSize)
		for i, rr := range rrs {
			n, err := dns.PackRR(rr, buf, 0, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			sum += mix64(fnv64a(buf[:n]))
			if got := w.rrs(i, i+1); len(got) != 1 || got[0].String() != rr.String() || w.typ(i) != rr.Header().Rrtype {
				t.Fatalf("%s: record %d is %v, want %v", cz.Name, i, got, rr)
			}
		}
		if w.hash() != sum {
			t.Errorf("%s: hash %x, want %x", cz.Name, w.hash(), sum)
		}
		order, start := w.rrsets()
		for i, k := range order {
			for j := start[i]; j < start[i+1]; j++ {
				if h := rrs[j].Header(); h.Name != k.name || h.Rrtype != k.typ {
					t.Fatalf("%s: record %d (%s %d) in RRset %v", cz.Name, j, h.Name, h.Rrtype, k)
				}
			}
			if i > 0 && order[i-1] == k {
				t.Fatalf("%s: RRset %v split in two", cz.Name, k)
			}
		}
		if start[len(order)] != len(rrs) {
			t.Fatalf("%s: the RRsets end at %d of %d records", cz.Name, start[len(order)], len(rrs))
		}
	}
}
