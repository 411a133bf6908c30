package spec

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Defaults filled in by Validate.
const (
	DefaultZoneTTL       = 3600
	DefaultRecordTTL     = 30
	DefaultNegativeTTL   = 300
	DefaultRefresh       = 3600
	DefaultRetry         = 600
	DefaultExpire        = 1209600
	DefaultInterval      = 5 * time.Second
	DefaultRise          = 2
	DefaultFall          = 3
	DefaultTLSMinDays    = 7
	DefaultDriftInterval = 60 * time.Second

	// MinInterval is the shortest check interval accepted.
	MinInterval = 100 * time.Millisecond
	// MaxTTL is the largest TTL RFC 2181 allows.
	MaxTTL = 1<<31 - 1
)

// Names of check types, policies and provider types.
const (
	CheckHTTP      = "http"
	CheckHTTPS     = "https"
	CheckTCP       = "tcp"
	CheckDNS       = "dns"
	CheckTLS       = "tls"
	CheckHeartbeat = "heartbeat"

	PolicyFailover   = "failover"
	PolicyWeighted   = "weighted"
	PolicyAllHealthy = "all-healthy"

	AllDownFallback = "fallback"
	AllDownAll      = "all"
	AllDownNoData   = "nodata"

	ProviderCloudflare = "cloudflare"
	ProviderRFC2136    = "rfc2136"
	ProviderRoute53    = "route53"
)

var (
	checkTypes    = []string{CheckHTTP, CheckHTTPS, CheckTCP, CheckDNS, CheckTLS, CheckHeartbeat}
	policies      = []string{PolicyFailover, PolicyWeighted, PolicyAllHealthy, PolicyNearest, PolicyGeo}
	allDowns      = []string{AllDownFallback, AllDownAll, AllDownNoData}
	providerTypes = []string{ProviderCloudflare, ProviderRFC2136, ProviderRoute53}
	recordTypes   = []string{"A", "AAAA", "CNAME"}
	tsigAlgs      = map[string]string{
		"hmac-sha1":   dns.HmacSHA1,
		"hmac-sha224": dns.HmacSHA224,
		"hmac-sha256": dns.HmacSHA256,
		"hmac-sha384": dns.HmacSHA384,
		"hmac-sha512": dns.HmacSHA512,
	}
	simpleName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)
)

// Validate fills defaults, normalises names (lower case, fully qualified)
// and checks ranges and cross-references. It reports every problem found
// as an *Error. On success the spec's zones are compiled (see CompiledZones).
func (s *Spec) Validate() error {
	e := &Error{}
	// A spec over the limits is refused before anything is built from
	// it: compiling it is what would take the memory.
	if s.validateCounts(e); len(e.Problems) > 0 {
		s.compiled = nil
		return e
	}
	if len(s.Zones) == 0 {
		e.add("zones", "at least one zone is required")
	}
	dcs := s.validateDatacenters(e)
	checks := s.validateChecks(e)
	pools := s.validatePools(e, dcs, checks)
	s.validateProbeRate(e)
	s.validateZones(e)
	s.validateTransfers(e)
	s.validateGeo(e, pools)
	s.validateDNSSEC(e)
	s.validateRecords(e, pools)
	s.validateProviders(e)
	s.validateQuorum(e)
	// The per-name type sets served the conflict checks above; with a
	// million names they are hundreds of megabytes nobody needs again.
	for _, cz := range s.compiled {
		cz.types = rrsetIndex{}
	}
	s.validateNotify(e)
	if err := e.err(); err != nil {
		s.compiled = nil
		return err
	}
	return nil
}

func (s *Spec) validateDatacenters(e *Error) map[string]bool {
	seen := map[string]bool{}
	for i := range s.Datacenters {
		d := &s.Datacenters[i]
		path := fmt.Sprintf("datacenters[%d]", i)
		if d.Name == "" {
			e.add(path+".name", "is required")
			continue
		}
		if !simpleName.MatchString(d.Name) {
			e.add(path+".name", "%q: use letters, digits, '-', '_' and '.'", d.Name)
		}
		if seen[d.Name] {
			e.add(path+".name", "%q is defined twice", d.Name)
		}
		seen[d.Name] = true
	}
	return seen
}

