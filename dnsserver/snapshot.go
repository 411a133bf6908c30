package dnsserver

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Errors returned by this package. Check them with errors.Is.
var (
	// ErrNotValidated means a spec was handed over before Validate
	// succeeded on it.
	ErrNotValidated = errors.New("spec has not been validated")
	// ErrUnknownRecord means a dynamic answer names a record the spec
	// does not define.
	ErrUnknownRecord = errors.New("no such health-driven record in the spec")
)

// Variant is one possible answer of a health-driven RRset. A weighted
// record has several; each query gets one, chosen by weight.
type Variant struct {
	Weight uint32
	RRs    []dns.RR
}

// DynamicAnswer is the current answer of one health-driven record.
// No variants (or variants without records) answer NODATA.
type DynamicAnswer struct {
	Name     string // fully qualified, lower case
	Type     uint16
	Variants []Variant
	// Geo, when set, makes the answer depend on where the client is;
	// Variants are then the answer for clients not placed.
	Geo *Geo
}

// Snapshot is an immutable view of everything the server answers. Build a
// new one for every change and publish it; readers never lock.
type Snapshot struct {
	zs      *ZoneSet
	dynamic map[string][]DynamicAnswer // by zone origin, in the zone's dynamic order
	soa     map[string]*dns.SOA        // live SOA (with serial) by origin
	hashes  map[string]uint64          // content hash by origin
	overlay map[string]*packed         // packed answers that depend on this snapshot
	geo     *geoIndex                  // packed per-client answers of geo records; nil without any
	built   time.Time
	// dnssec is the signing state of a signed snapshot (dnssec.go).
	dnssec *signedData
	// neg holds the negative answers' templates by zone number, nil for
	// a zone the fast path does not answer negatively (negative.go).
	neg []*negTemplate
}

// Build makes a snapshot from the zone set and the current answers of the
// health-driven records. Records without an entry in dyn answer NODATA.
// A zone's serial rises above prev's whenever its content differs; new
// serials follow the clock (Unix time) so that they never go backwards
// across restarts. now should come from the caller's replicated state so
// that every node computes the same serial.
func Build(zs *ZoneSet, dyn []DynamicAnswer, prev *Snapshot, now time.Time) (*Snapshot, error) {
	var v Versions
	if prev != nil {
		v = prev.Versions()
	}
	return BuildFrom(zs, dyn, v, now)
}

// ZoneVersion is what decides a zone's next serial: its current serial and
// a hash of its content.
type ZoneVersion struct {
	Serial uint32 `json:"serial"`
	Hash   uint64 `json:"hash"`
}

// Versions maps zone origins to their versions.
type Versions map[string]ZoneVersion

// Versions returns the serial and content hash of every zone, for a
// replicated state machine to keep so that every replica, restored or
// not, numbers the next change the same.
func (s *Snapshot) Versions() Versions {
	v := make(Versions, len(s.soa))
	for origin, soa := range s.soa {
		v[origin] = ZoneVersion{Serial: soa.Serial, Hash: s.hashes[origin]}
	}
	return v
}

// BuildFrom is Build with the previous zone versions given directly.
func BuildFrom(zs *ZoneSet, dyn []DynamicAnswer, prev Versions, now time.Time) (*Snapshot, error) {
	return build(zs, dyn, now, func(origin string, hash uint64) uint32 {
		return nextSerial(prev, origin, hash, now)
	})
}

// BuildSerials makes a snapshot whose zones have the serials given, by
// origin: for a replicated state machine that numbers serials itself,
// from its own data. A zone without one gets the clock's (Unix time).
func BuildSerials(zs *ZoneSet, dyn []DynamicAnswer, serials map[string]uint32, now time.Time) (*Snapshot, error) {
	return build(zs, dyn, now, func(origin string, _ uint64) uint32 {
		if serial, ok := serials[origin]; ok {
			return serial
		}
		return uint32(now.Unix())
	})
}

