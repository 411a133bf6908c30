package dnsserver

import (
	"encoding/binary"

	"github.com/miekg/dns"
)

// Limits of what the server sends over UDP.
const (
	// MinUDPSize is what a client without EDNS can receive.
	MinUDPSize = 512
	// DefaultMaxUDPSize caps EDNS answers (DNS flag day 2020), avoiding
	// IP fragmentation.
	DefaultMaxUDPSize = 1232
	headerLen         = 12
	optLen            = 11
	edeLen            = 6
	// MaxNSIDLen bounds the NSID a server sends (RFC 5001 leaves it to
	// the operator; it is meant to be short).
	MaxNSIDLen = 128
)

// Header flag bits, in the 16-bit flags word.
const (
	flagQR = 1 << 15
	flagAA = 1 << 10
	flagTC = 1 << 9
	flagRD = 1 << 8
)

// query is what the server needs to know of an incoming message.
type query struct {
	id       uint16
	flags    uint16
	opcode   int
	qnameEnd int // offset just past the question name; 0 if not plain
	qtype    uint16
	qclass   uint16
	simple   bool // fits the fast path: one question, at most an OPT
	edns     bool
	version  uint8
	udpSize  uint16
	do       bool
	co       bool // Compact Answers OK (RFC 9824)

	// cookie is the offset in the message of the COOKIE option's data
	// (0: none) and cookieLen its length; badCookie marks one of a
	// length RFC 7873 forbids (FORMERR).
	cookie, cookieLen int
	badCookie         bool
	// cookieValid: the query carried a server cookie of ours, valid
	// for its client. srvCookie is the reply's server cookie, when
	// srvCookieSet.
	cookieValid  bool
	srvCookieSet bool
	srvCookie    [serverCookieLen]byte

	// nsid: the query asked for the server's NSID (RFC 5001); nsidVal
	// is what the reply carries, empty when NSID is off.
	nsid    bool
	nsidVal string
	// maxUDP is the server's UDP payload size, told in the reply's OPT;
	// 0 means DefaultMaxUDPSize.
	maxUDP uint16

	// ecs: the query carried a well-formed Client Subnet option (RFC
	// 7871) at ecsOff (its data, ecsLen bytes), for ecsAddr/ecsSource;
	// ecsScope is the reply's scope. badECS marks a malformed one
	// (FORMERR). ecsIP is the address's bytes (padded with zeros),
	// IPv6 when ecs6.
	ecs                 bool
	ecsOff, ecsLen      int
	ecsSource, ecsScope uint8
	ecsIP               [16]byte
	ecs6                bool
	badECS              bool
}

// parseQuery reads the header, question and OPT record of msg into q
// without allocating, and writes the lower-cased wire question name
// followed by the type into key. It returns ok=false when msg is too short to answer
// at all. A query the fast path cannot take has simple=false and is left
// to the full parser.
func parseQuery(msg []byte, key []byte, q *query) (k []byte, ok bool) {
	*q = query{}
	k = key[:0]
	if len(msg) < headerLen {
		return k, false
	}
	q.id = binary.BigEndian.Uint16(msg)
	q.flags = binary.BigEndian.Uint16(msg[2:])
	q.opcode = int(q.flags>>11) & 0xF
	qd := binary.BigEndian.Uint16(msg[4:])
	an := binary.BigEndian.Uint16(msg[6:])
	ns := binary.BigEndian.Uint16(msg[8:])
	ar := binary.BigEndian.Uint16(msg[10:])
	if qd != 1 {
		return k, true
	}
	off := headerLen
	for {
		if off >= len(msg) {
			return k, true
		}
		l := int(msg[off])
		if l == 0 {
			k = append(k, 0)
			off++
			break
		}
		if l&0xC0 != 0 || off+1+l > len(msg) || len(k)+l+2 > 255 {
			return k, true
		}
		k = append(k, byte(l))
		for _, c := range msg[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			k = append(k, c)
		}
		off += 1 + l
	}
	if off+4 > len(msg) {
		return k, true
	}
	q.qnameEnd = off
	q.qtype = binary.BigEndian.Uint16(msg[off:])
	q.qclass = binary.BigEndian.Uint16(msg[off+2:])
	k = append(k, byte(q.qtype>>8), byte(q.qtype))
	off += 4
	if an != 0 || ns != 0 || ar > 1 || q.flags&flagQR != 0 {
		return k, true
	}
	if ar == 1 {
		// OPT: root name, type 41, class = UDP size, TTL = ext-rcode,
		// version, flags; then RDATA.
		if off+optLen > len(msg) || msg[off] != 0 || binary.BigEndian.Uint16(msg[off+1:]) != dns.TypeOPT {
			return k, true
		}
		q.edns = true
		q.udpSize = binary.BigEndian.Uint16(msg[off+3:])
		q.version = msg[off+6]
		q.do = msg[off+7]&0x80 != 0
		q.co = msg[off+7]&0x40 != 0
		rdlen := int(binary.BigEndian.Uint16(msg[off+9:]))
		off += optLen + rdlen
		if off != len(msg) || !q.options(msg, off-rdlen) {
			return k, true
		}
	} else if off != len(msg) {
		return k, true
	}
	q.simple = q.opcode == dns.OpcodeQuery && q.version == 0
	return k, true
}

