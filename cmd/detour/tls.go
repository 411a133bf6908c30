package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/controller/nodeport"
	"github.com/spf13/cobra"
)

// The files `detour tls` writes in its directory.
const (
	caCertFile = "ca.pem"
	caKeyFile  = "ca-key.pem"
)

// Default validities: a CA outlives many node certificates; a node or
// operator certificate is renewed every year (nodes re-read theirs when
// the files change, so renewal needs no restart).
const (
	defaultCADays   = 3650
	defaultCertDays = 365
)

// errExists is returned instead of overwriting a key or certificate.
var errExists = errors.New("already exists")

// certName is what a node ID or operator name may be: it goes into a URI
// SAN and a file name.
var certName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tls ca create | cert create",
		Short: "Create the cluster's CA and issue node and operator certificates",
		Long: `Make the certificates mutual TLS needs, with the names and key usages the
nodes check: a CA (ca create), a certificate per node (cert create --node ID
--address ADDR), and client certificates for operators (cert create
--operator NAME). Keys are ECDSA P-256, written 0600; nothing is overwritten.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("tls needs a subcommand: ca create or cert create")}
			}
			return usageError{fmt.Errorf("unknown tls subcommand %q (ca create, cert create)", args[0])}
		},
		RunE: func(*cobra.Command, []string) error { return nil },
	}
	noop := func(*cobra.Command, []string) error { return nil }
	ca := &cobra.Command{Use: "ca create", Short: "Create the cluster's CA", Args: subArgs("ca", "create"), RunE: noop}
	ca.AddCommand(newTLSCACreateCmd())
	cert := &cobra.Command{Use: "cert create", Short: "Issue a node or operator certificate", Args: subArgs("cert", "create"), RunE: noop}
	cert.AddCommand(newTLSCertCreateCmd())
	cmd.AddCommand(ca, cert)
	return cmd
}

// subArgs refuses a group command run without its one subcommand.
func subArgs(group, sub string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) == 0 {
			return usageError{fmt.Errorf("tls %s needs a subcommand: %s", group, sub)}
		}
		return usageError{fmt.Errorf("unknown tls %s subcommand %q (%s)", group, args[0], sub)}
	}
}

func newTLSCACreateCmd() *cobra.Command {
	var (
		dir, name string
		days      int
	)
	cmd := &cobra.Command{
		Use:   "create --dir DIR",
		Short: "Create a CA: DIR/ca.pem and DIR/ca-key.pem (keep the key offline)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{errors.New("--dir is required: where to write ca.pem and ca-key.pem")}
			}
			if days <= 0 {
				return usageError{fmt.Errorf("--days %d: want a positive number of days", days)}
			}
			certPath, err := createCA(dir, name, time.Duration(days)*24*time.Hour, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "created CA %q, valid %d days:\n  %s (give every node as tls_ca, and clients as --ca-cert)\n  %s (0600: keep it offline; whoever holds it can make a member)\n",
				name, days, certPath, filepath.Join(dir, caKeyFile))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory for ca.pem and ca-key.pem (created 0700 if missing)")
	f.StringVar(&name, "name", "detour cluster CA", "the CA's common name")
	f.IntVar(&days, "days", defaultCADays, "validity in days")
	return cmd
}

// createCA writes a new self-signed CA into dir and returns the
// certificate's path. It refuses to replace an existing CA.
func createCA(dir, name string, valid time.Duration, now time.Time) (string, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	if err := refuseExisting(certPath, keyPath); err != nil {
		return "", fmt.Errorf("%w: a CA is made once; every certificate hangs on it (remove both files to start over)", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", err
	}
	serial, err := newSerial()
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(valid),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	if err := writeKey(keyPath, key); err != nil {
		return "", err
	}
	return certPath, writeCert(certPath, der)
}

// certRequest is what `tls cert create` issues.
type certRequest struct {
	node, operator string
	addresses      []string
	dir, caDir     string
	valid          time.Duration
	overwrite      bool
}

func newTLSCertCreateCmd() *cobra.Command {
	var (
		r         certRequest
		addresses []string
		days      int
	)
	cmd := &cobra.Command{
		Use:   "create --node ID --address ADDR[,ADDR] | --operator NAME  [--dir DIR]",
		Short: "Issue a node certificate (serverAuth+clientAuth) or an operator's (clientAuth)",
		Long: `Issue a certificate signed by the CA in --ca-dir (default: --dir).

--node ID: a node certificate. It names the node by the URI SAN
spiffe://detour/node/ID, carries an IP or DNS SAN for every --address (the
hosts of its raft_addr and api_addr, and any name clients use for its API),
and is good for both serverAuth and clientAuth, as the node port requires.

--operator NAME: a client certificate (CN=NAME, clientAuth only, no node
URI): the API checks it when offered, and the node port refuses it.

Writes DIR/ID.pem and DIR/ID-key.pem (0600); --force replaces them
(rotation: nodes re-read changed files without a restart).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r.valid = time.Duration(days) * 24 * time.Hour
			for _, a := range addresses {
				for _, s := range strings.Split(a, ",") {
					if s = strings.TrimSpace(s); s != "" {
						r.addresses = append(r.addresses, s)
					}
				}
			}
			if err := r.check(days); err != nil {
				return usageError{err}
			}
			certPath, keyPath, err := issueCert(r, time.Now())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if r.node != "" {
				fmt.Fprintf(out, "issued node certificate for %s (%s, SANs %s; serverAuth, clientAuth), valid %d days:\n  %s (tls_cert)\n  %s (tls_key, 0600)\n",
					r.node, nodeport.NodeURI(r.node), strings.Join(r.addresses, ", "), days, certPath, keyPath)
				return nil
			}
			fmt.Fprintf(out, "issued operator certificate for %s (clientAuth), valid %d days:\n  %s\n  %s (0600)\n", r.operator, days, certPath, keyPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.node, "node", "", "the node ID the certificate names")
	f.StringSliceVar(&addresses, "address", nil, "the node's IP addresses and host names (repeatable or comma separated)")
	f.StringVar(&r.operator, "operator", "", "the operator the client certificate names")
	f.StringVar(&r.dir, "dir", ".", "directory to write the certificate and key to")
	f.StringVar(&r.caDir, "ca-dir", "", "directory of ca.pem and ca-key.pem (default: --dir)")
	f.IntVar(&days, "days", defaultCertDays, "validity in days")
	f.BoolVar(&r.overwrite, "force", false, "replace an existing certificate and key of that name")
	return cmd
}

