package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/seed3787e6f1/detour/controller/nodeport"
	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/spec"
)

// Start-up self-checks: every setting and every file a node needs is
// checked before anything starts (Raft above all), and every problem is
// reported in one round.

// settingsError lists every problem with a node's settings and files.
type settingsError struct{ problems []error }

func (e *settingsError) Error() string {
	lines := make([]string, 0, len(e.problems))
	for _, p := range e.problems {
		lines = append(lines, strings.ReplaceAll(p.Error(), "\n", "\n  "))
	}
	return ErrConfig.Error() + ":\n  " + strings.Join(lines, "\n  ")
}

// Unwrap lets errors.Is find ErrConfig and each problem's own sentinel.
func (e *settingsError) Unwrap() []error { return append([]error{ErrConfig}, e.problems...) }

// configError is nil without problems, else one error listing them all.
func configError(problems []error) error {
	if len(problems) == 0 {
		return nil
	}
	return &settingsError{problems: problems}
}

// loaded is what the checks read from the node's files, for start.
type loaded struct {
	seed   *spec.Spec
	tls    *tls.Config // node port; nil without TLS
	apiTLS *tls.Config
	tokens *api.Tokens
}

// preflight checks the settings and reads every file the node needs:
// the spec, the TLS files (the certificate checked against this node's
// address and use), the API tokens. It reports every problem at once.
func (c *Config) preflight(logger *slog.Logger) (*loaded, error) {
	problems := c.problems()
	var l loaded
	var err error
	if c.Spec == "" {
		problems = append(problems, errors.New("--spec is required: the spec that seeds an empty cluster"))
	} else {
		if l.seed, err = loadSpec(*c); err != nil {
			problems = append(problems, fmt.Errorf("--spec %s: %w", c.Spec, err))
		} else {
			allowed, _ := c.checkAllowNetworks() // a bad setting is among problems
			for _, p := range l.seed.LintAllowing(allowed) {
				logger.Warn("spec lint", "path", p.Path, "msg", p.Message)
			}
		}
	}
	if c.hasTLS() {
		certProblems := checkNodeCert(c.TLSCA, c.TLSCert, c.TLSKey, c.NodeID, c.advertisedAddr())
		problems = append(problems, certProblems...)
		if len(certProblems) == 0 {
			if l.tls, err = mutualTLS(c.TLSCA, c.TLSCert, c.TLSKey); err != nil {
				problems = append(problems, err)
			} else {
				l.tls.Time = c.Now // peers' certificates are judged by this node's clock
			}
		}
	}
	if l.apiTLS, l.tokens, err = c.apiSecurity(l.tls); err != nil {
		problems = append(problems, err) // it names the file
	} else if err := l.tokens.Weak(); err != nil {
		problems = append(problems, err)
	}
	return &l, configError(problems)
}

// advertisedAddr is the address peers dial this node at: its entry in
// --peers, else --raft-addr.
func (c *Config) advertisedAddr() string {
	for _, p := range c.Peers {
		if p.ID == c.NodeID {
			return p.Address
		}
	}
	return c.RaftAddr
}

// checkNodeCert checks the node's certificate before the node uses it:
// the key matches, the CA verifies the chain, both ends of a node-port
// connection can use it (serverAuth and clientAuth), and it names this
// node (its spiffe://detour/node/<id> URI) or covers the host peers dial
// it at. Each problem says what to fix.
func checkNodeCert(caFile, certFile, keyFile, nodeID, addr string) []error {
	var problems []error
	add := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	roots := x509.NewCertPool()
	if caPEM, err := os.ReadFile(caFile); err != nil {
		add("--tls-ca: %w", err)
	} else if !roots.AppendCertsFromPEM(caPEM) {
		add("--tls-ca %s: no PEM certificate found: give the CA certificate that issued the nodes' certificates", caFile)
	}
	chain, err := readCertChain(certFile)
	if err != nil {
		add("--tls-cert: %w", err)
		return problems
	}
	leaf := chain[0]
	if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
		add("--tls-key %s does not go with --tls-cert %s (%w): give the key the certificate was issued for", keyFile, certFile, err)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		add("--tls-cert %s does not verify against --tls-ca %s (%w): issue it from that CA, or give the CA that issued it (and its intermediates in the certificate file)", certFile, caFile, err)
	}
	for _, u := range []struct {
		usage x509.ExtKeyUsage
		name  string
	}{{x509.ExtKeyUsageServerAuth, "serverAuth"}, {x509.ExtKeyUsageClientAuth, "clientAuth"}} {
		if !slices.Contains(leaf.ExtKeyUsage, u.usage) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
			add("--tls-cert %s lacks the %s extended key usage: node-port connections are mutual TLS, so a node certificate needs both serverAuth and clientAuth; issue it with extendedKeyUsage = serverAuth, clientAuth", certFile, u.name)
		}
	}
	if p := nameProblem(leaf, nodeID, addr); p != "" {
		add("--tls-cert %s %s", certFile, p)
	}
	return problems
}

