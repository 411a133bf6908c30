package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// probeConn sends one request on a connection of its own and reads the
// response, in the calling goroutine.
//
// net/http's Transport starts two goroutines and a connection pool per
// request; with keep-alive off that is pure overhead, and at 10,000 probes
// per second it was most of the engine's CPU. Redirect-following checks
// still go through http.Client.
type probeConn struct {
	dialer net.Dialer
	tls    *tls.Config // nil for plain http
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// do performs req against addr (host:port) and returns the response with
// its body read up to limit bytes (nothing when limit is 0).
func (p *probeConn) do(ctx context.Context, req *http.Request, addr string, limit int64) (*http.Response, []byte, error) {
	conn, err := p.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var state *tls.ConnectionState
	if p.tls != nil {
		cfg := p.tls
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName, _, _ = net.SplitHostPort(addr)
		}
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, nil, err
		}
		s := tc.ConnectionState()
		state, conn = &s, tc
	}
	req.Close = true // "Connection: close": one request per connection
	if err := req.Write(conn); err != nil {
		return nil, nil, err
	}
	br := readers.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() { br.Reset(nil); readers.Put(br) }()
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	resp.TLS = state
	var body []byte
	if limit > 0 {
		body = make([]byte, 0, 512)
		for int64(len(body)) < limit {
			if len(body) == cap(body) {
				body = append(body, 0)[:len(body)]
			}
			n, err := resp.Body.Read(body[len(body):min(int64(cap(body)), limit)])
			body = body[:len(body)+n]
			if err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return resp, body, err
			}
		}
	}
	return resp, body, nil
}
