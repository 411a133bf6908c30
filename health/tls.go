package health

import (
	"context"
	"crypto/tls"
	"net"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// tlsCheck completes a TLS handshake and fails when the certificate does
// not verify or expires within min_days: a certificate about to expire is
// an outage on a known date.
type tlsCheck struct {
	addr    string
	cfg     *tls.Config
	minDays int
	timeout time.Duration
	now     func() time.Time
	dialer  *net.Dialer
}

func tlsKind(c *spec.Check, env *env) (func(Target) Checker, error) {
	base, err := tlsConfig(c)
	if err != nil {
		return nil, err
	}
	dialer := env.dialer("tcp")
	return func(t Target) Checker {
		return &tlsCheck{addr: t.Probe, cfg: targetTLS(base, t.Probe), minDays: c.MinDays, timeout: c.Timeout.D(), now: env.now, dialer: dialer}
	}, nil
}

// targetTLS is base for one target: as it is when it names a server (sni
// or host), otherwise a copy naming the probe's host.
func targetTLS(base *tls.Config, probe string) *tls.Config {
	if base.ServerName != "" {
		return base
	}
	cfg := base.Clone()
	if h, _, err := net.SplitHostPort(probe); err == nil {
		cfg.ServerName = h
	}
	return cfg
}

// Check dials and shakes hands.
func (c *tlsCheck) Check(ctx context.Context) Result {
	d := tls.Dialer{Config: c.cfg, NetDialer: c.dialer}
	conn, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return errorResult(ctx, err, c.timeout)
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return fail(ClassTLS, "tls: server sent no certificate")
	}
	cert := state.PeerCertificates[0]
	if r, bad := expiry(cert, c.minDays, c.now()); bad {
		return r
	}
	return ok("certificate valid until " + cert.NotAfter.UTC().Format(time.DateOnly))
}
