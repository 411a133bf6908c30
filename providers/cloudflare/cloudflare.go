// Package cloudflare is detour's Cloudflare provider: it keeps the
// answers of health-driven records in a Cloudflare zone with the official
// SDK (cloudflare-go v6), listing with paging and writing every change of
// a sync in one batch request.
//
// Ownership: detour marks every record it creates with the comment
// Marker, lists only records carrying it, and never changes or deletes
// any other record.
package cloudflare

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	cfdns "github.com/cloudflare/cloudflare-go/v6/dns"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
	"golang.org/x/time/rate"
)

// Marker is the comment of every record detour owns at Cloudflare.
const Marker = "managed by detour"

// Cloudflare's documented limits.
const (
	// DefaultBaseURL is the v4 API.
	DefaultBaseURL = spec.CloudflareBaseURL
	// RequestsPer5Min is the API's global rate limit per user.
	RequestsPer5Min = 1200
	// AutoTTL is Cloudflare's "automatic" TTL, used for proxied records.
	AutoTTL = 1
	MaxTTL  = 86400
	// DefaultBatchSize is how many record operations go in one batch
	// request; Cloudflare accepts at least this many on every plan.
	DefaultBatchSize = 200
	// PerPage is the page size of record listings.
	PerPage = 5000
)

// DefaultLimiter returns a token bucket that never exceeds 1,200 requests
// in any five minutes: a burst of 100, refilled at 1,100 per 5 min.
func DefaultLimiter() *rate.Limiter {
	return rate.NewLimiter(rate.Limit(float64(RequestsPer5Min-100)/300), 100)
}

// Config is a provider's settings, resolved on this node.
type Config struct {
	ZoneID  string
	Token   string // never logged
	BaseURL string // "" means DefaultBaseURL
	// MinTTL is the lowest TTL the zone accepts (60, or 30 on Enterprise).
	MinTTL uint32
	// Limiter paces requests; nil means DefaultLimiter.
	Limiter *rate.Limiter
	// BatchSize caps operations per batch request; 0 means DefaultBatchSize.
	BatchSize int
	// PerPage is the listing page size; 0 means PerPage.
	PerPage int
	// HTTPClient sends the requests; nil means one with a 15 s timeout.
	HTTPClient *http.Client
}

// Provider writes records to one Cloudflare zone.
type Provider struct {
	cfg      Config
	records  *cfdns.RecordService
	requests atomic.Uint64
}

