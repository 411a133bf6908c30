package route53_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/seed3787e6f1/detour/internal/r53emu"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/providertest"
	"github.com/seed3787e6f1/detour/providers/route53"
	"github.com/seed3787e6f1/detour/spec"
	"golang.org/x/time/rate"
)

const (
	zoneID    = "Z0123456789TESTZONE"
	accessKey = "AKIDEXAMPLETEST"
	secretKey = "test-secret-not-used-by-the-emulator"
)

// specFor returns a spec with n A records www0..www(n-1) and one CNAME,
// carried by a route53 provider at endpoint.
func specFor(endpoint string, n int, drift string) string {
	var b strings.Builder
	b.WriteString(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}]
checks:
  - {name: web, type: http, interval: 1s, timeout: 500ms}
pools:
  - {name: pa, datacenter: a, check: web, endpoints: [{address: 192.0.2.1}, {address: 192.0.2.2}]}
  - {name: pb, datacenter: b, check: web, endpoints: [{address: 198.51.100.1}]}
  - {name: ca, datacenter: a, check: web, endpoints: [{address: a.origin.test}]}
  - {name: cb, datacenter: b, check: web, endpoints: [{address: b.origin.test}]}
records:
  - {name: app.example.test, type: CNAME, ttl: 120, pools: [ca, cb]}
`)
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - {name: www%d.example.test, type: A, ttl: 30, pools: [pa, pb]}\n", i)
	}
	fmt.Fprintf(&b, `providers:
  - name: r53
    type: route53
    zone: example.test
    zone_id: %s
    base_url: %s
    owner_id: cluster-1
    drift_interval: %s
