package health

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "detour test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	text := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return &testCA{cert: cert, key: key, pem: text}
}

// leaf issues a server certificate for 127.0.0.1 and app.example.test
// that expires after validFor.
func (ca *testCA) leaf(t *testing.T, validFor time.Duration) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "app.example.test"},
		DNSNames:     []string{"app.example.test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(validFor),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// tlsServer starts an HTTPS server with cert that answers "ok".
func tlsServer(t *testing.T, cert tls.Certificate) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = quietLog()
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestTLSAndHTTPSChecks(t *testing.T) {
	ca := newTestCA(t)
	good := tlsServer(t, ca.leaf(t, 90*24*time.Hour))
	tomorrow := tlsServer(t, ca.leaf(t, 25*time.Hour))
	threeDays := tlsServer(t, ca.leaf(t, 3*24*time.Hour+time.Hour))
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(plain.Close)

	check := func(typ string, f func(c *spec.Check)) spec.Check {
		c := httpCheckSpec("secure")
		c.Type, c.CAPEM, c.MinDays = typ, ca.pem, 0
		if typ == spec.CheckTLS {
			c.MinDays = 7
		}
		f(&c)
		return c
	}
	none := func(*spec.Check) {}
	cases := []struct {
		name   string
		check  spec.Check
		probe  string
		up     bool
		reason string // prefix
		class  string
	}{
		{"https verified with ca_pem", check(spec.CheckHTTPS, none), good, true, "HTTP 200 OK", ClassOK},
		{"https by host name through sni", check(spec.CheckHTTPS, func(c *spec.Check) { c.SNI = "app.example.test" }), good, true, "HTTP 200 OK", ClassOK},
		{"https host header sets sni", check(spec.CheckHTTPS, func(c *spec.Check) { c.Host = "app.example.test" }), good, true, "HTTP 200 OK", ClassOK},
		{"https unknown authority", check(spec.CheckHTTPS, func(c *spec.Check) { c.CAPEM = "" }), good, false,
			"tls: certificate signed by unknown authority", ClassTLS},
		{"https insecure_skip_verify", check(spec.CheckHTTPS, func(c *spec.Check) { c.CAPEM, c.InsecureSkipVerify = "", true }), good, true, "HTTP 200 OK", ClassOK},
		{"https wrong name", check(spec.CheckHTTPS, func(c *spec.Check) { c.SNI = "other.example.test" }), good, false,
			"tls: certificate is not valid for other.example.test", ClassTLS},
		{"https min_days", check(spec.CheckHTTPS, func(c *spec.Check) { c.MinDays = 7 }), threeDays, false, "certificate expires in 3 days", ClassExpiry},
		{"https to a plain server", check(spec.CheckHTTPS, none), plain.Listener.Addr().String(), false, "tls: server does not speak TLS", ClassTLS},
		{"tls valid", check(spec.CheckTLS, none), good, true, "certificate valid until ", ClassOK},
		{"tls expires tomorrow", check(spec.CheckTLS, none), tomorrow, false, "certificate expires in 2", ClassExpiry},
		{"tls expires in 3 days", check(spec.CheckTLS, none), threeDays, false, "certificate expires in 3 days", ClassExpiry},
		{"tls refused", check(spec.CheckTLS, none), refusedAddr(t), false, "connect: connection refused", ClassRefused},
		{"tls never answers", check(spec.CheckTLS, func(c *spec.Check) { c.Timeout = spec.Duration(100 * time.Millisecond) }), silentServer(t), false,
			"timeout after 100ms", ClassTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := probeOnce(t, c.check, c.probe)
			if r.Up != c.up || !strings.HasPrefix(r.Reason, c.reason) || r.Class != c.class {
				t.Errorf("got up=%v reason=%q class=%s, want up=%v reason=%q... class=%s", r.Up, r.Reason, r.Class, c.up, c.reason, c.class)
			}
		})
	}
}

// The engine takes a check's roots from the spec's bytes alone: a path in
// ca_file (which only a local spec may carry, inlined by spec.Load) is
// never opened, so every node builds the same roots.
func TestCAFromSpecBytesOnly(t *testing.T) {
	c := httpCheckSpec("secure")
	c.Type, c.CAFile, c.CAPEM = spec.CheckHTTPS, filepath.Join(t.TempDir(), "missing.pem"), newTestCA(t).pem
	if _, err := httpKind(&c, testEnv()); err != nil {
		t.Fatalf("a check with ca_pem failed to set up over an unreadable ca_file: %v", err)
	}
	c.CAPEM = "not PEM"
	if _, err := httpKind(&c, testEnv()); !errors.Is(err, ErrCheckConfig) || !strings.Contains(err.Error(), "ca_pem") {
		t.Fatalf("got %v, want ErrCheckConfig naming ca_pem", err)
	}
}

// quietLog drops the TLS handshake errors that servers log when a test
// client refuses their certificate on purpose.
func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }
