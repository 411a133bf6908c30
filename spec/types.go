// Package spec defines the cluster spec: the YAML document that describes
// zones, datacenters, checks, pools, health-driven records and providers.
//
// A spec is decoded strictly (unknown keys are errors), then validated as a
// whole: Load reports every problem with its path, and a spec with any
// problem is rejected entirely.
package spec

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Spec is the whole cluster spec.
type Spec struct {
	Zones       []Zone       `yaml:"zones" json:"zones"`
	Datacenters []Datacenter `yaml:"datacenters" json:"datacenters"`
	Checks      []Check      `yaml:"checks" json:"checks,omitempty"`
	Pools       []Pool       `yaml:"pools" json:"pools,omitempty"`
	Records     []Record     `yaml:"records" json:"records,omitempty"`
	Providers   []Provider   `yaml:"providers" json:"providers,omitempty"`
	// Quorum says how many fresh observers must see an endpoint down for
	// the cluster to count it down: "majority" (default, strictly more
	// than half), "any", "all", or a number.
	Quorum string `yaml:"quorum" json:"quorum,omitempty"`
	// Notifications are the channels the leader tells of events.
	Notifications *Notifications `yaml:"notifications,omitempty" json:"notifications,omitempty"`
	// StatusPage is what every node's status page shows.
	StatusPage *StatusPage `yaml:"status_page,omitempty" json:"status_page,omitempty"`
	// GeoIP names the database that places clients, for the geo and
	// nearest policies.
	GeoIP *GeoIP `yaml:"geoip,omitempty" json:"geoip,omitempty"`

	// compiled holds what Validate derived: parsed static data per zone.
	// It is not part of the document.
	compiled map[string]*CompiledZone
}

// Zone is a DNS zone detour is authoritative for.
type Zone struct {
	Name        string   `yaml:"name" json:"name"`
	TTL         uint32   `yaml:"ttl" json:"ttl,omitempty"`
	SOA         *SOA     `yaml:"soa" json:"soa,omitempty"`
	Nameservers []string `yaml:"nameservers" json:"nameservers,omitempty"`
	// Static is zone-file (RFC 1035) text, relative to the zone.
	Static string `yaml:"static" json:"static,omitempty"`
	// File imports a whole zone file, relative to the spec's directory.
	// Only a spec loaded from a local file may name one (spec.Load): it
	// is read there into FileText, and the spec carries the text.
	File string `yaml:"file,omitempty" json:"file,omitempty"`
	// FileText is the content of File, read when the spec was loaded so
	// that it travels with the spec.
	FileText string `yaml:"-" json:"file_text,omitempty"`

	// AllowTransfer lists who may transfer the zone (AXFR, IXFR): an
	// address or CIDR, a TSIG key name, or "CIDR KEY" for both. Empty
	// means nobody (see docs/hidden-primary.md).
	AllowTransfer []string `yaml:"allow_transfer" json:"allow_transfer,omitempty"`
	// AlsoNotify lists the secondaries told of every serial change:
	// "IP:port", optionally followed by a TSIG key name to sign with.
	AlsoNotify []string `yaml:"also_notify" json:"also_notify,omitempty"`
	// TSIGKeys are the keys AllowTransfer and AlsoNotify name; their
	// secrets are read from each node's environment.
	TSIGKeys []TSIGKey `yaml:"tsig_keys" json:"tsig_keys,omitempty"`

	// DNSSEC signs the zone online (dnssec.go); nil serves it unsigned.
	DNSSEC *DNSSEC `yaml:"dnssec,omitempty" json:"dnssec,omitempty"`
}

// SOA holds the zone's start-of-authority fields. The serial is managed by
// detour: it rises whenever the zone's answers change.
type SOA struct {
	MName       string `yaml:"mname" json:"mname"`
	RName       string `yaml:"rname" json:"rname"`
	TTL         uint32 `yaml:"ttl" json:"ttl,omitempty"`
	Refresh     uint32 `yaml:"refresh" json:"refresh,omitempty"`
	Retry       uint32 `yaml:"retry" json:"retry,omitempty"`
	Expire      uint32 `yaml:"expire" json:"expire,omitempty"`
	NegativeTTL uint32 `yaml:"negative_ttl" json:"negative_ttl,omitempty"`
}

// Datacenter is a failure domain: a site and, usually, one controller node.
type Datacenter struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description,omitempty"`
	// Location is where the datacenter is; the nearest policy needs it.
	Location *Location `yaml:"location,omitempty" json:"location,omitempty"`
}

