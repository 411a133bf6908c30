package dnsserver_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/internal/testutil"
	"github.com/seed3787e6f1/detour/spec"
)

// shortTTLSpec is a zone with split keys and TTLs of 2 s, so that a
// rollover gated on them runs in seconds.
const shortTTLSpec = `
zones:
  - name: example.test
    ttl: 2
    soa: {mname: ns1.example.test., rname: hostmaster.example.test., negative_ttl: 1}
    nameservers: [ns1.example.test.]
    dnssec: {enabled: true, keys: split, dnskey_ttl: 2}
    static: |
      ns1      IN A 127.0.0.1
      *.wild   IN A 192.0.2.50
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: east, datacenter: a, endpoints: [{address: 192.0.2.10}]}
  - {name: west, datacenter: b, endpoints: [{address: 198.51.100.10}]}
records:
  - {name: www.example.test, type: A, ttl: 2, pools: [east, west]}
`

// zskRollover starts a ZSK rollover of (ksk, zsk) on the server ring
// feeds, with plan (MaxTTL from the server's status), and returns the
// new ZSK and the old one's retirement.
func startZSKRollover(t *testing.T, ring *atomic.Pointer[dnssec.Keyring], ksk, zsk *dnssec.Key, plan dnssec.ZSKPlan) (nw, old *dnssec.Key) {
	t.Helper()
	retiring := *zsk // the ring's key is the server's: change a copy
	nw, old, err := dnssec.StartZSKRollover([]*dnssec.Key{ksk, &retiring}, spec.AlgECDSAP256SHA256, time.Now(), plan)
	if err != nil {
		t.Fatal(err)
	}
	setKeys(ring, ksk, old, nw)
	return nw, old
}

