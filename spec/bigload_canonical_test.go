package spec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestAppendJSONString: strings of every byte, invalid UTF-8, HTML
// characters and line separators encode as encoding/json encodes them.
func TestAppendJSONString(t *testing.T) {
	cases := []string{"", "plain", "<a href=\"x\">&amp;</a>", "\u2028\u2029", "caf\xc3\xa9", "\xff\xfe", "\xe2\x80", "tab\there\r\n\b\f\x00\x1f\x7f", "\\"}
	for b := range 256 {
		cases = append(cases, string([]byte{byte(b)}), "x"+string([]byte{byte(b)})+"y")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		var sb strings.Builder
		for range r.IntN(40) {
			switch r.IntN(4) {
			case 0:
				sb.WriteByte(byte(r.IntN(256)))
			case 1:
				sb.WriteRune(rune(r.IntN(0x10ffff)))
			default:
				sb.WriteByte(byte(' ' + r.IntN(95)))
			}
		}
		cases = append(cases, sb.String())
	}
	for _, s := range cases {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendJSONString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s, want %s", s, got, want)
		}
		if n := jsonStringLen(s); n != len(want) {
			t.Fatalf("%q: length %d, want %d", s, n, len(want))
		}
	}
}

// TestCanonicalJSONOfBigZones: the canonical JSON of a spec whose zone
// texts are big (written into a buffer of their own) is json.Marshal's.
func TestCanonicalJSONOfBigZones(t *testing.T) {
	var z strings.Builder
	z.WriteString("$ORIGIN big.test.\n$TTL 3600\n@ IN SOA ns1 h 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 127.0.0.1\nt IN TXT \"<&> caf\xc3\xa9 \\\"q\\\"\"\n")
	for i := range 5000 {
		fmt.Fprintf(&z, "h%d IN A 10.0.%d.%d\n", i, i/256, i%256)
	}
	small := "@ IN NS ns1\nns1 IN A 127.0.0.1\n"
	text := "zones:\n  - name: big.test\n    static: |\n      " + strings.ReplaceAll(strings.TrimSpace(z.String()), "\n", "\n      ") +
		"\n  - name: small.test\n    soa: {mname: ns1.small.test., rname: h.small.test.}\n    static: |\n      " + strings.ReplaceAll(strings.TrimSpace(small), "\n", "\n      ") +
		"\n  - name: two.test\n    static: |\n      " + strings.ReplaceAll(strings.TrimSpace(strings.ReplaceAll(z.String(), "big.test.", "two.test.")), "\n", "\n      ") + "\n"
	s, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Zones[0].Static) < bigStaticJSON || len(s.Zones[2].Static) < bigStaticJSON {
		t.Fatalf("zone texts of %d and %d bytes: the test wants them past %d", len(s.Zones[0].Static), len(s.Zones[2].Static), bigStaticJSON)
	}
	got, err := s.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(s.canonical())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("canonical JSON differs from json.Marshal's (%d and %d bytes)", len(got), len(want))
	}
	if s.Zones[0].Static == "" || strings.Contains(s.Zones[0].Static, "static of zone") {
		t.Fatal("the spec's own zone text changed")
	}
}
