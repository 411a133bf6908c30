package controller

import (
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil/fixture"
	"github.com/seed3787e6f1/detour/policy"
	"github.com/seed3787e6f1/detour/spec"
)

// policySpec is the decision core's shared table spec (fixture.PolicySpec).
func policySpec() *spec.Spec { return fixture.PolicySpec() }

// decisionOf evaluates s under h and pins and returns the decision for
// record name.
func decisionOf(t *testing.T, s *spec.Spec, h Health, pins map[string]*Override, name string) Decision {
	t.Helper()
	for _, d := range EvaluatePinned(s, h, pins) {
		if d.Name == name {
			return d
		}
	}
	t.Fatalf("no decision for %s", name)
	return Decision{}
}

// variantRRs renders a dynamic answer's variants as "weight | rr | rr"
// lines.
func variantRRs(da dnsserver.DynamicAnswer) []string {
	var out []string
	for _, v := range da.Variants {
		var rrs []string
		for _, rr := range v.RRs {
			rrs = append(rrs, strings.ReplaceAll(rr.String(), "\t", " "))
		}
		out = append(out, strings.Join(append([]string{strconv.Itoa(int(v.Weight))}, rrs...), " | "))
	}
	return out
}

// TestDynamicAnswersTable checks the conversion of decisions to the DNS
// server's answers: every answer group becomes a variant of records with
// the record's name, type and TTL.
func TestDynamicAnswersTable(t *testing.T) {
	down := policy.EndpointHealth{Known: true, Up: false}
	type health map[string]policy.EndpointHealth
	cases := []struct {
		name   string
		record string
		health health
		want   []string
	}{
		{"failover A", "fo.example.", nil, []string{"1 | fo.example. 30 IN A 192.0.2.10 | fo.example. 30 IN A 192.0.2.11"}},
		{"fallback A", "fb.example.", health{"east/192.0.2.10": down, "east/192.0.2.11": down, "west/198.51.100.10": down, "west/198.51.100.11": down},
			[]string{"1 | fb.example. 30 IN A 192.0.2.99"}},
		{"no data", "nd.example.", health{"east/192.0.2.10": down, "east/192.0.2.11": down, "west/198.51.100.10": down, "west/198.51.100.11": down}, nil},
		{"weighted A", "w.example.", nil, []string{"3 | w.example. 30 IN A 192.0.2.10 | w.example. 30 IN A 192.0.2.11",
			"1 | w.example. 30 IN A 198.51.100.10 | w.example. 30 IN A 198.51.100.11"}},
		{"weighted CNAME", "wcn.example.", nil, []string{"2 | wcn.example. 60 IN CNAME east.example.net.", "1 | wcn.example. 60 IN CNAME west.example.net."}},
		{"AAAA", "v6.example.", health{"east6/2001:db8::10": down}, []string{"1 | v6.example. 60 IN AAAA 2001:db8::11"}},
		{"AAAA fallback", "v6.example.", health{"east6/2001:db8::10": down, "east6/2001:db8::11": down, "west6/2001:db8:1::10": down},
			[]string{"1 | v6.example. 60 IN AAAA 2001:db8::99"}},
		{"CNAME", "cn.example.", nil, []string{"1 | cn.example. 60 IN CNAME east.example.net."}},
	}
	s := policySpec()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := decisionOf(t, s, localHealth(tc.health), nil, tc.record)
			das := DynamicAnswers([]Decision{d})
			if len(das) != 1 || das[0].Name != d.Name || dns.TypeToString[das[0].Type] != d.Type {
				t.Fatalf("dynamic answers %v for %s %s", das, d.Name, d.Type)
			}
			if got := variantRRs(das[0]); !slices.Equal(got, tc.want) {
				t.Errorf("variants:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestPinsReachThePolicy checks that pin overrides become the policy's
// pins, author and reason included.
func TestPinsReachThePolicy(t *testing.T) {
	pins := map[string]*Override{"fo.example./A": {Kind: OverridePin, Record: "fo.example.", Type: "A", Pool: "west", Author: "alice", Reason: "migration"}}
	d := decisionOf(t, policySpec(), AllUp{}, pins, "fo.example.")
	if d.Pool != "west" || d.Reason != "pinned to pool west by alice: migration" {
		t.Fatalf("pinned decision = pool %q reason %q", d.Pool, d.Reason)
	}
}

// TestRecordsSkipsUnparsableAddresses covers the guard in records: an
// address that does not parse (validation keeps them out) yields no RR.
func TestRecordsSkipsUnparsableAddresses(t *testing.T) {
	r := &spec.Record{Name: "x.example.", Type: "A", TTL: 5}
	if got := records(Decision{Name: r.Name, Type: r.Type, TTL: r.TTL}, policy.AnswerGroup{Answers: []string{"not-an-ip", "192.0.2.1"}}); len(got) != 1 {
		t.Fatalf("records = %v, want only 192.0.2.1", got)
	}
	r.Type = "TXT" // not a health-driven type: nothing
	if got := records(Decision{Name: r.Name, Type: "TXT"}, policy.AnswerGroup{Answers: []string{"192.0.2.1"}}); len(got) != 0 {
		t.Fatalf("records of a TXT record = %v, want none", got)
	}
}

func TestDynamicAnswersCarryTypeAndVariants(t *testing.T) {
	ds := Evaluate(policySpec(), AllUp{})
	das := DynamicAnswers(ds)
	if len(das) != len(ds) {
		t.Fatalf("%d dynamic answers for %d decisions", len(das), len(ds))
	}
	for i, da := range das {
		if da.Name != ds[i].Name || dns.TypeToString[da.Type] != ds[i].Type || len(da.Variants) != len(ds[i].Groups) {
			t.Errorf("answer %d = %s %s (%d variants), want %s %s (%d)", i, da.Name, dns.TypeToString[da.Type],
				len(da.Variants), ds[i].Name, ds[i].Type, len(ds[i].Groups))
		}
	}
}