// Build makes a Provider from the spec, reading the token from the
// environment variable the spec names.
func Build(p spec.Provider, getenv func(string) string) (providers.Provider, error) {
	token := getenv(p.APITokenEnv)
	if token == "" {
		return nil, fmt.Errorf("%w: environment variable %s (api_token_env) is empty or unset on this node", providers.ErrConfig, p.APITokenEnv)
	}
	min := uint32(spec.CloudflareMinTTL)
	if p.Enterprise {
		min = spec.CloudflareEnterpriseMinTTL
	}
	return New(Config{ZoneID: p.ZoneID, Token: token, BaseURL: p.BaseURL, MinTTL: min})
}

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.ZoneID == "" || cfg.Token == "" {
		return nil, fmt.Errorf("%w: cloudflare needs a zone ID and a token", providers.ErrConfig)
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if !strings.HasSuffix(cfg.BaseURL, "/") {
		cfg.BaseURL += "/"
	}
	if cfg.MinTTL == 0 {
		cfg.MinTTL = spec.CloudflareMinTTL
	}
	if cfg.Limiter == nil {
		cfg.Limiter = DefaultLimiter()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.PerPage <= 0 {
		cfg.PerPage = PerPage
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	p := &Provider{cfg: cfg}
	p.records = cfdns.NewRecordService(
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIToken(cfg.Token),
		option.WithHTTPClient(cfg.HTTPClient),
		// The reconciler retries with backoff and honours Retry-After;
		// SDK retries would hide requests from the rate limiter.
		option.WithMaxRetries(0),
		option.WithMiddleware(p.middleware),
	)
	return p, nil
}

// Requests returns how many requests were sent.
func (p *Provider) Requests() uint64 { return p.requests.Load() }

// Normalize applies Cloudflare's TTL rules: proxied records have the
// automatic TTL, others are raised to the zone's floor and capped at a day.
func (p *Provider) Normalize(rr providers.RRset) providers.RRset {
	switch {
	case rr.Proxied:
		rr.TTL = AutoTTL
	case rr.TTL < p.cfg.MinTTL:
		rr.TTL = p.cfg.MinTTL
	case rr.TTL > MaxTTL:
		rr.TTL = MaxTTL
	}
	return rr
}

// middleware paces every HTTP request through the token bucket, counts
// it, and turns error responses into detour's errors (429 with its
// Retry-After, 401/403 as ErrAuth).
func (p *Provider) middleware(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	if err := p.cfg.Limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	p.requests.Add(1)
	res, err := next(req)
	if err != nil || res.StatusCode < 400 {
		return res, err
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	apiErr := &APIError{Method: req.Method, Path: req.URL.Path, Status: res.StatusCode}
	var env struct {
		Errors []struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &env) == nil {
		for _, e := range env.Errors {
			apiErr.Messages = append(apiErr.Messages, fmt.Sprintf("%d: %s", e.Code, e.Message))
		}
	}
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		return nil, &providers.RetryAfterError{After: retryAfter(res.Header.Get("Retry-After")), Err: apiErr}
	case res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusForbidden:
		return nil, fmt.Errorf("%w: %w", providers.ErrAuth, apiErr)
	}
	return nil, apiErr
}

// retryAfter parses Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(v string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// APIError is an error response of the Cloudflare API.
type APIError struct {
	Method, Path string
	Status       int
	Messages     []string // "code: message" from the errors list
}

func (e *APIError) Error() string {
	msg := strings.Join(e.Messages, "; ")
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("cloudflare: %s %s: HTTP %d: %s", e.Method, e.Path, e.Status, msg)
}

// record is one Cloudflare record detour owns, as listed.
type record struct {
	ID      string
	Content string // canonical: CNAME targets fully qualified
	TTL     uint32
	Proxied bool
}

// Read lists every record carrying Marker, page by page, grouped into
// RRsets. An RRset whose records disagree on TTL or proxying reads with
// TTL 0, so that the diff rewrites it.
func (p *Provider) Read(ctx context.Context, _ []providers.Key) ([]providers.RRset, error) {
	var params cfdns.RecordListParams
	params.ZoneID.Value, params.ZoneID.Present = p.cfg.ZoneID, true
	params.Comment.Value.Exact.Value, params.Comment.Value.Exact.Present = Marker, true
	params.Comment.Present = true
	params.PerPage.Value, params.PerPage.Present = float64(p.cfg.PerPage), true
	sets := map[providers.Key][]record{}
	err := p.list(ctx, params, func(r cfdns.RecordResponse) {
		if r.Comment != Marker { // a gateway ignoring the filter must not make us owners
			return
		}
		typ := string(r.Type)
		if typ != "A" && typ != "AAAA" && typ != "CNAME" {
			return
		}
		content := r.Content
		if typ == "CNAME" {
			content = dns.CanonicalName(content)
		}
		k := providers.Key{Name: dns.CanonicalName(r.Name), Type: typ}
		sets[k] = append(sets[k], record{ID: r.ID, Content: content, TTL: uint32(r.TTL), Proxied: r.Proxied})
	})
	if err != nil {
		return nil, err
	}
	out := make([]providers.RRset, 0, len(sets))
	for k, recs := range sets {
		out = append(out, rrset(k, recs))
	}
	return out, nil
}

// list pages through the records params selects, calling each for every
// one.
func (p *Provider) list(ctx context.Context, params cfdns.RecordListParams, each func(cfdns.RecordResponse)) error {
	for page := 1; ; page++ {
		params.Page.Value, params.Page.Present = float64(page), true
		res, err := p.records.List(ctx, params)
		if err != nil {
			return fmt.Errorf("list records: %w", err)
		}
		for _, r := range res.Result {
			each(r)
		}
		if len(res.Result) < p.cfg.PerPage || lastPage(res.ResultInfo.JSON.RawJSON(), page) {
			return nil
		}
	}
}

// lastPage reads total_pages from result_info, which the SDK does not
// decode.
func lastPage(raw string, page int) bool {
	var info struct {
		TotalPages *int `json:"total_pages"`
	}
	if json.Unmarshal([]byte(raw), &info) != nil || info.TotalPages == nil {
		return false
	}
	return page >= *info.TotalPages
}

func rrset(k providers.Key, recs []record) providers.RRset {
	slices.SortFunc(recs, func(a, b record) int { return strings.Compare(a.Content, b.Content) })
	rr := providers.RRset{Key: k, TTL: recs[0].TTL, Proxied: recs[0].Proxied, Handle: recs}
	for _, r := range recs {
		rr.Values = append(rr.Values, r.Content)
		if r.TTL != rr.TTL || r.Proxied != rr.Proxied {
			rr.TTL = 0
		}
	}
	return rr
}

// ops are one change as record operations.
type ops struct {
	deletes []string
	patches []patch
	posts   []wire
	kept    []record // untouched records that stay
}

type patch struct {
	id string
	w  wire
}

func (o ops) size() int { return len(o.deletes) + len(o.patches) + len(o.posts) }

// plan turns an RRset change into record operations: records already
// right stay, records to change are patched in place (keeping their IDs),
// surplus records are deleted and missing ones created.
func plan(c providers.Change) ops {
	var o ops
	var old []record
	if c.Old != nil {
		old, _ = c.Old.Handle.([]record)
	}
	if c.New == nil {
		for _, r := range old {
			o.deletes = append(o.deletes, r.ID)
		}
		return o
	}
	n := c.New
	w := func(content string) wire {
		return wire{name: strings.TrimSuffix(n.Name, "."), typ: n.Type, content: strings.TrimSuffix(content, "."), ttl: n.TTL, proxied: n.Proxied}
	}
	missing := map[string]bool{}
	for _, v := range n.Values {
		missing[v] = true
	}
	var spare []record
	for _, r := range old {
		if !missing[r.Content] {
			spare = append(spare, r)
			continue
		}
		delete(missing, r.Content)
		if r.TTL != n.TTL || r.Proxied != n.Proxied {
			o.patches = append(o.patches, patch{r.ID, w(r.Content)})
		} else {
			o.kept = append(o.kept, r)
		}
	}
	for _, v := range n.Values {
		if !missing[v] {
			continue
		}
		if len(spare) > 0 {
			o.patches = append(o.patches, patch{spare[0].ID, w(v)})
			spare = spare[1:]
		} else {
			o.posts = append(o.posts, w(v))
		}
	}
	for _, r := range spare {
		o.deletes = append(o.deletes, r.ID)
	}
	return o
}

// Apply writes the changes with the batch endpoint: one request for up
// to BatchSize record operations. Cloudflare runs a batch in one
// transaction, in the order deletes, patches, puts, posts.
func (p *Provider) Apply(ctx context.Context, changes []providers.Change) ([]*providers.RRset, error) {
	out := make([]*providers.RRset, len(changes))
	plans := make([]ops, len(changes))
	for i, c := range changes {
		plans[i] = plan(c)
	}
	for start := 0; start < len(changes); {
		end, n := start, 0
		for end < len(changes) && (end == start || n+plans[end].size() <= p.cfg.BatchSize) {
			n += plans[end].size()
			end++
		}
		if err := p.batch(ctx, changes[start:end], plans[start:end], out[start:end]); err != nil {
			return nil, err
		}
		start = end
	}
	return out, nil
}

func (p *Provider) batch(ctx context.Context, changes []providers.Change, plans []ops, out []*providers.RRset) error {
	var params cfdns.RecordBatchParams
	params.ZoneID.Value, params.ZoneID.Present = p.cfg.ZoneID, true
	var dels []cfdns.RecordBatchParamsDelete
	var patches []cfdns.BatchPatchUnionParam
	var posts []cfdns.RecordBatchParamsPostUnion
	for _, o := range plans {
		for _, id := range o.deletes {
			dels = append(dels, deleteParam(id))
		}
		for _, pt := range o.patches {
			patches = append(patches, patchParam(pt.id, pt.w))
		}
		for _, w := range o.posts {
			posts = append(posts, postParam(w))
		}
	}
	if len(dels)+len(patches)+len(posts) == 0 {
		for i, c := range changes {
			out[i] = result(c, plans[i], nil, nil)
		}
		return nil
	}
	if len(dels) > 0 {
		params.Deletes.Value, params.Deletes.Present = dels, true
	}
	if len(patches) > 0 {
		params.Patches.Value, params.Patches.Present = patches, true
	}
	if len(posts) > 0 {
		params.Posts.Value, params.Posts.Present = posts, true
	}
	res, err := p.records.Batch(ctx, params)
	if err != nil {
		return fmt.Errorf("batch of %d deletes, %d patches, %d posts: %w", len(dels), len(patches), len(posts), err)
	}
	if len(res.Posts) != len(posts) || len(res.Patches) != len(patches) {
		return errors.New("cloudflare: batch answered a different number of records than sent")
	}
	pi, po := 0, 0
	for i, c := range changes {
		o := plans[i]
		out[i] = result(c, o, res.Patches[pi:pi+len(o.patches)], res.Posts[po:po+len(o.posts)])
		pi += len(o.patches)
		po += len(o.posts)
	}
	return nil
}

// result is what the zone holds for a change's RRset after the batch.
func result(c providers.Change, o ops, patched, posted []cfdns.RecordResponse) *providers.RRset {
	if c.New == nil {
		return nil
	}
	recs := slices.Clone(o.kept)
	for _, r := range slices.Concat(patched, posted) {
		content := r.Content
		if c.New.Type == "CNAME" {
			content = dns.CanonicalName(content)
		}
		recs = append(recs, record{ID: r.ID, Content: content, TTL: uint32(r.TTL), Proxied: r.Proxied})
	}
	if len(recs) == 0 {
		return nil
	}
	rr := rrset(c.New.Key, recs)
	return &rr
}
