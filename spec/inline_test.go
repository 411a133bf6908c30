package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestInlinedIsParseOfMarshal: a spec loaded from files, inlined, is
// what Parse makes of its Marshal: the same document and the same
// compiled zones, so that a replica may use it for the replicated text.
func TestInlinedIsParseOfMarshal(t *testing.T) {
	dir := t.TempDir()
	zone := "$TTL 300\nwww IN A 192.0.2.1\nwww IN A 192.0.2.1\nmail IN MX 10 www\nt IN TXT \"a b\" \"c\"\n"
	if err := os.WriteFile(filepath.Join(dir, "z.zone"), []byte(zone), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "zones:\n  - name: example.test\n    soa: {mname: ns1.example.test., rname: h.example.test.}\n" +
		"    nameservers: [ns1.example.test.]\n    ttl: 600\n    static: |\n      ns1 IN A 127.0.0.1\n      $TTL 60\n      a IN A 192.0.2.9\n    file: z.zone\n" +
		"  - name: other.test\n    soa: {mname: ns1.example.test., rname: h.example.test.}\n    nameservers: [ns1.example.test.]\n    file: z.zone\n" +
		"datacenters: [{name: a}, {name: b}, {name: c}]\n"
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, "spec.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	y, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := Parse(y)
	if err != nil {
		t.Fatal(err)
	}
	in := s.Inlined()
	y2, err := in.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(y) != string(y2) {
		t.Errorf("the inlined spec marshals otherwise:\n%s\nwant\n%s", y2, y)
	}
	if s.Zones[0].File == "" || s.Zones[0].FileText == "" {
		t.Error("Inlined changed the spec it was given")
	}
	cp, ci := parsed.compiled, in.compiled
	parsed.compiled, in.compiled = nil, nil
	// As JSON: an empty list and none are the same document.
	if a, b := mustJSON(t, in), mustJSON(t, parsed); a != b {
		t.Errorf("inlined spec\n%s\nwant\n%s", a, b)
	}
	for name, c := range cp {
		if compiledText(&Spec{Zones: []Zone{{Name: name}}, compiled: map[string]*CompiledZone{name: c}}) !=
			compiledText(&Spec{Zones: []Zone{{Name: name}}, compiled: map[string]*CompiledZone{name: ci[name]}}) {
			t.Errorf("zone %s compiles otherwise from the inlined text", name)
		}
	}
	parsed.compiled, in.compiled = cp, ci
	for _, z := range parsed.Zones {
		if !parsed.SameZone(in, z.Name) {
			t.Errorf("zone %s: SameZone false between the parsed and the inlined spec", z.Name)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
