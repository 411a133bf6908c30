package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller/nodeport"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// tlsCLI runs `detour tls ...` and fails the test on a non-zero exit.
func tlsCLI(t *testing.T, args ...string) {
	t.Helper()
	if code, out := runCLI(append([]string{"tls"}, args...)...); code != 0 {
		t.Fatalf("tls %v: %s", args, out)
	}
}

func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	if b == nil {
		t.Fatalf("%s: no PEM", path)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// What `detour tls` issues has the names, usages and modes the nodes
// check, and it overwrites nothing unasked.
func TestTLSCreateFiles(t *testing.T) {
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	tlsCLI(t, "ca", "create", "--dir", pki)
	tlsCLI(t, "cert", "create", "--node", "us-east-1", "--address", "10.1.0.5,node1.example.net", "--address", "::1", "--dir", pki)
	tlsCLI(t, "cert", "create", "--operator", "alice", "--dir", pki)
	for _, k := range []string{"ca-key.pem", "us-east-1-key.pem", "alice-key.pem"} {
		st, err := os.Stat(filepath.Join(pki, k))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v, want 0600", k, err, st.Mode().Perm())
		}
	}
	ca := readCert(t, filepath.Join(pki, "ca.pem"))
	if !ca.IsCA || ca.KeyUsage&x509.KeyUsageCertSign == 0 || ca.NotAfter.Before(time.Now().Add(9*365*24*time.Hour)) {
		t.Errorf("CA: IsCA %v, usage %v, until %s", ca.IsCA, ca.KeyUsage, ca.NotAfter)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	node := readCert(t, filepath.Join(pki, "us-east-1.pem"))
	if len(node.URIs) != 1 || node.URIs[0].String() != nodeport.NodeURI("us-east-1") {
		t.Errorf("node URIs: %v", node.URIs)
	}
	if fmt.Sprint(node.IPAddresses) != "[10.1.0.5 ::1]" || fmt.Sprint(node.DNSNames) != "[node1.example.net]" {
		t.Errorf("node SANs: %v %v", node.IPAddresses, node.DNSNames)
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := node.Verify(x509.VerifyOptions{Roots: roots, DNSName: "10.1.0.5", KeyUsages: []x509.ExtKeyUsage{u}}); err != nil {
			t.Errorf("node certificate for usage %v: %v", u, err)
		}
	}
	op := readCert(t, filepath.Join(pki, "alice.pem"))
	if op.Subject.CommonName != "alice" || len(op.URIs) != 0 || len(op.IPAddresses)+len(op.DNSNames) != 0 {
		t.Errorf("operator names: %v %v %v %v", op.Subject, op.URIs, op.IPAddresses, op.DNSNames)
	}
	if _, err := op.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("operator certificate for clientAuth: %v", err)
	}
	if _, err := op.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
		t.Error("the operator certificate is good for serverAuth")
	}
	before, _ := os.ReadFile(filepath.Join(pki, "ca-key.pem"))
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"ca", "create", "--dir", pki}, 1, "already exists"},
		{[]string{"cert", "create", "--node", "us-east-1", "--address", "10.1.0.5", "--dir", pki}, 1, "--force replaces them"},
		{[]string{"cert", "create", "--node", "us-east-1", "--address", "10.1.0.6", "--dir", pki, "--force"}, 0, "10.1.0.6"},
		{[]string{"cert", "create", "--node", "b-1", "--address", "10.1.0.5:7001", "--dir", pki}, 2, "without a port"},
		{[]string{"cert", "create", "--node", "b-1", "--dir", pki}, 2, "--address is required"},
		{[]string{"cert", "create", "--operator", "bob", "--address", "10.1.0.5", "--dir", pki}, 2, "--address is for node certificates"},
		{[]string{"cert", "create", "--node", "b/1", "--address", "10.1.0.5", "--dir", pki}, 2, "letters, digits"},
		{[]string{"cert", "create", "--operator", "bob", "--dir", filepath.Join(dir, "elsewhere")}, 1, "tls ca create --dir"},
		{[]string{"cert", "create", "--operator", "bob", "--dir", filepath.Join(dir, "elsewhere"), "--ca-dir", pki}, 0, "bob"},
		{[]string{"cert"}, 2, "needs a subcommand"},
	}
	for _, c := range cases {
		code, out := runCLI(append([]string{"tls"}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("tls %v: exit %d, want %d with %q:\n%s", c.args, code, c.code, c.want, out)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(pki, "ca-key.pem")); !bytes.Equal(before, after) {
		t.Error("a second ca create replaced the CA key")
	}
}

// A CA, three node certificates and an operator's, all made with
// `detour tls`, run a real three-process cluster over mutual TLS: it
// forms, a write through a follower reaches the leader over the node
// port, the operator's certificate is taken by the API and refused by
// the node port, and the client's errors name the cause.
func TestTLSIssuedCertificatesRunACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs three processes")
	}
	bin := filepath.Join(t.TempDir(), "detour")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	pki := filepath.Join(dir, "pki")
	ids := []string{"a-1", "b-1", "c-1"}
	tlsCLI(t, "ca", "create", "--dir", pki)
	for _, id := range ids {
		tlsCLI(t, "cert", "create", "--node", id, "--address", "127.0.0.1", "--dir", pki)
	}
	tlsCLI(t, "cert", "create", "--operator", "alice", "--dir", pki)

	specFile := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(specFile, []byte(`zones:
  - name: example.test
    soa: {mname: ns1.example.test., rname: hostmaster.example.test.}
    nameservers: [ns1.example.test.]
datacenters: [{name: a}, {name: b}, {name: c}]
pools:
  - {name: web-a, datacenter: a, endpoints: [{address: 192.0.2.1}]}
  - {name: web-b, datacenter: b, endpoints: [{address: 192.0.2.2}]}
  - {name: web-c, datacenter: c, endpoints: [{address: 192.0.2.3}]}
records:
  - {name: www.example.test, type: A, pools: [web-a, web-b, web-c]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	raft, apis := make([]string, len(ids)), make([]string, len(ids))
	var peers []string
	for i, id := range ids {
		raft[i] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		apis[i] = fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t))
		peers = append(peers, id+"@"+raft[i])
	}
	procs := make([]*agentProc, len(ids))
	for i, id := range ids {
		procs[i] = &agentProc{args: []string{"agent", "--node-id", id, "--datacenter", strings.TrimSuffix(id, "-1"),
			"--raft-addr", raft[i], "--peers", strings.Join(peers, ","),
			"--dns-addr", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), "--api-addr", apis[i],
			"--data-dir", filepath.Join(dir, id), "--spec", specFile,
			"--tls-ca", filepath.Join(pki, "ca.pem"), "--tls-cert", filepath.Join(pki, id+".pem"), "--tls-key", filepath.Join(pki, id+"-key.pem"),
		}}
		procs[i].start(t, bin)
	}
	t.Cleanup(func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		if t.Failed() {
			for i, p := range procs {
				t.Logf("--- %s\n%s", ids[i], p.logs())
			}
		}
	})
	t.Setenv("DETOUR_CA_CERT", filepath.Join(pki, "ca.pem"))
	t.Setenv("DETOUR_CLIENT_CERT", filepath.Join(pki, "alice.pem"))
	t.Setenv("DETOUR_CLIENT_KEY", filepath.Join(pki, "alice-key.pem"))
	t.Setenv("DETOUR_TOKEN", "")
	t.Setenv("DETOUR_API", "")
	status := func(apiAddr string) (api.Status, string) {
		var stdout, stderr bytes.Buffer
		var st api.Status
		if run([]string{"status", "--json", "--api", "https://" + apiAddr}, &stdout, &stderr) > 1 {
			return st, stderr.String()
		}
		if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
			return st, stderr.String()
		}
		return st, ""
	}
	// The cluster forms: every node sees three members and a leader.
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; i < len(ids); {
		st, errText := status(apis[i])
		if st.Leader != "" && len(st.Members) == 3 && len(st.Records) == 1 {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no three-member cluster with a leader within 60s: leader %q, %d members: %s", ids[i], st.Leader, len(st.Members), errText)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// A write through a follower is forwarded over the node port.
	st, _ := status(apis[0])
	follower := 0
	for i, id := range ids {
		if id != st.Leader {
			follower = i
		}
	}
	if code, out := runCLI("drain", "web-c", "--reason", "mtls", "--api", "https://"+apis[follower]); code != 0 {
		t.Fatalf("drain through follower %s: %s", ids[follower], out)
	}
	for i := range ids {
		testutil.Eventually(t, ids[i]+" to show the drain made through "+ids[follower], 10*time.Second, func() bool {
			st, _ := status(apis[i])
			return len(st.Overrides) == 1 && st.Overrides[0].Target == "web-c"
		})
	}
	// The node port refuses the operator's certificate in the handshake.
	alice, err := tls.LoadX509KeyPair(filepath.Join(pki, "alice.pem"), filepath.Join(pki, "alice-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	ca := x509.NewCertPool()
	ca.AddCert(readCert(t, filepath.Join(pki, "ca.pem")))
	conn, err := tls.Dial("tcp", raft[0], &tls.Config{RootCAs: ca, Certificates: []tls.Certificate{alice}, ServerName: "127.0.0.1"})
	if err == nil {
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = conn.Read(make([]byte, 1))
		conn.Close()
	}
	if err == nil || isTimeout(err) {
		t.Errorf("the node port took the operator's certificate: %v", err)
	}
	// The API asks for a client certificate from the CA and takes
	// alice's; one from another CA, forced on it, fails the handshake.
	other := testutil.NewCA(t)
	otherCert, otherKey := other.Issue(t, "mallory")
	mallory, err := tls.LoadX509KeyPair(otherCert, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cert tls.Certificate
		ok   bool
	}{{"alice", alice, true}, {"mallory", mallory, false}} {
		offered := false
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca,
			GetClientCertificate: func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
				offered = c.name != "alice" || cri.SupportsCertificate(&c.cert) == nil
				return &c.cert, nil
			}}}}
		resp, err := hc.Get("https://" + apis[0] + "/v1/status")
		if err == nil {
			resp.Body.Close()
		}
		if !offered || (err == nil) != c.ok {
			t.Errorf("%s's certificate against the API: asked for it %v, err %v", c.name, offered, err)
		}
	}
	// The client's errors name the cause.
	api0 := "https://" + apis[0]
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown CA", []string{"status", "--api", api0, "--ca-cert", other.CAFile}, "--ca-cert"},
		{"name mismatch", []string{"status", "--api", "https://localhost:" + strings.Split(apis[0], ":")[1]}, `is not for "localhost" (it names 127.0.0.1)`},
	}
	for _, c := range cases {
		code, out := runCLI(c.args...)
		if code != 1 || !strings.Contains(out, c.want) {
			t.Errorf("%s: exit %d, want 1 with %q:\n%s", c.name, code, c.want, out)
		}
	}
}
