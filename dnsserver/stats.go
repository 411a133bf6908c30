package dnsserver

import (
	"sync/atomic"

	"github.com/miekg/dns"
)

// Stats counts replies by rcode and by query type. Each serving goroutine
// owns one, so the counters are never contended; readers sum them (see
// Server.Stats).
type Stats struct {
	Rcode     [16]atomic.Uint64 // by header rcode
	Qtype     [NumQtypes]atomic.Uint64
	Truncated atomic.Uint64
	Dropped   atomic.Uint64
	// RRLDropped and RRLSlipped count UDP responses over the rate
	// limit: dropped, or sent truncated.
	RRLDropped atomic.Uint64
	RRLSlipped atomic.Uint64
}

// Query types counted one by one; every other type counts as QtypeOther.
// The table is fixed and small so that counting is an array index.
const (
	QtypeA = iota
	QtypeAAAA
	QtypeCNAME
	QtypeMX
	QtypeNS
	QtypeSOA
	QtypeTXT
	QtypeSRV
	QtypePTR
	QtypeCAA
	QtypeHTTPS
	QtypeANY
	QtypeAXFR
	QtypeIXFR
	QtypeOther
	NumQtypes
)

// QtypeName returns the label of a slot of Stats.Qtype: "A", "AAAA", ...,
// "other".
func QtypeName(slot int) string {
	switch slot {
	case QtypeA:
		return "A"
	case QtypeAAAA:
		return "AAAA"
	case QtypeCNAME:
		return "CNAME"
	case QtypeMX:
		return "MX"
	case QtypeNS:
		return "NS"
	case QtypeSOA:
		return "SOA"
	case QtypeTXT:
		return "TXT"
	case QtypeSRV:
		return "SRV"
	case QtypePTR:
		return "PTR"
	case QtypeCAA:
		return "CAA"
	case QtypeHTTPS:
		return "HTTPS"
	case QtypeANY:
		return "ANY"
	case QtypeAXFR:
		return "AXFR"
	case QtypeIXFR:
		return "IXFR"
	}
	return "other"
}

// qtypeSlot maps a query type to its slot in Stats.Qtype.
func qtypeSlot(t uint16) int {
	switch t {
	case dns.TypeA:
		return QtypeA
	case dns.TypeAAAA:
		return QtypeAAAA
	case dns.TypeCNAME:
		return QtypeCNAME
	case dns.TypeMX:
		return QtypeMX
	case dns.TypeNS:
		return QtypeNS
	case dns.TypeSOA:
		return QtypeSOA
	case dns.TypeTXT:
		return QtypeTXT
	case dns.TypeSRV:
		return QtypeSRV
	case dns.TypePTR:
		return QtypePTR
	case dns.TypeCAA:
		return QtypeCAA
	case dns.TypeHTTPS:
		return QtypeHTTPS
	case dns.TypeANY:
		return QtypeANY
	case dns.TypeAXFR:
		return QtypeAXFR
	case dns.TypeIXFR:
		return QtypeIXFR
	}
	return QtypeOther
}

// count counts a reply to a query of type qtype (0 when the query had no
// parsable question: counted as other).
func (s *Stats) count(reply []byte, qtype uint16) {
	s.Rcode[reply[3]&0xF].Add(1)
	s.Qtype[qtypeSlot(qtype)].Add(1)
	if reply[2]&0x02 != 0 {
		s.Truncated.Add(1)
	}
}

// Totals is a plain copy of summed Stats.
type Totals struct {
	Rcode      [16]uint64
	Qtype      [NumQtypes]uint64 // by slot: see QtypeName
	Truncated  uint64
	Dropped    uint64
	RRLDropped uint64
	RRLSlipped uint64
	// TCPShed counts TCP connections closed over a limit: at accept
	// when the server or their client was at its connection limit, or
	// idle ones evicted to make room for a new one.
	TCPShed uint64
	// NotifiesRefused counts NOTIFY messages not sent because the
	// target's address is refused by the node (dns_peer_allow_networks).
	NotifiesRefused uint64
}

func (t *Totals) add(s *Stats) {
	for i := range t.Rcode {
		t.Rcode[i] += s.Rcode[i].Load()
	}
	for i := range t.Qtype {
		t.Qtype[i] += s.Qtype[i].Load()
	}
	t.Truncated += s.Truncated.Load()
	t.Dropped += s.Dropped.Load()
	t.RRLDropped += s.RRLDropped.Load()
	t.RRLSlipped += s.RRLSlipped.Load()
}

// Queries is the number of replies sent.
func (t *Totals) Queries() uint64 {
	var n uint64
	for _, c := range t.Rcode {
		n += c
	}
	return n
}
