package dnsserver_test

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// diffZoneBody is the zone both differential zones serve, with a TTL on
// every record. TXT and CAA data are lower case: the comparison folds case
// (RFC 4343), so data case must not matter. Records marked "; keep" keep
// their TTL in the zone that relies on ttl:, so that a TTL-less record
// after them shows whether ttl: acts as $TTL (RFC 2308 4) or as the
// last stated TTL (issue 12 item 1).
const diffZoneBody = `
@ 3600 IN SOA ns1 hostmaster 1 3600 600 1209600 300
@ 3600 IN NS ns1
@ 3600 IN NS ns2.elsewhere.test.
ns1 3600 IN A 127.0.0.1
ns1 3600 IN AAAA ::1
@ 300 IN MX 10 mail
@ 300 IN TXT "v=spf1 -all"
@ 600 IN CAA 0 issue "ca.example.net"
mail 120 IN A 192.0.2.25 ; keep
mail 300 IN AAAA 2001:db8::25
www 60 IN A 192.0.2.10
www 60 IN A 192.0.2.11
www 60 IN AAAA 2001:db8::10
alias 300 IN CNAME www
chain 300 IN CNAME alias
ext 300 IN CNAME www.other.test.
dangle 300 IN CNAME nothere
cdeleg 300 IN CNAME x.sub
cwild 300 IN CNAME foo.wild
*.wild 200 IN A 192.0.2.80
*.wild 200 IN TXT "wild"
*.wild 200 IN MX 10 host.wild
sib.wild 200 IN TXT "sib"
srvw 300 IN SRV 0 5 443 t.wild
mxw 300 IN MX 10 m.wild
_sip._tcp 300 IN SRV 0 5 5060 mail
x.y.ent 300 IN A 192.0.2.7
sub 3600 IN NS ns.sub
sub 3600 IN NS ns.elsewhere.test.
ns.sub 3600 IN A 192.0.2.53
ns.sub 3600 IN AAAA 2001:db8::53
dn 300 IN DNAME target
x.target 300 IN A 192.0.2.90
y.target 300 IN CNAME www
dnout 300 IN DNAME other.test.
ptr 300 IN PTR www
unk 300 IN TYPE65280 \# 4 01020304
manymx 300 IN MX 10 mx1
manymx 300 IN MX 20 mx2
manymx 300 IN MX 30 mx3
manymx 300 IN MX 40 mx4
manymx 300 IN MX 50 mx5
manymx 300 IN MX 60 mx6
manymx 300 IN MX 70 mx7
manymx 300 IN MX 80 mx8
manymx 300 IN MX 90 mx9
manymx 300 IN MX 100 mx10
`

// diffZoneTail adds the records whose number differs from one line to the
// next; generated to keep the text above readable.
func diffZoneTail() string {
	var b strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, "mx%d 300 IN A 192.0.2.%d\nmx%d 300 IN AAAA 2001:db8::1:%d\n", i, 100+i, i, i)
	}
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "many 300 IN A 10.0.0.%d\n", i)
	}
	b.WriteString(`big 300 IN TXT "` + strings.Repeat("a", 250) + `" "` + strings.Repeat("b", 250) + `"` + "\n")
	return b.String()
}

// diffTTLRelying is the TTL the zone without per-record TTLs gets from
// the spec's ttl: (and Knot from $TTL).
const diffTTLRelying = 900

var ttlField = regexp.MustCompile(`^(\S+) \d+ IN `)

// diffZones returns the text of the two zones: explicit has a TTL on
// every record; relying has none but on the "; keep" lines, and a $TTL
// line near the end that must win from where it stands.
func diffZones() (explicit, relying string) {
	body := diffZoneBody + diffZoneTail()
	var b strings.Builder
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasSuffix(line, "; keep") {
			line = ttlField.ReplaceAllString(line, "$1 IN ")
		}
		if strings.HasPrefix(line, "big ") {
			b.WriteString("$TTL 450\n")
		}
		b.WriteString(line + "\n")
	}
	return body, b.String()
}

// Origins of the zones.
const (
	diffExplicit = "alpha.test."
	diffRelying  = "beta.test."
	// diffPlain serves explicit's names without the wildcard, the
	// delegation and the DNAMEs: a zone whose negative answers the fast
	// path gives (negative.go), where the others' go to the resolver.
	diffPlain = "gamma.test."
)

// diffPlainZone is explicit without the lines that keep a zone's
// negative answers off the fast path: wildcards (and the names that
// point into them), delegations and DNAMEs.
func diffPlainZone(explicit string) string {
	var b strings.Builder
	for _, line := range strings.Split(explicit, "\n") {
		f := strings.Fields(line)
		switch {
		case strings.Contains(line, "wild"), strings.Contains(line, "DNAME"), strings.Contains(line, ".sub"),
			len(f) > 3 && f[0] != "@" && slices.Contains(f, "NS"):
			continue
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// diffSpec is the detour spec serving the zones.
func diffSpec(explicit, relying, plain string) string {
	indent := func(s string) string {
		return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ")
	}
	return fmt.Sprintf(`
zones:
  - name: %s
    static: |
%s
  - name: %s
    ttl: %d
    static: |
%s
  - name: %s
    static: |
%s
datacenters: [{name: a}, {name: b}, {name: c}]
`, strings.TrimSuffix(diffExplicit, "."), indent(explicit), strings.TrimSuffix(diffRelying, "."), diffTTLRelying, indent(relying),
		strings.TrimSuffix(diffPlain, "."), indent(plain))
}

// zoneNames sorts a zone's names into the shapes the generator draws
// from: names that exist, wildcard parents, delegation points, empty
// non-terminals and DNAME owners.
type zoneNames struct {
	origin                            string
	exist, wild, deleg, ent, dnameOwn []string
}

// classify reads zone text (relative to origin) and sorts its names.
func classify(origin, text string) (zoneNames, error) {
	zn := zoneNames{origin: origin}
	zp := dns.NewZoneParser(strings.NewReader(text), origin, "")
	zp.SetDefaultTTL(3600)
	owners := map[string]bool{}
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		name := h.Name
		owners[name] = true
		switch {
		case strings.HasPrefix(name, "*."):
			zn.wild = appendOnce(zn.wild, name[2:])
		case h.Rrtype == dns.TypeNS && name != origin:
			zn.deleg = appendOnce(zn.deleg, name)
		case h.Rrtype == dns.TypeDNAME:
			zn.dnameOwn = appendOnce(zn.dnameOwn, name)
		}
	}
	if err := zp.Err(); err != nil {
		return zn, fmt.Errorf("zone %s: %w", origin, err)
	}
	for name := range owners {
		zn.exist = append(zn.exist, name)
		for p := parent(name); p != origin && dns.IsSubDomain(origin, p); p = parent(p) {
			if !owners[p] {
				zn.ent = appendOnce(zn.ent, p)
			}
		}
	}
	sortAll(zn.exist, zn.wild, zn.deleg, zn.ent, zn.dnameOwn)
	return zn, nil
}

func parent(name string) string {
	i := strings.IndexByte(name, '.')
	if i < 0 || i == len(name)-1 {
		return "."
	}
	return name[i+1:]
}

func appendOnce(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func sortAll(lists ...[]string) {
	for _, l := range lists {
		slices.Sort(l)
	}
}
