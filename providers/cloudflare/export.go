package cloudflare

import (
	"context"

	cfdns "github.com/cloudflare/cloudflare-go/v6/dns"
)

// ExportedRecord is one record of a Cloudflare zone as listed.
type ExportedRecord struct {
	Name, Type, Content string
	TTL                 int // 1 is Cloudflare's "automatic"
	Proxied             bool
	Priority            int // MX, URI
	Comment             string
}

// Export lists every record of the zone, page by page, whoever made it,
// for `detour spec import`. It writes nothing.
func (p *Provider) Export(ctx context.Context) ([]ExportedRecord, error) {
	var params cfdns.RecordListParams
	params.ZoneID.Value, params.ZoneID.Present = p.cfg.ZoneID, true
	params.PerPage.Value, params.PerPage.Present = float64(p.cfg.PerPage), true
	var out []ExportedRecord
	err := p.list(ctx, params, func(r cfdns.RecordResponse) {
		out = append(out, ExportedRecord{Name: r.Name, Type: string(r.Type), Content: r.Content, TTL: int(r.TTL),
			Proxied: r.Proxied, Priority: int(r.Priority), Comment: r.Comment})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
