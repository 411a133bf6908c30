package dnssec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestKeyFilesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, alg := range []string{"ecdsap256sha256", "ed25519"} {
		k, err := Generate("Example.Test", alg, 3600, now)
		if err != nil {
			t.Fatal(err)
		}
		k.Timing.Inactive = now.Add(time.Hour)
		path, err := k.WriteFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", path, st.Mode().Perm())
		}
		back, err := ReadKey(path)
		if err != nil {
			t.Fatal(err)
		}
		if back.Tag() != k.Tag() || back.Zone != "example.test." || !back.Timing.Inactive.Equal(k.Timing.Inactive) || !back.Timing.Publish.Equal(now) {
			t.Errorf("read back %+v, want %+v", back, k)
		}
		// The key read back signs what the public key verifies.
		a, _ := dns.NewRR("www.example.test. 60 IN A 192.0.2.1")
		sig := &dns.RRSIG{Algorithm: back.DNSKEY.Algorithm, KeyTag: back.Tag(), SignerName: "example.test.", Inception: 1, Expiration: 2000000000}
		if err := sig.Sign(back.Signer, []dns.RR{a}); err != nil {
			t.Fatal(err)
		}
		if err := sig.Verify(k.DNSKEY, []dns.RR{a}); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	ring, err := LoadDir(dir)
	if err != nil || len(ring.Keys("example.test")) != 2 {
		t.Fatalf("LoadDir: %v %v", ring, err)
	}
	// Others may not read a private key, nor the directory.
	priv, _ := filepath.Glob(filepath.Join(dir, "*.private"))
	if err := os.Chmod(priv[0], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDir(dir); !errors.Is(err, ErrPermissions) {
		t.Errorf("a 0644 private key: %v, want ErrPermissions", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir); !errors.Is(err, ErrPermissions) {
		t.Errorf("a 0755 key directory: %v, want ErrPermissions", err)
	}
}

func TestRolloverSteps(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ttl := time.Hour
	old, _ := Generate("example.test", "ecdsap256sha256", 3600, t0)
	keys := []*Key{old}
	if r := RolloverState(keys, t0.Add(time.Hour), ttl); r.Step != StepNone {
		t.Fatalf("one key: %+v", r)
	}
	t1 := t0.Add(24 * time.Hour)
	nw, _ := Generate("example.test", "ecdsap256sha256", 3600, t1)
	keys = append(keys, nw)
	r := RolloverState(keys, t1.Add(time.Minute), ttl)
	if r.Step != StepWaitKey || r.New != nw.Tag() || r.Old != old.Tag() || !r.At.Equal(t1.Add(ttl)) {
		t.Fatalf("new key published: %+v", r)
	}
	// Retiring the old key before the DNSKEY TTL has passed is refused.
	if _, err := Retire(keys, t1.Add(time.Minute), ttl, time.Hour); !errors.Is(err, ErrRollover) {
		t.Errorf("retire too early: %v", err)
	}
	if r := RolloverState(keys, t1.Add(ttl), ttl); r.Step != StepSubmitDS || !strings.Contains(r.Next, "registrar") {
		t.Fatalf("after the TTL: %+v", r)
	}
	t2 := t1.Add(2 * ttl)
	k, err := Retire(keys, t2, ttl, 2*time.Hour)
	if err != nil || k != old || !k.Timing.Delete.After(t2.Add(2*time.Hour-time.Second)) {
		t.Fatalf("retire: %v, %+v", err, k)
	}
	if !old.Active(t2.Add(time.Hour)) || old.Active(k.Timing.Delete) || old.Published(k.Timing.Delete) {
		t.Error("the old key must sign until the DS TTL has passed, and then leave")
	}
	if r := RolloverState(keys, t2.Add(time.Hour), ttl); r.Step != StepRetiring {
		t.Errorf("retiring: %+v", r)
	}
	if r := RolloverState(keys, k.Timing.Delete, ttl); r.Step != StepDone || old.State(k.Timing.Delete) != "removed" || nw.State(k.Timing.Delete) != "active" {
		t.Errorf("done: %+v", r)
	}
}
