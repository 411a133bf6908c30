package health

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// snippetLen is how much of an unexpected body or reply a reason quotes:
// enough to recognise an error page, short enough for a status line.
const snippetLen = 36

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
	return fail(ClassError, err.Error())
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
		reasonsText = hostErr.Error()
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

// snippet quotes the start of data for a reason: whitespace collapsed,
// control characters and invalid UTF-8 replaced, cut with an ellipsis past
// snippetLen runes.
func snippet(data []byte) string {
	const scan = 16 * snippetLen
	more := false
	if len(data) > scan {
		data, more = data[:scan], true
	}
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(data), "\uFFFD")), " ")
	text = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return utf8.RuneError
		}
		return r
	}, text)
	if utf8.RuneCountInString(text) > snippetLen {
		text, more = string([]rune(text)[:snippetLen]), true
	}
	q := strconv.Quote(text)
	if more {
		q = q[:len(q)-1] + `…"`
	}
	return q
}

// notContains is the reason for content that lacks an expected string.
func notContains(what, want string, got []byte) Result {
	return fail(ClassContent, fmt.Sprintf("%s does not contain %q (got %s)", what, want, snippet(got)))
}