`, zoneID, endpoint, drift)
	return b.String()
}

// testConfig is the provider's configuration against emu, with timings
// short enough for tests.
func testConfig(emu *r53emu.Server) route53.Config {
	return route53.Config{
		HostedZoneID: zoneID, Zone: "example.test", Owner: "cluster-1", Endpoint: emu.Endpoint(),
		Credentials:  credentials.NewStaticCredentialsProvider(accessKey, secretKey, ""),
		Limiter:      rate.NewLimiter(rate.Inf, 1),
		MaxBackoff:   200 * time.Millisecond,
		WaitMinDelay: 50 * time.Millisecond, WaitMaxDelay: 200 * time.Millisecond, WaitTimeout: 10 * time.Second,
	}
}

func newEmu(t testing.TB) *r53emu.Server {
	emu := r53emu.New(accessKey)
	t.Cleanup(emu.Close)
	emu.AddZone(zoneID, "example.test")
	return emu
}

type harness struct {
	emu    *r53emu.Server
	src    *providertest.Source
	leader *providertest.Leader
	m      *providers.Manager
	built  []*route53.Provider
}

// start runs a Manager against emu with n A records decided on pool pa.
func start(t testing.TB, emu *r53emu.Server, n int, drift string, opts ...func(*route53.Config)) *harness {
	t.Helper()
	h := &harness{emu: emu}
	h.src = providertest.NewSource(t, specFor(emu.Endpoint(), n, drift))
	h.src.SetMany(func(set func(string, string, ...string)) {
		set("app.example.test.", "CNAME", "a.origin.test.")
		for i := 0; i < n; i++ {
			set(fmt.Sprintf("www%d.example.test.", i), "A", "192.0.2.1", "192.0.2.2")
		}
	})
	h.leader = &providertest.Leader{}
	h.leader.Set(true)
	h.m = h.manager(t, h.leader, opts...)
	return h
}

func (h *harness) manager(t testing.TB, l *providertest.Leader, opts ...func(*route53.Config)) *providers.Manager {
	t.Helper()
	build := func(p spec.Provider, _ func(string) string) (providers.Provider, error) {
		cfg := testConfig(h.emu)
		cfg.HostedZoneID, cfg.Zone, cfg.Owner, cfg.Endpoint = p.ZoneID, p.Zone, p.OwnerID, p.BaseURL
		for _, o := range opts {
			o(&cfg)
		}
		rp, err := route53.New(context.Background(), cfg)
		if err == nil {
			h.built = append(h.built, rp)
		}
		return rp, err
	}
	m, err := providers.NewManager(providers.Options{
		Source:   h.src,
		Builders: map[string]providers.Builder{spec.ProviderRoute53: build},
		Access:   providers.Access{BaseURLs: []string{h.emu.Endpoint()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, m.Run) }()
	t.Cleanup(func() { cancel(); <-done })
	return m
}

// contents returns the zone's record sets other than SOA and NS as
// "name type ttl values" lines.
func contents(emu *r53emu.Server) []string {
	var out []string
	for _, r := range emu.RecordSets(zoneID) {
		if r.Type == "SOA" || r.Type == "NS" {
			continue
		}
		line := fmt.Sprintf("%s %s %d %s", r.Name, r.Type, r.TTL, strings.Join(r.Values, ","))
		if r.SetIdentifier != "" {
			line += " id=" + r.SetIdentifier
		}
		out = append(out, line)
	}
	return out
}

func has(emu *r53emu.Server, lines ...string) bool {
	got := contents(emu)
	for _, l := range lines {
		if !slices.Contains(got, l) {
			return false
		}
	}
	return true
}

func inSync(m *providers.Manager) bool {
	s := m.Status()
	return len(s) == 1 && s[0].InSync && s[0].Pending == 0
}

const owner = `"heritage=detour,detour/owner=cluster-1"`

func TestFirstSyncCreatesWithOwnership(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 6 })
	want := []string{
		"app.example.test. CNAME 120 a.origin.test.",
		"_detour-cname.app.example.test. TXT 300 " + owner,
		"www0.example.test. A 30 192.0.2.1,192.0.2.2",
		"_detour-a.www0.example.test. TXT 300 " + owner,
		"www1.example.test. A 30 192.0.2.1,192.0.2.2",
		"_detour-a.www1.example.test. TXT 300 " + owner,
	}
	if got := contents(emu); !reflect.DeepEqual(got, want) {
		t.Fatalf("zone:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reqs, _ := emu.Requests()
	if reqs["POST rrset"] != 1 || reqs["GET rrset"] != 1 || reqs["GET hostedzone"] != 1 || reqs["GET change"] < 1 {
		t.Errorf("requests = %v, want one zone check, one listing, one batch and its GetChange", reqs)
	}
	if b := emu.Batches(); len(b) != 1 || len(b[0]) != 6 || !strings.HasPrefix(b[0][0], "CREATE ") {
		t.Errorf("batches = %v, want one of 6 CREATEs", b)
	}
}

func TestFailoverIsOneUpsert(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 3, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 8 })
	emu.ResetRequests()
	h.src.Set("www1.example.test.", "A", "198.51.100.1")
	testutil.Eventually(t, "failover", 10*time.Second, func() bool {
		return inSync(h.m) && has(emu, "www1.example.test. A 30 198.51.100.1")
	})
	want := [][]string{{"UPSERT www1.example.test. A"}}
	if got := emu.Batches(); !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v", got, want)
	}
	if reqs, _ := emu.Requests(); reqs["GET rrset"] != 0 {
		t.Errorf("requests = %v: the failover re-read the zone", reqs)
	}
}

func TestDriftRepaired(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 2, "1s")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 6 })
	emu.Put(zoneID, r53emu.RRSet{Name: "www0.example.test", Type: "A", TTL: 30, Values: []string{"203.0.113.66"}}) // edited by hand
	emu.Delete(zoneID, "www1.example.test", "A", "")                                                               // deleted by hand, ownership record kept
	emu.Put(zoneID, r53emu.RRSet{Name: "app.example.test", Type: "CNAME", TTL: 3600, Values: []string{"a.origin.test."}})
	testutil.Eventually(t, "drift repaired", 10*time.Second, func() bool {
		return has(emu, "www0.example.test. A 30 192.0.2.1,192.0.2.2", "www1.example.test. A 30 192.0.2.1,192.0.2.2",
			"app.example.test. CNAME 120 a.origin.test.") && len(contents(emu)) == 6
	})
}

func TestForeignRecordSetsUntouched(t *testing.T) {
	emu := newEmu(t)
	w := int64(10)
	foreign := []r53emu.RRSet{
		{Name: "www0.example.test", Type: "A", TTL: 300, Values: []string{"203.0.113.7"}},                                      // same key, no ownership record
		{Name: "mail.example.test", Type: "A", TTL: 3600, Values: []string{"203.0.113.25"}},                                    // unrelated
		{Name: "www1.example.test", Type: "A", TTL: 60, Values: []string{"203.0.113.8"}, SetIdentifier: "blue", Weight: &w},    // weighted, someone else's
		{Name: "_detour-a.www2.example.test", Type: "TXT", TTL: 300, Values: []string{`"heritage=detour,detour/owner=other"`}}, // another cluster's
		{Name: "www2.example.test", Type: "A", TTL: 60, Values: []string{"203.0.113.9"}},
		{Name: "_detour-a.mail.example.test", Type: "TXT", TTL: 300, Values: []string{`"v=something else"`}},
		{Name: "www4.example.test", Type: "CNAME", TTL: 300, Values: []string{"elsewhere.test."}}, // where detour wants an A
	}
	for _, r := range foreign {
		emu.Put(zoneID, r)
	}
	// Ours, no longer in the spec: deleted with its ownership record.
	emu.Put(zoneID, r53emu.RRSet{Name: "old.example.test", Type: "A", TTL: 60, Values: []string{"192.0.2.99"}})
	emu.Put(zoneID, r53emu.RRSet{Name: "_detour-a.old.example.test", Type: "TXT", TTL: 300, Values: []string{owner}})
	before := map[string]bool{}
	for _, l := range contents(emu) {
		if !strings.Contains(l, "old.example.test") {
			before[l] = true
		}
	}
	h := start(t, emu, 5, "1s")
	testutil.Eventually(t, "sync of what detour may write", 10*time.Second, func() bool {
		return has(emu, "www3.example.test. A 30 192.0.2.1,192.0.2.2", "app.example.test. CNAME 120 a.origin.test.") &&
			!slices.ContainsFunc(contents(emu), func(l string) bool { return strings.Contains(l, "old.example.test") })
	})
	testutil.Eventually(t, "conflicts reported", 10*time.Second, func() bool {
		s := h.m.Status()[0]
		return !s.InSync && strings.Contains(s.LastError, "not detour's") && strings.Contains(s.LastError, "www0.example.test. A (it has no ownership record _detour-a.www0.example.test.)") &&
			strings.Contains(s.LastError, "www1.example.test. A (routing-policy") && strings.Contains(s.LastError, "www2.example.test. A (its ownership record _detour-a.www2.example.test. names another owner)") &&
			strings.Contains(s.LastError, "www4.example.test. A (a CNAME cannot share its name with other record sets, and www4.example.test. holds CNAME)")
	})
	time.Sleep(1500 * time.Millisecond) // a drift re-read and retries pass too
	now := contents(emu)
	for l := range before {
		if !slices.Contains(now, l) {
			t.Errorf("foreign record set %q changed or vanished; zone:\n%s", l, strings.Join(now, "\n"))
		}
	}
}

func TestPagingReadsEverySet(t *testing.T) {
	emu := newEmu(t)
	for i := 0; i < 150; i++ { // foreign sets sorting before and after detour's
		emu.Put(zoneID, r53emu.RRSet{Name: fmt.Sprintf("a%03d.example.test", i), Type: "A", TTL: 60, Values: []string{"203.0.113.1"}})
		emu.Put(zoneID, r53emu.RRSet{Name: fmt.Sprintf("z%03d.example.test", i), Type: "AAAA", TTL: 60, Values: []string{"2001:db8::1"}})
	}
	h := start(t, emu, 120, "1m", func(c *route53.Config) { c.PageSize = 100 })
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) })
	p, err := route53.New(context.Background(), func() route53.Config { c := testConfig(emu); c.PageSize = 100; return c }())
	if err != nil {
		t.Fatal(err)
	}
	emu.ResetRequests()
	got, err := p.Read(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 121 {
		t.Errorf("read %d owned RRsets, want 121", len(got))
	}
	// 2 + 300 foreign + 121*2 of detour's = 544 sets: 6 pages of 100.
	if reqs, _ := emu.Requests(); reqs["GET rrset"] != 6 {
		t.Errorf("listing requests = %d, want 6 pages of 100", reqs["GET rrset"])
	}
	plans, err := h.m.Plan(context.Background(), "")
	if err != nil || len(plans) != 1 || len(plans[0].Changes) != 0 || plans[0].Error != "" {
		t.Errorf("plan after sync = %+v, %v; want no changes", plans, err)
	}
}

func TestThrottlingSurvived(t *testing.T) {
	emu := newEmu(t)
	emu.Fail(2, "Throttling")
	emu.Fail(1, "PriorRequestNotComplete")
	h := start(t, emu, 2, "1m")
	testutil.Eventually(t, "sync through throttling", 15*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 6 })
	if s := h.m.Status()[0]; s.Errors != 0 {
		t.Errorf("status = %+v: the SDK retryer should have absorbed three throttled answers", s)
	}
	reqs, total := emu.Requests()
	if reqs["throttled"] != 3 || h.built[0].Requests() != uint64(total) {
		t.Errorf("emulator requests %v (total %d), provider sent %d: want 3 throttled and every attempt counted", reqs, total, h.built[0].Requests())
	}
}

func TestRateLimitedAPIWithoutClientLimiter(t *testing.T) {
	// Route 53's 5 requests/s enforced by the emulator; a provider with
	// no limiter of its own must still get through on the retryer.
	emu := newEmu(t)
	emu.SetRateLimit(route53.RequestsPerSecond, 2)
	cfg := testConfig(emu)
	// The retryer's backoff is jittered in [0, MaxBackoff): five attempts
	// can all land inside one 200 ms token interval (it failed so in CI).
	// Enough attempts that the sum of their backoffs surely spans one.
	cfg.MaxAttempts = 20
	p, err := route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 8; i++ {
		if _, err := p.Read(context.Background(), nil); err != nil {
			t.Fatalf("read %d: %v", i, err)
		}
	}
	if reqs, _ := emu.Requests(); reqs["throttled"] == 0 {
		t.Errorf("requests = %v: the emulator never throttled, the test proves nothing", reqs)
	}
	// The default limiter keeps to the documented rate.
	if l := route53.DefaultLimiter(); float64(l.Limit()) > route53.RequestsPerSecond {
		t.Errorf("default limiter allows %v/s", l.Limit())
	}
}

func TestThrottlingPastRetriesReported(t *testing.T) {
	emu := newEmu(t)
	emu.Fail(50, "Throttling")
	cfg := testConfig(emu)
	cfg.MaxAttempts = 2
	p, err := route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Read(context.Background(), nil)
	if !errors.Is(err, providers.ErrRateLimited) || !strings.Contains(err.Error(), "Throttling: Rate exceeded") {
		t.Errorf("err = %v, want ErrRateLimited with Route 53's message", err)
	}
}

func TestInvalidChangeBatchReported(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) })
	p, err := route53.New(context.Background(), testConfig(emu))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := p.Read(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var www0 providers.RRset
	for _, rr := range cur {
		if rr.Name == "www0.example.test." {
			www0 = rr
		}
	}
	// Edited by hand after the read: the DELETE no longer matches.
	emu.Put(zoneID, r53emu.RRSet{Name: "www0.example.test", Type: "A", TTL: 30, Values: []string{"203.0.113.66"}})
	_, err = p.Apply(context.Background(), []providers.Change{{Old: &www0}})
	if !errors.Is(err, route53.ErrChangeRefused) ||
		!strings.Contains(err.Error(), "Tried to delete resource record set [name='www0.example.test.', type='A'] but the values provided do not match the current values") {
		t.Fatalf("err = %v, want the refused batch with Route 53's message", err)
	}
	if !has(emu, "_detour-a.www0.example.test. TXT 300 "+owner) {
		t.Error("half of a refused batch was applied: the ownership record went")
	}
	// Through the reconciler: the refusal is counted, the zone re-read,
	// and the next attempt succeeds.
	h.src.Set("www0.example.test.", "A")
	testutil.Eventually(t, "delete after re-read", 10*time.Second, func() bool {
		return inSync(h.m) && !slices.ContainsFunc(contents(emu), func(l string) bool { return strings.Contains(l, "www0.") })
	})
	if s := h.m.Status()[0]; s.Errors < 1 {
		t.Errorf("status = %+v, want the refused batch counted", s)
	}
}

func TestMoreThan1000ChangesSplit(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 1200, "1m")
	testutil.Eventually(t, "first sync", 30*time.Second, func() bool { return inSync(h.m) })
	if n := len(contents(emu)); n != 2*1201 {
		t.Fatalf("zone holds %d sets, want %d", n, 2*1201)
	}
	batches := emu.Batches()
	// 1,200 A RRsets of two values and a CNAME, plus an ownership
	// record each: 3,602 ResourceRecord elements, in batches of at most
	// 1,000 (the emulator refuses more).
	if len(batches) != 4 {
		t.Errorf("%d batches, want 4", len(batches))
	}
	for i, b := range batches {
		if len(b) > 1000 || len(b)%2 != 0 {
			t.Errorf("batch %d has %d changes: over the limit or splitting a set from its ownership record", i, len(b))
		}
	}
}

func TestSlowInsyncAwaited(t *testing.T) {
	emu := newEmu(t)
	emu.SetInsyncDelay(1200 * time.Millisecond)
	p, err := route53.New(context.Background(), testConfig(emu))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	rr := providers.RRset{Key: providers.Key{Name: "www.example.test.", Type: "A"}, TTL: 60, Values: []string{"192.0.2.1"}}
	start := time.Now()
	if _, err := p.Apply(context.Background(), []providers.Change{{New: &rr}}); err != nil {
		t.Fatal(err)
	}
	if e := time.Since(start); e < 1200*time.Millisecond {
		t.Errorf("Apply returned after %s, before the change was INSYNC", e)
	}
	if reqs, _ := emu.Requests(); reqs["GET change"] < 2 {
		t.Errorf("requests = %v, want GetChange polled until INSYNC", reqs)
	}
	// A bound shorter than the delay: reported, not hung.
	cfg := testConfig(emu)
	cfg.WaitTimeout = 300 * time.Millisecond
	p2, err := route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Read(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	rr2 := providers.RRset{Key: providers.Key{Name: "www2.example.test.", Type: "A"}, TTL: 60, Values: []string{"192.0.2.2"}}
	_, err = p2.Apply(context.Background(), []providers.Change{{New: &rr2}})
	if !errors.Is(err, route53.ErrNotInSync) || !strings.Contains(err.Error(), "PENDING") {
		t.Errorf("err = %v, want ErrNotInSync", err)
	}
}

func TestWrongZoneAndCredentialsRefused(t *testing.T) {
	emu := newEmu(t)
	cfg := testConfig(emu)
	cfg.Zone = "other.test"
	p, err := route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(context.Background(), nil); !errors.Is(err, providers.ErrConfig) || !strings.Contains(err.Error(), "is example.test., not the spec's zone other.test.") {
		t.Errorf("wrong zone: %v", err)
	}
	cfg = testConfig(emu)
	cfg.Credentials = credentials.NewStaticCredentialsProvider("AKIDWRONG", "x", "")
	p, err = route53.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Read(context.Background(), nil)
	if !errors.Is(err, providers.ErrAuth) || strings.Contains(err.Error(), "AKIDWRONG") {
		t.Errorf("wrong key: %v, want ErrAuth without the key", err)
	}
}

func TestBuildUsesDefaultCredentialChain(t *testing.T) {
	emu := newEmu(t)
	t.Setenv("AWS_ACCESS_KEY_ID", accessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secretKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	p, err := route53.Build(spec.Provider{Name: "r53", Type: "route53", Zone: "example.test.", ZoneID: "/hostedzone/" + zoneID, BaseURL: emu.Endpoint()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(context.Background(), nil); err != nil {
		t.Fatalf("read with environment credentials: %v", err)
	}
}

func TestPlanWritesNothing(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) })
	h.leader.Set(false)
	testutil.Eventually(t, "stop", 10*time.Second, func() bool { return !h.m.Status()[0].Active })
	h.src.Set("www1.example.test.", "A", "198.51.100.1")
	before := contents(emu)
	plans, err := h.m.Plan(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || len(plans[0].Changes) != 1 || plans[0].Error != "" {
		t.Fatalf("plans = %+v", plans)
	}
	if got, want := plans[0].Changes[0].String(), "update www1.example.test. A 30 192.0.2.1,192.0.2.2 -> www1.example.test. A 30 198.51.100.1"; got != want {
		t.Errorf("change = %q, want %q", got, want)
	}
	if after := contents(emu); !reflect.DeepEqual(after, before) {
		t.Error("plan changed the zone")
	}
}

func TestLeaderChangeNoDuplicates(t *testing.T) {
	emu := newEmu(t)
	h := start(t, emu, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(contents(emu)) == 6 })
	l2 := &providertest.Leader{}
	m2 := h.manager(t, l2)
	h.leader.Set(false)
	testutil.Eventually(t, "old leader stops", 10*time.Second, func() bool { return !h.m.Status()[0].Active })
	oldReqs := h.built[0].Requests()
	h.src.Set("www0.example.test.", "A", "198.51.100.1")
	time.Sleep(100 * time.Millisecond)
	if has(emu, "www0.example.test. A 30 198.51.100.1") {
		t.Fatal("a change was written with no leader")
	}
	l2.Set(true)
	testutil.Eventually(t, "new leader syncs", 10*time.Second, func() bool { return inSync(m2) && has(emu, "www0.example.test. A 30 198.51.100.1") })
	if n := len(contents(emu)); n != 6 {
		t.Errorf("zone holds %d sets, want 6:\n%s", n, strings.Join(contents(emu), "\n"))
	}
	if got := h.built[0].Requests(); got != oldReqs {
		t.Errorf("the old leader sent %d requests after losing leadership", got-oldReqs)
	}
	if s := m2.Status()[0]; s.Errors != 0 {
		t.Errorf("new leader status = %+v: its first sync should find detour's sets and update, not collide", s)
	}
}

func TestNormalize(t *testing.T) {
	p, err := route53.New(context.Background(), testConfig(newEmu(t)))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Normalize(providers.RRset{Key: providers.Key{Name: "v6.example.test.", Type: "AAAA"}, Values: []string{"2001:DB8:0::1", "2001:db8::1"}, Proxied: true})
	if !slices.Equal(got.Values, []string{"2001:db8::1"}) || got.Proxied {
		t.Errorf("normalized = %+v, want one canonical address, not proxied", got)
	}
}
