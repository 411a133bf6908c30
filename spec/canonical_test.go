package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// canonicalExamples are the specs the canonical form is checked on: the
// examples and the test specs of other packages, which between them use
// every part of a spec.
var canonicalExamples = []string{
	"../examples/contract/spec.yaml",
	"../examples/dev/spec.yaml",
	"../examples/geo/spec.yaml",
	"../examples/notify/spec.yaml",
	"../cmd/detour/testdata/check/valid.yaml",
	"../cmd/detour/testdata/check/lints.yaml",
	"../controller/machine/testdata/script/threedc.yaml",
	"../internal/api/testdata/spec.yaml",
}

// A spec read back from its canonical JSON is the spec a replica gets
// from parsing the text committed (Marshal's YAML): a replica restored
// from a snapshot holds what the others hold.
func TestCanonicalRoundTrip(t *testing.T) {
	for _, file := range canonicalExamples {
		t.Run(filepath.Base(filepath.Dir(file))+"/"+filepath.Base(file), func(t *testing.T) {
			s, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			y, err := s.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			fromText, err := Parse(y)
			if err != nil {
				t.Fatal(err)
			}
			j, err := fromText.CanonicalJSON()
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeCanonical(j)
			if err != nil {
				t.Fatal(err)
			}
			// The document alike (empty lists and maps are left out of
			// JSON, so nil and empty are alike too), and what Validate
			// compiled from it.
			if j2, _ := back.CanonicalJSON(); !bytes.Equal(j, j2) {
				t.Errorf("the spec read from its canonical JSON differs from the one parsed from its text:\n%s\n%s", j, j2)
			}
			if a, b := compiledZonesText(t, back), compiledZonesText(t, fromText); a != b {
				t.Errorf("the zones compiled from the canonical JSON differ from those compiled from the text:\n%s\n%s", a, b)
			}
			same, err := s.Same(back)
			if err != nil || !same {
				t.Errorf("Same(loaded, read back) = %v, %v", same, err)
			}
		})
	}
}

// Fingerprints tell specs apart by what they say, not how it is written.
func TestFingerprint(t *testing.T) {
	a, err := Load("../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y, _ := a.Marshal()
	b, err := Parse(y) // the same spec, written otherwise
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(bytes.Replace(y, []byte("ttl: 30\n"), []byte("ttl: 31\n"), 1))
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := a.Fingerprint()
	fb, _ := b.Fingerprint()
	fc, _ := c.Fingerprint()
	if fa != fb {
		t.Error("the same spec, written otherwise, has another fingerprint")
	}
	if fa == fc {
		t.Error("a spec with another TTL has the same fingerprint")
	}
	if same, _ := (*Spec)(nil).Same(nil); !same {
		t.Error("nil is not the same as nil")
	}
	if same, _ := a.Same(nil); same {
		t.Error("a spec is the same as nil")
	}
}

// DecodeCanonical refuses what is not a spec's canonical JSON, and a
// document naming local files.
func TestDecodeCanonicalRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"unknown field": `{"zones":[],"colour":"red"}`,
		"not JSON":      "zones: []",
		"local file":    `{"zones":[{"name":"example.test","file":"/etc/passwd"}],"datacenters":[{"name":"a"}]}`,
		"invalid":       `{"zones":[],"datacenters":[]}`,
	} {
		_, err := DecodeCanonical([]byte(doc))
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if name == "unknown field" || name == "not JSON" {
			if !errors.Is(err, ErrCanonical) {
				t.Errorf("%s: %v, want ErrCanonical", name, err)
			}
		} else if !errors.Is(err, ErrInvalid) || (name == "local file" && !strings.Contains(err.Error(), "file")) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

// compiledZonesText writes out what Validate compiled for s's zones.
func compiledZonesText(t *testing.T, s *Spec) string {
	t.Helper()
	var b strings.Builder
	for _, cz := range s.CompiledZones() {
		fmt.Fprintf(&b, "zone %s\n%s\n", cz.Name, cz.SOA)
		for _, rr := range cz.StaticRecords() {
			fmt.Fprintln(&b, rr)
		}
		for _, r := range cz.Dynamic {
			j, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "%s\n", j)
		}
		fmt.Fprintln(&b, cz.ttlMerged, len(cz.types.keys))
	}
	return b.String()
}

// The canonical JSON is YAML too (a spec's text in the log is YAML):
// Parse reads it into the same spec, so a node may commit it as a
// spec's text (the seed) and every version parses it.
func TestCanonicalJSONParses(t *testing.T) {
	for _, file := range canonicalExamples {
		s, err := Load(file)
		if err != nil {
			t.Fatal(err)
		}
		j, err := s.CanonicalJSON()
		if err != nil {
			t.Fatal(err)
		}
		p, err := Parse(j)
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if j2, _ := p.CanonicalJSON(); !bytes.Equal(j, j2) {
			t.Errorf("%s: parsed from its canonical JSON as YAML, the spec differs:\n%s\n%s", file, j, j2)
		}
		if a, b := compiledZonesText(t, s), compiledZonesText(t, p); a != b {
			t.Errorf("%s: the zones compiled differ:\n%s\n%s", file, a, b)
		}
	}
}
