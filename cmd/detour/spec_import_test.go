package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/cfemu"
	"github.com/seed3787e6f1/detour/internal/r53emu"
	"github.com/seed3787e6f1/detour/spec"
)

// runImport runs `detour spec import args...` in process and returns
// the exit code, standard output and standard error.
func runImport(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"spec", "import"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// mustContain fails for each want missing from got, and checks that got
// is a valid spec.
func mustContain(t *testing.T, got string, want ...string) *spec.Spec {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	s, err := spec.Parse([]byte(got))
	if err != nil {
		t.Fatalf("imported spec invalid: %v\n%s", err, got)
	}
	return s
}

func TestSpecImportZoneFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "example.test.zone")
	zone := `$TTL 600
@ IN SOA ns1 hostmaster 7 3600 600 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.53
www 60 IN A 192.0.2.10
www 60 IN A 192.0.2.11
@ IN RRSIG SOA 13 2 600 20300101000000 20200101000000 12345 example.test. AAAA
*.wild IN TXT "hello world"
`
	if err := os.WriteFile(file, []byte(zone), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runImport(t, file, "--zone", "example.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	s := mustContain(t, out,
		"      @ 600 IN SOA ns1.example.test. hostmaster.example.test. 7 3600 600 1209600 300",
		"      www 60 IN A 192.0.2.10",
		"      *.wild 600 IN TXT \"hello world\"",
		"; detour: www answers 2 A records together",
		"; detour: @: RRSIG not imported: DNSSEC records belong to the signer",
		"#   - {name: www.example.test, type: A, ttl: 60, policy: failover, pools: [dc1-web, dc2-web]}",
	)
	if cz := s.ZoneFor("www.example.test."); cz == nil || cz.StaticCount() != 5 {
		t.Errorf("compiled zone = %+v, want 5 static records besides the SOA", cz)
	}
	// To a file.
	dst := filepath.Join(t.TempDir(), "spec.yaml")
	if code, _, errOut := runImport(t, file, "--zone", "example.test", "-o", dst); code != 0 || !strings.Contains(errOut, "wrote "+dst) {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != out {
		t.Errorf("file differs from standard output (%v)", err)
	}
}

func TestSpecImportUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"a.zone"}, {"a.zone", "--route53", "Z1", "--zone", "x.test"}} {
		if code, _, errOut := runImport(t, args...); code != 2 || !strings.Contains(errOut, "spec import needs") {
			t.Errorf("%v: exit %d, %s; want a usage error", args, code, errOut)
		}
	}
}

func TestSpecImportRoute53(t *testing.T) {
	emu := r53emu.New("AKIDIMPORT")
	defer emu.Close()
	const zoneID = "Z0IMPORTTEST"
	emu.AddZone(zoneID, "example.test")
	w := int64(50)
	for _, r := range []r53emu.RRSet{
		{Name: "www.example.test", Type: "A", TTL: 60, Values: []string{"192.0.2.10", "192.0.2.11"}},
		{Name: "*.example.test", Type: "TXT", TTL: 300, Values: []string{`"wild"`}},
		{Name: "example.test", Type: "MX", TTL: 300, Values: []string{"10 mail.example.test."}},
		{Name: "blue.example.test", Type: "A", TTL: 60, Values: []string{"192.0.2.20"}, SetIdentifier: "blue", Weight: &w},
		{Name: "cdn.example.test", Type: "A", Alias: &r53emu.Alias{HostedZoneID: "Z2FDTNDATAQYW2", DNSName: "d111.cloudfront.net"}},
		{Name: "app.example.test", Type: "A", TTL: 30, Values: []string{"198.51.100.1"}},
		{Name: "_detour-a.app.example.test", Type: "TXT", TTL: 300, Values: []string{`"heritage=detour,detour/owner=prod"`}},
	} {
		emu.Put(zoneID, r)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDIMPORT")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	code, out, errOut := runImport(t, "--route53", zoneID, "--endpoint", emu.Endpoint())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mustContain(t, out,
		"  - name: example.test\n",
		"      @ 900 IN SOA ns-1.awsdns-00.test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400",
		"      www 60 IN A 192.0.2.10\n      www 60 IN A 192.0.2.11",
		"      * 300 IN TXT \"wild\"",
		"      @ 300 IN MX 10 mail.example.test.",
		`; detour: blue: Route 53 weighted record set "blue" (A 192.0.2.20) not imported`,
		"; detour: cdn: A alias to d111.cloudfront.net. not imported",
		"; detour: app: A 198.51.100.1 is managed by detour's Route 53 provider",
		"; detour: _detour-a.app: detour's ownership record (Route 53 provider): not imported",
		"# the SOA and apex NS records are Route 53's",
	)
	if strings.Contains(out, "app 30 IN A") || strings.Contains(out, "blue 60 IN A") {
		t.Errorf("a record detour manages, or a weighted one, was imported as static:\n%s", out)
	}
	if code, _, errOut := runImport(t, "--route53", zoneID, "--endpoint", emu.Endpoint(), "--zone", "other.test"); code == 0 || !strings.Contains(errOut, "is example.test., not other.test") {
		t.Errorf("wrong --zone: exit %d, %s", code, errOut)
	}
}

func TestSpecImportCloudflare(t *testing.T) {
	const zoneID, token = "023e105f4ecef8ad9ca31a8372d0c353", "import-token"
	emu := cfemu.New(token, zoneID)
	defer emu.Close()
	for _, r := range []cfemu.Record{
		{Name: "www.example.test", Type: "A", Content: "192.0.2.10", TTL: 1},
		{Name: "www.example.test", Type: "A", Content: "192.0.2.11", TTL: 1},
		{Name: "shop.example.test", Type: "CNAME", Content: "shops.example.net", TTL: 3600},
		{Name: "example.test", Type: "TXT", Content: "v=spf1 -all", TTL: 300},
		{Name: "web.example.test", Type: "A", Content: "192.0.2.30", TTL: 1, Proxied: true},
		{Name: "app.example.test", Type: "A", Content: "198.51.100.1", TTL: 60, Comment: "managed by detour"},
	} {
		emu.Put(zoneID, r)
	}
	t.Setenv("DETOUR_TEST_CF_IMPORT", token)
	code, out, errOut := runImport(t, "--cloudflare", zoneID, "--zone", "example.test", "--token-env", "DETOUR_TEST_CF_IMPORT",
		"--base-url", emu.BaseURL(), "--nameserver", "ns1.detour.test", "--nameserver", "ns2.detour.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	mustContain(t, out,
		"    soa: {mname: ns1.detour.test., rname: hostmaster.example.test.}",
		"    nameservers: [ns1.detour.test., ns2.detour.test.]",
		"      www 300 IN A 192.0.2.10",
		"      shop 3600 IN CNAME shops.example.net.",
		"      @ 300 IN TXT \"v=spf1 -all\"",
		"; detour: web: A 192.0.2.30 is proxied at Cloudflare",
		"; detour: app: A 198.51.100.1 is managed by detour's Cloudflare provider",
	)
	if strings.Contains(out, token) {
		t.Error("the token is in the output")
	}
}