func (s *Spec) validateChecks(e *Error) map[string]*Check {
	byName := map[string]*Check{}
	for i := range s.Checks {
		c := &s.Checks[i]
		path := fmt.Sprintf("checks[%d]", i)
		switch {
		case c.Name == "":
			e.add(path+".name", "is required")
		case !simpleName.MatchString(c.Name):
			e.add(path+".name", "%q: use letters, digits, '-', '_' and '.'", c.Name)
		case byName[c.Name] != nil:
			e.add(path+".name", "%q is defined twice", c.Name)
		default:
			byName[c.Name] = c
		}
		if !slices.Contains(checkTypes, c.Type) {
			e.add(path+".type", "%s (types: %s)", quoteOrMissing(c.Type), strings.Join(checkTypes, ", "))
		}
		if c.Interval == 0 {
			c.Interval = Duration(DefaultInterval)
		}
		if c.Interval < 0 {
			e.add(path+".interval", "%s is negative", c.Interval)
		} else if c.Interval.D() < MinInterval {
			e.add(path+".interval", "%s is below the minimum of %s", c.Interval, MinInterval)
		}
		if c.Timeout == 0 {
			c.Timeout = Duration(min(2*time.Second, c.Interval.D()/2))
		}
		if c.Timeout < 0 {
			e.add(path+".timeout", "%s is negative", c.Timeout)
		} else if c.Timeout >= c.Interval {
			e.add(path+".timeout", "%s must be below the interval (%s), so that a probe ends before the next starts", c.Timeout, c.Interval)
		}
		if c.Rise == 0 {
			c.Rise = DefaultRise
		}
		if c.Fall == 0 {
			c.Fall = DefaultFall
		}
		if c.Rise < 1 || c.Rise > 100 {
			e.add(path+".rise", "%d is out of range 1-100", c.Rise)
		}
		if c.Fall < 1 || c.Fall > 100 {
			e.add(path+".fall", "%d is out of range 1-100", c.Fall)
		}
		if c.Port < 0 || c.Port > 65535 {
			e.add(path+".port", "%d is out of range 1-65535", c.Port)
		}
		s.validateCheckType(e, path, c)
	}
	return byName
}

