package dnssec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSplitKeyRoles(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ksk, err := Generate("example.test", "ecdsap256sha256", 3600, now)
	if err != nil {
		t.Fatal(err)
	}
	zsk, err := GenerateZSK("example.test", "ecdsap256sha256", 3600, now)
	if err != nil {
		t.Fatal(err)
	}
	if !ksk.SEP() || zsk.SEP() || zsk.DNSKEY.Flags != 256 || ksk.DNSKEY.Flags != 257 {
		t.Fatalf("flags: KSK %d, ZSK %d", ksk.DNSKEY.Flags, zsk.DNSKEY.Flags)
	}
	keys := []*Key{ksk, zsk}
	if Role(ksk, keys) != RoleKSK || Role(zsk, keys) != RoleZSK || Role(ksk, keys[:1]) != RoleCSK {
		t.Errorf("roles: %s %s %s", Role(ksk, keys), Role(zsk, keys), Role(ksk, keys[:1]))
	}
	keyset, zone := Roles(keys)
	if len(keyset) != 1 || keyset[0] != ksk || len(zone) != 1 || zone[0] != zsk {
		t.Errorf("split: keyset %v, zone %v", keyset, zone)
	}
	// A CSK alone signs both; so does a ZSK alone.
	if keyset, zone := Roles(keys[:1]); len(keyset) != 1 || len(zone) != 1 || zone[0] != ksk {
		t.Errorf("CSK: keyset %v, zone %v", keyset, zone)
	}
	if keyset, zone := Roles(keys[1:]); len(keyset) != 1 || keyset[0] != zsk || len(zone) != 1 {
		t.Errorf("ZSK alone: keyset %v, zone %v", keyset, zone)
	}
	// The ZSK's files say what it is and read back as a ZSK.
	dir := t.TempDir()
	path, err := zsk.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadKey(path)
	if err != nil || back.SEP() || back.Tag() != zsk.Tag() {
		t.Fatalf("read back: %v %+v", err, back)
	}
	pub, _ := filepath.Glob(filepath.Join(dir, "*.key"))
	if text := readText(t, pub[0]); !strings.Contains(text, "zone-signing key") {
		t.Errorf(".key file: %s", text)
	}
	// The rollover of the SEP keys does not count the ZSK as a second key.
	if r := RolloverState(keys, now.Add(time.Hour), time.Hour); r.Step != StepNone || r.Kind != RoleKSK || r.New != ksk.Tag() {
		t.Errorf("KSK rollover with a ZSK beside: %+v", r)
	}
}

func TestZSKRolloverSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ksk, _ := Generate("example.test", "ecdsap256sha256", 3600, t0)
	old, _ := GenerateZSK("example.test", "ecdsap256sha256", 3600, t0)
	keys := []*Key{ksk, old}
	if r := ZSKRolloverState(keys, t0.Add(time.Hour)); r.Step != ZSKStepNone || r.Kind != RoleZSK {
		t.Fatalf("one ZSK: %+v", r)
	}
	if _, _, err := StartZSKRollover(keys[:1], "ecdsap256sha256", t0, ZSKPlan{}); !errors.Is(err, ErrRollover) {
		t.Errorf("a CSK zone has no ZSK to roll: %v", err)
	}
	start := t0.Add(24 * time.Hour)
	plan := ZSKPlan{PublishIn: 5 * time.Minute, DNSKEYTTL: time.Hour, MaxTTL: 2 * time.Hour, Propagation: 10 * time.Minute}
	nw, got, err := StartZSKRollover(keys, "ecdsap256sha256", start, plan)
	if err != nil || got != old || nw.SEP() {
		t.Fatalf("start: %v %+v", err, nw)
	}
	keys = append(keys, nw)
	publish := start.Add(5 * time.Minute)
	activate := publish.Add(time.Hour + 10*time.Minute)
	remove := activate.Add(2*time.Hour + 10*time.Minute)
	if !nw.Timing.Publish.Equal(publish) || !nw.Timing.Activate.Equal(activate) || !old.Timing.Inactive.Equal(activate) || !old.Timing.Delete.Equal(remove) {
		t.Fatalf("schedule: new %+v, old %+v", nw.Timing, old.Timing)
	}
	// A second start while one is under way is refused.
	if _, _, err := StartZSKRollover(keys, "ecdsap256sha256", start, plan); !errors.Is(err, ErrRollover) {
		t.Errorf("second start: %v", err)
	}
	for _, c := range []struct {
		at         time.Time
		step       int
		signs      *Key
		published  int
		nextSays   string
		stepEndsAt time.Time
	}{
		{start, ZSKStepPublish, old, 2, "copy the key directory", publish},
		{publish, ZSKStepPublished, old, 3, "nothing", activate},
		{activate.Add(-time.Second), ZSKStepPublished, old, 3, "nothing", activate},
		{activate, ZSKStepSwitched, nw, 3, "nothing", remove},
		{remove.Add(-time.Second), ZSKStepSwitched, nw, 3, "nothing", remove},
		{remove, ZSKStepDone, nw, 2, "remove its files", time.Time{}},
	} {
		r := ZSKRolloverState(keys, c.at)
		var published, active []*Key
		for _, k := range keys {
			if k.Published(c.at) {
				published = append(published, k)
			}
			if k.Active(c.at) {
				active = append(active, k)
			}
		}
		_, zone := Roles(active)
		if r.Step != c.step || !strings.Contains(r.Next, c.nextSays) || !r.At.Equal(c.stepEndsAt) ||
			len(published) != c.published || len(zone) != 1 || zone[0] != c.signs {
			t.Errorf("at %s: %+v; %d published, zone signed by %v; want step %d, %d published, signed by %d",
				c.at, r, len(published), zone, c.step, c.published, c.signs.Tag())
		}
	}
	// The KSK's rollover is not under way meanwhile.
	if r := RolloverState(keys, activate, time.Hour); r.Step != StepNone {
		t.Errorf("KSK rollover: %+v", r)
	}
}

func readText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
