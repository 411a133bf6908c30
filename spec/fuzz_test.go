package spec

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds Parse arbitrary documents: it never panics, and any
// spec it accepts survives a round trip through Marshal unchanged, since
// every replica re-parses the marshalled spec from the Raft log.
//
//	go test ./spec -run '^$' -fuzz FuzzParse -fuzztime 60s -fuzzminimizetime 2s
//
// (Validate ranges over maps, so coverage varies from run to run and the
// fuzzer keeps finding "new" inputs; the default minute of minimizing
// each one leaves little time for fuzzing.)
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("../examples/*/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no examples: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		if s, err := Load(file); err == nil {
			if y, err := s.Marshal(); err == nil {
				f.Add(y)
			}
		}
	}
	f.Add([]byte(base))
	// No $GENERATE seed: mutated ranges make tens of thousands of records
	// per input (within MaxStaticRecords), and the fuzzer then spends its
	// time there.
	f.Add([]byte(withZone("      www IN TXT \"a\\\"b\"\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		s1, err := Parse(data)
		if err != nil {
			return
		}
		y1, err := s1.Marshal()
		if err != nil {
			t.Fatalf("a parsed spec does not marshal: %v", err)
		}
		s2, err := Parse(y1)
		if err != nil {
			t.Fatalf("the marshalled spec does not parse: %v\n%s", err, y1)
		}
		y2, err := s2.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		// Marshal writes every field (an empty list and a missing one
		// alike), so equal documents are equal specs.
		if !bytes.Equal(y1, y2) {
			t.Fatalf("Marshal(Parse(Marshal(s))) differs:\n%s\n---\n%s", y1, y2)
		}
		if a, b := compiledText(s1), compiledText(s2); a != b {
			t.Fatalf("the compiled zones differ:\n%s\n---\n%s", a, b)
		}
	})
}

// compiledText is the spec's compiled zones as text.
func compiledText(s *Spec) string {
	var b strings.Builder
	for _, z := range s.CompiledZones() {
		b.WriteString(z.Name + " " + z.SOA.String() + "\n")
		for _, rr := range z.StaticRecords() {
			b.WriteString(rr.String() + "\n")
		}
		for _, r := range z.Dynamic {
			b.WriteString(r.Name + " " + r.Type + "\n")
		}
	}
	return b.String()
}
