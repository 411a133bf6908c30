// Package route53 is detour's AWS Route 53 provider: it keeps the
// answers of health-driven records in a Route 53 hosted zone with the
// official SDK (aws-sdk-go-v2), writing every change of a sync in one
// ChangeResourceRecordSets batch (split only beyond the API's limits),
// waiting for the batch to be INSYNC, and reading back with paging.
//
// Ownership, as external-dns does it: next to every record set detour
// creates it writes a TXT record set at "_detour-<type>.<name>" holding
// "heritage=detour,detour/owner=<owner>". detour changes or deletes a
// record set only when that TXT is there with its owner; any other record
// set, at any name, is never touched, and a record set of detour's spec
// that already exists without the TXT is reported and left alone.
//
// Credentials come from the SDK's default chain (environment, shared
// config and credentials files, SSO, instance or task role); the spec
// names only the hosted zone, and optionally a region and an endpoint.
package route53

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
	"golang.org/x/time/rate"
)

// Route 53's documented limits and detour's defaults.
const (
	// RequestsPerSecond is Route 53's API rate limit per account.
	RequestsPerSecond = 5
	// MaxRecordsPerBatch is how many ResourceRecord elements one
	// ChangeResourceRecordSets request may carry, UPSERT counting twice.
	MaxRecordsPerBatch = 1000
	// MaxValueCharsPerBatch bounds the characters of all values of one
	// request, UPSERT counting twice.
	MaxValueCharsPerBatch = 32000
	// PageSize is the largest page of ListResourceRecordSets.
	PageSize = 300
	// DefaultRegion signs requests: Route 53 is a global service whose
	// control plane lives in us-east-1.
	DefaultRegion = "us-east-1"
	// DefaultWaitTimeout bounds the wait for a batch to be INSYNC.
	DefaultWaitTimeout = 3 * time.Minute
	// OwnerTTL is the TTL of the ownership TXT record sets.
	OwnerTTL = 300
)

// Errors of the provider.
var (
	// ErrNotOwned: a record set detour would create exists already
	// without detour's ownership record; it is left alone.
	ErrNotOwned = errors.New("route53: record set exists and is not detour's")
	// ErrChangeRefused: Route 53 refused a change batch
	// (InvalidChangeBatch); nothing of it was applied.
	ErrChangeRefused = errors.New("route53: change batch refused")
	// ErrNotInSync: a batch was accepted but not INSYNC within the wait
	// bound; Route 53 will still apply it.
	ErrNotInSync = errors.New("route53: change not yet INSYNC")
)

// DefaultLimiter returns a token bucket that keeps to Route 53's five
// requests a second.
func DefaultLimiter() *rate.Limiter { return rate.NewLimiter(RequestsPerSecond, RequestsPerSecond) }

// Config is a provider's settings, resolved on this node.
type Config struct {
	HostedZoneID string
	// Zone is the spec's zone; the hosted zone must have this name.
	Zone string
	// Owner is written in the ownership records; "" means "detour".
	Owner  string
	Region string // "" means DefaultRegion
	// Endpoint overrides the API endpoint (tests, emulators); "" means
	// the SDK's own.
	Endpoint string
	// Credentials, when set, replace the SDK's default chain (tests).
	Credentials aws.CredentialsProvider
	// Limiter paces every request attempt; nil means DefaultLimiter.
	Limiter *rate.Limiter
	// MaxAttempts is the SDK retryer's attempts per call (throttling,
	// PriorRequestNotComplete, 5xx); 0 means 5. MaxBackoff caps its
	// jittered backoff; 0 means 10 s.
	MaxAttempts int
	MaxBackoff  time.Duration
	// PageSize is the listing page; 0 means PageSize.
	PageSize int32
	// MaxRecords and MaxChars cap a batch; 0 means the API's limits.
	MaxRecords, MaxChars int
	// WaitTimeout bounds the wait for INSYNC after each batch; 0 means
	// DefaultWaitTimeout, negative does not wait. WaitMinDelay and
	// WaitMaxDelay space the GetChange polls; 0 means 2 s and 15 s.
	WaitTimeout                time.Duration
	WaitMinDelay, WaitMaxDelay time.Duration
	// HTTPClient sends the requests; nil means one with a 30 s timeout.
	HTTPClient *http.Client
}

// Provider writes record sets to one Route 53 hosted zone.
type Provider struct {
	cfg      Config
	client   *r53.Client
	requests atomic.Uint64

	mu       sync.Mutex
	zoneOK   bool
	foreign  map[providers.Key]string // keys held by someone else, and why
	orphans  map[providers.Key]bool   // our TXT without its record set
	ownerVal string
}

