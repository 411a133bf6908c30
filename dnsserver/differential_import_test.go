package dnsserver_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/specimport"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// TestDifferentialImportedSpec round-trips the differential test's zone
// files through `detour spec import` (package specimport): detour
// serving the imported spec must answer the generated queries as Knot
// serving the original files does, with the same allowances as
// TestDifferentialWithKnot.
func TestDifferentialImportedSpec(t *testing.T) {
	explicit, relying := diffZones()
	files := []struct{ origin, text string }{
		{diffExplicit, "$ORIGIN " + diffExplicit + "\n" + explicit},
		{diffRelying, "$ORIGIN " + diffRelying + "\n$TTL " + strconv.Itoa(diffTTLRelying) + "\n" + relying},
	}
	knotZones := map[string]string{}
	var imported []*specimport.Zone
	var zones []zoneNames
	for _, f := range files {
		knotZones[f.origin] = f.text
		z, err := specimport.ParseZoneFile(strings.NewReader(f.text), f.origin, f.origin+"zone")
		if err != nil {
			t.Fatal(err)
		}
		imported = append(imported, z)
		zn, err := classify(f.origin, f.text)
		if err != nil {
			t.Fatal(err)
		}
		zones = append(zones, zn)
	}
	y, err := specimport.Render(imported)
	if err != nil {
		t.Fatalf("%v\n%s", err, y)
	}
	if strings.Contains(string(y), "$TTL") || !strings.Contains(string(y), "; detour: www answers 2 A records together") {
		t.Errorf("imported spec lacks stated TTLs or the failover hint:\n%s", y)
	}
	knot := testutil.StartKnotWith(t, testutil.KnotOptions{NSID: diffNSID}, knotZones)
	detour := startDiffDetour(t, string(y))
	g := newGenerator(diffSeedValue(t), zones)
	shapes := make([]shape, min(*diffN, 1500))
	for i := range shapes {
		shapes[i] = g.shape()
	}
	report(t, runShapes(shapes, knot, detour))
}
