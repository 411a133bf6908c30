package dnsserver

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/miekg/dns"
)

// DNS COOKIE (RFC 7873) with interoperable server cookies (RFC 9018): a
// client sends 8 random bytes; the server answers with them and a 16-byte
// server cookie, a MAC over the client cookie, a timestamp and the
// client's address. A later query carrying that server cookie cannot come
// from a spoofed address, so it is exempt from response rate limiting.
const (
	clientCookieLen = 8
	serverCookieLen = 16
	cookieOptLen    = 4 + clientCookieLen + serverCookieLen
	// A server cookie is valid for an hour and may come from up to five
	// minutes ahead (RFC 9018 4.3).
	cookieMaxAge    = 3600
	cookieMaxFuture = 300
)

// cookies makes and checks server cookies with one secret.
type cookies struct{ k0, k1 uint64 }

// newCookies keys server cookies with secret (16 bytes), or with a random
// secret when it is nil.
func newCookies(secret []byte) (*cookies, error) {
	if secret == nil {
		secret = make([]byte, 16)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("dns: cookie secret: %w", err)
		}
	}
	if len(secret) != 16 {
		return nil, fmt.Errorf("dns: %w: cookie secret is %d bytes, want 16", ErrLimits, len(secret))
	}
	return &cookies{k0: binary.LittleEndian.Uint64(secret), k1: binary.LittleEndian.Uint64(secret[8:])}, nil
}

// answer checks the server cookie of query q (from client, at unix time
// now), and writes the server cookie of the reply into q.
func (c *cookies) answer(msg []byte, q *query, client netip.Addr, now uint32) {
	opt := msg[q.cookie : q.cookie+q.cookieLen]
	if len(opt) == clientCookieLen+serverCookieLen && opt[8] == 1 {
		ts := binary.BigEndian.Uint32(opt[12:])
		age := int32(now - ts)
		if age <= cookieMaxAge && age >= -cookieMaxFuture &&
			c.mac(opt[:8], ts, client) == binary.LittleEndian.Uint64(opt[16:]) {
			q.cookieValid = true
		}
	}
	q.srvCookie[0] = 1 // version 1; three reserved bytes stay zero
	binary.BigEndian.PutUint32(q.srvCookie[4:], now)
	binary.LittleEndian.PutUint64(q.srvCookie[8:], c.mac(opt[:8], now, client))
	q.srvCookieSet = true
}

// mac is the hash of a server cookie: SipHash-2-4 over client cookie,
// version, reserved bytes, timestamp and client address (RFC 9018 4.4).
func (c *cookies) mac(client []byte, ts uint32, addr netip.Addr) uint64 {
	var buf [8 + 4 + 4 + 16]byte
	copy(buf[:8], client)
	buf[8] = 1
	binary.BigEndian.PutUint32(buf[12:], ts)
	n := 16
	if addr.Is4() {
		a := addr.As4()
		n += copy(buf[16:], a[:])
	} else if addr.IsValid() {
		a := addr.As16()
		n += copy(buf[16:], a[:])
	}
	return sipHash24(c.k0, c.k1, buf[:n])
}

// appendCookie appends the COOKIE option of the reply to q, if any.
func appendCookie(out, msg []byte, q *query) []byte {
	if !q.srvCookieSet {
		return out
	}
	out = append(out, 0, byte(dns.EDNS0COOKIE), 0, clientCookieLen+serverCookieLen)
	out = append(out, msg[q.cookie:q.cookie+clientCookieLen]...)
	return append(out, q.srvCookie[:]...)
}
