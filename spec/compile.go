package spec

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// CompiledZone is a zone's data as parsed from the spec: the SOA, the
// static records (nameservers included, StaticRecords) and the dynamic
// records that live in it. The SOA serial here is zero; the DNS server manages serials.
type CompiledZone struct {
	Name    string
	SOA     *dns.SOA
	Dynamic []*Record
	// static holds the static records (StaticRecords).
	static packedRRs

	// static names and types, for conflict checks
	types rrsetIndex
	// ttlMerged lists the RRsets whose records disagreed on TTL, for
	// Lint.
	ttlMerged []string
}

// CompiledZones returns the compiled zones in spec order. It is nil until Validate
// succeeds.
func (s *Spec) CompiledZones() []*CompiledZone {
	if s.compiled == nil {
		return nil
	}
	out := make([]*CompiledZone, 0, len(s.Zones))
	for _, z := range s.Zones {
		if cz := s.compiled[z.Name]; cz != nil {
			out = append(out, cz)
		}
	}
	return out
}

// ZoneFor returns the compiled zone holding name (longest match), or nil.
func (s *Spec) ZoneFor(name string) *CompiledZone { return s.zoneFor(name) }

// compileZone parses a zone's static text and file, builds its SOA and
// NS records and checks them. Problems carry paths relative to the zone.
// budget is how many static records the spec may still hold; parsing
// stops past it.
func compileZone(z *Zone, budget *int) (*CompiledZone, []Problem) {
	return compileZoneWith(z, budget, parseStatic)
}