func (s *Spec) validateCheckType(e *Error, path string, c *Check) {
	// A field that only another type reads is a check the operator
	// believes runs and does not: reject it.
	web, secure := []string{CheckHTTP, CheckHTTPS}, []string{CheckHTTPS, CheckTLS}
	for _, f := range []struct {
		name  string
		set   bool
		types []string
	}{
		{"port", c.Port != 0, []string{CheckHTTP, CheckHTTPS, CheckTCP, CheckDNS, CheckTLS}},
		{"method", c.Method != "", web},
		{"path", c.Path != "", web},
		{"host", c.Host != "", web},
		{"headers", len(c.Headers) > 0, web},
		{"headers_env", len(c.HeadersEnv) > 0, web},
		{"expect_status", len(c.ExpectStatus) > 0, web},
		{"expect_body", c.ExpectBody != "", web},
		{"expect_body_regex", c.ExpectBodyRegex != "", web},
		{"follow_redirects", c.FollowRedirects, web},
		{"keep_alive", c.KeepAlive, web},
		{"sni", c.SNI != "", secure},
		{"ca_file", c.CAFile != "", secure},
		{"ca_pem", c.CAPEM != "", secure},
		{"insecure_skip_verify", c.InsecureSkipVerify, secure},
		{"min_days", c.MinDays != 0, secure},
		{"send", c.Send != "", []string{CheckTCP}},
		{"expect", c.Expect != "", []string{CheckTCP}},
		{"query_name", c.QueryName != "", []string{CheckDNS}},
		{"query_type", c.QueryType != "", []string{CheckDNS}},
		{"expect_rcode", c.ExpectRcode != "", []string{CheckDNS}},
		{"expect_answer", c.ExpectAnswer != "", []string{CheckDNS}},
		{"max_age", c.MaxAge != 0, []string{CheckHeartbeat}},
	} {
		if f.set && slices.Contains(checkTypes, c.Type) && !slices.Contains(f.types, c.Type) {
			e.add(path+"."+f.name, "does not apply to a %s check (only to %s)", c.Type, strings.Join(f.types, ", "))
		}
	}
	if c.KeepAlive && c.FollowRedirects {
		e.add(path+".keep_alive", "does not work with follow_redirects; keep one of them")
	}
	if (c.CAFile != "" || c.CAPEM != "") && c.InsecureSkipVerify {
		field := "ca_file"
		if c.CAFile == "" {
			field = "ca_pem"
		}
		e.add(path+".insecure_skip_verify", "turns verification off, so %s would not be used; keep one of them", field)
	}
	if c.CAPEM != "" {
		validateCAPEM(e, path+".ca_pem", c.CAPEM)
	}
	switch c.Type {
	case CheckHTTP, CheckHTTPS:
		// A probe reads; it never changes anything. PUT, POST and
		// DELETE also reach what GET does not (a PUT fetches a cloud
		// metadata session token).
		c.Method = strings.ToUpper(c.Method)
		if c.Method != "" && c.Method != "GET" && c.Method != "HEAD" {
			e.add(path+".method", "%q: a check may use GET or HEAD only", c.Method)
		}
		for k, v := range c.Headers {
			if !validHeaderName(k) {
				e.add(path+".headers", "%s is not a valid header name", excerpt(k))
			}
			if strings.ContainsAny(v, "\r\n") {
				e.add(path+".headers", "the value of %s holds a line break", excerpt(k))
			}
		}
		validateHeadersEnv(e, path+".headers_env", c)
		if c.Port == 0 {
			c.Port = map[string]int{CheckHTTP: 80, CheckHTTPS: 443}[c.Type]
		}
		if c.Method == "" {
			c.Method = "GET"
		}
		if c.Path == "" {
			c.Path = "/"
		}
		if !strings.HasPrefix(c.Path, "/") {
			e.add(path+".path", "%q must start with /", c.Path)
		}
		if len(c.ExpectStatus) == 0 {
			c.ExpectStatus = StatusCodes{{200, 399}}
		}
		if c.ExpectBodyRegex != "" {
			if _, err := regexp.Compile(c.ExpectBodyRegex); err != nil {
				e.add(path+".expect_body_regex", "%v", err)
			}
		}
	case CheckDNS:
		if c.Port == 0 {
			c.Port = 53
		}
		if c.QueryName == "" {
			e.add(path+".query_name", "is required for a dns check")
		} else if _, ok := dns.IsDomainName(c.QueryName); !ok {
			e.add(path+".query_name", "%q is not a domain name", c.QueryName)
		} else {
			c.QueryName = dns.CanonicalName(c.QueryName)
		}
		if c.QueryType == "" {
			c.QueryType = "A"
		}
		c.QueryType = strings.ToUpper(c.QueryType)
		if _, ok := dns.StringToType[c.QueryType]; !ok {
			e.add(path+".query_type", "%q is not a DNS type", c.QueryType)
		}
		if c.ExpectRcode == "" {
			c.ExpectRcode = "NOERROR"
		}
		c.ExpectRcode = strings.ToUpper(c.ExpectRcode)
		if _, ok := dns.StringToRcode[c.ExpectRcode]; !ok {
			e.add(path+".expect_rcode", "%q is not an rcode (NOERROR, NXDOMAIN, SERVFAIL, REFUSED, ...)", c.ExpectRcode)
		}
	case CheckTLS:
		if c.Port == 0 {
			c.Port = 443
		}
		if c.MinDays == 0 {
			c.MinDays = DefaultTLSMinDays
		}
		if c.MinDays < 0 {
			e.add(path+".min_days", "%d is negative", c.MinDays)
		}
	case CheckHeartbeat:
		if c.MaxAge <= 0 {
			e.add(path+".max_age", "is required for a heartbeat check: how long without a beat before the endpoint is down")
		}
	}
}