// build makes a snapshot, asking serial for each zone's serial given
// the hash of its content.
func build(zs *ZoneSet, dyn []DynamicAnswer, now time.Time, serial func(origin string, hash uint64) uint32) (*Snapshot, error) {
	s := &Snapshot{
		zs:      zs,
		dynamic: map[string][]DynamicAnswer{},
		soa:     map[string]*dns.SOA{},
		hashes:  map[string]uint64{},
		built:   now,
	}
	for origin, z := range zs.zones {
		s.dynamic[origin] = make([]DynamicAnswer, len(z.dynamic))
		for i, k := range z.dynamic {
			s.dynamic[origin][i] = DynamicAnswer{Name: k.name, Type: k.typ}
		}
	}
	for _, d := range dyn {
		name := dns.CanonicalName(d.Name)
		z := zs.findZone(name)
		if z == nil {
			return nil, fmt.Errorf("dnsserver: %s %s: %w", name, dns.TypeToString[d.Type], ErrUnknownRecord)
		}
		n := z.nodes[name]
		i, ok := n.dynIndex(d.Type)
		if !ok {
			return nil, fmt.Errorf("dnsserver: %s %s: %w", name, dns.TypeToString[d.Type], ErrUnknownRecord)
		}
		s.dynamic[z.origin][i] = normalise(d, name)
	}
	for origin, z := range zs.zones {
		h := fnv.New64a()
		fmt.Fprintf(h, "%x\n", z.hash)
		for _, d := range s.dynamic[origin] {
			for _, v := range d.Variants {
				fmt.Fprintf(h, "%d:", v.Weight)
				for _, rr := range v.RRs {
					h.Write([]byte(strings.ToLower(rr.String())))
					h.Write([]byte{'\n'})
				}
			}
			h.Write([]byte{0})
		}
		s.hashes[origin] = h.Sum64()
		soa := *z.soa
		soa.Serial = serial(origin, s.hashes[origin])
		s.soa[origin] = &soa
	}
	s.overlay = make(map[string]*packed, len(zs.overlayKeys))
	for _, k := range zs.overlayKeys {
		if p := s.pack(k.name, k.typ); p != nil {
			s.overlay[string(wireKey(nil, k.name, k.typ))] = p
		}
	}
	s.geo = s.packGeos(zs.overlayKeys, dyn)
	s.negTemplates()
	return s, nil
}

// nextSerial keeps prev's serial when the zone's content is unchanged, and
// otherwise moves it forward: to the clock if the clock is ahead, else by
// one (RFC 1982 arithmetic wraps).
func nextSerial(prev Versions, origin string, hash uint64, now time.Time) uint32 {
	clock := uint32(now.Unix())
	v, ok := prev[origin]
	if !ok {
		return clock
	}
	old := v.Serial
	if v.Hash == hash {
		return old
	}
	if int32(clock-old) > 0 {
		return clock
	}
	return old + 1
}

func (n *node) dynIndex(t uint16) (int, bool) {
	if n == nil {
		return 0, false
	}
	i, ok := n.dyn[t]
	return i, ok
}

// normalise sets owner names and types and drops empty variants.
func normalise(d DynamicAnswer, name string) DynamicAnswer {
	out := DynamicAnswer{Name: name, Type: d.Type, Geo: normaliseGeo(d.Geo, name)}
	for _, v := range d.Variants {
		if len(v.RRs) == 0 {
			continue
		}
		rrs := make([]dns.RR, len(v.RRs))
		for i, rr := range v.RRs {
			c := dns.Copy(rr)
			c.Header().Name = name
			c.Header().Class = dns.ClassINET
			rrs[i] = c
		}
		if v.Weight == 0 {
			v.Weight = 1
		}
		out.Variants = append(out.Variants, Variant{Weight: v.Weight, RRs: rrs})
	}
	return out
}

// Serial returns the zone's current SOA serial, or 0 for a zone not served.
func (s *Snapshot) Serial(zone string) uint32 {
	if soa := s.soa[dns.CanonicalName(zone)]; soa != nil {
		return soa.Serial
	}
	return 0
}

// Zones returns the origins served, sorted.
func (s *Snapshot) Zones() []string { return s.zs.Zones() }

// Dynamic returns the current answers of the health-driven records, sorted
// by name and type.
func (s *Snapshot) Dynamic() []DynamicAnswer {
	var out []DynamicAnswer
	for _, list := range s.dynamic {
		out = append(out, list...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// Lookup answers qname/qtype in class IN as the server would, picking the
// first variant of weighted records. It is for tools and tests; the server
// itself uses the packed fast path.
func (s *Snapshot) Lookup(qname string, qtype uint16) *dns.Msg {
	r := &resolver{zs: s.zs, snap: s}
	res := r.resolve(dns.CanonicalName(qname), qtype)
	return res.msg(dns.CanonicalName(qname), qtype)
}

// msg turns a resolution into a response message (without EDNS).
func (res *resolution) msg(qname string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.Response = true
	m.Authoritative = res.aa
	m.Rcode = res.rcode
	m.Question = []dns.Question{{Name: qname, Qtype: qtype, Qclass: dns.ClassINET}}
	m.Answer, m.Ns, m.Extra = res.answer, res.ns, res.extra
	m.Compress = true
	return m
}
