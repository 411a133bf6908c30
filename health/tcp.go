package health

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// maxReply is how much a tcp check reads while looking for expect.
const maxReply = 64 << 10

// tcpCheck connects, optionally sends a line and optionally waits for a
// banner or reply that contains expect.
type tcpCheck struct {
	addr    string
	send    []byte
	expect  []byte
	timeout time.Duration
	dialer  net.Dialer
}

func tcpKind(c *spec.Check, env *env) (func(Target) Checker, error) {
	return func(t Target) Checker {
		return &tcpCheck{addr: t.Probe, send: []byte(c.Send), expect: []byte(c.Expect), timeout: c.Timeout.D(), dialer: *env.dialer("tcp")}
	}, nil
}

// Check dials, sends and reads within ctx's deadline.
func (c *tcpCheck) Check(ctx context.Context) Result {
	conn, err := c.dialer.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return errorResult(ctx, err, c.timeout)
	}
	defer conn.Close()
	if len(c.send) == 0 && len(c.expect) == 0 {
		return ok("connected")
	}
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if len(c.send) > 0 {
		if _, err := conn.Write(c.send); err != nil {
			return errorResult(ctx, err, c.timeout)
		}
	}
	if len(c.expect) == 0 {
		return ok("connected, sent")
	}
	got, err := readUntil(conn, c.expect)
	switch {
	case bytes.Contains(got, c.expect):
		return ok("reply contains " + strconv.Quote(string(c.expect)))
	case err != nil && !errors.Is(err, io.EOF) && len(got) == 0:
		return errorResult(ctx, err, c.timeout)
	default:
		// Closed, out of time or out of room with something else said.
		// What was said is not quoted: a reason is readable with a read
		// token, and a reply can hold what only the node should see.
		return notContains("reply", string(c.expect))
	}
}

// readUntil reads until want shows up, the peer closes, maxReply bytes
// were read or the deadline passes.
func readUntil(r io.Reader, want []byte) ([]byte, error) {
	buf := make([]byte, 0, 512)
	for len(buf) < maxReply {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), maxReply)])
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf, want) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
