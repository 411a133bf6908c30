package api_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// bigSpec is the test spec with n more static records: past 1 MiB of
// JSON from about 40,000.
func bigSpec(t *testing.T, n int) string {
	t.Helper()
	s := specText(t)
	var zone strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(testutil.BigZoneText(n)), "\n") {
		zone.WriteString("      " + l + "\n")
	}
	out := strings.Replace(s, "      ns1 IN A 127.0.0.1\n", "      ns1 IN A 127.0.0.1\n"+zone.String(), 1)
	if out == s {
		t.Fatal("testdata/spec.yaml has no static records to extend")
	}
	return out
}

// gz compresses b.
func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// sendUpload sends body, gzip-encoded when zipped, with token.
func sendUpload(t *testing.T, base, method, path, token string, body []byte, zipped bool) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if zipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// TestSpecUploadCompressed applies a spec past the API's 1 MiB bound:
// refused sent plain, refused gzip-compressed from a token below admin,
// applied gzip-compressed from an admin token; a body past the node's
// max_spec_upload is refused whether it inflates past it (a gzip bomb)
// or is that long compressed, and a node set to take no upload refuses
// even an admin's.
func TestSpecUploadCompressed(t *testing.T) {
	const limit = 4 << 20
	n, base := startNodeWith(t, specText(t), testTokens(), func(c *node.Config) { c.MaxSpecUpload = limit })
	const records = 60_000
	body, _ := json.Marshal(api.SpecRequest{YAML: bigSpec(t, records)})
	if len(body) <= api.MaxBody {
		t.Fatalf("the big spec is %d bytes, not past MaxBody", len(body))
	}
	before := snapshot(t, base)
	if code, msg := sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, body, false); code != 400 || !strings.Contains(msg, "gzip") {
		t.Fatalf("plain big body: %d %s, want 400 naming gzip", code, msg)
	}
	zipped := gz(t, body)
	for _, c := range []struct{ method, path, token string }{
		{"PUT", "/v1/spec", tokOperate}, {"POST", "/v1/spec/diff", tokRead},
	} {
		if code, msg := sendUpload(t, base, c.method, c.path, c.token, zipped, true); code != 403 && code != 401 {
			t.Fatalf("%s %s compressed below admin: %d %s, want refused", c.method, c.path, code, msg)
		}
	}
	// A bomb: a few kilobytes inflating past the limit.
	bomb, _ := json.Marshal(api.SpecRequest{YAML: strings.Repeat("#", limit+1)})
	if code, msg := sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, gz(t, bomb), true); code != 400 || !strings.Contains(msg, "larger than") {
		t.Fatalf("gzip bomb: %d %s, want 400 larger than", code, msg)
	}
	// Past the limit compressed: random text does not compress.
	noise := make([]byte, limit)
	_, _ = rand.Read(noise)
	long, _ := json.Marshal(api.SpecRequest{YAML: "# " + base64.StdEncoding.EncodeToString(noise)})
	if code, msg := sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, gz(t, long), true); code != 400 || !strings.Contains(msg, "larger than") {
		t.Fatalf("long compressed body: %d %s, want 400 larger than", code, msg)
	}
	if code, msg := sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, []byte("not gzip"), true); code != 400 {
		t.Fatalf("not gzip: %d %s, want 400", code, msg)
	}
	if after := snapshot(t, base); after != before {
		t.Fatal("a refused upload changed the state")
	}
	if code, msg := sendUpload(t, base, "PUT", "/v1/spec", tokAdmin, zipped, true); code != 200 {
		t.Fatalf("compressed from admin: %d %.300s", code, msg)
	}
	last := dnsA(t, n.DNSAddr(), "h59999.example.test.")
	if want := testutil.BigZoneAnswer(records - 1); last != want {
		t.Fatalf("the applied spec's last record answers %q, want %s", last, want)
	}

	_, none := startNodeWith(t, specText(t), testTokens(), func(c *node.Config) { c.MaxSpecUpload = -1 })
	if code, msg := sendUpload(t, none, "PUT", "/v1/spec", tokAdmin, zipped, true); code != 403 {
		t.Fatalf("a node taking no upload: %d %s, want 403", code, msg)
	}
}

// dnsA is the first A record addr answers for name, or "".
func dnsA(t *testing.T, addr, name string) string {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, dns.TypeA)
	r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(q, addr)
	if err != nil {
		t.Fatal(err)
	}
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			return a.A.String()
		}
	}
	return ""
}
