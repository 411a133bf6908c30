package route53

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/route53/types"
)

// Export reads every record set of the hosted zone cfg names (cfg.Zone
// is not needed), for `detour spec import`: the zone's name and its
// record sets in Route 53's order. Names are as Route 53 lists them;
// UnescapeName reads them.
func Export(ctx context.Context, cfg Config) (string, []types.ResourceRecordSet, error) {
	cfg.Zone = "."
	p, err := New(ctx, cfg)
	if err != nil {
		return "", nil, err
	}
	name, err := p.zoneName(ctx)
	if err != nil {
		return "", nil, err
	}
	sets, err := p.list(ctx)
	if err != nil {
		return "", nil, err
	}
	return name, sets, nil
}

// UnescapeName undoes Route 53's \ooo escapes in a name and lower-cases
// it: "\052.example.test." is "*.example.test.".
func UnescapeName(name string) string { return unescape(name) }

// IsOwnerRecord reports whether a TXT value is a detour ownership
// record (of any owner).
func IsOwnerRecord(value string) bool {
	ok, _ := ownerOf(value)
	return ok
}
