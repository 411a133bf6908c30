package dnsserver_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
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

// zonemasterAddrs are loopback addresses the Zonemaster test may serve
// on: Zonemaster queries name servers on port 53 only, so the three
// nodes and the root must listen there, on addresses nothing else uses.
var zonemasterAddrs = []string{"127.53.17.1", "127.53.17.2", "127.53.17.3", "127.53.17.4", "127.53.17.5"}

// zonemasterSpec is signedSpec served by ns1, ns2 and ns3 at hosts, one
// node each, with dnssec.keys keys.
func zonemasterSpec(hosts []string, keys string) string {
	text := strings.Replace(signedSpec(spec.AlgECDSAP256SHA256), "algorithm: ecdsap256sha256}", "algorithm: ecdsap256sha256, keys: "+keys+"}", 1)
	text = strings.Replace(text, "nameservers: [ns1.example.test.]",
		"nameservers: [ns1.example.test., ns2.example.test., ns3.example.test.]", 1)
	glue := ""
	for i, h := range hosts {
		glue += fmt.Sprintf("ns%d      IN A %s\n      ", i+1, h)
	}
	return strings.Replace(text, "ns1      IN A 127.0.0.1\n      ", glue, 1)
}

// zonemasterResult is one entry of zonemaster-cli's JSON output.
type zonemasterResult struct {
	Level    string         `json:"level"`
	Module   string         `json:"module"`
	Testcase string         `json:"testcase"`
	Tag      string         `json:"tag"`
	Args     map[string]any `json:"args"`
}

// zonemasterNode is one of the three nodes serving the signed zone.
type zonemasterNode struct {
	local *controller.Local
	srv   *dnsserver.Server
	host  string
}

// startZonemasterNodes serves zonemasterSpec (with dnssec.keys keys)
// signed with the keys in ring from three nodes (their own controller,
// the same keys), each on port 53 of a free address of zonemasterAddrs.
func startZonemasterNodes(t *testing.T, ring *atomic.Pointer[dnssec.Keyring], keys string) ([]zonemasterNode, []string) {
	t.Helper()
	hosts := freePorts53(t, 3)
	s, err := spec.ParseLocal([]byte(zonemasterSpec(hosts, keys)), ".")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []zonemasterNode
	for _, host := range hosts {
		l, err := controller.NewLocal(s, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv := dnsserver.NewServer(dnsserver.Config{Addr: net.JoinHostPort(host, "53"), WatchInterval: 10 * time.Millisecond,
			DNSSECKeys: func() dnssec.Keyring { return *ring.Load() }, PeerAllow: loopback}, l, slog.New(slog.DiscardHandler))
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = srv.Shutdown(t.Context()) })
		nodes = append(nodes, zonemasterNode{l, srv, host})
	}
	return nodes, hosts
}

// freePorts53 returns n of zonemasterAddrs whose port 53 is free for
// UDP and TCP. Without them (not root, or taken) the test is skipped,
// except under CI, where it fails, as testutil.Require does.
func freePorts53(t *testing.T, n int) []string {
	t.Helper()
	var hosts []string
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for _, host := range zonemasterAddrs {
		if len(hosts) == n {
			break
		}
		addr := net.JoinHostPort(host, "53")
		u, err := net.ListenPacket("udp", addr)
		if err != nil {
			continue
		}
		held = append(held, u)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		held = append(held, l)
		hosts = append(hosts, host)
	}
	if len(hosts) < n {
		msg := fmt.Sprintf("port 53 is taken or not allowed on %v (Zonemaster asks port 53 only; run as root)", zonemasterAddrs)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return hosts
}

// runZonemaster runs zonemaster-cli's DNSSEC test cases on example.test
// with root hints naming root and returns its results at INFO or above.
// args add the delegation (--ns, --ds) when root does not hold it.
func runZonemaster(t *testing.T, zm, root string, args ...string) []zonemasterResult {
	t.Helper()
	hints := filepath.Join(t.TempDir(), "hints")
	if err := writeFile(hints, ". 3600000 NS a.root.test.\na.root.test. 3600000 A "+root+"\n"); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"--json-stream", "--no-progress", "--level", "INFO", "--no-ipv6", "--hints", hints,
		"--test", "DNSSEC"}, append(args, "example.test")...)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, zm, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("zonemaster-cli %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errOut.String())
	}
	var res []zonemasterResult
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var r zonemasterResult
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("zonemaster-cli output %q: %v", line, err)
		}
		res = append(res, r)
	}
	return res
}

// undelegated runs Zonemaster in undelegated mode: the name servers
// given with --ns, the DS with --ds. The root hints name the first
// node, which refuses the root zone: no query leaves the machine.
func undelegated(t *testing.T, zm string, hosts []string, ds []*dns.DS) []zonemasterResult {
	t.Helper()
	var args []string
	for i, h := range hosts {
		args = append(args, "--ns", fmt.Sprintf("ns%d.example.test/%s", i+1, h))
	}
	for _, d := range ds {
		args = append(args, "--ds", fmt.Sprintf("%d,%d,%d,%s", d.KeyTag, d.Algorithm, d.DigestType, d.Digest))
	}
	return runZonemaster(t, zm, hosts[0], args...)
}