// options reports whether the EDNS option data from off to the end of msg
// is well formed, and notes where the first COOKIE option is.
func (q *query) options(msg []byte, off int) bool {
	for off < len(msg) {
		if len(msg)-off < 4 {
			return false
		}
		code := binary.BigEndian.Uint16(msg[off:])
		l := int(binary.BigEndian.Uint16(msg[off+2:]))
		if len(msg)-off < 4+l {
			return false
		}
		if code == dns.EDNS0NSID {
			q.nsid = true
		}
		if code == dns.EDNS0SUBNET && !q.parseECS(msg, off+4, l) {
			q.badECS = true
			return false
		}
		if code == dns.EDNS0COOKIE && q.cookie == 0 {
			// A client cookie alone, or with a server cookie of 8 to
			// 32 bytes (RFC 7873 4).
			if l != clientCookieLen && (l < 16 || l > 40) {
				q.badCookie = true
				return false
			}
			q.cookie, q.cookieLen = off+4, l
		}
		off += 4 + l
	}
	return true
}

// wireKey appends the lower-cased wire form of name and the type to dst:
// the key of the packed-answer maps, as parseQuery builds it.
func wireKey(dst []byte, name string, t uint16) []byte {
	buf := make([]byte, 256)
	n, err := dns.PackDomainName(dns.CanonicalName(name), buf, 0, nil, false)
	if err != nil {
		return nil
	}
	dst = append(dst, buf[:n]...)
	return append(dst, byte(t>>8), byte(t))
}

// finish turns body (a response packed with the lower-cased question) into
// the reply to q: the query's ID, RD flag and name case, an OPT record when
// the query had one, and truncation when the reply does not fit limit.
// extRcode is the upper 8 bits of a 12-bit rcode (1 for BADVERS); ede is an
// extended DNS error code, or -1.
func finish(dst, body, msg []byte, q *query, limit int, extRcode uint8, ede int) []byte {
	out := append(dst[:0], body...)
	binary.BigEndian.PutUint16(out, q.id)
	flags := binary.BigEndian.Uint16(out[2:]) | q.flags&flagRD
	binary.BigEndian.PutUint16(out[2:], flags)
	if q.qnameEnd > 0 && len(out) >= q.qnameEnd && out[q.qnameEnd-1] == 0 {
		copy(out[headerLen:q.qnameEnd], msg[headerLen:q.qnameEnd])
	}
	if n, ok := fit(out, limit-optSize(q, ede)); ok {
		out = out[:n]
	} else {
		// Like Knot DNS: keep the question only and set TC; the client
		// retries over TCP.
		out = truncate(out, q)
	}
	return appendOPT(out, msg, q, extRcode, ede)
}

