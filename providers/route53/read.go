package route53

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/providers"
)

// OwnerPrefix starts the name of every ownership TXT record set.
const OwnerPrefix = "_detour-"

// OwnerName is the name of the ownership TXT record set of k:
// "_detour-a.www.example.test." for www.example.test A.
func OwnerName(k providers.Key) string {
	return OwnerPrefix + strings.ToLower(k.Type) + "." + k.Name
}

// OwnerValue is the TXT value marking a record set as owner's.
func OwnerValue(owner string) string {
	return `"heritage=detour,detour/owner=` + owner + `"`
}

// ownerOf parses an ownership TXT value: whether it is detour's, and the
// owner it names.
func ownerOf(v string) (detour bool, owner string) {
	fields := map[string]string{}
	for f := range strings.SplitSeq(strings.Trim(v, `"`), ",") {
		k, val, _ := strings.Cut(f, "=")
		fields[k] = val
	}
	return fields["heritage"] == "detour", fields["detour/owner"]
}

// handle is what Apply needs of an owned RRset: the exact record sets
// read, so that a DELETE matches them.
type handle struct {
	set   types.ResourceRecordSet
	owner types.ResourceRecordSet
}

// Read lists the hosted zone page by page and returns the A, AAAA and
// CNAME record sets that carry this owner's ownership record. It
// remembers which desired keys are held by someone else, so that Apply
// leaves them alone.
func (p *Provider) Read(ctx context.Context, want []providers.Key) ([]providers.RRset, error) {
	if err := p.checkZone(ctx); err != nil {
		return nil, err
	}
	sets, err := p.list(ctx)
	if err != nil {
		return nil, err
	}
	owners := map[string]types.ResourceRecordSet{} // by owner TXT name
	simple := map[providers.Key]types.ResourceRecordSet{}
	other := map[providers.Key]bool{} // weighted, alias...: never ours
	atName := map[string][]string{}   // types at each name
	for _, s := range sets {
		name := unescape(aws.ToString(s.Name))
		typ := string(s.Type)
		atName[name] = append(atName[name], typ)
		if typ == "TXT" && strings.HasPrefix(name, OwnerPrefix) {
			owners[name] = s
			continue
		}
		if typ != "A" && typ != "AAAA" && typ != "CNAME" {
			continue
		}
		k := providers.Key{Name: name, Type: typ}
		if s.SetIdentifier != nil || s.AliasTarget != nil {
			other[k] = true
			continue
		}
		simple[k] = s
	}
	foreign, orphans := map[providers.Key]string{}, map[providers.Key]bool{}
	var out []providers.RRset
	for k, s := range simple {
		o, ok := owners[OwnerName(k)]
		switch {
		case other[k]:
			foreign[k] = "routing-policy record sets share its name and type"
		case !ok:
			foreign[k] = "it has no ownership record " + OwnerName(k)
		case !p.ours(o):
			foreign[k] = "its ownership record " + OwnerName(k) + " names another owner"
		default:
			out = append(out, p.rrset(k, s, o))
		}
	}
	for _, k := range want {
		o, ok := owners[OwnerName(k)]
		switch {
		case cnameClash(k, atName[k.Name]):
			foreign[k] = "a CNAME cannot share its name with other record sets, and " + k.Name + " holds " + strings.Join(atName[k.Name], ", ")
		case other[k]:
			foreign[k] = "routing-policy record sets share its name and type"
		case ok && !p.ours(o):
			foreign[k] = "its ownership record " + OwnerName(k) + " names another owner"
		case ok && simple[k].Name == nil:
			orphans[k] = true
		}
	}
	p.mu.Lock()
	p.foreign, p.orphans = foreign, orphans
	p.mu.Unlock()
	return out, nil
}

// cnameClash reports whether a record set k cannot be created beside the
// types already at its name: a CNAME beside anything, anything beside a
// CNAME. Record sets of k's own type are not a clash (they are k).
func cnameClash(k providers.Key, at []string) bool {
	for _, t := range at {
		if t != k.Type && (t == "CNAME" || k.Type == "CNAME") {
			return true
		}
	}
	return false
}

func (p *Provider) ours(txt types.ResourceRecordSet) bool {
	return len(txt.ResourceRecords) == 1 && aws.ToString(txt.ResourceRecords[0].Value) == p.ownerVal
}

func (p *Provider) rrset(k providers.Key, s, owner types.ResourceRecordSet) providers.RRset {
	rr := providers.RRset{Key: k, TTL: uint32(aws.ToInt64(s.TTL)), Handle: &handle{set: s, owner: owner}}
	vals := make([]string, len(s.ResourceRecords))
	for i, r := range s.ResourceRecords {
		vals[i] = aws.ToString(r.Value)
	}
	rr.Values = canonicalValues(k.Type, vals)
	return rr
}

// canonicalValues is vals in canonical text (canonicalValue), sorted,
// without repeats, in a new slice.
func canonicalValues(typ string, vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = canonicalValue(typ, v)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// canonicalValue writes a value as the spec's decisions do: addresses in
// their canonical text, host names lower-case and fully qualified.
func canonicalValue(typ, v string) string {
	if typ == "CNAME" {
		return dns.CanonicalName(unescape(v))
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return a.String()
	}
	return v
}

// checkZone makes sure, once, that the hosted zone is the spec's zone.
func (p *Provider) checkZone(ctx context.Context) error {
	p.mu.Lock()
	ok := p.zoneOK
	p.mu.Unlock()
	if ok {
		return nil
	}
	got, err := p.zoneName(ctx)
	if err != nil {
		return err
	}
	if got != p.cfg.Zone {
		return fmt.Errorf("%w: hosted zone %s is %s, not the spec's zone %s", providers.ErrConfig, p.cfg.HostedZoneID, got, p.cfg.Zone)
	}
	p.mu.Lock()
	p.zoneOK = true
	p.mu.Unlock()
	return nil
}

// zoneName asks Route 53 for the hosted zone's name, canonical.
func (p *Provider) zoneName(ctx context.Context) (string, error) {
	out, err := p.client.GetHostedZone(ctx, &r53.GetHostedZoneInput{Id: aws.String(p.cfg.HostedZoneID)})
	if err != nil {
		return "", wrap("get hosted zone "+p.cfg.HostedZoneID, err)
	}
	return dns.CanonicalName(unescape(aws.ToString(out.HostedZone.Name))), nil
}

// list reads every record set of the hosted zone, following
// IsTruncated/NextRecordName/NextRecordType/NextRecordIdentifier.
func (p *Provider) list(ctx context.Context) ([]types.ResourceRecordSet, error) {
	pages := r53.NewListResourceRecordSetsPaginator(p.client, &r53.ListResourceRecordSetsInput{
		HostedZoneId: aws.String(p.cfg.HostedZoneID),
		MaxItems:     aws.Int32(p.cfg.PageSize),
	})
	var out []types.ResourceRecordSet
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, wrap("list record sets", err)
		}
		out = append(out, page.ResourceRecordSets...)
	}
	return out, nil
}

// unescape undoes Route 53's \ooo escapes ("\052.example.test." is
// "*.example.test.") and lower-cases the name.
func unescape(name string) string {
	if !strings.Contains(name, `\`) {
		return strings.ToLower(name)
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' && i+3 < len(name) {
			if n, err := strconv.ParseUint(name[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(name[i])
	}
	return strings.ToLower(b.String())
}
