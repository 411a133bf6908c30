package health

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http/httputil"
)

// maxHead bounds a response's status line and headers together.
const maxHead = 64 << 10

// probeResponse is what a probe needs of an HTTP response head.
type probeResponse struct {
	code  int
	close bool // the connection cannot carry another request
	tls   *tls.ConnectionState
}

// errMalformed marks a response that is not HTTP/1.x.
var errMalformed = errors.New("malformed HTTP response")

// readResponse reads a response to a request with method from br: its head,
// and a reader of its body. Interim (1xx) responses are skipped.
//
// http.ReadResponse builds a header map, a string per header and a body
// with trailers for every probe; at 10,000 probes a second that was a
// sixth of the engine's CPU. A probe needs the status, where the body
// ends, and whether the connection can be reused: this reads only that,
// by the rules of RFC 9112 section 6, and leaves every other header
// unread. Chunked bodies go through net/http/httputil's chunked reader.
func readResponse(br *bufio.Reader, method string) (probeResponse, io.Reader, error) {
	budget := maxHead
	for {
		r, length, chunked, err := readHead(br, &budget)
		if err != nil {
			return r, nil, err
		}
		switch {
		case r.code >= 100 && r.code < 200 && r.code != 101:
			continue // interim: the final response follows
		case r.code == 101: // the connection now speaks something else
			r.close = true
			return r, bytes.NewReader(nil), nil
		case method == "HEAD" || r.code < 200 || r.code == 204 || r.code == 304:
			return r, bytes.NewReader(nil), nil
		case chunked:
			return r, &chunkedBody{br: br, r: httputil.NewChunkedReader(br)}, nil
		case length >= 0:
			return r, &lengthBody{br: br, left: length}, nil
		default: // delimited by the server closing the connection
			r.close = true
			return r, br, nil
		}
	}
}

// readHead reads one status line and its headers. length is the
// Content-Length (-1 when absent); chunked means the body is chunked.
func readHead(br *bufio.Reader, budget *int) (r probeResponse, length int64, chunked bool, err error) {
	line, err := readLine(br, budget)
	if err != nil {
		return r, 0, false, err
	}
	version, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || len(version) != 8 || !bytes.HasPrefix(version, []byte("HTTP/1.")) {
		return r, 0, false, fmt.Errorf("%w: the status line is not HTTP/1.x", errMalformed)
	}
	rest = bytes.TrimLeft(rest, " ")
	code, _, _ := bytes.Cut(rest, []byte(" "))
	if len(code) != 3 || code[0] < '1' || code[0] > '9' || !digits(code) {
		return r, 0, false, fmt.Errorf("%w: the status code is not three digits", errMalformed)
	}
	r.code = int(code[0]-'0')*100 + int(code[1]-'0')*10 + int(code[2]-'0')
	length = -1
	te, sawClose, sawKeepAlive := false, false, false
	for {
		line, err := readLine(br, budget)
		if err != nil {
			return r, 0, false, err
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // obsolete line folding: more of a value no probe reads
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return r, 0, false, fmt.Errorf("%w: a header line has no colon", errMalformed)
		}
		value = bytes.Trim(value, " \t")
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := parseLength(value)
			if !ok {
				return r, 0, false, fmt.Errorf("%w: Content-Length is not a number", errMalformed)
			}
			if length >= 0 && n != length {
				return r, 0, false, fmt.Errorf("%w: two Content-Length headers (%d and %d)", errMalformed, length, n)
			}
			length = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			te = true
			chunked = lastToken(value, "chunked")
		case bytes.EqualFold(name, []byte("Connection")):
			sawClose = sawClose || hasToken(value, "close")
			sawKeepAlive = sawKeepAlive || hasToken(value, "keep-alive")
		}
	}
	// HTTP/1.1 keeps the connection unless told; 1.0 only when told; a
	// close anywhere wins.
	keepAlive := !sawClose && (version[7] != '0' || sawKeepAlive)
	if te {
		// Transfer-Encoding overrides Content-Length; a body that is not
		// chunked last ends when the server closes (RFC 9112 6.3).
		length = -1
		if !chunked {
			keepAlive = false
		}
	}
	r.close = !keepAlive
	return r, length, chunked, nil
}

// readLine returns the next line without its line ending. A line longer
// than br's buffer is cut there; the rest is read and dropped, since no
// header a probe reads is that long. Every byte read counts against
// budget.
func readLine(br *bufio.Reader, budget *int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	*budget -= len(line)
	if errors.Is(err, bufio.ErrBufferFull) {
		// Keep the start: copy it before the buffer is reused.
		line = append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) && *budget >= 0 {
			var more []byte
			more, err = br.ReadSlice('\n')
			*budget -= len(more)
		}
	}
	if *budget < 0 {
		return nil, fmt.Errorf("%w: head longer than %d KiB", errMalformed, maxHead>>10)
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), nil
}

// lengthBody reads a body of Content-Length bytes; one cut short is an
// error, not a shorter body.
type lengthBody struct {
	br   *bufio.Reader
	left int64
}

func (l *lengthBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.br.Read(p)
	l.left -= int64(n)
	if errors.Is(err, io.EOF) && l.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// chunkedBody reads a chunked body and, at its end, the trailer section,
// so that a kept connection is left at the next response.
type chunkedBody struct {
	br   *bufio.Reader
	r    io.Reader
	done bool
}

func (c *chunkedBody) Read(p []byte) (int, error) {
	if c.done {
		return 0, io.EOF
	}
	n, err := c.r.Read(p)
	if errors.Is(err, io.EOF) {
		budget := maxHead
		for {
			line, lerr := readLine(c.br, &budget)
			if lerr != nil {
				return n, lerr
			}
			if len(line) == 0 {
				break
			}
		}
		c.done = true
	}
	return n, err
}

// parseLength reads a Content-Length value: decimal digits only.
func parseLength(b []byte) (int64, bool) {
	if !digits(b) || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		n = n*10 + int64(c-'0')
	}
	return n, true
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// hasToken reports whether the comma-separated list v holds token, in any
// case.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var t []byte
		t, v, _ = bytes.Cut(v, []byte(","))
		if bytes.EqualFold(bytes.Trim(t, " \t"), []byte(token)) {
			return true
		}
	}
	return false
}

// lastToken reports whether the comma-separated list v ends with token.
func lastToken(v []byte, token string) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return bytes.EqualFold(bytes.Trim(v, " \t"), []byte(token))
}