func (s *Spec) validatePools(e *Error, dcs map[string]bool, checks map[string]*Check) map[string]*Pool {
	byName := map[string]*Pool{}
	for i := range s.Pools {
		p := &s.Pools[i]
		path := fmt.Sprintf("pools[%d]", i)
		switch {
		case p.Name == "":
			e.add(path+".name", "is required")
		case !simpleName.MatchString(p.Name) || strings.Contains(p.Name, "/"):
			e.add(path+".name", "%q: use letters, digits, '-', '_' and '.'", p.Name)
		case byName[p.Name] != nil:
			e.add(path+".name", "%q is defined twice", p.Name)
		default:
			byName[p.Name] = p
		}
		if p.Datacenter == "" {
			e.add(path+".datacenter", "is required (datacenters: %s)", keys(dcs))
		} else if !dcs[p.Datacenter] {
			e.add(path+".datacenter", "%q is not defined (datacenters: %s)", p.Datacenter, keys(dcs))
		}
		var check *Check
		if p.Check != "" {
			if check = checks[p.Check]; check == nil {
				e.add(path+".check", "%q is not defined (checks: %s)", p.Check, keys(checks))
			}
		}
		if len(p.Endpoints) == 0 {
			e.add(path+".endpoints", "at least one endpoint is required")
		}
		if p.MinHealthy == 0 {
			p.MinHealthy = 1
		}
		if p.MinHealthy < 1 || (len(p.Endpoints) > 0 && p.MinHealthy > len(p.Endpoints)) {
			e.add(path+".min_healthy", "%d is out of range 1-%d (the number of endpoints)", p.MinHealthy, max(1, len(p.Endpoints)))
		}
		seen := map[string]bool{}
		for j := range p.Endpoints {
			ep := &p.Endpoints[j]
			epath := fmt.Sprintf("%s.endpoints[%d]", path, j)
			if ep.Address == "" {
				e.add(epath+".address", "is required")
				continue
			}
			if seen[ep.Address] {
				e.add(epath+".address", "%q is listed twice in this pool", ep.Address)
			}
			seen[ep.Address] = true
			if a, err := netip.ParseAddr(ep.Address); err == nil {
				ep.Address = a.String()
			} else if _, ok := dns.IsDomainName(ep.Address); !ok || strings.Contains(ep.Address, ":") {
				e.add(epath+".address", "%q is neither an IP address nor a host name", ep.Address)
			} else {
				ep.Address = dns.CanonicalName(ep.Address)
			}
			if ep.CheckAddress != "" {
				host, port, err := net.SplitHostPort(ep.CheckAddress)
				if err != nil || host == "" {
					e.add(epath+".check_address", "%q: want host:port, e.g. 10.0.0.5:8080 or [2001:db8::5]:443", ep.CheckAddress)
				} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
					e.add(epath+".check_address", "%q: port %q is out of range 1-65535", ep.CheckAddress, port)
				}
			} else if check != nil && check.Type == CheckTCP && check.Port == 0 {
				e.add(epath+".check_address", "is required: check %q has no port", check.Name)
			}
		}
	}
	return byName
}

