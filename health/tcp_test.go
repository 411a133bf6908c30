package health

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// lineServer greets with banner, then answers each line with reply(line).
func lineServer(t *testing.T, banner string, reply func(string) string) string {
	t.Helper()
	return serveTCP(t, func(c net.Conn) {
		c.Write([]byte(banner))
		if reply == nil {
			return
		}
		sc := bufio.NewScanner(c)
		for sc.Scan() {
			c.Write([]byte(reply(sc.Text())))
		}
	})
}

func TestTCPCheck(t *testing.T) {
	redis := lineServer(t, "", func(line string) string {
		if line == "PING" {
			return "+PONG\r\n"
		}
		return "-ERR unknown command\r\n"
	})
	smtp := lineServer(t, "220 mail.example.test ESMTP ready\r\n", func(string) string { return "250 ok\r\n" })
	broken := lineServer(t, "421 service not available, closing channel\r\n", nil)

	tcp := func(send, expect string) spec.Check {
		return spec.Check{Name: "t", Type: spec.CheckTCP, Send: send, Expect: expect,
			Interval: spec.Duration(time.Second), Timeout: spec.Duration(300 * time.Millisecond), Rise: 1, Fall: 1}
	}
	cases := []struct {
		name   string
		check  spec.Check
		probe  string
		up     bool
		reason string
		class  string
	}{
		{"connect only", tcp("", ""), redis, true, "connected", ClassOK},
		{"send and expect", tcp("PING\r\n", "+PONG"), redis, true, `reply contains "+PONG"`, ClassOK},
		{"wrong reply", tcp("PING\r\n", "+OK"), redis, false, `reply does not contain "+OK"`, ClassContent},
		{"banner", tcp("", "220 "), smtp, true, `reply contains "220 "`, ClassOK},
		{"banner then close", tcp("", "220 "), broken, false, `reply does not contain "220 "`, ClassContent},
		{"refused", tcp("", ""), refusedAddr(t), false, "connect: connection refused", ClassRefused},
		{"silent server", tcp("", "220 "), silentServer(t), false, "timeout after 300ms", ClassTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := probeOnce(t, c.check, c.probe)
			if r.Up != c.up || r.Reason != c.reason || r.Class != c.class {
				t.Errorf("got up=%v reason=%q class=%s, want up=%v reason=%q class=%s", r.Up, r.Reason, r.Class, c.up, c.reason, c.class)
			}
		})
	}
}

// Errors nothing recognises are passed on up to their first quotation
// mark: net/http and crypto/tls quote there what the server sent.
func TestErrorText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", "probe failed"},
		{"stopped after 10 redirects", "stopped after 10 redirects"},
		{`net/http: HTTP/1.x transport connection broken: malformed HTTP response "AKIA-SECRET-KEY"`, "net/http: HTTP/1.x transport connection broken: malformed HTTP response"},
		{`failed to parse Location header "http://x/?secret=1": bad`, "failed to parse Location header"},
		{strings.Repeat("é", 100), strings.Repeat("é", 60) + "…"},
	}
	for _, c := range cases {
		if got := errorText(errors.New(c.in)); got != c.want {
			t.Errorf("errorText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