// TestZSKRolloverValidates runs a ZSK rollover by pre-publication with
// TTLs of 2 s under a validating unbound that caches for as long as the
// TTLs say, and has it validate answers (a fresh name each time, so that
// each is checked against the DNSKEY RRset unbound holds then) at every
// step: before, new ZSK to be published, published, signing in place of
// the old one (still published), old one gone. The server's answers
// are checked at each step too: who signs, what the DNSKEY RRset holds,
// and the step status reports.
func TestZSKRolloverValidates(t *testing.T) {
	ksk, zsk := splitKeys(t, spec.AlgECDSAP256SHA256, time.Now().Add(-time.Hour))
	var ring atomic.Pointer[dnssec.Keyring]
	setKeys(&ring, ksk, zsk)
	_, srv := keyedServer(t, shortTTLSpec, &ring)
	unbound := testutil.StartCachingValidatingUnbound(t, map[string]string{"example.test.": srv.Addr()}, []string{ksk.DS().String()})
	n := 0
	validates := func(step string) {
		t.Helper()
		n++
		for _, q := range []string{fmt.Sprintf("n%d.wild.example.test A", n), fmt.Sprintf("nope%d.example.test A", n), "www.example.test A", "example.test DNSKEY"} {
			checkAD(t, unbound, q, "", "", true)
		}
	}
	validates("before")
	st, err := srv.DNSSECStatus("example.test")
	if err != nil || st.MaxTTL != 2 || st.ZSKRollover == nil || st.ZSKRollover.Step != dnssec.ZSKStepNone {
		t.Fatalf("status before: %v %+v", err, st)
	}
	nw, old := startZSKRollover(t, &ring, ksk, zsk, dnssec.ZSKPlan{
		PublishIn: 3 * time.Second, DNSKEYTTL: 2 * time.Second, MaxTTL: time.Duration(st.MaxTTL) * time.Second, Propagation: 2 * time.Second,
	})
	// Each step: who signs the zone's data, how many keys the DNSKEY
	// RRset holds.
	want := map[int]struct {
		signer uint16
		keys   int
	}{
		dnssec.ZSKStepPublish:   {zsk.Tag(), 2},
		dnssec.ZSKStepPublished: {zsk.Tag(), 3},
		dnssec.ZSKStepSwitched:  {nw.Tag(), 3},
		dnssec.ZSKStepDone:      {nw.Tag(), 2},
	}
	seen := map[int]bool{}
	deadline := time.Now().Add(old.Timing.Delete.Sub(time.Now()) + 20*time.Second)
	for len(seen) < len(want) && time.Now().Before(deadline) {
		st, err := srv.DNSSECStatus("example.test")
		if err != nil || st.ZSKRollover == nil {
			t.Fatalf("status: %v %+v", err, st)
		}
		step := st.ZSKRollover.Step
		w, ok := want[step]
		if !ok {
			t.Fatalf("step %d: %+v", step, st.ZSKRollover)
		}
		if seen[step] {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		seen[step] = true
		name := fmt.Sprintf("step %d (%s)", step, st.ZSKRollover.Next)
		testutil.Eventually(t, name+": served", 5*time.Second, func() bool {
			r := ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false)
			k := ask(t, srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false)
			tags := sigTags(r, dns.TypeA)
			return len(tags) == 1 && tags[0] == w.signer && countType(k, dns.TypeDNSKEY) == w.keys
		})
		validates(name)
		if step == dnssec.ZSKStepPublish && !strings.Contains(st.ZSKRollover.Next, "copy the key directory") {
			t.Errorf("step 1 must tell the operator to copy the keys: %q", st.ZSKRollover.Next)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("steps seen %v, want every one of %v", seen, want)
	}
	// The KSK signed the DNSKEY RRset throughout, alone.
	k := ask(t, srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false)
	if tags := sigTags(k, dns.TypeDNSKEY); len(tags) != 1 || tags[0] != ksk.Tag() {
		t.Errorf("DNSKEY signed by %v, want the KSK %d alone", tags, ksk.Tag())
	}
}

// TestZSKRolloverWithoutPrepublicationFails is the control of
// TestZSKRolloverValidates: the same resolver, a new ZSK that signs the
// moment it is published (no wait for the DNSKEY TTL, here 30 s).
// Unbound holds the DNSKEY RRset without it and cannot validate the new
// signatures: the wait is what keeps validation whole.
func TestZSKRolloverWithoutPrepublicationFails(t *testing.T) {
	ksk, zsk := splitKeys(t, spec.AlgECDSAP256SHA256, time.Now().Add(-time.Hour))
	var ring atomic.Pointer[dnssec.Keyring]
	setKeys(&ring, ksk, zsk)
	_, srv := keyedServer(t, strings.Replace(shortTTLSpec, "dnskey_ttl: 2", "dnskey_ttl: 30", 1), &ring)
	unbound := testutil.StartCachingValidatingUnbound(t, map[string]string{"example.test.": srv.Addr()}, []string{ksk.DS().String()})
	// Unbound caches the DNSKEY RRset (30 s) with the old ZSK alone.
	checkAD(t, unbound, "n0.wild.example.test A", "NOERROR", "", true)
	nw, _ := startZSKRollover(t, &ring, ksk, zsk, dnssec.ZSKPlan{PublishIn: time.Second, MaxTTL: 2 * time.Second})
	testutil.Eventually(t, "the new ZSK signs", 10*time.Second, func() bool {
		tags := sigTags(ask(t, srv.Addr(), "n1.wild.example.test.", dns.TypeA, true, false), dns.TypeA)
		return len(tags) == 1 && tags[0] == nw.Tag()
	})
	out := testutil.Dig(t, unbound, "+dnssec", "n2.wild.example.test", "A")
	if !strings.Contains(out, "SERVFAIL") {
		t.Errorf("a ZSK signing before its DNSKEY RRset is cached must fail validation; unbound answered:\n%s", out)
	}
}

// TestZSKRolloverMidwayDNSViz has DNSViz look at the zone in the two
// middle steps of a ZSK rollover, held there (TTLs of an hour): the new
// ZSK published beside the old one that signs, then the new one signing
// with the old one still published. Neither is an error or a warning.
// Status names the step, and warns of an old ZSK set to leave before
// the zone's largest TTL has passed.
func TestZSKRolloverMidwayDNSViz(t *testing.T) {
	dnsviz := testutil.Require(t, "dnsviz")
	text := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "algorithm: ecdsap256sha256}", "algorithm: ecdsap256sha256, keys: split}", 1)
	now := time.Now().Truncate(time.Second)
	ksk, old := splitKeys(t, spec.AlgECDSAP256SHA256, now.Add(-48*time.Hour))
	nw, err := dnssec.GenerateZSK("example.test", spec.AlgECDSAP256SHA256, 3600, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ring atomic.Pointer[dnssec.Keyring]
	// Step 2: the new ZSK published, signing in an hour.
	nw.Timing.Activate = now.Add(time.Hour)
	o := *old
	o.Timing.Inactive, o.Timing.Delete = nw.Timing.Activate, nw.Timing.Activate.Add(2*time.Hour)
	setKeys(&ring, ksk, &o, nw)
	_, srv := keyedServer(t, text, &ring)
	check := func(step int, signer *dnssec.Key) {
		t.Helper()
		testutil.Eventually(t, fmt.Sprintf("step %d served", step), 5*time.Second, func() bool {
			tags := sigTags(ask(t, srv.Addr(), "www.example.test.", dns.TypeA, true, false), dns.TypeA)
			return len(tags) == 1 && tags[0] == signer.Tag()
		})
		st, err := srv.DNSSECStatus("example.test")
		if err != nil || st.ZSKRollover == nil || st.ZSKRollover.Step != step || st.Notice != "" {
			t.Errorf("status at step %d: %v %+v", step, err, st)
		}
		dnsvizGrok(t, dnsviz, srv.Addr(), ksk, fmt.Sprintf("ZSK rollover step %d", step))
	}
	check(dnssec.ZSKStepPublished, &o)

	// Step 3: the new ZSK signs; the old one leaves in two hours.
	n2 := *nw
	n2.Timing.Activate = now.Add(-time.Hour)
	o2 := *old
	o2.Timing.Inactive, o2.Timing.Delete = n2.Timing.Activate, now.Add(2*time.Hour)
	setKeys(&ring, ksk, &o2, &n2)
	check(dnssec.ZSKStepSwitched, nw)

	// The old ZSK set to leave 10 minutes after it stopped signing, in a
	// zone whose records live an hour: status warns.
	o3 := o2
	o3.Timing.Delete = o3.Timing.Inactive.Add(10 * time.Minute).Add(time.Hour)
	o3.Timing.Inactive = o3.Timing.Delete.Add(-10 * time.Minute)
	setKeys(&ring, ksk, &o3, &n2)
	testutil.Eventually(t, "status warns of a short retirement", 5*time.Second, func() bool {
		st, err := srv.DNSSECStatus("example.test")
		return err == nil && strings.Contains(st.Notice, "less than the zone's largest TTL")
	})
}

// TestZonemasterSplitKeys runs Zonemaster's DNSSEC test cases against
// the zone signed with a KSK and a ZSK by three nodes, and in the two
// middle steps of a ZSK rollover (new ZSK published beside the signing
// one; new ZSK signing, old one still published), undelegated and
// delegated from a local root, with the KSK's DS: no finding.
func TestZonemasterSplitKeys(t *testing.T) {
	zm := testutil.Require(t, "zonemaster-cli")
	now := time.Now().Truncate(time.Second)
	ksk, old := splitKeys(t, spec.AlgECDSAP256SHA256, now.Add(-48*time.Hour))
	var ring atomic.Pointer[dnssec.Keyring]
	setKeys(&ring, ksk, old)
	nodes, hosts := startZonemasterNodes(t, &ring, spec.KeysSplit)
	served := func(step string, signer *dnssec.Key, keys int) {
		t.Helper()
		for _, n := range nodes {
			testutil.Eventually(t, step+" served by "+n.host, 5*time.Second, func() bool {
				tags := sigTags(ask(t, n.srv.Addr(), "www.example.test.", dns.TypeA, true, false), dns.TypeA)
				k := ask(t, n.srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false)
				return len(tags) == 1 && tags[0] == signer.Tag() && countType(k, dns.TypeDNSKEY) == keys
			})
		}
	}
	for _, n := range nodes {
		if st, err := n.srv.DNSSECStatus("example.test"); err != nil || st.KeyScheme != spec.KeysSplit || st.Notice != "" {
			t.Fatalf("status: %v %+v", err, st)
		}
	}
	served("split", old, 2)
	checkZonemaster(t, zm, hosts, "split", ksk.DS())

	nw, err := dnssec.GenerateZSK("example.test", spec.AlgECDSAP256SHA256, 3600, now.Add(-2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	nw.Timing.Activate = now.Add(time.Hour)
	o := *old
	o.Timing.Inactive, o.Timing.Delete = nw.Timing.Activate, nw.Timing.Activate.Add(2*time.Hour)
	setKeys(&ring, ksk, &o, nw)
	served("zsk-published", old, 3)
	checkZonemaster(t, zm, hosts, "zsk-published", ksk.DS())

	n2 := *nw
	n2.Timing.Activate = now.Add(-time.Hour)
	o2 := *old
	o2.Timing.Inactive, o2.Timing.Delete = n2.Timing.Activate, now.Add(2*time.Hour)
	setKeys(&ring, ksk, &o2, &n2)
	served("zsk-switched", nw, 3)
	checkZonemaster(t, zm, hosts, "zsk-switched", ksk.DS())
}