func (s *Spec) validateZones(e *Error) {
	s.compiled = map[string]*CompiledZone{}
	budget := MaxStaticRecords
	for i := range s.Zones {
		z := &s.Zones[i]
		path := fmt.Sprintf("zones[%d]", i)
		if z.Name == "" {
			e.add(path+".name", "is required")
			continue
		}
		if _, ok := dns.IsDomainName(z.Name); !ok {
			e.add(path+".name", "%q is not a domain name", z.Name)
			continue
		}
		z.Name = dns.CanonicalName(z.Name)
		if s.compiled[z.Name] != nil {
			e.add(path+".name", "zone %q is defined twice", z.Name)
			continue
		}
		if z.TTL == 0 {
			z.TTL = DefaultZoneTTL
		}
		if z.TTL > MaxTTL {
			e.add(path+".ttl", "%d is above the maximum %d", z.TTL, MaxTTL)
		}
		if z.SOA != nil {
			validateSOA(e, path+".soa", z)
		}
		for j, ns := range z.Nameservers {
			if _, ok := dns.IsDomainName(ns); !ok {
				e.add(fmt.Sprintf("%s.nameservers[%d]", path, j), "%q is not a domain name", ns)
				continue
			}
			z.Nameservers[j] = dns.CanonicalName(ns)
		}
		cz, problems := compileZone(z, &budget)
		for _, p := range problems {
			e.add(path+p.Path, "%s", p.Message)
		}
		if cz != nil {
			s.compiled[z.Name] = cz
		}
	}
}

func validateSOA(e *Error, path string, z *Zone) {
	soa := z.SOA
	for _, f := range []struct {
		name string
		v    *string
	}{{"mname", &soa.MName}, {"rname", &soa.RName}} {
		if *f.v == "" {
			e.add(path+"."+f.name, "is required")
		} else if _, ok := dns.IsDomainName(*f.v); !ok {
			e.add(path+"."+f.name, "%q is not a domain name", *f.v)
		} else {
			*f.v = dns.Fqdn(*f.v)
		}
	}
	def := func(v *uint32, d uint32) {
		if *v == 0 {
			*v = d
		}
	}
	def(&soa.TTL, z.TTL)
	def(&soa.Refresh, DefaultRefresh)
	def(&soa.Retry, DefaultRetry)
	def(&soa.Expire, DefaultExpire)
	def(&soa.NegativeTTL, DefaultNegativeTTL)
	for name, v := range map[string]uint32{"ttl": soa.TTL, "refresh": soa.Refresh, "retry": soa.Retry, "expire": soa.Expire, "negative_ttl": soa.NegativeTTL} {
		if v > MaxTTL {
			e.add(path+"."+name, "%d is above the maximum %d", v, MaxTTL)
		}
	}
}