// nameProblem says why cert does not name node id at addr, or "".
func nameProblem(cert *x509.Certificate, id, addr string) string {
	uri := nodeport.NodeURI(id)
	var named []string
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, nodeport.NodeURIPrefix) {
			named = append(named, s)
		}
	}
	switch {
	case slices.Contains(named, uri) && len(named) == 1:
		return ""
	case len(named) > 0:
		return fmt.Sprintf("names %s, but this node is %q: peers would take it for another node; issue it with the URI SAN %s only", strings.Join(named, ", "), id, uri)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return ""
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		return "" // peers dial another address: nothing to check here
	}
	if cert.VerifyHostname(host) == nil {
		return ""
	}
	san := "DNS:" + host
	if net.ParseIP(host) != nil {
		san = "IP:" + host
	}
	if len(cert.DNSNames) == 0 && len(cert.IPAddresses) == 0 && len(cert.URIs) == 0 {
		return fmt.Sprintf("has no subject alternative name (only the common name %q, which TLS ignores): peers will refuse it; issue it with the SAN %s or the URI SAN %s", cert.Subject.CommonName, san, uri)
	}
	return fmt.Sprintf("covers neither %s, where peers reach this node (--raft-addr, --peers), nor the URI %s: peers will refuse it; issue it with the SAN %s or the URI SAN %s", host, uri, san, uri)
}

// readCertChain reads the certificates of a PEM file, the leaf first.
func readCertChain(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate found", file)
	}
	return chain, nil
}

// ErrSpecDrift means the --spec file is not the spec the cluster holds.
var ErrSpecDrift = errors.New("the --spec file differs from the cluster's spec")

// compareSeed reports, once the cluster holds a spec, whether the --spec
// file differs from it: the replicated spec wins, and the file only
// seeds an empty cluster, so an edited file would otherwise be ignored
// without a word.
func (n *Node) compareSeed(ctx context.Context, seed *spec.Spec) error {
	if seed == nil {
		return nil
	}
	fsm := n.store.FSM()
	for {
		changed := fsm.Changed()
		if held, version := fsm.Spec(); held != nil {
			if n.store.HeldIsSeed(held) {
				return nil // made of this very file (bigload)
			}
			return sameSpec(seed, held, version)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		}
	}
}

// sameSpec says whether the file's spec and the cluster's, version, are
// the same.
func sameSpec(file, held *spec.Spec, version uint64) error {
	same, err := file.Same(held)
	if err != nil {
		return err
	}
	if !same {
		return fmt.Errorf("%w (version %d)", ErrSpecDrift, version)
	}
	return nil
}

// reportSeed logs whether the --spec file is the cluster's spec.
func (n *Node) reportSeed(ctx context.Context, seed *spec.Spec) {
	err := n.compareSeed(ctx, seed)
	switch {
	case errors.Is(err, ErrSpecDrift):
		n.logger.Warn("the --spec file differs from the spec in force, which wins: the file only seeds an empty cluster; "+
			"see the difference with `detour spec diff "+n.cfg.Spec+"`, and apply the file with `detour spec apply "+n.cfg.Spec+"`",
			"spec", n.cfg.Spec, "err", err)
	case err != nil:
		n.logger.Warn("comparing the --spec file with the spec in force", "err", err)
	}
}

// Check reports every problem with cfg and the files it names, as Start
// would, without starting anything.
func Check(cfg Config, logger *slog.Logger) error {
	if cfg.Dev {
		cfg.ApplyDevDefaults()
	}
	_, err := cfg.preflight(logger)
	return err
}
