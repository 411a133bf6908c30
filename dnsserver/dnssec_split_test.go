package dnsserver_test

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// splitKeys is a KSK and a ZSK of example.test, made at.
func splitKeys(t testing.TB, alg string, at time.Time) (ksk, zsk *dnssec.Key) {
	t.Helper()
	ksk, err := dnssec.Generate("example.test", alg, 3600, at)
	if err != nil {
		t.Fatal(err)
	}
	zsk, err = dnssec.GenerateZSK("example.test", alg, 3600, at)
	if err != nil {
		t.Fatal(err)
	}
	return ksk, zsk
}

// keyedServer serves text signed with the keyring ring holds (swapped
// as a node swaps it when it reads its key directory again).
func keyedServer(t testing.TB, text string, ring *atomic.Pointer[dnssec.Keyring]) (*controller.Local, *dnsserver.Server) {
	t.Helper()
	s, err := spec.ParseLocal([]byte(text), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", WatchInterval: 10 * time.Millisecond,
		DNSSECKeys: func() dnssec.Keyring { return *ring.Load() }, PeerAllow: loopback}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	return l, srv
}

// setKeys makes ring hold keys for example.test.
func setKeys(ring *atomic.Pointer[dnssec.Keyring], keys ...*dnssec.Key) {
	r := dnssec.Keyring{"example.test.": keys}
	ring.Store(&r)
}

// sigTags returns the key tags of the RRSIGs covering type t in r's
// answer and authority sections.
func sigTags(r *dns.Msg, t uint16) []uint16 {
	var out []uint16
	for _, rr := range append(append([]dns.RR{}, r.Answer...), r.Ns...) {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == t {
			out = append(out, sig.KeyTag)
		}
	}
	return out
}

// TestSplitKeysSign: with dnssec.keys split, the KSK signs the DNSKEY,
// CDS and CDNSKEY RRsets alone and the ZSK everything else; CDS is the
// KSK's; unbound with the KSK's DS validates every kind of answer, the
// zone transferred by AXFR passes dnssec-verify (as a KSK/ZSK zone, no
// -z) and kzonecheck, DNSViz finds nothing, and status names the roles.
func TestSplitKeysSign(t *testing.T) {
	text := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "algorithm: ecdsap256sha256}", "algorithm: ecdsap256sha256, keys: split}", 1)
	ksk, zsk := splitKeys(t, spec.AlgECDSAP256SHA256, time.Now().Add(-time.Hour))
	var ring atomic.Pointer[dnssec.Keyring]
	setKeys(&ring, ksk, zsk)
	l, srv := keyedServer(t, text, &ring)

	for _, c := range []struct {
		name string
		t    uint16
		tag  uint16
	}{
		{"example.test.", dns.TypeDNSKEY, ksk.Tag()},
		{"example.test.", dns.TypeCDS, ksk.Tag()},
		{"example.test.", dns.TypeCDNSKEY, ksk.Tag()},
		{"www.example.test.", dns.TypeA, zsk.Tag()},
		{"example.test.", dns.TypeSOA, zsk.Tag()},
		{"nope.example.test.", dns.TypeNSEC, zsk.Tag()},
		{"www.example.test.", dns.TypeNSEC, zsk.Tag()}, // NODATA
	} {
		q := c.t
		if q == dns.TypeNSEC {
			q = dns.TypeA
			if strings.HasPrefix(c.name, "www") {
				q = dns.TypeTXT
			}
		}
		r := ask(t, srv.Addr(), c.name, q, true, false)
		if tags := sigTags(r, c.t); len(tags) != 1 || tags[0] != c.tag {
			t.Errorf("%s %s: RRSIG key tags %v, want only %d\n%s", c.name, dns.TypeToString[c.t], tags, c.tag, r)
		}
	}
	r := ask(t, srv.Addr(), "example.test.", dns.TypeCDS, true, false)
	if countType(r, dns.TypeCDS) != 1 || r.Answer[0].(*dns.CDS).KeyTag != ksk.Tag() {
		t.Errorf("CDS: want the KSK's alone\n%s", r)
	}
	if countType(ask(t, srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false), dns.TypeDNSKEY) != 2 {
		t.Error("the DNSKEY RRset must hold the KSK and the ZSK")
	}

	unbound := testutil.StartValidatingUnbound(t, map[string]string{"example.test.": srv.Addr()}, []string{ksk.DS().String()})
	for _, q := range []string{"www.example.test A", "example.test DNSKEY", "example.test CDS", "example.test MX",
		"c1.example.test A", "foo.wild.example.test A", "nope.example.test A", "www.example.test TXT", "ent.example.test A", "sub.example.test DS"} {
		checkAD(t, unbound, q, "", "", true)
	}

	st, err := srv.DNSSECStatus("example.test")
	if err != nil || !st.Signing || st.KeyScheme != spec.KeysSplit || st.Notice != "" || len(st.Keys) != 2 ||
		st.ZSKRollover == nil || st.ZSKRollover.Step != dnssec.ZSKStepNone || st.Rollover.Kind != dnssec.RoleKSK {
		t.Fatalf("status: %v %+v", err, st)
	}
	for _, k := range st.Keys {
		if want := map[uint16]string{ksk.Tag(): "ksk", zsk.Tag(): "zsk"}[k.Tag]; k.Role != want || (k.DS == "") != (want == "zsk") {
			t.Errorf("key %d: role %q, DS %q; want %s (a DS for the KSK alone)", k.Tag, k.Role, k.DS, want)
		}
	}
	if st.MaxTTL < 3600 {
		t.Errorf("largest TTL %d, want at least the static records' 3600", st.MaxTTL)
	}

	axfrVerifies(t, srv.Addr(), "192.0.2.10", false)
	if err := l.SetHealth(down{"192.0.2.10": true}); err != nil {
		t.Fatal(err)
	}
	axfrVerifies(t, srv.Addr(), "198.51.100.10", false)
	dnsvizGrok(t, testutil.Require(t, "dnsviz"), srv.Addr(), ksk, "split")
}

