package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/spec"
)

// generateSpec is the test spec with lines $GENERATE lines of 65,535
// records each in its zone's static records: a body of a few hundred
// bytes that parses into lines*65,535 records.
func generateSpec(t *testing.T, lines int) string {
	t.Helper()
	var gen strings.Builder
	for i := range lines {
		fmt.Fprintf(&gen, "      $GENERATE 1-65535 h%d-$ A 192.0.2.1\n", i)
	}
	s := specText(t)
	out := strings.Replace(s, "      ns1 IN A 127.0.0.1\n", "      ns1 IN A 127.0.0.1\n"+gen.String(), 1)
	if out == s {
		t.Fatal("testdata/spec.yaml has no static records to extend")
	}
	return out
}

// reply is one answer to a concurrent request.
type reply struct {
	code       int
	retryAfter string
	at         time.Time
}

// TestSpecParsesOneAtATime replays the read-token flood of issue 11: four
// concurrent diffs of a spec whose $GENERATE lines expand to 65,535
// records. One is parsed; the others wait SpecWait and are answered 429
// with Retry-After while it still runs, so the node holds one parse.
func TestSpecParsesOneAtATime(t *testing.T) {
	_, base := startNodeWith(t, specText(t), testTokens(), func(c *node.Config) {
		c.APISpecWait = spec.Duration(100 * time.Millisecond)
	})
	body := map[string]string{"yaml": generateSpec(t, 1)}
	data, _ := json.Marshal(body)
	const n = 4
	replies := make([]reply, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, err := http.NewRequest("POST", base+"/v1/spec/diff", strings.NewReader(string(data)))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Authorization", "Bearer "+tokRead)
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 120 * time.Second}).Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			replies[i] = reply{code: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), at: time.Now()}
		})
	}
	wg.Wait()
	var parsed []reply
	var busy []reply
	for _, r := range replies {
		switch r.code {
		case http.StatusOK:
			parsed = append(parsed, r)
		case http.StatusTooManyRequests:
			busy = append(busy, r)
			if r.retryAfter == "" {
				t.Error("a 429 without Retry-After")
			}
		default:
			t.Errorf("reply %d, want 200 or 429", r.code)
		}
	}
	if len(parsed) != 1 || len(busy) != n-1 {
		t.Fatalf("%d parsed, %d refused: want 1 parsed and %d refused while it ran", len(parsed), len(busy), n-1)
	}
	for _, b := range busy {
		if !b.at.Before(parsed[0].at) {
			t.Error("a request was refused only after the parse in progress ended")
		}
	}
	code, metrics := call(t, base, "GET", "/metrics", tokRead, nil)
	if code != 200 || !strings.Contains(string(metrics), fmt.Sprintf("detour_api_spec_busy_total %d", n-1)) {
		t.Errorf("metrics do not count %d busy refusals:\n%s", n-1, grepLines(string(metrics), "spec_busy"))
	}
	// The slot is free again: the next diff is parsed.
	if code, b := call(t, base, "POST", "/v1/spec/diff", tokRead, map[string]string{"yaml": specText(t)}); code != 200 {
		t.Errorf("diff after the flood: %d %s", code, b)
	}
}

// TestInvalidSpecReplyBounded sends a spec with thousands of problems: the
// reply lists the first api.MaxProblems and counts the rest, instead of
// megabytes of problems.
func TestInvalidSpecReplyBounded(t *testing.T) {
	_, base := startNode(t, specText(t), testTokens())
	var b strings.Builder
	b.WriteString(specText(t))
	for i := range 5000 {
		fmt.Fprintf(&b, "  - {name: r%d.example.test, type: BOGUS, pools: [nowhere-%d]}\n", i, i)
	}
	code, body := call(t, base, "POST", "/v1/spec/diff", tokRead, map[string]string{"yaml": b.String()})
	if code != http.StatusBadRequest {
		t.Fatalf("invalid spec: %d %.300s", code, body)
	}
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	if len(e.Problems) != api.MaxProblems || !strings.Contains(e.Error, "more are not") {
		t.Errorf("%d problems listed (want %d), error %q", len(e.Problems), api.MaxProblems, e.Error)
	}
	if len(body) > 100<<10 {
		t.Errorf("the reply to a %d-byte spec is %d bytes", b.Len(), len(body))
	}
	t.Logf("spec of %d bytes: reply of %d bytes, %s", b.Len(), len(body), e.Error)
}

func grepLines(s, word string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
