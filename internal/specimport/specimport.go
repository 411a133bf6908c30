// Package specimport turns DNS data a team already has (an RFC 1035 zone
// file, the record sets of a Route 53 hosted zone, the records of a
// Cloudflare zone) into a detour spec to review and apply: every record
// becomes static zone data with its TTL stated, and what detour cannot
// serve as it stands (routing-policy record sets, aliases, proxied
// records, DNSSEC records of another signer) is left out with a comment
// saying why and what to write instead. Names answered by several
// addresses get a comment pointing at health-driven records, which is
// where detour's failover lives.
package specimport

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// ErrImport: the data could not be turned into a spec.
var ErrImport = errors.New("spec import")

// Zone is one imported zone.
type Zone struct {
	// Name is the zone's canonical name (example.test.).
	Name string
	// From says where the data came from, for the header comment.
	From string
	// Records are the records detour will serve, in order.
	Records []dns.RR
	// Notes are about the zone as a whole.
	Notes []string
	// Nameservers are written as nameservers: when the records have no
	// NS at the apex, and name the SOA when there is none; empty means
	// ns1.<zone>, to be changed.
	Nameservers []string
	// skipped are comments about left-out records, by owner name.
	skipped map[string][]string
}

// NewZone returns an empty zone named name.
func NewZone(name, from string) *Zone {
	return &Zone{Name: dns.CanonicalName(name), From: from, skipped: map[string][]string{}}
}

// Skip records why something at name was not imported.
func (z *Zone) Skip(name, why string) {
	name = dns.CanonicalName(name)
	z.skipped[name] = append(z.skipped[name], why)
}

// dnssecTypes are the records a signer makes; importing them would
// serve another signer's keys and signatures without their upkeep.
var dnssecTypes = map[uint16]bool{
	dns.TypeRRSIG: true, dns.TypeNSEC: true, dns.TypeNSEC3: true, dns.TypeNSEC3PARAM: true,
	dns.TypeDNSKEY: true, dns.TypeCDS: true, dns.TypeCDNSKEY: true,
}

// Add adds a record, or skips it with a reason when detour should not
// serve it as static data.
func (z *Zone) Add(rr dns.RR) {
	h := rr.Header()
	h.Name = dns.CanonicalName(h.Name)
	switch {
	case !dns.IsSubDomain(z.Name, h.Name):
		z.Skip(z.Name, fmt.Sprintf("%s %s is outside the zone: not imported", h.Name, dns.Type(h.Rrtype)))
	case h.Class != dns.ClassINET:
		z.Skip(h.Name, fmt.Sprintf("class %s record not imported: detour serves class IN", dns.Class(h.Class)))
	case dnssecTypes[h.Rrtype]:
		z.Skip(h.Name, fmt.Sprintf("%s not imported: DNSSEC records belong to the signer of the zone", dns.Type(h.Rrtype)))
	default:
		z.Records = append(z.Records, rr)
	}
}

// ParseZoneFile reads an RFC 1035 zone file ($ORIGIN, $TTL, $INCLUDE
// refused) for the zone origin.
func ParseZoneFile(r io.Reader, origin, file string) (*Zone, error) {
	z := NewZone(origin, "zone file "+file)
	zp := dns.NewZoneParser(r, z.Name, file)
	zp.SetIncludeAllowed(false)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		z.Add(rr)
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrImport, file, err)
	}
	if len(z.Records) == 0 {
		return nil, fmt.Errorf("%w: %s holds no records for %s", ErrImport, file, z.Name)
	}
	return z, nil
}

// Render writes the spec of the zones: YAML with comments, validated by
// spec.Parse before it is returned.
func Render(zones []*Zone) ([]byte, error) {
	var b strings.Builder
	b.WriteString("# Imported by `detour spec import`. Review it, then\n")
	b.WriteString("# `detour spec diff FILE` and `detour spec apply FILE`.\n")
	b.WriteString("# Every record is static data, its TTL stated. detour answers health-driven\n")
	b.WriteString("# records (records: with pools and checks) where the comments say so.\n")
	b.WriteString("zones:\n")
	var hints []string
	for _, z := range zones {
		hints = append(hints, z.render(&b)...)
	}
	if len(hints) > 0 {
		b.WriteString("# For failover, move the addresses of a name out of static: into\n")
		b.WriteString("# pools and a health-driven record (see docs/spec.md), e.g.:\n")
		b.WriteString("# datacenters: [{name: dc1}, {name: dc2}]\n")
		b.WriteString("# checks: [{name: web, type: https, path: /healthz}]\n")
		b.WriteString("# pools:\n")
		b.WriteString("#   - {name: dc1-web, datacenter: dc1, check: web, endpoints: [{address: ADDRESS-1}]}\n")
		b.WriteString("#   - {name: dc2-web, datacenter: dc2, check: web, endpoints: [{address: ADDRESS-2}]}\n")
		b.WriteString("# records:\n")
		fmt.Fprintf(&b, "#   - {name: %s, type: A, ttl: 60, policy: failover, pools: [dc1-web, dc2-web]}\n", strings.TrimSuffix(hints[0], "."))
	}
	out := []byte(b.String())
	if _, err := spec.Parse(out); err != nil {
		return out, fmt.Errorf("%w: the imported spec is not valid: %w", ErrImport, err)
	}
	return out, nil
}