// Check describes how endpoints are probed.
type Check struct {
	Name     string   `yaml:"name" json:"name"`
	Type     string   `yaml:"type" json:"type"`
	Interval Duration `yaml:"interval" json:"interval,omitempty"`
	Timeout  Duration `yaml:"timeout" json:"timeout,omitempty"`
	Rise     int      `yaml:"rise" json:"rise,omitempty"`
	Fall     int      `yaml:"fall" json:"fall,omitempty"`
	Port     int      `yaml:"port" json:"port,omitempty"`

	// http, https
	Method          string            `yaml:"method" json:"method,omitempty"`
	Path            string            `yaml:"path" json:"path,omitempty"`
	Host            string            `yaml:"host" json:"host,omitempty"`
	Headers         map[string]string `yaml:"headers" json:"headers,omitempty"`
	ExpectStatus    StatusCodes       `yaml:"expect_status" json:"expect_status,omitempty"`
	ExpectBody      string            `yaml:"expect_body" json:"expect_body,omitempty"`
	ExpectBodyRegex string            `yaml:"expect_body_regex" json:"expect_body_regex,omitempty"`
	FollowRedirects bool              `yaml:"follow_redirects" json:"follow_redirects,omitempty"`
	// KeepAlive reuses one connection per endpoint between probes: far
	// cheaper at high probe rates, but a listener that stops accepting
	// new connections while the kept one lives goes unseen. Off by
	// default.
	KeepAlive bool `yaml:"keep_alive,omitempty" json:"keep_alive,omitempty"`
	// HeadersEnv sets request headers from environment variables of
	// each node (header: variable name), for values such as credentials
	// that must not travel in the spec. The names must pass the node's
	// allow-list for check headers (check_env_prefixes, DETOUR_CHECK_ by
	// default; see EnvPolicy).
	HeadersEnv map[string]string `yaml:"headers_env,omitempty" json:"headers_env,omitempty"`
	SNI        string            `yaml:"sni" json:"sni,omitempty"`
	// CAFile names a PEM bundle that replaces the system roots. Only a
	// spec loaded from a local file may name one (spec.Load): it is read
	// there into CAPEM, and the spec carries the PEM, never the path.
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	// CAPEM is the CA bundle itself (PEM), inline.
	CAPEM              string `yaml:"ca_pem,omitempty" json:"ca_pem,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify,omitempty"`

	// tcp
	Send   string `yaml:"send" json:"send,omitempty"`
	Expect string `yaml:"expect" json:"expect,omitempty"`

	// dns
	QueryName    string `yaml:"query_name" json:"query_name,omitempty"`
	QueryType    string `yaml:"query_type" json:"query_type,omitempty"`
	ExpectRcode  string `yaml:"expect_rcode" json:"expect_rcode,omitempty"`
	ExpectAnswer string `yaml:"expect_answer" json:"expect_answer,omitempty"`

	// tls
	MinDays int `yaml:"min_days" json:"min_days,omitempty"`

	// heartbeat
	MaxAge Duration `yaml:"max_age" json:"max_age,omitempty"`
}

// Pool is a set of endpoints in one datacenter, probed by one check.
type Pool struct {
	Name       string     `yaml:"name" json:"name"`
	Datacenter string     `yaml:"datacenter" json:"datacenter"`
	Check      string     `yaml:"check" json:"check,omitempty"`
	MinHealthy int        `yaml:"min_healthy" json:"min_healthy,omitempty"`
	Endpoints  []Endpoint `yaml:"endpoints" json:"endpoints"`
}

// Endpoint is one address a pool answers with.
type Endpoint struct {
	// Address is what DNS answers: an IPv4 or IPv6 address, or a host name
	// for CNAME records.
	Address string `yaml:"address" json:"address"`
	// CheckAddress is what is probed, host:port. Empty means Address and
	// the check's port.
	CheckAddress string `yaml:"check_address" json:"check_address,omitempty"`
}

// Record is a health-driven DNS record.
type Record struct {
	Name   string    `yaml:"name" json:"name"`
	Type   string    `yaml:"type" json:"type"`
	TTL    uint32    `yaml:"ttl" json:"ttl,omitempty"`
	Policy string    `yaml:"policy" json:"policy,omitempty"`
	Pools  []PoolRef `yaml:"pools" json:"pools"`
	// Fallback is answered when no pool is healthy.
	Fallback []string `yaml:"fallback" json:"fallback,omitempty"`
	// OnAllDown says what to answer when no pool is healthy: "fallback"
	// (the default when Fallback is set), "all" (fail open: every
	// endpoint of the first pool) or "nodata".
	OnAllDown string `yaml:"on_all_down" json:"on_all_down,omitempty"`
	// Proxied asks a Cloudflare provider to proxy the record (orange
	// cloud); other providers and detour's own answers ignore it.
	Proxied bool `yaml:"proxied" json:"proxied,omitempty"`
	// FailbackAfter holds a failover record on a later pool after an
	// earlier one recovers, until it has been healthy this long; zero
	// fails back at once.
	FailbackAfter Duration `yaml:"failback_after,omitempty" json:"failback_after,omitempty"`
	// Failback is auto (the default: by FailbackAfter) or manual: the
	// record stays on the later pool until an operator releases it
	// (detour failover RECORD --release).
	Failback string `yaml:"failback,omitempty" json:"failback,omitempty"`
	// Geo are the rules of a geo record, matched in order.
	Geo []GeoRule `yaml:"geo,omitempty" json:"geo,omitempty"`
}

// Failback modes of a record.
const (
	FailbackAuto   = "auto"
	FailbackManual = "manual"
)

