package dnsserver

import (
	"context"
	"encoding/binary"
	"net"
	"time"
)

// tcpOutFlush is how many bytes of replies a connection gathers before it
// writes them even with more queries to answer: it bounds the memory a
// client that pipelines queries for big answers can make it hold.
const tcpOutFlush = 16 << 10

// tcpStream is one TCP connection's buffers. Queries are read as many as
// the kernel holds at once, and the replies to all of them leave in one
// write: a client that pipelines queries costs two system calls per batch
// instead of four per query (two reads for the length and the message,
// one write, and the deadline updates between them).
type tcpStream struct {
	sc *Scratch
	// in holds received bytes; in[r:w] are not consumed yet. Its size
	// is one largest message and its length prefix.
	in   []byte
	r, w int
	out  []byte
	// partial: in[r:w] is the start of a message whose I/O deadline is
	// already set (it runs from the message's first bytes and is not
	// renewed by more of them, so a trickle cannot hold the connection).
	partial bool
	// answered: a query came on this connection (it was idle since
	// admitTCP before).
	answered bool
}

func newTCPStream(seed uint64) *tcpStream {
	return &tcpStream{
		sc:  NewScratch(seed),
		in:  make([]byte, 2+65535),
		out: make([]byte, 0, tcpOutFlush+2+512),
	}
}

// next returns the next complete message in the buffer, if there is one.
func (st *tcpStream) next() ([]byte, bool) {
	if st.w-st.r < 2 {
		return nil, false
	}
	n := int(binary.BigEndian.Uint16(st.in[st.r:]))
	if st.w-st.r < 2+n {
		return nil, false
	}
	msg := st.in[st.r+2 : st.r+2+n]
	st.r += 2 + n
	st.partial = false
	return msg, true
}

// fill reads what the kernel has for c, at least one byte. Unconsumed
// bytes move to the front first, so a message always fits whole.
func (st *tcpStream) fill(c net.Conn) error {
	if st.r == st.w {
		st.r, st.w = 0, 0
	} else if st.r > 0 {
		st.w = copy(st.in, st.in[st.r:st.w])
		st.r = 0
	}
	n, err := c.Read(st.in[st.w:])
	st.w += n
	if n > 0 {
		return nil
	}
	return err
}

// add queues reply with its length prefix.
func (st *tcpStream) add(reply []byte) {
	st.out = binary.BigEndian.AppendUint16(st.out, uint16(len(reply)))
	st.out = append(st.out, reply...)
}

// flush writes the queued replies within timeout.
func (st *tcpStream) flush(c net.Conn, timeout time.Duration) error {
	if len(st.out) == 0 {
		return nil
	}
	_ = c.SetWriteDeadline(time.Now().Add(timeout))
	_, err := c.Write(st.out)
	if cap(st.out) > 4*tcpOutFlush {
		st.out = make([]byte, 0, tcpOutFlush+2+512) // a huge answer's room is not kept
	}
	st.out = st.out[:0]
	return err
}

// reset readies a stream for another connection.
func (st *tcpStream) reset() {
	st.r, st.w, st.partial, st.answered = 0, 0, false, false
	st.out = st.out[:0]
	st.sc.Stats.reset()
}

// reset zeroes every counter.
func (s *Stats) reset() {
	for i := range s.Rcode {
		s.Rcode[i].Store(0)
	}
	for i := range s.Qtype {
		s.Qtype[i].Store(0)
	}
	s.Truncated.Store(0)
	s.Dropped.Store(0)
	s.RRLDropped.Store(0)
	s.RRLSlipped.Store(0)
}

// listenTCP listens on addr. Accepted connections get no TCP keep-alive:
// Go turns it on by default, at three or four setsockopt calls per
// connection (about 8% of the server's CPU with one query per
// connection), and a DNS connection idle for TCPIdleTimeout is closed
// long before a keep-alive probe would go out.
func listenTCP(addr *net.TCPAddr) (*net.TCPListener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	l, err := lc.Listen(context.Background(), "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}
