package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// errSpeaksHTTPS means an http:// URL reached an HTTPS node: Go's TLS
// server answered the plain request with a 400 of its own, so the
// request never reached the API and nothing was applied.
var errSpeaksHTTPS = errors.New("the node speaks HTTPS")

// speaksHTTPS recognises that 400 on an http:// endpoint.
func speaksHTTPS(base string, status int, body []byte) bool {
	return status == http.StatusBadRequest && strings.HasPrefix(base, "http://") &&
		strings.Contains(string(body), "Client sent an HTTP request to an HTTPS server")
}

// endpointError is why one --api endpoint gave no answer.
type endpointError struct {
	base    string
	timeout time.Duration
	err     error
}

func (e *endpointError) Error() string { return e.base + ": " + explain(e.err, e.timeout) }
func (e *endpointError) Unwrap() error { return e.err }

// unreachableAll is the error when no endpoint answered: each one's
// cause, and what to do.
func unreachableAll(failures []error) error {
	if len(failures) == 1 {
		return fmt.Errorf("cannot reach the detour API at %w%s", failures[0], hint(failures[0]))
	}
	lines := make([]string, len(failures))
	for i, f := range failures {
		lines[i] = "  " + f.Error()
	}
	return fmt.Errorf("no detour API answered (%d tried):\n%s%s", len(failures), strings.Join(lines, "\n"), hint(failures[len(failures)-1]))
}

// hint says what to do about the last endpoint's failure.
func hint(err error) string {
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.As(err, &ue), errors.As(err, &he), isTLSRecord(err), errors.Is(err, errSpeaksHTTPS):
		return "" // explain already says what to do
	}
	return "; is a node running there? set --api or DETOUR_API (several, comma separated, are tried in order)"
}

// explain names the real cause of a failed request: an unknown CA, a
// certificate for another name, a refused connection, a timeout.
func explain(err error, timeout time.Duration) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		alert    tls.AlertError
		remote   *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return fmt.Sprintf("its certificate (%s) is signed by an authority this client does not trust: give the cluster's CA with --ca-cert FILE (or DETOUR_CA_CERT)", subject(unknown.Cert))
	case errors.As(err, &hostname):
		return fmt.Sprintf("its certificate is not for %q (it names %s): use an --api host the certificate names, or reissue it with that address (detour tls cert create --address)", hostname.Host, certNames(hostname.Certificate))
	case errors.As(err, &invalid):
		return fmt.Sprintf("its certificate is not valid: %v", invalid)
	case errors.As(err, &alert), isRemoteTLS(err, &remote):
		return fmt.Sprintf("the node refused the TLS handshake (%v): does it want a client certificate from its CA (--client-cert, --client-key)?", err)
	case isTLSRecord(err):
		return "it speaks plain HTTP, not HTTPS: use an http:// URL"
	case errors.Is(err, errSpeaksHTTPS):
		return "it speaks HTTPS, not plain HTTP: use an https:// URL (with --ca-cert FILE for the cluster's CA)"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused (nothing listens there)"
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return fmt.Sprintf("no answer within %s (--timeout)", timeout)
	}
	return err.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTLSRecord reports a plain-HTTP answer to a TLS client.
func isTLSRecord(err error) bool {
	var re tls.RecordHeaderError
	return errors.As(err, &re) || strings.Contains(err.Error(), "server gave HTTP response to HTTPS client")
}

// isRemoteTLS reports an alert the server sent during the handshake.
func isRemoteTLS(err error, op **net.OpError) bool {
	return errors.As(err, op) && (*op).Op == "remote error"
}

func subject(c *x509.Certificate) string {
	if c == nil {
		return "unknown"
	}
	return "issued by " + c.Issuer.String()
}

func certNames(c *x509.Certificate) string {
	if c == nil {
		return "nothing"
	}
	var names []string
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	names = append(names, c.DNSNames...)
	if len(names) == 0 {
		return "no IP or DNS name (a CN alone counts for nothing)"
	}
	return strings.Join(names, ", ")
}