// compileZoneWith is compileZone parsing zone text with parse.
func compileZoneWith(z *Zone, budget *int, parse zoneTextParser) (*CompiledZone, []Problem) {
	var problems []Problem
	add := func(path, format string, args ...any) {
		problems = append(problems, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	cz := &CompiledZone{Name: z.Name}
	recs := &staticRecs{}
	if n := strings.Count(z.Static, "\n") + strings.Count(z.FileText, "\n") + 2; n <= max(*budget, 0)+2 {
		// About a record a line: growing the list for a million records
		// copied it over and over.
		recs.recs = make([]staticRec, 0, n+len(z.Nameservers))
	}
	scratch := make([]byte, dns.MaxMsgSize)
	for _, src := range []struct{ path, text string }{{".static", z.Static}, {".file", z.FileText}} {
		if strings.TrimSpace(src.text) == "" {
			continue
		}
		from := len(recs.recs)
		err := parse(src.text, z.Name, z.TTL, budget, recs)
		if errors.Is(err, errTooManyRecords) {
			add(src.path, "%v", err)
			continue
		}
		if err != nil {
			add(src.path, "%s", zoneError(err, -1))
			continue
		}
		for i := from; i < len(recs.recs); i++ {
			if recs.recs[i].pending() {
				cz.checkParsed(recs, i, z, src.path, scratch, add)
			}
		}
	}
	recs.recs = slices.DeleteFunc(recs.recs, func(r staticRec) bool { return r.pending() })
	if z.SOA != nil {
		cz.SOA = &dns.SOA{
			Hdr:     dns.RR_Header{Name: z.Name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: z.SOA.TTL},
			Ns:      z.SOA.MName,
			Mbox:    z.SOA.RName,
			Refresh: z.SOA.Refresh,
			Retry:   z.SOA.Retry,
			Expire:  z.SOA.Expire,
			Minttl:  z.SOA.NegativeTTL,
		}
	}
	if cz.SOA == nil {
		add(".soa", "is required: give soa: {mname, rname} or an SOA record in the zone data")
	} else {
		cz.SOA.Serial = 0
	}
	for _, ns := range z.Nameservers {
		recs.addRR(&dns.NS{Hdr: dns.RR_Header{Name: z.Name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: z.TTL}, Ns: ns}, scratch)
	}
	order, ttlOf, merged, types := groupStatic(recs)
	cz.ttlMerged, cz.types = merged, types
	if !cz.types.has(z.Name, dns.TypeNS) {
		add(".nameservers", "at least one nameserver is required (nameservers: or NS records at the apex)")
	}
	for _, k := range cz.types.keys {
		if k.typ != dns.TypeCNAME {
			continue
		}
		if len(cz.types.at(k.name)) > 1 {
			add(".static", "%s has a CNAME and other records; a CNAME must stand alone", k.name)
		}
		if k.name == z.Name {
			add(".static", "the apex %s cannot be a CNAME", k.name)
		}
	}
	checkDNAMEs(cz, recs, order, add)
	cz.static = recs.pack(order, ttlOf)
	return cz, problems
}

// checkParsed checks the pending record i, as miekg/dns parsed it, and
// packs it, or reports it and leaves it pending (dropped).
func (cz *CompiledZone) checkParsed(recs *staticRecs, i int, z *Zone, path string, scratch []byte, add func(path, format string, args ...any)) {
	rr := recs.slow[recs.recs[i].slow]
	name := dns.CanonicalName(rr.Header().Name)
	if !inZone(z.Name, name) {
		add(path, "%s %s is outside the zone %s", rr.Header().Name, dns.TypeToString[rr.Header().Rrtype], z.Name)
		return
	}
	if rr.Header().Class != dns.ClassINET {
		add(path, "%s: only class IN is served", rr.Header().Name)
		return
	}
	if soa, ok := rr.(*dns.SOA); ok {
		if name != z.Name {
			add(path, "an SOA record belongs at the apex %s, not %s", z.Name, name)
		} else if z.SOA != nil || cz.SOA != nil {
			add(path, "the zone has two SOA records (one in soa:, one here); keep one")
		} else {
			cz.SOA = soa
		}
		return
	}
	rr.Header().Name = name
	recs.accept(i, scratch)
}

// checkDNAMEs applies RFC 6672 section 2.4 and 2.3 as Knot DNS's zone
// checks do: one DNAME per name, no names below it, and no NS beside it
// except at the apex.
func checkDNAMEs(cz *CompiledZone, recs *staticRecs, order []int32, add func(path, format string, args ...any)) {
	count := map[string]int{}
	for _, i := range order {
		if r := &recs.recs[i]; r.typ == dns.TypeDNAME {
			count[r.name]++
		}
	}
	for name, n := range count {
		if n > 1 {
			add(".static", "%s has %d DNAME records; a name has at most one", name, n)
		}
		if name != cz.Name && cz.types.has(name, dns.TypeNS) {
			add(".static", "%s has a DNAME and NS records; a DNAME below the apex cannot be a delegation", name)
		}
	}
	if len(count) == 0 {
		return
	}
	seen := map[string]bool{}
	for _, k := range cz.types.keys {
		name := k.name
		if seen[name] {
			continue
		}
		seen[name] = true
		if d := cz.dnameAbove(name); d != "" {
			add(".static", "%s is below the DNAME at %s, which redirects every name below it; a name there cannot hold records", name, d)
		}
	}
}

// dnameAbove returns the name strictly above name, in the zone, holding a
// static DNAME, or "".
func (cz *CompiledZone) dnameAbove(name string) string {
	for off, end := dns.NextLabel(name, 0); !end && len(name[off:]) >= len(cz.Name); off, end = dns.NextLabel(name, off) {
		if cz.types.has(name[off:], dns.TypeDNAME) {
			return name[off:]
		}
	}
	return ""
}

// errTooManyRecords stops a zone's parse at the spec's static record limit.
var errTooManyRecords = fmt.Errorf("the zones hold more than %d static records, the limit (see docs/spec.md, Limits)", MaxStaticRecords)

// parseZoneText parses RFC 1035 zone-file text relative to origin, taking
// each record from budget: a few $GENERATE lines make any number of
// records, so the count is checked while parsing, not after.
//
// The zone's ttl acts as a $TTL line before the text (RFC 2308 section
// 4): a record without a TTL takes it, not the TTL of the record before
// (RFC 1035's "last stated" rule, which miekg/dns's SetDefaultTTL keeps),
// and a $TTL line in the text takes over from where it stands. The line
// it adds is why zoneError is told to count one line less.
func parseZoneText(text, origin string, ttl uint32, budget *int) ([]dns.RR, error) {
	r := io.MultiReader(strings.NewReader("$TTL "+strconv.FormatUint(uint64(ttl), 10)+"\n"), strings.NewReader(text))
	zp := dns.NewZoneParser(r, origin, "")
	// About a record a line: growing the list for a million records
	// copied it over and over.
	rrs := make([]dns.RR, 0, min(strings.Count(text, "\n")+1, max(*budget, 0)))
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if *budget <= 0 {
			return nil, errTooManyRecords
		}
		*budget--
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return nil, err
	}
	return rrs, nil
}

// conflict says why a dynamic record of type typ cannot live at name, or "".
func (cz *CompiledZone) conflict(name, typ string) string {
	types := cz.types.at(name)
	t := dns.StringToType[typ]
	switch {
	case types.has(t):
		return fmt.Sprintf("%s already has static %s records; a name and type is either static or health-driven", name, typ)
	case typ == "CNAME" && len(types) > 0:
		return fmt.Sprintf("%s has static records (%s); a CNAME must stand alone", name, typeList(types))
	case types.has(dns.TypeCNAME):
		return fmt.Sprintf("%s is a static CNAME; a CNAME must stand alone", name)
	case name == cz.Name && typ == "CNAME":
		return fmt.Sprintf("the apex %s cannot be a CNAME", name)
	}
	if d := cz.dnameAbove(name); d != "" {
		return fmt.Sprintf("%s is below the DNAME at %s; a name there cannot hold records", name, d)
	}
	for off, end := 0, false; !end && len(name[off:]) > len(cz.Name); off, end = dns.NextLabel(name, off) {
		if cz.types.has(name[off:], dns.TypeNS) {
			return fmt.Sprintf("%s is at or below the delegation %s; the child zone's servers answer for it", name, name[off:])
		}
	}
	return ""
}

// typeSet is the types a name holds: a short list (a map per name cost
// a third of the time of compiling a big zone).
type typeSet []uint16

func (ts typeSet) has(t uint16) bool { return slices.Contains(ts, t) }

func (ts typeSet) add(t uint16) typeSet {
	if ts.has(t) {
		return ts
	}
	return append(ts, t)
}

func typeList(types typeSet) string {
	var out []string
	for _, t := range types {
		out = append(out, dns.TypeToString[t])
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}
