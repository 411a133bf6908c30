package dnsserver

import (
	"encoding/hex"
	"net/netip"
	"testing"
)

// TestServerCookieVector reproduces RFC 9018 appendix A.1: the server
// cookie for a client cookie, client address, secret and time.
func TestServerCookieVector(t *testing.T) {
	secret, _ := hex.DecodeString("e5e973e5a6b2a43f48e7dc849e37bfcf")
	c, err := newCookies(secret)
	if err != nil {
		t.Fatal(err)
	}
	client, _ := hex.DecodeString("2464c4abcf10c957")
	msg := append(make([]byte, 4), client...)
	q := query{cookie: 4, cookieLen: 8}
	c.answer(msg, &q, netip.MustParseAddr("198.51.100.100"), 1559731985)
	if got, want := hex.EncodeToString(q.srvCookie[:]), "010000005cf79f111f8130c3eee29480"; got != want {
		t.Errorf("server cookie %s, want %s", got, want)
	}
	if q.cookieValid {
		t.Error("a query without a server cookie counted as valid")
	}
	// The client sends it back a minute later: valid, and a fresh one.
	msg = append(msg, q.srvCookie[:]...)
	q2 := query{cookie: 4, cookieLen: 24}
	c.answer(msg, &q2, netip.MustParseAddr("198.51.100.100"), 1559731985+60)
	if !q2.cookieValid {
		t.Error("the server's own cookie did not validate")
	}
	for name, tc := range map[string]struct {
		addr string
		now  uint32
	}{
		"other address":   {"198.51.100.101", 1559731985 + 60},
		"expired":         {"198.51.100.100", 1559731985 + 3601},
		"from the future": {"198.51.100.100", 1559731985 - 301},
	} {
		q3 := query{cookie: 4, cookieLen: 24}
		c.answer(msg, &q3, netip.MustParseAddr(tc.addr), tc.now)
		if q3.cookieValid {
			t.Errorf("%s: server cookie counted as valid", name)
		}
	}
}