// axfrVerifies transfers example.test by AXFR from server until it
// holds want, and has dnssec-verify (-z when csk: the one key signs all)
// and kzonecheck --dnssec on accept it.
func axfrVerifies(t *testing.T, server, want string, csk bool) {
	t.Helper()
	verify := testutil.Require(t, "dnssec-verify")
	kzonecheck := testutil.Require(t, "kzonecheck")
	var text strings.Builder
	testutil.Eventually(t, "the AXFR holds "+want, 5*time.Second, func() bool {
		rrs, err := transferFrom(t, server, "127.0.0.1", axfrQuery("example.test."), nil)
		if err != nil {
			t.Fatal(err)
		}
		text.Reset()
		for _, rr := range rrs[:len(rrs)-1] { // the closing SOA
			text.WriteString(rr.String() + "\n")
		}
		return strings.Contains(text.String(), want)
	})
	file := filepath.Join(t.TempDir(), "example.test.zone")
	if err := os.WriteFile(file, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-o", "example.test.", file}
	if csk {
		args = append([]string{"-z"}, args...)
	}
	if out, err := exec.Command(verify, args...).CombinedOutput(); err != nil {
		t.Errorf("dnssec-verify: %v\n%s", err, out)
	}
	if out, err := exec.Command(kzonecheck, "--dnssec", "on", "-o", "example.test.", file).CombinedOutput(); err != nil {
		t.Errorf("kzonecheck --dnssec on: %v\n%s", err, out)
	}
}

// TestKSKRolloverValidates rolls the KSK of a split zone by double
// signature under unbound: before, with the old KSK's DS; in the middle
// (both KSKs sign the DNSKEY RRset; the ZSK signs the rest, unchanged),
// with either DS; after the old KSK left, with the new one's.
func TestKSKRolloverValidates(t *testing.T) {
	text := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "algorithm: ecdsap256sha256}", "algorithm: ecdsap256sha256, keys: split}", 1)
	old, zsk := splitKeys(t, spec.AlgECDSAP256SHA256, time.Now().Add(-48*time.Hour))
	var ring atomic.Pointer[dnssec.Keyring]
	setKeys(&ring, old, zsk)
	_, srv := keyedServer(t, text, &ring)
	validates := func(step string, anchor *dnssec.Key) {
		t.Helper()
		unbound := testutil.StartValidatingUnbound(t, map[string]string{"example.test.": srv.Addr()}, []string{anchor.DS().String()})
		for _, q := range []string{"www.example.test A", "nope.example.test A", "example.test DNSKEY", "example.test CDS"} {
			t.Run(step+"/"+strings.ReplaceAll(q, " ", "_"), func(t *testing.T) {
				checkAD(t, unbound, q, "", "", true)
			})
		}
	}
	signers := func(keyset []uint16, zone uint16) {
		t.Helper()
		testutil.Eventually(t, "the DNSKEY RRset and the data signed as expected", 5*time.Second, func() bool {
			k := sigTags(ask(t, srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false), dns.TypeDNSKEY)
			slices.Sort(k)
			a := sigTags(ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false), dns.TypeA)
			return fmt.Sprint(k) == fmt.Sprint(keyset) && len(a) == 1 && a[0] == zone
		})
	}
	signers([]uint16{old.Tag()}, zsk.Tag())
	validates("before", old)

	nw, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	setKeys(&ring, old, zsk, nw)
	both := []uint16{old.Tag(), nw.Tag()}
	slices.Sort(both)
	signers(both, zsk.Tag())
	st, err := srv.DNSSECStatus("example.test")
	if err != nil || st.Rollover.Kind != dnssec.RoleKSK || st.Rollover.Step != dnssec.StepWaitKey || !strings.Contains(st.Rollover.Next, "DS") {
		t.Errorf("status mid-rollover: %v %+v", err, st.Rollover)
	}
	validates("middle-old-DS", old)
	validates("middle-new-DS", nw)

	retired := *old
	retired.Timing.Inactive, retired.Timing.Delete = time.Now(), time.Now()
	setKeys(&ring, &retired, zsk, nw)
	signers([]uint16{nw.Tag()}, zsk.Tag())
	validates("after", nw)
}

