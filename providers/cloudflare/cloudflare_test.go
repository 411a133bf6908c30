package cloudflare_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/cfemu"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/providers/cloudflare"
	"github.com/seed3787e6f1/detour/providers/providertest"
	"github.com/seed3787e6f1/detour/spec"
	"golang.org/x/time/rate"
)

const (
	zoneID = "023e105f4ecef8ad9ca31a8372d0c353"
	token  = "test-token"
)

// specFor returns a spec with n A records www0..www(n-1) and one CNAME,
// all carried by a cloudflare provider at baseURL.
func specFor(baseURL string, n int, drift string) string {
	var b strings.Builder
	b.WriteString(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
datacenters: [{name: a}, {name: b}, {name: c}]
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
  - name: cf
    type: cloudflare
    zone: example.test
    zone_id: %s
    api_token_env: CF_TOKEN
    base_url: %s
    drift_interval: %s
`, zoneID, baseURL, drift)
	return b.String()
}

type harness struct {
	emu    *cfemu.Server
	src    *providertest.Source
	leader *providertest.Leader
	m      *providers.Manager
	built  []*cloudflare.Provider
}

// start runs a Manager against a fresh emulator with n A records decided
// on pool pa.
func start(t testing.TB, n int, drift string, opts ...func(*cloudflare.Config)) *harness {
	t.Helper()
	h := &harness{emu: cfemu.New(token, zoneID)}
	t.Cleanup(h.emu.Close)
	h.src = providertest.NewSource(t, specFor(h.emu.BaseURL(), n, drift))
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

// manager starts another Manager on the same source and emulator.
func (h *harness) manager(t testing.TB, l *providertest.Leader, opts ...func(*cloudflare.Config)) *providers.Manager {
	t.Helper()
	build := func(p spec.Provider, getenv func(string) string) (providers.Provider, error) {
		cfg := cloudflare.Config{ZoneID: p.ZoneID, Token: getenv(p.APITokenEnv), BaseURL: p.BaseURL}
		for _, o := range opts {
			o(&cfg)
		}
		cp, err := cloudflare.New(cfg)
		if err == nil {
			h.built = append(h.built, cp)
		}
		return cp, err
	}
	m, err := providers.NewManager(providers.Options{
		Source:   h.src,
		Builders: map[string]providers.Builder{"cloudflare": build},
		// The emulator is not Cloudflare's endpoint, and CF_TOKEN lacks
		// the default DETOUR_ prefix: this node allows both.
		Access: providers.Access{Env: spec.EnvPolicy{Spec: []string{"CF_"}}, BaseURLs: []string{h.emu.BaseURL()}},
		Getenv: func(k string) string {
			if k == "CF_TOKEN" {
				return token
			}
			return ""
		},
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

// contents returns the zone as "name type content ttl comment" lines.
func contents(emu *cfemu.Server) []string {
	var out []string
	for _, r := range emu.Records(zoneID) {
		out = append(out, fmt.Sprintf("%s %s %s %d %s", r.Name, r.Type, r.Content, r.TTL, r.Comment))
	}
	return out
}

func has(emu *cfemu.Server, lines ...string) bool {
	got := strings.Join(contents(emu), "\n")
	for _, l := range lines {
		if !strings.Contains(got, l) {
			return false
		}
	}
	return true
}

func inSync(m *providers.Manager) bool {
	s := m.Status()
	return len(s) == 1 && s[0].InSync && s[0].Pending == 0
}

func TestFirstSyncCreates(t *testing.T) {
	h := start(t, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(h.emu.Records(zoneID)) == 5 })
	want := []string{
		"app.example.test CNAME a.origin.test 120 managed by detour",
		"www0.example.test A 192.0.2.1 60 managed by detour", // TTL 30 raised to Cloudflare's 60
		"www0.example.test A 192.0.2.2 60 managed by detour",
		"www1.example.test A 192.0.2.1 60 managed by detour",
		"www1.example.test A 192.0.2.2 60 managed by detour",
	}
	if got := contents(h.emu); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("zone:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reqs, total := h.emu.Requests()
	if reqs["POST batch"] != 1 || total != 2 {
		t.Errorf("requests = %v, want one list and one batch", reqs)
	}
	for _, r := range h.emu.Records(zoneID) {
		if r.Proxied {
			t.Errorf("%s proxied, want proxied off unless asked", r.Name)
		}
	}
}

func TestFailoverPatchesOnlyWhatChanged(t *testing.T) {
	h := start(t, 3, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(h.emu.Records(zoneID)) == 7 })
	before := map[string]cfemu.Record{}
	for _, r := range h.emu.Records(zoneID) {
		before[r.ID] = r
	}
	h.emu.ResetRequests()
	h.src.Set("www1.example.test.", "A", "198.51.100.1") // pa down: www1 fails over to pb
	testutil.Eventually(t, "failover", 10*time.Second, func() bool {
		return has(h.emu, "www1.example.test A 198.51.100.1 60") && len(h.emu.Records(zoneID)) == 6
	})
	reqs, total := h.emu.Requests()
	if total != 1 || reqs["POST batch"] != 1 {
		t.Errorf("requests = %v, want exactly one batch", reqs)
	}
	for _, r := range h.emu.Records(zoneID) {
		b, ok := before[r.ID]
		if !ok {
			t.Errorf("record %s %s was recreated, want patched in place", r.Name, r.Content)
			continue
		}
		if r.Name != "www1.example.test" && r.ModifiedOn != b.ModifiedOn {
			t.Errorf("%s %s was modified though its answer did not change", r.Name, r.Content)
		}
	}
}

func TestForeignRecordsUntouched(t *testing.T) {
	emuRecs := []cfemu.Record{
		{Name: "www0.example.test", Type: "A", Content: "203.0.113.7", TTL: 300},                           // no comment
		{Name: "www0.example.test", Type: "A", Content: "203.0.113.8", TTL: 300, Comment: "added by ops"},  // another comment
		{Name: "mail.example.test", Type: "A", Content: "203.0.113.25", TTL: 3600, Comment: "detour? no"},  // unrelated
		{Name: "old.example.test", Type: "A", Content: "203.0.113.9", TTL: 60, Comment: cloudflare.Marker}, // ours, no longer in the spec
	}
	h := &harness{emu: cfemu.New(token, zoneID)}
	t.Cleanup(h.emu.Close)
	var foreign []cfemu.Record
	for _, r := range emuRecs {
		id := h.emu.Put(zoneID, r)
		if r.Comment != cloudflare.Marker {
			r.ID = id
			foreign = append(foreign, r)
		}
	}
	snapshot := func() map[string]cfemu.Record {
		out := map[string]cfemu.Record{}
		for _, r := range h.emu.Records(zoneID) {
			out[r.ID] = r
		}
		return out
	}
	orig := snapshot()
	h.src = providertest.NewSource(t, specFor(h.emu.BaseURL(), 1, "1s"))
	h.src.Set("www0.example.test.", "A", "192.0.2.1")
	h.leader = &providertest.Leader{}
	h.leader.Set(true)
	h.m = h.manager(t, h.leader)
	testutil.Eventually(t, "sync", 10*time.Second, func() bool {
		return inSync(h.m) && has(h.emu, "www0.example.test A 192.0.2.1 60 managed by detour") && !has(h.emu, "old.example.test")
	})
	h.src.Set("www0.example.test.", "A") // no data: detour's www0 goes away
	testutil.Eventually(t, "removal", 10*time.Second, func() bool { return inSync(h.m) && !has(h.emu, "192.0.2.1") })
	time.Sleep(1500 * time.Millisecond) // a drift re-read passes too
	now := snapshot()
	for _, f := range foreign {
		if got, ok := now[f.ID]; !ok || !reflect.DeepEqual(got, orig[f.ID]) {
			t.Errorf("foreign record %s %s changed: %+v -> %+v", f.Name, f.Content, orig[f.ID], got)
		}
	}
}

func TestLeaderChangeNoDuplicates(t *testing.T) {
	h := start(t, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(h.emu.Records(zoneID)) == 5 })
	l2 := &providertest.Leader{}
	m2 := h.manager(t, l2)
	// Leadership moves; the old leader's view is stale.
	h.leader.Set(false)
	testutil.Eventually(t, "old leader stops", 10*time.Second, func() bool { return !h.m.Status()[0].Active })
	oldReqs := h.built[0].Requests()
	h.src.Set("www0.example.test.", "A", "198.51.100.1")
	time.Sleep(100 * time.Millisecond)
	if has(h.emu, "198.51.100.1") {
		t.Fatal("a change was written with no leader")
	}
	l2.Set(true)
	testutil.Eventually(t, "new leader syncs", 10*time.Second, func() bool { return inSync(m2) && has(h.emu, "www0.example.test A 198.51.100.1") })
	seen := map[string]bool{}
	for _, l := range contents(h.emu) {
		if seen[l] {
			t.Errorf("duplicate record %s", l)
		}
		seen[l] = true
	}
	if n := len(h.emu.Records(zoneID)); n != 4 {
		t.Errorf("zone holds %d records, want 4:\n%s", n, strings.Join(contents(h.emu), "\n"))
	}
	if got := h.built[0].Requests(); got != oldReqs {
		t.Errorf("the old leader sent %d requests after losing leadership", got-oldReqs)
	}
}

func TestDriftRepaired(t *testing.T) {
	h := start(t, 2, "1s")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) && len(h.emu.Records(zoneID)) == 5 })
	for _, r := range h.emu.Records(zoneID) {
		switch {
		case r.Name == "www0.example.test" && r.Content == "192.0.2.1":
			r.Content = "203.0.113.66" // edited by hand, comment kept
			h.emu.Put(zoneID, r)
		case r.Name == "www1.example.test" && r.Content == "192.0.2.2":
			h.emu.Delete(zoneID, r.ID) // deleted by hand
		case r.Name == "app.example.test":
			r.TTL = 3600
			h.emu.Put(zoneID, r)
		}
	}
	testutil.Eventually(t, "drift repaired", 10*time.Second, func() bool {
		return has(h.emu, "www0.example.test A 192.0.2.1 60", "www1.example.test A 192.0.2.2 60", "app.example.test CNAME a.origin.test 120") &&
			!has(h.emu, "203.0.113.66") && len(h.emu.Records(zoneID)) == 5
	})
}

func TestRateLimitRespected(t *testing.T) {
	emu := cfemu.New(token, zoneID)
	defer emu.Close()
	p, err := cloudflare.New(cloudflare.Config{ZoneID: zoneID, Token: token, BaseURL: emu.BaseURL(), Limiter: rate.NewLimiter(20, 2)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 12; i++ {
		if _, err := p.Read(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	_, total := emu.Requests()
	if total != 12 || p.Requests() != 12 {
		t.Fatalf("emulator saw %d requests, provider counted %d, want 12", total, p.Requests())
	}
	// A bucket of 2 refilled at 20/s lets 12 requests through in no less
	// than (12-2)/20 s.
	if elapsed < 450*time.Millisecond {
		t.Errorf("12 requests in %s: the limiter of 20/s (burst 2) was not respected", elapsed)
	}
	// The default bucket stays under Cloudflare's 1,200 per 5 minutes.
	l := cloudflare.DefaultLimiter()
	if worst := float64(l.Burst()) + float64(l.Limit())*300; worst > cloudflare.RequestsPer5Min {
		t.Errorf("default limiter allows %.0f requests in 5 minutes", worst)
	}
}

func TestManyChangesCoalesce(t *testing.T) {
	h := start(t, 1, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) })
	h.emu.ResetRequests()
	h.emu.SetDelay(20 * time.Millisecond)
	for i := 0; i < 50; i++ {
		h.src.Set("www0.example.test.", "A", fmt.Sprintf("198.51.100.%d", i+1))
	}
	testutil.Eventually(t, "last answer", 10*time.Second, func() bool { return inSync(h.m) && has(h.emu, "www0.example.test A 198.51.100.50 60") })
	if _, total := h.emu.Requests(); total > 10 {
		t.Errorf("50 quick changes cost %d requests; want them coalesced", total)
	}
}

func TestRetryAfter429(t *testing.T) {
	h := &harness{emu: cfemu.New(token, zoneID)}
	t.Cleanup(h.emu.Close)
	h.emu.Fail(1, http.StatusTooManyRequests, 2*time.Second)
	h.src = providertest.NewSource(t, specFor(h.emu.BaseURL(), 1, "1m"))
	h.src.Set("www0.example.test.", "A", "192.0.2.1")
	h.leader = &providertest.Leader{}
	h.leader.Set(true)
	start := time.Now()
	h.m = h.manager(t, h.leader)
	testutil.Eventually(t, "error reported", 10*time.Second, func() bool { return h.m.Status()[0].LastError != "" })
	if s := h.m.Status()[0]; !strings.Contains(s.LastError, "retry after 2s") || s.InSync {
		t.Errorf("status = %+v, want the 429 and its retry-after", s)
	}
	testutil.Eventually(t, "sync after 429", 10*time.Second, func() bool { return inSync(h.m) })
	if e := time.Since(start); e < 2*time.Second {
		t.Errorf("synced %s after a 429 asking for 2s", e)
	}
	if _, total := h.emu.Requests(); total != 3 {
		t.Errorf("requests = %d, want 3 (the refused list, then list and batch)", total)
	}
}

func TestServerErrorsBackOff(t *testing.T) {
	h := &harness{emu: cfemu.New(token, zoneID)}
	t.Cleanup(h.emu.Close)
	h.emu.Fail(3, http.StatusInternalServerError, 0)
	h.src = providertest.NewSource(t, specFor(h.emu.BaseURL(), 1, "1m"))
	h.src.Set("www0.example.test.", "A", "192.0.2.1")
	h.leader = &providertest.Leader{}
	h.leader.Set(true)
	h.m = h.manager(t, h.leader)
	testutil.Eventually(t, "sync after 500s", 10*time.Second, func() bool { return inSync(h.m) })
	if s := h.m.Status()[0]; s.Errors != 3 || s.LastError != "" {
		t.Errorf("status = %+v, want 3 errors then success", s)
	}
}

func TestBadTokenReported(t *testing.T) {
	h := start(t, 1, "1m", func(c *cloudflare.Config) { c.Token = "wrong" })
	testutil.Eventually(t, "error reported", 10*time.Second, func() bool { return h.m.Status()[0].LastError != "" })
	s := h.m.Status()[0]
	if !strings.Contains(s.LastError, "authentication refused") || !strings.Contains(s.LastError, "9109: Invalid access token") {
		t.Errorf("last error = %q, want the refused token", s.LastError)
	}
	if strings.Contains(s.LastError, "wrong") {
		t.Errorf("last error shows the token: %q", s.LastError)
	}
	if len(h.emu.Records(zoneID)) != 0 {
		t.Error("records written with a refused token")
	}
}

func TestMissingTokenEnv(t *testing.T) {
	_, err := cloudflare.Build(spec.Provider{Name: "cf", Type: "cloudflare", ZoneID: zoneID, APITokenEnv: "NOPE"}, func(string) string { return "" })
	if !errors.Is(err, providers.ErrConfig) || !strings.Contains(err.Error(), "NOPE") {
		t.Errorf("err = %v, want ErrConfig naming the variable", err)
	}
}

func TestPlanWritesNothing(t *testing.T) {
	h := start(t, 2, "1m")
	testutil.Eventually(t, "first sync", 10*time.Second, func() bool { return inSync(h.m) })
	h.leader.Set(false)
	testutil.Eventually(t, "stop", 10*time.Second, func() bool { return !h.m.Status()[0].Active })
	h.src.Set("www1.example.test.", "A", "198.51.100.1")
	before := contents(h.emu)
	plans, err := h.m.Plan(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || len(plans[0].Changes) != 1 || plans[0].Error != "" {
		t.Fatalf("plans = %+v", plans)
	}
	if got, want := plans[0].Changes[0].String(), "update www1.example.test. A 60 192.0.2.1,192.0.2.2 -> www1.example.test. A 60 198.51.100.1"; got != want {
		t.Errorf("change = %q, want %q", got, want)
	}
	if after := contents(h.emu); strings.Join(after, "\n") != strings.Join(before, "\n") {
		t.Error("plan changed the zone")
	}
	if _, err := h.m.Plan(context.Background(), "nope"); !errors.Is(err, providers.ErrUnknownProvider) {
		t.Errorf("plan of an unknown provider: %v", err)
	}
}

func TestReadPages(t *testing.T) {
	emu := cfemu.New(token, zoneID)
	defer emu.Close()
	for i := 0; i < 5; i++ {
		emu.Put(zoneID, cfemu.Record{Name: fmt.Sprintf("h%d.example.test", i), Type: "A", Content: "192.0.2.1", TTL: 60, Comment: cloudflare.Marker})
	}
	emu.Put(zoneID, cfemu.Record{Name: "x.example.test", Type: "A", Content: "192.0.2.1", TTL: 60})
	p, err := cloudflare.New(cloudflare.Config{ZoneID: zoneID, Token: token, BaseURL: emu.BaseURL(), PerPage: 2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.Read(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Errorf("read %d RRsets, want the 5 owned ones: %v", len(got), got)
	}
	if reqs, _ := emu.Requests(); reqs["GET list"] != 3 {
		t.Errorf("list requests = %d, want 3 pages of 2", reqs["GET list"])
	}
}

func TestNormalize(t *testing.T) {
	p, err := cloudflare.New(cloudflare.Config{ZoneID: zoneID, Token: token, MinTTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ttl     uint32
		proxied bool
		want    uint32
	}{{10, false, 30}, {30, false, 30}, {300, false, 300}, {100000, false, 86400}, {300, true, 1}} {
		if got := p.Normalize(providers.RRset{TTL: tc.ttl, Proxied: tc.proxied}).TTL; got != tc.want {
			t.Errorf("TTL %d proxied %v -> %d, want %d", tc.ttl, tc.proxied, got, tc.want)
		}
	}
}
