package spec

import (
	"errors"
	"strings"
	"testing"
)

// checkDoc is a valid spec around one check given as YAML mapping lines
// (indented by four spaces), used by a pool with one endpoint.
func checkDoc(check string) string {
	return `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters:
  - name: dc1
checks:
  - name: c
` + check + `
pools:
  - name: p
    datacenter: dc1
    check: c
    endpoints:
      - {address: 192.0.2.10, check_address: "127.0.0.1:8080"}
`
}

func TestCheckValidation(t *testing.T) {
	cases := []struct {
		name  string
		check string
		path  string // of the expected problem; "" means valid
		msg   string // substring of its message
	}{
		{"http defaults", "    type: http", "", ""},
		{"unknown type", "    type: ping", "checks[0].type", `"ping" is not known (types: http, https, tcp, dns, tls, heartbeat)`},
		{"missing type", "    interval: 1s", "checks[0].type", "is required"},
		{"negative interval", "    type: http\n    interval: -1s", "checks[0].interval", "-1s is negative"},
		{"interval too short", "    type: http\n    interval: 10ms", "checks[0].interval", "below the minimum of 100ms"},
		{"timeout not below interval", "    type: http\n    interval: 1s\n    timeout: 1s", "checks[0].timeout", "must be below the interval"},
		{"bad regex", "    type: http\n    expect_body_regex: \"ok(\"", "checks[0].expect_body_regex", "missing closing )"},
		{"heartbeat without max_age", "    type: heartbeat", "checks[0].max_age", "is required for a heartbeat check"},
		{"heartbeat", "    type: heartbeat\n    max_age: 10m", "", ""},
		{"rise out of range", "    type: tcp\n    rise: 101", "checks[0].rise", "out of range 1-100"},
		{"bad method", "    type: http\n    method: \"GET /\"", "checks[0].method", "GET or HEAD only"},
		{"put to a metadata service", "    type: http\n    method: put", "checks[0].method", `"PUT": a check may use GET or HEAD only`},
		{"post", "    type: https\n    method: POST", "checks[0].method", "GET or HEAD only"},
		{"head", "    type: http\n    method: head", "", ""},
		{"bad header name", "    type: http\n    headers: {\"X Bad\": v}", "checks[0].headers", `"X Bad" is not a valid header name`},
		{"header value with line break", "    type: http\n    headers: {X-Ok: \"a\\r\\nEvil: 1\"}", "checks[0].headers", "line break"},
		{"body check on tcp", "    type: tcp\n    expect_body: ok", "checks[0].expect_body", "does not apply to a tcp check (only to http, https)"},
		{"max_age on http", "    type: http\n    max_age: 1m", "checks[0].max_age", "does not apply to a http check"},
		{"port on heartbeat", "    type: heartbeat\n    max_age: 1m\n    port: 80", "checks[0].port", "does not apply to a heartbeat check"},
		{"sni on http", "    type: http\n    sni: app.example.test", "checks[0].sni", "only to https, tls"},
		{"min_days on https", "    type: https\n    min_days: 14", "", ""},
		{"ca_file with insecure", "    type: https\n    ca_file: /etc/ca.pem\n    insecure_skip_verify: true", "checks[0].insecure_skip_verify", "ca_file would not be used"},
		{"headers_env", "    type: http\n    headers_env: {Authorization: DETOUR_CHECK_AUTH}", "", ""},
		{"headers_env bad variable", "    type: http\n    headers_env: {Authorization: \"A-B\"}", "checks[0].headers_env", "not an environment variable name"},
		{"headers_env bad header", "    type: http\n    headers_env: {\"X Bad\": DETOUR_X}", "checks[0].headers_env", "not a valid header name"},
		{"headers_env and headers", "    type: http\n    headers: {authorization: x}\n    headers_env: {Authorization: DETOUR_X}", "checks[0].headers_env", "also set in headers"},
		{"headers_env on tcp", "    type: tcp\n    headers_env: {Authorization: DETOUR_X}", "checks[0].headers_env", "does not apply to a tcp check"},
		{"ca_pem on http", "    type: http\n    ca_pem: x", "checks[0].ca_pem", "only to https, tls"},
		{"dns without query_name", "    type: dns", "checks[0].query_name", "is required"},
		{"dns bad rcode", "    type: dns\n    query_name: www.example.test\n    expect_rcode: FINE", "checks[0].expect_rcode", "not an rcode"},
		{"dns", "    type: dns\n    query_name: www.example.test\n    expect_answer: 192.0.2.10", "", ""},
		{"tls negative min_days", "    type: tls\n    min_days: -1", "checks[0].min_days", "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, err := Parse([]byte(checkDoc(c.check)))
			if c.path == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				if s.Checks[0].Interval.D() != DefaultInterval || s.Checks[0].Rise != DefaultRise {
					t.Errorf("defaults not filled: %+v", s.Checks[0])
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("want a spec *Error, got %v", err)
			}
			for _, p := range se.Problems {
				if p.Path == c.path && strings.Contains(p.Message, c.msg) {
					return
				}
			}
			t.Errorf("no problem at %s containing %q in:\n%v", c.path, c.msg, err)
		})
	}
}

// Defaults filled by Validate must validate again: a spec goes through
// Validate on every node that applies it.
func TestCheckDefaultsRevalidate(t *testing.T) {
	for _, typ := range []string{"http", "https", "tcp", "tls", "heartbeat\n    max_age: 1m", "dns\n    query_name: www.example.test"} {
		s, err := Parse([]byte(checkDoc("    type: " + typ)))
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		out, err := s.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(out); err != nil {
			t.Errorf("%s: defaults do not validate again: %v\n%s", typ, err, out)
		}
	}
}
