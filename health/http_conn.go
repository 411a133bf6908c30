package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// The probe's own connection: http checks (but follow_redirects) send
// their request on a connection of their own and read the response, in
// the calling goroutine.
//
// net/http's Transport starts two goroutines and a connection pool per
// request; with keep-alive off that is pure overhead, and at 10,000 probes
// per second it was most of the engine's CPU. Redirect-following checks
// still go through http.Client.

// keptConn is one target's connection kept between probes (keep_alive).
// A target has at most one probe in flight, so it needs no lock. Its read
// buffer comes from a pool for the length of a probe only: 10,000 idle
// connections need no 4 KiB each.
type keptConn struct {
	conn  net.Conn
	state *tls.ConnectionState
	// owed is set when a probe timed out before the first byte of its
	// answer: the connection is kept, and the next probe reads that
	// late answer before it sends its own request.
	owed bool
}

func (k *keptConn) close() {
	if k.conn != nil {
		k.conn.Close()
	}
	k.conn, k.state, k.owed = nil, nil, false
}

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// maxDrain is how much of an unread body is read to keep a connection.
const maxDrain = 64 << 10

// do performs h's request and returns the response with its body read up
// to limit bytes (nothing when limit is 0). With h.kept set, the
// connection is kept for the next probe when the server allows; a failure
// on a kept connection (the server may have closed it while idle, or
// said 408) is retried once on a fresh one, so a listener that died is
// still seen on the probe that finds it gone.
func (h *httpCheck) do(ctx context.Context, deadline time.Time, limit int64) (probeResponse, []byte, error) {
	br := readers.Get().(*bufio.Reader)
	defer func() { br.Reset(nil); readers.Put(br) }()
	kc := h.kept
	if kc != nil && kc.conn != nil {
		br.Reset(kc.conn)
		resp, body, err := h.exchange(ctx, deadline, kc.conn, br, kc.state, limit)
		// A 408 on a kept connection is most likely the server giving
		// up on it while idle, not an answer to this request.
		if err == nil && resp.code != http.StatusRequestTimeout {
			return resp, body, nil
		}
		if err != nil && kc.owed {
			return resp, body, err // timed out; the connection waits for its answer
		}
		kc.close()
		if ctx.Err() != nil || !time.Now().Before(deadline) {
			return probeResponse{}, nil, err
		}
	}
	conn, err := h.dial(ctx, deadline)
	if err != nil {
		return probeResponse{}, nil, err
	}
	var state *tls.ConnectionState
	if h.tls != nil {
		_ = conn.SetDeadline(deadline)
		tc := tls.Client(conn, h.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return probeResponse{}, nil, err
		}
		s := tc.ConnectionState()
		state, conn = &s, tc
	}
	br.Reset(conn)
	if kc == nil {
		defer conn.Close()
		return h.exchange(ctx, deadline, conn, br, state, limit)
	}
	kc.conn, kc.state = conn, state
	resp, body, err := h.exchange(ctx, deadline, conn, br, state, limit)
	if err != nil && !kc.owed {
		kc.close()
	}
	return resp, body, err
}

// dial connects to h's address. A connection that lives for one probe is
// closed with a reset (SO_LINGER 0), as HAProxy closes its checks: no
// TIME_WAIT is left behind, on either side, for each of thousands of
// probes a second.
func (h *httpCheck) dial(ctx context.Context, deadline time.Time) (net.Conn, error) {
	d := *h.dialer
	d.Deadline = deadline
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	if err != nil {
		return nil, err
	}
	if tc, ok := conn.(*net.TCPConn); ok && h.kept == nil {
		_ = tc.SetLinger(0)
	}
	return conn, nil
}

// exchange writes h's request on conn and reads the response. With h.kept
// set it leaves the connection reusable (body drained, deadlines cleared)
// or closes it when it cannot be reused; a timeout before the first byte
// of the answer sets h.kept.owed and leaves the connection to the caller.
func (h *httpCheck) exchange(ctx context.Context, deadline time.Time, conn net.Conn, br *bufio.Reader, state *tls.ConnectionState, limit int64) (probeResponse, []byte, error) {
	kc := h.kept
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if kc != nil && kc.owed {
		kc.owed = false
		if err := h.skipOwed(br); err != nil {
			return probeResponse{}, nil, fmt.Errorf("the previous probe's answer: %w", err)
		}
	}
	if _, err := conn.Write(h.wire); err != nil {
		return probeResponse{}, nil, err
	}
	if kc != nil {
		if err := h.awaitAnswer(ctx, br); err != nil {
			return probeResponse{}, nil, err
		}
	}
	resp, bodyReader, err := readResponse(br, h.method)
	if err != nil {
		return resp, nil, err
	}
	resp.tls = state
	body, err := readBody(bodyReader, limit)
	if err != nil {
		return resp, body, err
	}
	if kc != nil {
		// Reuse needs the server's consent and the whole body read.
		// Bytes past the response mean a confused exchange: start over.
		if resp.close || !stop() {
			kc.close()
		} else if n, err := io.Copy(io.Discard, io.LimitReader(bodyReader, maxDrain+1)); err != nil || n > maxDrain || br.Buffered() > 0 {
			kc.close()
		} else {
			_ = conn.SetDeadline(time.Time{})
		}
	}
	return resp, body, nil
}

// awaitAnswer waits for the first byte of the answer on a kept
// connection. When the probe's deadline passes first, nothing of the
// answer has been read, so the connection stays usable: it is kept, owing
// that answer (h.kept.owed), rather than closed. Closing it would make the
// next probe dial, accept and set up a connection again, which costs
// several times a probe on a kept one; on an observer short of CPU, whose
// probes time out because it reads their answers late, closing turned
// every timeout into more work and more timeouts.
func (h *httpCheck) awaitAnswer(ctx context.Context, br *bufio.Reader) error {
	_, err := br.Peek(1)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() == nil {
		h.kept.owed = true
	}
	return err
}

// skipOwed reads and drops the answer a timed-out probe left owing on a
// kept connection; an error means the connection cannot be reused.
func (h *httpCheck) skipOwed(br *bufio.Reader) error {
	resp, body, err := readResponse(br, h.method)
	if err != nil {
		return err
	}
	if resp.close {
		return errOwedClose
	}
	if n, err := io.Copy(io.Discard, io.LimitReader(body, maxDrain+1)); err != nil {
		return err
	} else if n > maxDrain {
		return errOwedClose
	}
	if br.Buffered() > 0 {
		return errOwedClose
	}
	return nil
}

// errOwedClose: the late answer a kept connection owed ended it.
var errOwedClose = errors.New("the connection ended with the late answer")

// readBody reads up to limit bytes of r; nothing when limit is 0.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	if limit <= 0 {
		return nil, nil
	}
	body := make([]byte, 0, 512)
	for int64(len(body)) < limit {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Read(body[len(body):min(int64(cap(body)), limit)])
		body = body[:len(body)+n]
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return body, err
		}
	}
	return body, nil
}
