package main

import (
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"
)

// A node whose clock is an hour or more behind would refuse every peer's
// fresh certificate as not yet valid (`detour tls` backdated it 5
// minutes), and the node port would cut it off from the cluster. A certificate made now
// verifies by a clock up to a day behind, and by the right clock.
func TestCertVerifiesByClockBehind(t *testing.T) {
	pki := filepath.Join(t.TempDir(), "pki")
	tlsCLI(t, "ca", "create", "--dir", pki)
	tlsCLI(t, "cert", "create", "--node", "n1", "--address", "10.1.0.5", "--dir", pki)
	ca, leaf := readCert(t, filepath.Join(pki, "ca.pem")), readCert(t, filepath.Join(pki, "n1.pem"))
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	for _, behind := range []time.Duration{0, time.Hour, 3 * time.Hour, 24 * time.Hour} {
		opts := x509.VerifyOptions{Roots: roots, CurrentTime: time.Now().Add(-behind), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
		if _, err := leaf.Verify(opts); err != nil {
			t.Errorf("by a clock %s behind: %v", behind, err)
		}
	}
}