// HoldsFailback reports whether the record waits before failing back.
func (r *Record) HoldsFailback() bool {
	return r.Policy == PolicyFailover && (r.FailbackAfter > 0 || r.Failback == FailbackManual)
}

// PoolRef names a pool in a record, with a weight for the weighted policy.
// In YAML it is either a plain pool name or {pool: NAME, weight: N}.
type PoolRef struct {
	Pool   string `yaml:"pool" json:"pool"`
	Weight int    `yaml:"weight" json:"weight,omitempty"`
}

// UnmarshalYAML accepts a bare pool name or a mapping.
func (p *PoolRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		p.Pool = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a pool reference is a pool name or {pool: NAME, weight: N}", n.Line)}}
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch k.Value {
		case "pool":
			p.Pool = v.Value
		case "weight":
			w, err := strconv.Atoi(v.Value)
			if err != nil {
				errs = append(errs, fmt.Sprintf("line %d: weight %s is not a whole number", v.Line, excerpt(v.Value)))
			}
			p.Weight = w
		default:
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in a pool reference (fields: pool, weight)", k.Line, excerpt(k.Value)))
		}
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// Provider pushes the records' answers to another DNS service.
type Provider struct {
	Name string `yaml:"name" json:"name"`
	Type string `yaml:"type" json:"type"`
	Zone string `yaml:"zone" json:"zone"`

	// cloudflare
	ZoneID      string `yaml:"zone_id" json:"zone_id,omitempty"`
	APITokenEnv string `yaml:"api_token_env" json:"api_token_env,omitempty"`
	BaseURL     string `yaml:"base_url" json:"base_url,omitempty"`
	// Enterprise says the Cloudflare zone is on the Enterprise plan,
	// which accepts TTLs down to 30 s instead of 60 s.
	Enterprise bool `yaml:"enterprise" json:"enterprise,omitempty"`

	// rfc2136
	Server        string `yaml:"server" json:"server,omitempty"`
	TSIGKey       string `yaml:"tsig_key" json:"tsig_key,omitempty"`
	TSIGAlgorithm string `yaml:"tsig_algorithm" json:"tsig_algorithm,omitempty"`
	TSIGSecretEnv string `yaml:"tsig_secret_env" json:"tsig_secret_env,omitempty"`

	DriftInterval Duration `yaml:"drift_interval" json:"drift_interval,omitempty"`

	// route53 (zone_id is the hosted zone ID, base_url an endpoint
	// override; credentials come from the AWS SDK's default chain).
	// Region is the SDK's signing region; empty means us-east-1.
	Region string `yaml:"region,omitempty" json:"region,omitempty"`
	// OwnerID names this cluster in the ownership TXT records next to
	// the record sets it manages; empty means "detour".
	OwnerID string `yaml:"owner_id,omitempty" json:"owner_id,omitempty"`
}

// Duration is a time.Duration written in Go syntax ("500ms", "2s").
type Duration time.Duration

// D returns the duration as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// UnmarshalYAML parses Go duration syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf(
			"line %d: invalid duration %s: want Go syntax such as 500ms, 2s or 1m30s", n.Line, excerpt(n.Value))}}
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes Go duration syntax.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalText writes Go duration syntax (used by JSON).
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// StatusCodes is a list of HTTP status codes and ranges ("200-299").
type StatusCodes []StatusRange

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// Contains reports whether code is in the list.
func (s StatusCodes) Contains(code int) bool {
	for _, r := range s {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

// UnmarshalYAML accepts a list of codes (200) and ranges ("200-299"), or a
// single one.
func (s *StatusCodes) UnmarshalYAML(n *yaml.Node) error {
	items := []*yaml.Node{n}
	if n.Kind == yaml.SequenceNode {
		items = n.Content
	}
	var out StatusCodes
	var errs []string
	for _, it := range items {
		r, err := parseStatusRange(it.Value)
		if err != nil || it.Kind != yaml.ScalarNode {
			errs = append(errs, fmt.Sprintf("line %d: invalid status %s: want a code (200) or a range (\"200-299\") within 100-599", it.Line, excerpt(it.Value)))
			continue
		}
		out = append(out, r)
	}
	if len(errs) > 0 {
		return &yaml.TypeError{Errors: errs}
	}
	*s = out
	return nil
}

// MarshalYAML writes codes and ranges back.
func (s StatusCodes) MarshalYAML() (any, error) { return s.strings(), nil }

func (s StatusCodes) strings() []string {
	out := make([]string, len(s))
	for i, r := range s {
		out[i] = r.String()
	}
	return out
}

func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return fmt.Sprintf("%d-%d", r.Lo, r.Hi)
}

// MarshalText writes "200" or "200-299".
func (r StatusRange) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func parseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err := strconv.Atoi(strings.TrimSpace(lo))
	if err != nil {
		return StatusRange{}, err
	}
	b := a
	if isRange {
		if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil {
			return StatusRange{}, err
		}
	}
	if a < 100 || b > 599 || a > b {
		return StatusRange{}, fmt.Errorf("out of range")
	}
	return StatusRange{a, b}, nil
}