func (s *Spec) validateRecords(e *Error, pools map[string]*Pool) {
	type key struct{ name, typ string }
	seen := map[key]bool{}
	for i := range s.Records {
		r := &s.Records[i]
		path := fmt.Sprintf("records[%d]", i)
		r.Type = strings.ToUpper(r.Type)
		if !slices.Contains(recordTypes, r.Type) {
			e.add(path+".type", "%s (types: %s)", quoteOrMissing(r.Type), strings.Join(recordTypes, ", "))
		}
		var zone *CompiledZone
		if r.Name == "" {
			e.add(path+".name", "is required")
		} else if _, ok := dns.IsDomainName(r.Name); !ok {
			e.add(path+".name", "%q is not a domain name", r.Name)
		} else {
			r.Name = dns.CanonicalName(r.Name)
			if zone = s.zoneFor(r.Name); zone == nil {
				e.add(path+".name", "%q is in none of the zones (%s)", r.Name, s.zoneNames())
			}
			k := key{r.Name, r.Type}
			if seen[k] {
				e.add(path, "%s %s is defined twice", r.Name, r.Type)
			}
			seen[k] = true
		}
		if r.TTL == 0 {
			r.TTL = DefaultRecordTTL
		}
		if r.TTL > MaxTTL {
			e.add(path+".ttl", "%d is above the maximum %d", r.TTL, MaxTTL)
		}
		if r.Policy == "" {
			r.Policy = PolicyFailover
		}
		if !slices.Contains(policies, r.Policy) {
			e.add(path+".policy", "%q (policies: %s)", r.Policy, strings.Join(policies, ", "))
		}
		if r.Type == "CNAME" && r.Policy == PolicyAllHealthy {
			e.add(path+".policy", "all-healthy would answer several CNAMEs; use failover or weighted for a CNAME record")
		}
		if len(r.Pools) == 0 {
			e.add(path+".pools", "at least one pool is required")
		}
		used := map[string]bool{}
		for j := range r.Pools {
			ref := &r.Pools[j]
			ppath := fmt.Sprintf("%s.pools[%d]", path, j)
			if ref.Weight == 0 {
				ref.Weight = 1
			}
			if ref.Weight < 0 || ref.Weight > 1000 {
				e.add(ppath+".weight", "%d is out of range 1-1000", ref.Weight)
			}
			p := pools[ref.Pool]
			if p == nil {
				if ref.Pool == "" {
					e.add(ppath, "a pool name is required (pools: %s)", keys(pools))
				} else {
					e.add(ppath, "%q is not defined (pools: %s)", ref.Pool, keys(pools))
				}
				continue
			}
			if used[ref.Pool] {
				e.add(ppath, "pool %q is listed twice", ref.Pool)
			}
			used[ref.Pool] = true
			for k, ep := range p.Endpoints {
				if msg := addressFits(r.Type, ep.Address); msg != "" {
					e.add(ppath, "pool %q endpoints[%d]: %s", p.Name, k, msg)
				}
			}
		}
		for j, a := range r.Fallback {
			if msg := addressFits(r.Type, a); msg != "" {
				e.add(fmt.Sprintf("%s.fallback[%d]", path, j), "%s", msg)
			} else if ip, err := netip.ParseAddr(a); err == nil {
				r.Fallback[j] = ip.String()
			} else {
				r.Fallback[j] = dns.CanonicalName(a)
			}
		}
		if r.Type == "CNAME" && len(r.Fallback) > 1 {
			e.add(path+".fallback", "a CNAME record takes one fallback target, not %d", len(r.Fallback))
		}
		if r.OnAllDown == "" {
			r.OnAllDown = AllDownAll
			if len(r.Fallback) > 0 {
				r.OnAllDown = AllDownFallback
			}
		}
		if !slices.Contains(allDowns, r.OnAllDown) {
			e.add(path+".on_all_down", "%q (choices: %s)", r.OnAllDown, strings.Join(allDowns, ", "))
		} else if r.OnAllDown == AllDownFallback && len(r.Fallback) == 0 {
			e.add(path+".on_all_down", "is fallback, but no fallback addresses are given")
		}
		validateFailback(e, r, path)
		if zone != nil && r.Name != "" {
			if msg := zone.conflict(r.Name, r.Type); msg != "" {
				e.add(path+".name", "%s", msg)
			}
			zone.Dynamic = append(zone.Dynamic, r)
		}
	}
	// A CNAME owns its name alone, dynamic records included.
	names := map[string][]string{}
	for k := range seen {
		names[k.name] = append(names[k.name], k.typ)
	}
	for i, r := range s.Records {
		if r.Type == "CNAME" && len(names[r.Name]) > 1 {
			e.add(fmt.Sprintf("records[%d].name", i), "%q has a CNAME record and other records; a CNAME must stand alone", r.Name)
		}
	}
}

