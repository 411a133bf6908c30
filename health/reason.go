package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/internal/netguard"
)

// errorResult turns a probe error into a Result with a reason an operator
// can act on, stripped of Go's wrapping ("Get \"http://...\": dial tcp
// 10.0.0.5:80: connect: connection refused" becomes "connect: connection
// refused"). timeout is the probe's timeout, named when it ran out.
func errorResult(ctx context.Context, err error, timeout time.Duration) Result {
	var netErr net.Error
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return fail(ClassTimeout, "timeout after "+timeout.String())
	case errors.Is(err, syscall.ECONNREFUSED):
		return fail(ClassRefused, "connect: connection refused")
	}
	var blocked *netguard.BlockedError
	if errors.As(err, &blocked) {
		return fail(ClassBlocked, blocked.Error())
	}
	if r, ok := tlsResult(err); ok {
		return r
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fail(ClassConnect, "lookup "+dnsErr.Name+": "+dnsErr.Err)
	}
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		class := ClassError
		if sysErr.Syscall == "connect" {
			class = ClassConnect
		}
		return fail(class, sysErr.Syscall+": "+sysErr.Err.Error())
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Err != nil {
		class := ClassError
		if opErr.Op == "dial" {
			class = ClassConnect
		}
		return fail(class, opErr.Op+": "+opErr.Err.Error())
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return fail(ClassTLS, "tls: server does not speak TLS (it answered plain HTTP)")
	}
	return fail(ClassError, errorText(err))
}

// tlsResult recognises handshake and verification failures.
func tlsResult(err error) (Result, bool) {
	var (
		unknownCA   x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalid     x509.CertificateInvalidError
		verifyErr   *tls.CertificateVerificationError
		recordErr   tls.RecordHeaderError
		alert       tls.AlertError
		reasonsText string
	)
	switch {
	case errors.As(err, &unknownCA):
		reasonsText = "certificate signed by unknown authority"
	case errors.As(err, &hostErr):
		// Not hostErr.Error(): it lists the names the server's
		// certificate holds.
		reasonsText = "certificate is not valid for " + hostErr.Host
	case errors.As(err, &invalid):
		reasonsText = strings.TrimPrefix(invalid.Error(), "x509: ")
	case errors.As(err, &verifyErr):
		reasonsText = strings.TrimPrefix(verifyErr.Err.Error(), "x509: ")
	case errors.As(err, &recordErr):
		reasonsText = "server does not speak TLS"
	case errors.As(err, &alert):
		reasonsText = "handshake refused: " + alert.Error()
	default:
		return Result{}, false
	}
	return fail(ClassTLS, "tls: "+strings.TrimPrefix(reasonsText, "x509: ")), true
}

// notContains is the reason for content that lacks an expected string.
// What was found instead is not quoted: reasons are readable with a read
// token, and what a target sent can hold what only the node should see.
func notContains(what, want string) Result {
	return fail(ClassContent, fmt.Sprintf("%s does not contain %q", what, want))
}

// statusText is the reason for an HTTP status: the code and the standard
// text for it, never the server's own reason phrase.
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return "HTTP " + strconv.Itoa(code) + " " + t
	}
	return "HTTP " + strconv.Itoa(code)
}

// maxErrorText bounds the text of an error a reason passes on.
const maxErrorText = 120

// errorText is the text of an error nothing above recognised, cut at its
// first quotation mark: the errors of net/http and crypto/tls quote what
// the server sent there (a malformed status line, a Location header).
func errorText(err error) string {
	text, _, _ := strings.Cut(err.Error(), `"`)
	text = strings.TrimRight(text, " :")
	if len(text) > maxErrorText {
		text = strings.ToValidUTF8(text[:maxErrorText], "") + "…"
	}
	if text == "" {
		return "probe failed"
	}
	return text
}