// render writes one zone and returns the names worth a health-driven
// record: those answered by several A or AAAA records.
func (z *Zone) render(b *strings.Builder) []string {
	fmt.Fprintf(b, "  - name: %s\n", strings.TrimSuffix(z.Name, "."))
	fmt.Fprintf(b, "    # from %s\n", z.From)
	for _, n := range z.Notes {
		fmt.Fprintf(b, "    # %s\n", n)
	}
	z.renderApex(b)
	b.WriteString("    static: |\n")
	recs := slices.Clone(z.Records)
	// The SOA first, then the apex NS, then the rest in their order.
	slices.SortStableFunc(recs, func(a, b dns.RR) int { return rank(z.Name, a) - rank(z.Name, b) })
	addrs := map[string]int{}
	var order []string
	byName := map[string][]dns.RR{}
	for _, rr := range recs {
		n := rr.Header().Name
		if _, ok := byName[n]; !ok {
			order = append(order, n)
		}
		byName[n] = append(byName[n], rr)
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			addrs[n+" "+dns.Type(t).String()]++
		}
	}
	var only []string // names with comments and no records
	for n := range z.skipped {
		if _, ok := byName[n]; !ok {
			only = append(only, n)
		}
	}
	slices.Sort(only)
	order = append(order, only...)
	var hints []string
	for _, n := range order {
		for _, why := range z.skipped[n] {
			fmt.Fprintf(b, "      ; detour: %s: %s\n", relative(n, z.Name), why)
		}
		for _, t := range []string{"A", "AAAA"} {
			if c := addrs[n+" "+t]; c > 1 {
				fmt.Fprintf(b, "      ; detour: %s answers %d %s records together; for failover between them make it a health-driven record with pools\n", relative(n, z.Name), c, t)
				hints = append(hints, n)
			}
		}
		for _, rr := range byName[n] {
			fmt.Fprintf(b, "      %s\n", line(rr, z.Name))
		}
	}
	return hints
}

func rank(origin string, rr dns.RR) int {
	h := rr.Header()
	switch {
	case h.Rrtype == dns.TypeSOA:
		return 0
	case h.Rrtype == dns.TypeNS && h.Name == origin:
		return 1
	}
	return 2
}

// line writes rr as a zone-file line with its owner relative to origin
// and its TTL stated.
func line(rr dns.RR, origin string) string {
	h := rr.Header()
	fields := strings.SplitN(rr.String(), "\t", 5)
	rdata := ""
	if len(fields) == 5 {
		rdata = fields[4]
	}
	return fmt.Sprintf("%s %d IN %s %s", relative(h.Name, origin), h.Ttl, dns.Type(h.Rrtype), rdata)
}

func relative(name, origin string) string {
	if name == origin {
		return "@"
	}
	return strings.TrimSuffix(name, "."+origin)
}

// renderApex writes soa: and nameservers: when the records lack an SOA
// or apex NS records (Cloudflare lists neither).
func (z *Zone) renderApex(b *strings.Builder) {
	hasSOA, hasNS := false, false
	for _, rr := range z.Records {
		h := rr.Header()
		hasSOA = hasSOA || h.Rrtype == dns.TypeSOA
		hasNS = hasNS || (h.Rrtype == dns.TypeNS && h.Name == z.Name)
	}
	ns := z.Nameservers
	if len(ns) == 0 {
		ns = []string{"ns1." + z.Name}
	}
	for i := range ns {
		ns[i] = dns.CanonicalName(ns[i])
	}
	if !hasSOA {
		fmt.Fprintf(b, "    soa: {mname: %s, rname: hostmaster.%s}  # the source had no SOA: check these\n", ns[0], z.Name)
	}
	if !hasNS {
		fmt.Fprintf(b, "    nameservers: [%s]  # the source had no NS at the apex: detour's nameservers go here\n", strings.Join(ns, ", "))
	}
}