// check validates the flags of `tls cert create`.
func (r *certRequest) check(days int) error {
	switch {
	case r.node == "" && r.operator == "":
		return errors.New("--node ID or --operator NAME is required")
	case r.node != "" && r.operator != "":
		return errors.New("give --node or --operator, not both")
	case r.node != "" && len(r.addresses) == 0:
		return errors.New("--address is required with --node: the IPs or host names of its raft_addr and api_addr")
	case r.operator != "" && len(r.addresses) > 0:
		return errors.New("--address is for node certificates: an operator's certificate names no host, so it can never pass for a node")
	case days <= 0:
		return fmt.Errorf("--days %d: want a positive number of days", days)
	}
	name := r.node + r.operator
	if !certName.MatchString(name) {
		return fmt.Errorf("%q: a name of letters, digits, '.', '_' and '-' (at most 63)", name)
	}
	for _, a := range r.addresses {
		if host, _, err := net.SplitHostPort(a); err == nil {
			return fmt.Errorf("--address %q: give the host (%s) without a port", a, host)
		}
		if net.ParseIP(strings.Trim(a, "[]")) == nil && !validHost(a) {
			return fmt.Errorf("--address %q: want an IP address or a DNS name", a)
		}
	}
	return nil
}

var hostLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func validHost(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for _, l := range strings.Split(h, ".") {
		if !hostLabel.MatchString(l) {
			return false
		}
	}
	return true
}

// issueCert signs a node or operator certificate with the CA and writes
// it and its key; it returns their paths.
func issueCert(r certRequest, now time.Time) (string, string, error) {
	caDir := firstOf(r.caDir, r.dir)
	caCert, caKey, err := loadCA(caDir)
	if err != nil {
		return "", "", err
	}
	name := r.node + r.operator
	certPath, keyPath := filepath.Join(r.dir, name+".pem"), filepath.Join(r.dir, name+"-key.pem")
	if !r.overwrite {
		if err := refuseExisting(certPath, keyPath); err != nil {
			return "", "", fmt.Errorf("%w (--force replaces them)", err)
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl, err := certTemplate(r, now)
	if err != nil {
		return "", "", err
	}
	if tmpl.NotAfter.After(caCert.NotAfter) {
		tmpl.NotAfter = caCert.NotAfter // a certificate cannot outlive its CA
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", "", fmt.Errorf("signing with the CA of %s: %w", caDir, err)
	}
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return "", "", err
	}
	if err := writeKey(keyPath, key); err != nil {
		return "", "", err
	}
	return certPath, keyPath, writeCert(certPath, der)
}

// certTemplate is the certificate r asks for, unsigned.
func certTemplate(r certRequest, now time.Time) (*x509.Certificate, error) {
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		NotBefore:    now.Add(-certBackdate),
		NotAfter:     now.Add(r.valid),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if r.operator != "" {
		tmpl.Subject = pkix.Name{CommonName: r.operator}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		return tmpl, nil
	}
	uri, err := url.Parse(nodeport.NodeURI(r.node))
	if err != nil {
		return nil, err
	}
	tmpl.Subject = pkix.Name{CommonName: r.node}
	tmpl.URIs = []*url.URL{uri}
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, a := range r.addresses {
		if ip := net.ParseIP(strings.Trim(a, "[]")); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, strings.TrimSuffix(a, "."))
		}
	}
	return tmpl, nil
}

// loadCA reads the CA certificate and key `tls ca create` wrote in dir.
func loadCA(dir string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	der, err := readPEM(certPath, "CERTIFICATE")
	if err != nil {
		return nil, nil, fmt.Errorf("the CA certificate: %w (create one with `detour tls ca create --dir %s`, or point --ca-dir at it)", err, dir)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA certificate %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, nil, fmt.Errorf("%s is not a CA certificate", certPath)
	}
	kder, err := readPEM(keyPath, "EC PRIVATE KEY")
	if err != nil {
		return nil, nil, fmt.Errorf("the CA key: %w", err)
	}
	key, err := x509.ParseECPrivateKey(kder)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA key %s: %w", keyPath, err)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, nil, fmt.Errorf("%s is not the key of %s", keyPath, certPath)
	}
	return cert, key, nil
}

func readPEM(path, typ string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(data)
	if b == nil || b.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %s block", path, typ)
	}
	return b.Bytes, nil
}

func refuseExisting(paths ...string) error {
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("%s %w", p, errExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func writeKey(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return writePEMFile(path, "EC PRIVATE KEY", der, 0o600)
}

func writeCert(path string, der []byte) error {
	return writePEMFile(path, "CERTIFICATE", der, 0o644)
}

// writePEMFile writes one PEM block through a temporary file, so that a
// node re-reading its files never sees half a certificate, with mode
// set before any byte is written.
func writePEMFile(path, typ string, der []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := pem.Encode(tmp, &pem.Block{Type: typ, Bytes: der}); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}
