package spec

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"sort"
	"strings"
)

// validHeaderName reports whether k is an HTTP header name (RFC 9110
// token characters, as checks accept them).
func validHeaderName(k string) bool {
	return k != "" && !strings.ContainsFunc(k, func(r rune) bool {
		return r > '~' || !(r == '-' || r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z')
	})
}

// validateHeadersEnv checks the header-from-environment map: valid header
// names, variable names, and no header set both ways.
func validateHeadersEnv(e *Error, path string, c *Check) {
	names := make([]string, 0, len(c.HeadersEnv))
	for k := range c.HeadersEnv {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := c.HeadersEnv[k]
		if !validHeaderName(k) {
			e.add(path, "%s is not a valid header name", excerpt(k))
		}
		if !envName.MatchString(v) {
			e.add(path, "%s: %s is not an environment variable name (letters, digits and _)", excerpt(k), excerpt(v))
		}
		for h := range c.Headers {
			if strings.EqualFold(h, k) {
				e.add(path, "%s is also set in headers; keep one of them", excerpt(k))
			}
		}
	}
}

// validateCAPEM checks an inline CA bundle: PEM blocks of certificates
// only, at least one, each one parsing. Health checks build their roots
// from these bytes alone, so a bundle that passes here works on every
// node.
func validateCAPEM(e *Error, path, text string) {
	rest := []byte(text)
	n := 0
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		n++
		if b.Type != "CERTIFICATE" {
			e.add(path, "block %d is a %s, not a CERTIFICATE", n, excerpt(b.Type))
			return
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			e.add(path, "certificate %d does not parse: %v", n, err)
			return
		}
	}
	if n == 0 {
		e.add(path, "holds no PEM certificate (want -----BEGIN CERTIFICATE----- blocks)")
		return
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		e.add(path, "has text after its last certificate that is not PEM")
	}
}