// Build makes a Provider from the spec with the SDK's default credential
// chain.
func Build(p spec.Provider, _ func(string) string) (providers.Provider, error) {
	return New(context.Background(), Config{HostedZoneID: p.ZoneID, Zone: p.Zone, Owner: p.OwnerID, Region: p.Region, Endpoint: p.BaseURL})
}

// New returns a Provider for cfg.
func New(ctx context.Context, cfg Config) (*Provider, error) {
	cfg.HostedZoneID = strings.TrimPrefix(cfg.HostedZoneID, "/hostedzone/")
	if cfg.HostedZoneID == "" || cfg.Zone == "" {
		return nil, fmt.Errorf("%w: route53 needs a hosted zone ID and a zone", providers.ErrConfig)
	}
	setDefaults(&cfg)
	opts := []func(*config.LoadOptions) error{config.WithRegion(cfg.Region)}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: route53: AWS configuration: %w", providers.ErrConfig, err)
	}
	p := &Provider{cfg: cfg, ownerVal: OwnerValue(cfg.Owner)}
	p.client = r53.NewFromConfig(awsCfg, func(o *r53.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.HTTPClient = &pacedClient{p: p, next: cfg.HTTPClient}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = cfg.MaxAttempts
			so.MaxBackoff = cfg.MaxBackoff
			// The limiter paces attempts; the reconciler backs off
			// past the SDK's attempts. No client-side retry quota.
			so.RateLimiter = ratelimit.None
		})
	})
	return p, nil
}

func setDefaults(cfg *Config) {
	cfg.Zone = dns.CanonicalName(cfg.Zone)
	if cfg.Owner == "" {
		cfg.Owner = spec.Route53DefaultOwner
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if cfg.Limiter == nil {
		cfg.Limiter = DefaultLimiter()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	if cfg.PageSize <= 0 || cfg.PageSize > PageSize {
		cfg.PageSize = PageSize
	}
	if cfg.MaxRecords <= 0 {
		cfg.MaxRecords = MaxRecordsPerBatch
	}
	if cfg.MaxChars <= 0 {
		cfg.MaxChars = MaxValueCharsPerBatch
	}
	if cfg.WaitTimeout == 0 {
		cfg.WaitTimeout = DefaultWaitTimeout
	}
	if cfg.WaitMinDelay <= 0 {
		cfg.WaitMinDelay = 2 * time.Second
	}
	if cfg.WaitMaxDelay < cfg.WaitMinDelay {
		cfg.WaitMaxDelay = max(15*time.Second, cfg.WaitMinDelay)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
}

// pacedClient sends every attempt through the limiter and counts it.
type pacedClient struct {
	p    *Provider
	next *http.Client
}

func (c *pacedClient) Do(req *http.Request) (*http.Response, error) {
	if err := c.p.cfg.Limiter.Wait(req.Context()); err != nil {
		return nil, err
	}
	c.p.requests.Add(1)
	return c.next.Do(req)
}

// Requests returns how many requests were sent, retries included.
func (p *Provider) Requests() uint64 { return p.requests.Load() }

// Normalize drops Cloudflare's proxy flag, which Route 53 has no place
// for, and writes addresses as Read does (canonical IPv6 text), so that
// neither rewrites a record forever.
func (p *Provider) Normalize(rr providers.RRset) providers.RRset {
	rr.Proxied = false
	rr.Values = canonicalValues(rr.Type, rr.Values)
	return rr
}

// wrap turns SDK errors into detour's: refused batches, throttling that
// outlasted the retries, refused credentials, a missing zone.
func wrap(op string, err error) error {
	var icb *types.InvalidChangeBatch
	if errors.As(err, &icb) {
		msgs := icb.Messages
		if len(msgs) == 0 && icb.Message != nil {
			msgs = []string{*icb.Message}
		}
		return fmt.Errorf("%s: %w: %s", op, ErrChangeRefused, strings.Join(msgs, "; "))
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "Throttling", "PriorRequestNotComplete":
			return fmt.Errorf("%s: %w: %s: %s", op, providers.ErrRateLimited, api.ErrorCode(), api.ErrorMessage())
		case "AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException", "ExpiredToken", "MissingAuthenticationToken":
			return fmt.Errorf("%s: %w: %s: %s", op, providers.ErrAuth, api.ErrorCode(), api.ErrorMessage())
		case "NoSuchHostedZone":
			return fmt.Errorf("%s: %w: %s", op, providers.ErrConfig, api.ErrorMessage())
		}
		return fmt.Errorf("%s: route53: %s: %s", op, api.ErrorCode(), api.ErrorMessage())
	}
	return fmt.Errorf("%s: %w", op, err)
}
