package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/internal/api/wire/wiretest"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
)

// conversion is one conversion of wire_convert.go: from a type of the
// replicated state (or of providers, spec) to the API's.
type conversion struct {
	from, to reflect.Type
	conv     func(any) any // takes a *from, returns a to
	// internal are from's fields the API does not carry.
	internal []string
}

func convOf[F, W any](conv func(F) W, internal ...string) conversion {
	return conversion{from: reflect.TypeFor[F](), to: reflect.TypeFor[W](), internal: internal,
		conv: func(v any) any { return conv(*v.(*F)) }}
}

// conversions lists every conversion; a type the API starts to send
// belongs here too.
var conversions = []conversion{
	convOf(wireOverride),
	convOf(wireIncident),
	convOf(wireIncidentUpdate),
	convOf(wireServiceNote),
	convOf(wireEvent),
	convOf(wireMember),
	convOf(wireQuorum),
	convOf(wireMinority),
	// Drop is a command's word; the state keeps Dropped and LastDropped.
	convOf(wireCursor, "Drop"),
	convOf(wireProviderSync),
	convOf(wireDecision, "TTL", "Groups"), // the answer groups are what DNS serves, not the API
	convOf(wireGeoAnswer, "Groups"),
	convOf(wirePlan),
	convOf(wireChange),
	convOf(func(r providers.RRset) wire.RRset { return *wireRRset(&r) }),
	convOf(wireProblem),
}

// Each conversion copies every field: a value with every field set to a
// value of its own encodes to the same JSON, byte for byte, as the type
// it came from (its internal fields left out). So the API's JSON is what
// it was when it encoded the replicated types themselves.
func TestConversionsCopyEveryField(t *testing.T) {
	for _, c := range conversions {
		t.Run(c.from.String(), func(t *testing.T) {
			from := reflect.New(c.from)
			wiretest.Fill(from.Interface())
			for _, f := range c.internal {
				fv := from.Elem().FieldByName(f)
				fv.Set(reflect.Zero(fv.Type()))
			}
			want, err := json.Marshal(from.Interface())
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.Marshal(c.conv(from.Interface()))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s converts to JSON other than its own:\n got  %s\n want %s", c.from, got, want)
			}
		})
	}
}

// Every exported field of a replicated type has its counterpart in the
// API's type, of the same JSON name, unless listed as internal; and the
// API's type has no field without one. A field added to the replicated
// state fails here until it is either carried (wire type, conversion,
// docs/api.md) or listed as internal: it neither goes missing from the
// API nor leaks into it unseen.
func TestConversionsCoverEveryField(t *testing.T) {
	for _, c := range conversions {
		t.Run(c.from.String(), func(t *testing.T) {
			from, to := jsonFields(c.from), jsonFields(c.to)
			for name, key := range from {
				switch wkey, ok := to[name]; {
				case slices.Contains(c.internal, name) && ok:
					t.Errorf("%s.%s is internal, but %s carries it", c.from, name, c.to)
				case slices.Contains(c.internal, name):
				case !ok:
					t.Errorf("%s.%s (%q) has no counterpart in %s: carry it (the wire type, its conversion, docs/api.md) or list it as internal", c.from, name, key, c.to)
				case wkey != key:
					t.Errorf("%s.%s is %q in JSON, %s's counterpart %q", c.from, name, key, c.to, wkey)
				}
			}
			for name := range to {
				if _, ok := from[name]; !ok {
					t.Errorf("%s.%s has no source in %s", c.to, name, c.from)
				}
			}
			for _, name := range c.internal {
				if _, ok := from[name]; !ok {
					t.Errorf("internal field %s.%s does not exist", c.from, name)
				}
			}
		})
	}
}

// jsonFields maps a struct's exported fields, embedded structs
// flattened, to their JSON tags (name and options; the field's name
// when untagged).
func jsonFields(t reflect.Type) map[string]string {
	out := map[string]string{}
	for i := range t.NumField() {
		f := t.Field(i)
		switch {
		case !f.IsExported():
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
		default:
			tag := f.Tag.Get("json")
			if tag == "" || strings.HasPrefix(tag, ",") {
				tag = f.Name + tag
			}
			out[f.Name] = tag
		}
	}
	return out
}

// Slices keep their nil-ness through a conversion: the JSON tells null
// from [].
func TestConvertSliceKeepsNil(t *testing.T) {
	if got := convertSlice([]controller.Event(nil), wireEvent); got != nil {
		t.Errorf("nil became %#v", got)
	}
	if got := convertSlice([]spec.Problem{}, wireProblem); got == nil || len(got) != 0 {
		t.Errorf("empty became %#v", got)
	}
	if got := wireOverrides(nil); got == nil {
		t.Error("wireOverrides(nil) is nil: the overrides would encode as null, not []")
	}
	if got := wireMembers(nil); got == nil {
		t.Error("wireMembers(nil) is nil: the members would encode as null, not []")
	}
}
