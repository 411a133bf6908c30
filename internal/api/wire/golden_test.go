package wire_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/internal/api/wire/wiretest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// bodies are every body the API sends or receives. Each is checked
// twice against testdata: with every field set (every JSON name shows)
// and as its zero value (what is omitted when empty, what is null).
var bodies = []any{
	// replies
	wire.Error{}, wire.RefusalError{}, wire.Done{}, wire.Health{}, wire.Ready{},
	wire.Status{}, wire.RecordsResponse{},
	wire.OverridesResponse{}, wire.OverrideResult{},
	wire.IncidentsResponse{}, wire.IncidentResult{},
	wire.EventsResponse{}, wire.Event{},
	wire.MembersResponse{},
	wire.SpecResponse{}, wire.SpecDiff{},
	wire.DrillResult{}, wire.Impact{}, wire.PlanResponse{}, wire.Explain{}, wire.GeoIPStatus{},
	// requests
	wire.DrainRequest{}, wire.PinRequest{}, wire.IncidentRequest{},
	wire.SpecRequest{}, wire.DrillRequest{}, wire.AddMember{},
}

// encode writes v as the server does: indented by two spaces, with a
// final newline.
func encode(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the JSON of %s changed: this changes the API's contract (docs/api.md); if meant, rewrite with go test -update and say so in the change\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// Every body's JSON, filled and zero, is as in testdata: a change to a
// JSON name, to omitempty or to a field's type shows here and in review.
func TestGoldenJSON(t *testing.T) {
	for _, b := range bodies {
		typ := reflect.TypeOf(b)
		t.Run(typ.Name(), func(t *testing.T) {
			full := reflect.New(typ)
			wiretest.Fill(full.Interface())
			golden(t, typ.Name()+".json", encode(t, full.Interface()))
			golden(t, typ.Name()+".zero.json", encode(t, b))

			// What a client decodes is what was sent.
			back := reflect.New(typ)
			if err := json.Unmarshal(encode(t, full.Interface()), back.Interface()); err != nil {
				t.Fatal(err)
			}
			if again := encode(t, back.Interface()); !bytes.Equal(again, encode(t, full.Interface())) {
				t.Errorf("%s does not survive a round trip:\n%s", typ.Name(), again)
			}
		})
	}
}

// The files in testdata are the bodies' and no others: a body dropped
// from the list above leaves its file behind.
func TestGoldenFilesCovered(t *testing.T) {
	want := map[string]bool{}
	for _, b := range bodies {
		n := reflect.TypeOf(b).Name()
		want[n+".json"], want[n+".zero.json"] = true, true
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !want[filepath.Base(f)] {
			t.Errorf("%s is no body's golden file: remove it", f)
		}
	}
}

// A plan's change reads as the CLI prints it.
func TestChangeString(t *testing.T) {
	a := &wire.RRset{Name: "www.example.test.", Type: "A", TTL: 60, Values: []string{"192.0.2.10", "192.0.2.11"}}
	b := &wire.RRset{Name: "www.example.test.", Type: "A", TTL: 60, Values: []string{"198.51.100.10"}, Proxied: true}
	for _, tc := range []struct {
		c    wire.Change
		want string
	}{
		{wire.Change{New: a}, "create www.example.test. A 60 192.0.2.10,192.0.2.11"},
		{wire.Change{Old: a}, "delete www.example.test. A 60 192.0.2.10,192.0.2.11"},
		{wire.Change{Old: a, New: b}, "update www.example.test. A 60 192.0.2.10,192.0.2.11 -> www.example.test. A 60 198.51.100.10 proxied"},
		{wire.Change{}, "nothing"},
	} {
		if got := tc.c.String(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.c, got, tc.want)
		}
	}
}
