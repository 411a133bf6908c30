package dnsserver_test

import (
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
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

// TestRolloverValidates runs a CSK rollover by double signature under
// unbound: before, with the old key's DS as trust anchor; in the middle
// (both keys published and signing), with either key's DS; after the old
// key left, with the new one's. Answers validate (AD) throughout.
func TestRolloverValidates(t *testing.T) {
	s, err := spec.ParseLocal([]byte(signedSpec(spec.AlgECDSAP256SHA256)), ".")
	if err != nil {
		t.Fatal(err)
	}
	l, err := controller.NewLocal(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	old, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, now.Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ring atomic.Pointer[dnssec.Keyring]
	set := func(keys ...*dnssec.Key) {
		r := dnssec.Keyring{"example.test.": keys}
		ring.Store(&r)
	}
	set(old)
	srv := dnsserver.NewServer(dnsserver.Config{Addr: "127.0.0.1:0", WatchInterval: 10 * time.Millisecond,
		DNSSECKeys: func() dnssec.Keyring { return *ring.Load() }}, l, slog.New(slog.DiscardHandler))
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
	validates := func(step string, anchor *dnssec.Key) {
		t.Helper()
		unbound := testutil.StartValidatingUnbound(t, map[string]string{"example.test.": srv.Addr()}, []string{anchor.DS().String()})
		for _, q := range []string{"www.example.test A", "nope.example.test A", "example.test DNSKEY"} {
			t.Run(step+"/"+strings.ReplaceAll(q, " ", "_"), func(t *testing.T) {
				checkAD(t, unbound, q, "", "", true)
			})
		}
	}
	keysServed := func(n int) {
		t.Helper()
		testutil.Eventually(t, "the DNSKEY RRset holds the keys", 5*time.Second, func() bool {
			return countType(ask(t, srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false), dns.TypeDNSKEY) == n
		})
	}
	validates("before", old)

	// Published 2s from now, as 'detour dnssec rollover' publishes a key
	// a while after writing it: every node moves the serial to then.
	nw, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, time.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	serial := soaSerial(t, srv.Addr())
	set(old, nw)
	keysServed(2)
	if after := soaSerial(t, srv.Addr()); after == serial || after < uint32(nw.Timing.Publish.Unix()) {
		t.Errorf("serial %d -> %d: want it moved to the new key's publication (%d)", serial, after, nw.Timing.Publish.Unix())
	}
	if r := ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false); countType(r, dns.TypeRRSIG) != 2 {
		t.Fatalf("mid-rollover: want an RRSIG by each key:\n%s", r)
	}
	validates("middle-old-DS", old)
	validates("middle-new-DS", nw)

	retired := *old
	retired.Timing.Inactive, retired.Timing.Delete = time.Now(), time.Now()
	set(&retired, nw)
	keysServed(1)
	validates("after", nw)
}

// TestDelvValidates has BIND's delv validate answers from detour with
// the zone's DS as its trust anchor.
func TestDelvValidates(t *testing.T) {
	delv := testutil.Require(t, "delv")
	_, srv, key := startSigned(t, spec.AlgED25519)
	ds := key.DS()
	anchors := filepath.Join(t.TempDir(), "anchors.conf")
	conf := fmt.Sprintf("trust-anchors {\n  example.test. static-ds %d %d %d \"%s\";\n};\n", ds.KeyTag, ds.Algorithm, ds.DigestType, ds.Digest)
	if err := writeFile(anchors, conf); err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(srv.Addr(), ":")
	for _, q := range []string{"www.example.test A", "c1.example.test A", "foo.wild.example.test A", "nope.example.test A", "www.example.test TXT"} {
		args := append([]string{"@" + host, "-p", port, "-a", anchors, "+root=example.test", "+tcp"}, strings.Fields(q)...)
		out, err := exec.Command(delv, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "fully validated") {
			t.Errorf("delv %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// soaSerial is the serial server answers for example.test.
func soaSerial(t *testing.T, server string) uint32 {
	t.Helper()
	r := ask(t, server, "example.test.", dns.TypeSOA, false, false)
	if len(r.Answer) != 1 {
		t.Fatalf("SOA: %s", r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}
