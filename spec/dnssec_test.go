package spec

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const dnssecZone = `
zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
    static: |
      ns1 IN A 127.0.0.1
    dnssec: %s
datacenters: [{name: a}, {name: b}, {name: c}]
`

func TestDNSSECSettings(t *testing.T) {
	s, err := Parse([]byte(strings.Replace(dnssecZone, "%s", "{enabled: true}", 1)))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Zones[0].DNSSEC
	if !d.On() || d.Algorithm != AlgECDSAP256SHA256 || d.NSEC != NSECCompact || d.Validity.D() != 14*24*time.Hour ||
		d.Refresh.D() != 7*24*time.Hour || d.Backdate.D() != time.Hour || d.DNSKEYTTL != 3600 || d.Keys != KeysCSK {
		t.Errorf("defaults: %+v", d)
	}
	// The settings travel with the spec (through the Raft log) intact.
	text, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	if *back.Zones[0].DNSSEC != *d || !back.SameZone(s, "example.test.") {
		t.Errorf("round trip: %+v, want %+v", back.Zones[0].DNSSEC, d)
	}
	// Turning DNSSEC on changes the zone (its serial moves).
	plain, err := Parse([]byte(strings.Replace(dnssecZone, "dnssec: %s", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if plain.SameZone(s, "example.test.") || plain.Zones[0].DNSSEC.On() {
		t.Error("a zone signed and the same zone unsigned are the same zone")
	}
	split, err := Parse([]byte(strings.Replace(dnssecZone, "%s", "{enabled: true, keys: split}", 1)))
	if err != nil || split.Zones[0].DNSSEC.Keys != KeysSplit {
		t.Errorf("keys: split: %v", err)
	}
	for _, bad := range []struct{ yaml, path string }{
		{"{enabled: true, algorithm: rsasha256}", "zones[0].dnssec.algorithm"},
		{"{enabled: true, nsec: nsec3}", "zones[0].dnssec.nsec"},
		{"{enabled: true, validity: 1h}", "zones[0].dnssec.validity"},
		{"{enabled: true, refresh: 200h}", "zones[0].dnssec.refresh"},
		{"{enabled: true, inception_backdate: 48h}", "zones[0].dnssec.inception_backdate"},
		{"{enabled: true, dnskey_ttl: 100000}", "zones[0].dnssec.dnskey_ttl"},
		{"{enabled: true, keys: ksk}", "zones[0].dnssec.keys"},
	} {
		_, err := Parse([]byte(strings.Replace(dnssecZone, "%s", bad.yaml, 1)))
		var se *Error
		if err == nil || (errors.As(err, &se) && !strings.Contains(err.Error(), bad.path)) {
			t.Errorf("%s: %v, want a problem at %s", bad.yaml, err, bad.path)
		}
	}
}