// delegated runs Zonemaster as on the Internet, from a root zone served
// by Knot DNS on port 53 of another loopback address, which delegates
// example.test to the nodes at hosts with ds.
func delegated(t *testing.T, zm string, hosts []string, ds []*dns.DS) []zonemasterResult {
	t.Helper()
	knotd := testutil.Require(t, "knotd")
	root := freePorts53(t, 1)[0]
	dir := t.TempDir()
	zone := fmt.Sprintf(`. 3600 IN SOA a.root.test. hostmaster.root.test. 1 3600 600 86400 60
. 3600 IN NS a.root.test.
a.root.test. 3600 IN A %s
`, root)
	for i, h := range hosts {
		zone += fmt.Sprintf("example.test. 3600 IN NS ns%d.example.test.\nns%d.example.test. 3600 IN A %s\n", i+1, i+1, h)
	}
	for _, d := range ds {
		zone += d.String() + "\n"
	}
	conf := fmt.Sprintf(`server:
  listen: %s@53
  rundir: %s
log:
  - target: stderr
    any: warning
database:
  storage: %s/db
template:
  - id: default
    storage: %s
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: .
    file: root.zone
`, root, dir, dir, dir)
	if err := writeFile(filepath.Join(dir, "root.zone"), zone); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(filepath.Join(dir, "knot.conf"), conf); err != nil {
		t.Fatal(err)
	}
	testutil.StartDaemon(t, knotd, "-c", filepath.Join(dir, "knot.conf"))
	testutil.WaitDNS(t, net.JoinHostPort(root, "53"), 10*time.Second)
	return runZonemaster(t, zm, root)
}

// zonemasterSigned are the INFO results that show Zonemaster saw the
// zone signed: its key's algorithm checked, the RRSIGs of the DNSKEY and
// SOA RRsets timed, NSEC denial and the CDS/CDNSKEY RRsets found.
var zonemasterSigned = []string{"ALGORITHM_OK", "RRSIG_EXPIRATION", "DS10_HAS_NSEC", "DS15_HAS_CDS_AND_CDNSKEY"}

// checkZonemaster runs Zonemaster undelegated and delegated with ds as
// the delegation's DS and wants no result at NOTICE or above (every
// DNSSEC test case's finding concerns signing) and the zonemasterSigned
// results, NSEC found on every node.
func checkZonemaster(t *testing.T, zm string, hosts []string, step string, ds ...*dns.DS) {
	t.Helper()
	for _, mode := range []struct {
		name string
		run  func(*testing.T, string, []string, []*dns.DS) []zonemasterResult
	}{{"undelegated", undelegated}, {"delegated", delegated}} {
		t.Run(step+"/"+mode.name, func(t *testing.T) {
			seen := map[string]bool{}
			for _, r := range mode.run(t, zm, hosts, ds) {
				seen[r.Tag] = true
				if r.Tag == "DS10_HAS_NSEC" {
					for _, h := range hosts {
						if list, _ := r.Args["ns_ip_list"].(string); !strings.Contains(list+";", h+";") {
							t.Errorf("Zonemaster did not check node %s: %s %v", h, r.Tag, r.Args)
						}
					}
				}
				switch r.Level {
				case "INFO", "DEBUG":
				case "NOTICE", "WARNING":
					t.Errorf("Zonemaster %s about signing: %s %s %v", r.Level, r.Testcase, r.Tag, r.Args)
				default:
					t.Errorf("Zonemaster %s %s: %s %v", r.Level, r.Testcase, r.Tag, r.Args)
				}
			}
			for _, tag := range zonemasterSigned {
				if !seen[tag] {
					t.Errorf("Zonemaster did not report %s: it did not see the zone signed", tag)
				}
			}
		})
	}
}

// TestZonemasterFindsNoErrors runs Zonemaster's DNSSEC test cases
// against the signed zone served by three nodes before and after a
// failover and in the middle
// of a CSK rollover (both keys published and signing, with the old DS,
// then with both), undelegated and delegated from a local root, and
// wants no finding. A DS of no key served must give an ERROR: the check
// can fail.
func TestZonemasterFindsNoErrors(t *testing.T) {
	zm := testutil.Require(t, "zonemaster-cli")
	old, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, time.Now().Add(-48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var ring atomic.Pointer[dnssec.Keyring]
	ring.Store(&dnssec.Keyring{"example.test.": {old}})
	nodes, hosts := startZonemasterNodes(t, &ring, spec.KeysCSK)
	checkZonemaster(t, zm, hosts, "before", old.DS())

	for _, n := range nodes {
		if err := n.local.SetHealth(down{"192.0.2.10": true}); err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, "failover on "+n.host, 5*time.Second, func() bool {
			r := ask(t, n.srv.Addr(), "www.example.test.", dns.TypeA, true, false)
			return len(r.Answer) > 0 && strings.Contains(r.Answer[0].String(), "198.51.100.10")
		})
	}
	checkZonemaster(t, zm, hosts, "after-failover", old.DS())

	nw, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, time.Now().Add(-time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ring.Store(&dnssec.Keyring{"example.test.": {old, nw}})
	for _, n := range nodes {
		testutil.Eventually(t, "both keys served by "+n.host, 5*time.Second, func() bool {
			return countType(ask(t, n.srv.Addr(), "example.test.", dns.TypeDNSKEY, true, false), dns.TypeDNSKEY) == 2
		})
	}
	checkZonemaster(t, zm, hosts, "mid-rollover-old-DS", old.DS())
	checkZonemaster(t, zm, hosts, "mid-rollover-both-DS", old.DS(), nw.DS())

	other, err := dnssec.Generate("example.test", spec.AlgECDSAP256SHA256, 3600, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, run := range map[string]func(*testing.T, string, []string, []*dns.DS) []zonemasterResult{
		"undelegated": undelegated, "delegated": delegated} {
		t.Run("wrong-DS/"+name, func(t *testing.T) {
			bad := 0
			for _, r := range run(t, zm, hosts, []*dns.DS{other.DS()}) {
				if r.Level == "ERROR" || r.Level == "CRITICAL" {
					bad++
				}
			}
			if bad == 0 {
				t.Error("a DS of no served key: Zonemaster reports no error")
			}
		})
	}
}
