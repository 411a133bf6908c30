package spec

import (
	"errors"
	"slices"
	"testing"
)

func targetSpec() *Spec {
	return &Spec{
		Datacenters: []Datacenter{{Name: "us-east"}, {Name: "us-west"}, {Name: "both"}},
		Pools: []Pool{
			{Name: "web-east", Datacenter: "us-east", Endpoints: []Endpoint{{Address: "192.0.2.10"}, {Address: "192.0.2.11"}}},
			{Name: "both", Datacenter: "us-west", Endpoints: []Endpoint{{Address: "198.51.100.10"}}},
		},
		Records: []Record{
			{Name: "www.example.test.", Type: "A"},
			{Name: "api.example.test.", Type: "A"},
			{Name: "api.example.test.", Type: "AAAA"},
		},
	}
}

func TestResolveTarget(t *testing.T) {
	cases := []struct {
		name   string
		want   Target
		err    string // the error's text, "" for none
		is     []error
		detail func(*TargetError) bool
	}{
		{name: "us-east", want: Target{Kind: TargetDatacenter, Name: "us-east"}},
		{name: "web-east", want: Target{Kind: TargetPool, Name: "web-east"}},
		{name: "web-east/192.0.2.11", want: Target{Kind: TargetEndpoint, Name: "web-east/192.0.2.11", Pool: "web-east", Address: "192.0.2.11"}},
		{name: "web-east/10.9.9.9", err: "no datacenter, pool or endpoint by that name: pool web-east has no endpoint 10.9.9.9",
			is: []error{ErrNoTarget}, detail: func(e *TargetError) bool {
				return !e.NoPool && len(e.Endpoints) == 2 && e.Endpoints[1] == "192.0.2.11"
			}},
		{name: "nope/192.0.2.10", err: `no datacenter, pool or endpoint by that name: pool "nope"`,
			is: []error{ErrNoTarget}, detail: func(e *TargetError) bool { return e.NoPool }},
		{name: "both", err: `no datacenter, pool or endpoint by that name: "both" is both a datacenter and a pool; rename one`,
			is: []error{ErrNoTarget, ErrAmbiguousName}, detail: func(e *TargetError) bool { return e.Ambiguous }},
		{name: "mars", err: `no datacenter, pool or endpoint by that name: "mars" (datacenters: us-east, us-west, both; pools: web-east, both; endpoints: pool/address)`,
			is: []error{ErrNoTarget}},
		{name: "", err: `no datacenter, pool or endpoint by that name: "" (datacenters: us-east, us-west, both; pools: web-east, both; endpoints: pool/address)`,
			is: []error{ErrNoTarget}},
	}
	s := targetSpec()
	for _, c := range cases {
		got, err := s.ResolveTarget(c.name)
		if c.err == "" {
			if err != nil || got != c.want {
				t.Errorf("%q: %+v, %v; want %+v", c.name, got, err, c.want)
			}
			continue
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("%q: error %v, want %q", c.name, err, c.err)
			continue
		}
		for _, sentinel := range c.is {
			if !errors.Is(err, sentinel) {
				t.Errorf("%q: %v is not %v", c.name, err, sentinel)
			}
		}
		if errors.Is(err, ErrAmbiguousName) != slices.Contains(c.is, ErrAmbiguousName) {
			t.Errorf("%q: ambiguous = %v", c.name, errors.Is(err, ErrAmbiguousName))
		}
		te, ok := errors.AsType[*TargetError](err)
		if !ok || te.Name != c.name || (c.detail != nil && !c.detail(te)) {
			t.Errorf("%q: details %+v", c.name, te)
		}
	}
}

func TestFindRecord(t *testing.T) {
	cases := []struct {
		name, typ string
		want      string // "name type" found, "" for an error
		err       string
		ambiguous bool
	}{
		{name: "www.example.test.", want: "www.example.test. A"},
		{name: "WWW.Example.Test", want: "www.example.test. A"},
		{name: "www.example.test", typ: "a", want: "www.example.test. A"},
		{name: "api.example.test", typ: "AAAA", want: "api.example.test. AAAA"},
		{name: "api.example.test", ambiguous: true, err: "the name is ambiguous: api.example.test. has records of several types"},
		{name: "www.example.test", typ: "AAAA", err: "no health-driven record by that name: www.example.test. AAAA (records: www.example.test. A, api.example.test. A, api.example.test. AAAA)"},
		{name: "nope", err: "no health-driven record by that name: nope.  (records: www.example.test. A, api.example.test. A, api.example.test. AAAA)"},
	}
	s := targetSpec()
	for _, c := range cases {
		r, err := s.FindRecord(c.name, c.typ)
		if c.want != "" {
			if err != nil || r == nil || r.Name+" "+r.Type != c.want {
				t.Errorf("%s %s: %v, %v; want %s", c.name, c.typ, r, err, c.want)
			}
			continue
		}
		re, ok := errors.AsType[*RecordError](err)
		if r != nil || !ok || err.Error() != c.err || re.Ambiguous != c.ambiguous || len(re.Records) != 3 {
			t.Errorf("%s %s: %v, %v; want error %q", c.name, c.typ, r, err, c.err)
		}
		if errors.Is(err, ErrAmbiguousName) != c.ambiguous || errors.Is(err, ErrNoRecord) == c.ambiguous {
			t.Errorf("%s %s: %v wraps the wrong sentinel", c.name, c.typ, err)
		}
	}
}
