package cloudflare

import (
	"context"
	"fmt"

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
	for page := 1; ; page++ {
		params.Page.Value, params.Page.Present = float64(page), true
		res, err := p.records.List(ctx, params)
		if err != nil {
			return nil, fmt.Errorf("list records: %w", err)
		}
		for _, r := range res.Result {
			out = append(out, ExportedRecord{Name: r.Name, Type: string(r.Type), Content: r.Content, TTL: int(r.TTL),
				Proxied: r.Proxied, Priority: int(r.Priority), Comment: r.Comment})
		}
		if len(res.Result) < p.cfg.PerPage || lastPage(res.ResultInfo.JSON.RawJSON(), page) {
			return out, nil
		}
	}
}