func (s *Spec) validateProviders(e *Error) {
	seen := map[string]bool{}
	for i := range s.Providers {
		p := &s.Providers[i]
		path := fmt.Sprintf("providers[%d]", i)
		if p.Name == "" {
			e.add(path+".name", "is required")
		} else if seen[p.Name] {
			e.add(path+".name", "%q is defined twice", p.Name)
		}
		seen[p.Name] = true
		if p.Zone == "" {
			e.add(path+".zone", "is required (zones: %s)", s.zoneNames())
		} else if p.Zone = dns.CanonicalName(p.Zone); s.compiled[p.Zone] == nil {
			e.add(path+".zone", "%q is not defined (zones: %s)", p.Zone, s.zoneNames())
		}
		if p.DriftInterval == 0 {
			p.DriftInterval = Duration(DefaultDriftInterval)
		}
		if p.DriftInterval.D() < time.Second {
			e.add(path+".drift_interval", "%s is below the minimum of 1s", p.DriftInterval)
		}
		switch p.Type {
		case ProviderCloudflare:
			if p.ZoneID == "" {
				e.add(path+".zone_id", "is required for cloudflare (the zone's ID from the dashboard)")
			}
			if p.APITokenEnv == "" {
				e.add(path+".api_token_env", "is required for cloudflare: the environment variable holding the API token")
			}
			if p.BaseURL != "" {
				if !isHTTPURL(p.BaseURL) {
					e.add(path+".base_url", "%q is not an http(s) URL", p.BaseURL)
				}
			}
		case ProviderRFC2136:
			if p.Enterprise {
				e.add(path+".enterprise", "applies to cloudflare providers only")
			}
			if _, _, err := net.SplitHostPort(p.Server); err != nil {
				e.add(path+".server", "%s: want host:port, e.g. 192.0.2.53:53", quoteOrMissing(p.Server))
			}
			if p.TSIGKey != "" {
				if p.TSIGAlgorithm == "" {
					p.TSIGAlgorithm = "hmac-sha256"
				}
				if _, ok := TSIGAlgorithm(p.TSIGAlgorithm); !ok {
					e.add(path+".tsig_algorithm", "%q (algorithms: %s)", p.TSIGAlgorithm, keys(tsigAlgs))
				}
				if p.TSIGSecretEnv == "" {
					e.add(path+".tsig_secret_env", "is required with tsig_key: the environment variable holding the base64 secret")
				}
			}
		case ProviderRoute53:
			validateRoute53(p, path, e)
		default:
			e.add(path+".type", "%s (types: %s)", quoteOrMissing(p.Type), strings.Join(providerTypes, ", "))
		}
	}
}

// Quorum rules.
const (
	QuorumMajority = "majority"
	QuorumAny      = "any"
	QuorumAll      = "all"
)

func (s *Spec) validateQuorum(e *Error) {
	switch s.Quorum {
	case "":
		s.Quorum = QuorumMajority
	case QuorumMajority, QuorumAny, QuorumAll:
	default:
		if n, err := strconv.Atoi(s.Quorum); err != nil || n < 1 || n > 99 {
			e.add("quorum", "%q: want majority, any, all or a number of observers (1-99)", s.Quorum)
		}
	}
}

// TSIGAlgorithm maps a spec algorithm name to miekg/dns's name.
func TSIGAlgorithm(name string) (string, bool) {
	a, ok := tsigAlgs[strings.ToLower(name)]
	return a, ok
}

// addressFits says what is wrong with a as an answer of type typ, or "".
func addressFits(typ, a string) string {
	ip, err := netip.ParseAddr(a)
	switch typ {
	case "A":
		if err != nil || !ip.Is4() {
			return fmt.Sprintf("%q is not an IPv4 address, as an A record needs", a)
		}
	case "AAAA":
		if err != nil || !ip.Is6() || ip.Is4In6() {
			return fmt.Sprintf("%q is not an IPv6 address, as an AAAA record needs", a)
		}
	case "CNAME":
		if _, ok := dns.IsDomainName(a); err == nil || !ok || strings.Contains(a, ":") {
			return fmt.Sprintf("%q is not a host name, as a CNAME record needs", a)
		}
	}
	return ""
}

// zoneFor returns the compiled zone that holds name (the longest match).
func (s *Spec) zoneFor(name string) *CompiledZone {
	name = dns.CanonicalName(name)
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if z := s.compiled[name[off:]]; z != nil {
			return z
		}
	}
	return s.compiled["."]
}

func (s *Spec) zoneNames() string {
	var n []string
	for _, z := range s.Zones {
		n = append(n, z.Name)
	}
	if len(n) == 0 {
		return "none"
	}
	return strings.Join(n, ", ")
}

func keys[V any](m map[string]V) string {
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	if len(k) == 0 {
		return "none defined"
	}
	sort.Strings(k)
	return strings.Join(k, ", ")
}

func quoteOrMissing(v string) string {
	if v == "" {
		return "is required"
	}
	return strconv.Quote(v) + " is not known"
}