// optSize is the length of the OPT record appendOPT adds.
func optSize(q *query, ede int) int {
	if !q.edns {
		return 0
	}
	n := optLen
	if ede >= 0 {
		n += edeLen
	}
	if q.srvCookieSet {
		n += cookieOptLen
	}
	if q.nsidVal != "" {
		n += 4 + len(q.nsidVal)
	}
	return n + q.ecsSize()
}

// truncate cuts reply out (without OPT) to its header and question, and
// sets TC.
func truncate(out []byte, q *query) []byte {
	qend := q.qnameEnd + 4
	// A reply without the question (a FORMERR, headerOnly's) keeps the
	// header alone.
	if q.qnameEnd == 0 || qend > len(out) || binary.BigEndian.Uint16(out[4:]) != 1 {
		qend = headerLen
		binary.BigEndian.PutUint16(out[4:], 0)
	}
	out = out[:qend]
	out[2] |= flagTC >> 8
	binary.BigEndian.PutUint16(out[6:], 0)
	binary.BigEndian.PutUint16(out[8:], 0)
	binary.BigEndian.PutUint16(out[10:], 0)
	return out
}

// appendOPT appends the reply's OPT record when the query had one: the
// extended rcode, the DO bit as asked, an extended error (ede >= 0), the
// cookies and the NSID.
func appendOPT(out, msg []byte, q *query, extRcode uint8, ede int) []byte {
	if !q.edns {
		return out
	}
	var do byte
	if q.do {
		do = 0x80
	}
	if q.co {
		do |= 0x40 // Compact Answers OK, echoed (RFC 9824)
	}
	rdlen := optSize(q, ede) - optLen
	size := q.serverUDPSize()
	out = append(out, 0, byte(dns.TypeOPT>>8), byte(dns.TypeOPT), byte(size>>8), byte(size),
		extRcode, 0, do, 0, byte(rdlen>>8), byte(rdlen))
	if ede >= 0 {
		out = append(out, 0, byte(dns.EDNS0EDE), 0, 2, byte(ede>>8), byte(ede))
	}
	out = appendCookie(out, msg, q)
	if q.nsidVal != "" {
		out = append(out, 0, byte(dns.EDNS0NSID), 0, byte(len(q.nsidVal)))
		out = append(out, q.nsidVal...)
	}
	out = appendECS(out, msg, q)
	ar := binary.BigEndian.Uint16(out[10:])
	binary.BigEndian.PutUint16(out[10:], ar+1)
	return out
}

// serverUDPSize is the UDP payload size the reply's OPT advertises.
func (q *query) serverUDPSize() uint16 {
	if q.maxUDP == 0 {
		return DefaultMaxUDPSize
	}
	return q.maxUDP
}

// findOPT looks for the OPT record of a message the fast parser left
// (several questions, records in other sections, a TSIG after the OPT),
// so that every reply to an EDNS query carries OPT (RFC 6891 6.1.1). It
// stops at the first OPT; the full parser judges a second one.
func (q *query) findOPT(msg []byte) {
	if len(msg) < headerLen {
		return
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	rrs := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:]))
	ar := int(binary.BigEndian.Uint16(msg[10:]))
	off := headerLen
	for i := 0; i < qd && off > 0; i++ {
		if off = skipName(msg, off); off > 0 {
			off += 4
		}
	}
	for i := 0; i < rrs && off > 0; i++ {
		off = skipRR(msg, off)
	}
	for i := 0; i < ar && off > 0 && off < len(msg); i++ {
		end := skipRR(msg, off)
		if end < 0 {
			return
		}
		if msg[off] == 0 && binary.BigEndian.Uint16(msg[off+1:]) == dns.TypeOPT {
			q.edns = true
			q.udpSize = binary.BigEndian.Uint16(msg[off+3:])
			q.version = msg[off+6]
			q.do = msg[off+7]&0x80 != 0
			q.co = msg[off+7]&0x40 != 0
			q.options(msg[:end], off+optLen)
			return
		}
		off = end
	}
}

// udpLimit is the largest reply a UDP client can take.
func udpLimit(q *query, max int) int {
	if !q.edns || q.udpSize <= MinUDPSize {
		return MinUDPSize
	}
	return min(int(q.udpSize), max)
}
