package specimport

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/providers/cloudflare"
	"github.com/seed3787e6f1/detour/providers/route53"
)

// FromRoute53 turns the record sets of a Route 53 hosted zone into a
// zone. Simple record sets are imported; routing-policy record sets
// (weighted, failover, latency, geolocation...) and aliases are left out
// with a comment, as are detour's own ownership records and the record
// sets they mark (those belong under records:).
func FromRoute53(zone string, sets []types.ResourceRecordSet, from string) *Zone {
	z := NewZone(zone, from)
	owned := map[string]bool{}
	for _, s := range sets {
		name := route53.UnescapeName(aws.ToString(s.Name))
		if isR53Owner(name, s) {
			typ, target, _ := strings.Cut(strings.TrimPrefix(name, route53.OwnerPrefix), ".")
			owned[dns.CanonicalName(target)+" "+strings.ToUpper(typ)] = true
			z.Skip(name, "detour's ownership record (Route 53 provider): not imported")
		}
	}
	for _, s := range sets {
		name := dns.CanonicalName(route53.UnescapeName(aws.ToString(s.Name)))
		typ := string(s.Type)
		values := r53Values(s)
		switch {
		case owned[name+" "+typ]:
			z.Skip(name, fmt.Sprintf("%s %s is managed by detour's Route 53 provider: it is a health-driven record (records:), not static data", typ, values))
		case s.SetIdentifier != nil:
			z.Skip(name, fmt.Sprintf("Route 53 %s record set %q (%s %s) not imported: in detour a name answering by weight, health, latency or location is a health-driven record with pools",
				policy(s), aws.ToString(s.SetIdentifier), typ, values))
		case s.AliasTarget != nil:
			z.Skip(name, fmt.Sprintf("%s alias to %s not imported: detour has no alias records; write the target's addresses here, or a CNAME below the apex",
				typ, aws.ToString(s.AliasTarget.DNSName)))
		case isR53Owner(name, s): // skipped above
		default:
			for _, r := range s.ResourceRecords {
				addText(z, fmt.Sprintf("%s %d IN %s %s", name, aws.ToInt64(s.TTL), typ, aws.ToString(r.Value)))
			}
		}
	}
	z.Notes = append(z.Notes, "the SOA and apex NS records are Route 53's: put detour's nameservers there before delegating the zone to detour")
	return z
}

// isR53Owner reports whether s, named name, is an ownership record of
// detour's Route 53 provider.
func isR53Owner(name string, s types.ResourceRecordSet) bool {
	return s.Type == types.RRTypeTxt && strings.HasPrefix(name, route53.OwnerPrefix) && len(s.ResourceRecords) == 1 &&
		route53.IsOwnerRecord(aws.ToString(s.ResourceRecords[0].Value))
}

func r53Values(s types.ResourceRecordSet) string {
	var v []string
	for _, r := range s.ResourceRecords {
		v = append(v, aws.ToString(r.Value))
	}
	return strings.Join(v, ",")
}

// policy names a record set's routing policy.
func policy(s types.ResourceRecordSet) string {
	switch {
	case s.Weight != nil:
		return "weighted"
	case s.Failover != "":
		return "failover"
	case s.Region != "":
		return "latency"
	case s.GeoLocation != nil:
		return "geolocation"
	case s.GeoProximityLocation != nil:
		return "geoproximity"
	case s.CidrRoutingConfig != nil:
		return "IP-based"
	case aws.ToBool(s.MultiValueAnswer):
		return "multivalue"
	}
	return "routing-policy"
}

// addText parses one record; what does not parse is left out with the
// reason.
func addText(z *Zone, text string) {
	rr, err := dns.NewRR(text)
	if err != nil || rr == nil {
		name, _, _ := strings.Cut(text, " ")
		z.Skip(name, fmt.Sprintf("%q not imported: %v", text, err))
		return
	}
	z.Add(rr)
}

// FromCloudflare turns the records of a Cloudflare zone into a zone.
// Records detour's Cloudflare provider made are left out (they belong
// under records:); proxied records are imported with their origin
// addresses and a comment, since Cloudflare answers them with its own;
// the automatic TTL becomes 300 s, Cloudflare's value for it.
func FromCloudflare(zone string, recs []cloudflare.ExportedRecord, from string) *Zone {
	z := NewZone(zone, from)
	for _, r := range recs {
		name := dns.CanonicalName(r.Name)
		if r.Comment == cloudflare.Marker {
			z.Skip(name, fmt.Sprintf("%s %s is managed by detour's Cloudflare provider: it is a health-driven record (records:), not static data", r.Type, r.Content))
			continue
		}
		ttl := r.TTL
		if ttl == cloudflare.AutoTTL {
			ttl = 300
		}
		if r.Proxied {
			z.Skip(name, fmt.Sprintf("%s %s is proxied at Cloudflare, which answers with its own addresses; imported with the origin's", r.Type, r.Content))
		}
		content := r.Content
		switch r.Type {
		case "MX":
			content = fmt.Sprintf("%d %s", r.Priority, fqdn(content))
		case "CNAME", "NS", "PTR":
			content = fqdn(content)
		case "TXT", "SPF":
			if !strings.HasPrefix(content, `"`) {
				content = `"` + strings.ReplaceAll(content, `"`, `\"`) + `"`
			}
		}
		addText(z, fmt.Sprintf("%s %d IN %s %s", name, ttl, r.Type, content))
	}
	z.Notes = append(z.Notes, "Cloudflare does not list its SOA and NS records: give soa: and nameservers: (detour's) before applying")
	return z
}

func fqdn(s string) string { return dns.Fqdn(s) }