// TestSplitKeysNotice: when the key files do not match dnssec.keys the
// keys there sign by their flags and status says so.
func TestSplitKeysNotice(t *testing.T) {
	ksk, zsk := splitKeys(t, spec.AlgECDSAP256SHA256, time.Now().Add(-time.Hour))
	split := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "algorithm: ecdsap256sha256}", "algorithm: ecdsap256sha256, keys: split}", 1)
	for _, c := range []struct {
		name, spec string
		keys       []*dnssec.Key
		notice     string
		dataSigner uint16
	}{
		{"csk spec, split keys", signedSpec(spec.AlgECDSAP256SHA256), []*dnssec.Key{ksk, zsk}, "dnssec.keys is csk", zsk.Tag()},
		{"split spec, a CSK alone", split, []*dnssec.Key{ksk}, "no ZSK of the zone signs", ksk.Tag()},
	} {
		t.Run(c.name, func(t *testing.T) {
			var ring atomic.Pointer[dnssec.Keyring]
			setKeys(&ring, c.keys...)
			_, srv := keyedServer(t, c.spec, &ring)
			testutil.Eventually(t, "signed", 5*time.Second, func() bool {
				tags := sigTags(ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false), dns.TypeA)
				return len(tags) == 1 && tags[0] == c.dataSigner
			})
			st, err := srv.DNSSECStatus("example.test")
			if err != nil || !st.Signing || !strings.Contains(st.Notice, c.notice) {
				t.Errorf("status: %v, notice %q, want %q", err, st.Notice, c.notice)
			}
		})
	}
}
