package health

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// parsed is what either parser made of a response, and what was left
// after its body.
type parsed struct {
	code   int
	close  bool
	body   string
	rest   string
	failed bool
}

func parseOurs(raw, method string) parsed {
	br := bufio.NewReaderSize(strings.NewReader(raw), 4096)
	r, body, err := readResponse(br, method)
	if err != nil {
		return parsed{failed: true}
	}
	b, err := io.ReadAll(body)
	rest, _ := io.ReadAll(br)
	return parsed{code: r.code, close: r.close, body: string(b), rest: string(rest), failed: err != nil}
}

func parseStdlib(raw, method string) parsed {
	br := bufio.NewReader(strings.NewReader(raw))
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return parsed{failed: true}
	}
	b, err := io.ReadAll(resp.Body)
	rest, _ := io.ReadAll(br)
	return parsed{code: resp.StatusCode, close: resp.Close, body: string(b), rest: string(rest), failed: err != nil}
}

// readResponse agrees with net/http's ReadResponse on status, body, where
// the body ends, connection reuse and what is malformed.
func TestReadResponseMatchesNetHTTP(t *testing.T) {
	next := "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
	cases := []struct {
		name, method, raw string
	}{
		{"length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + next},
		{"503 close", "GET", "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndown"},
		{"chunked with trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n3;ext=1\r\n!!!\r\n0\r\nX-Trailer: 1\r\n\r\n" + next},
		{"chunked, Connection close", "GET", "HTTP/1.1 500 Internal Server Error\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nerror\r\n0\r\n\r\n"},
		{"chunked beats length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n" + next},
		{"until close, 1.0", "GET", "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nhello world"},
		{"until close, 1.1", "GET", "HTTP/1.1 200 OK\r\n\r\nhello world"},
		{"1.0 keep-alive", "GET", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok" + next},
		{"no reason phrase", "GET", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n" + next},
		{"odd reason", "GET", "HTTP/1.1 299 All  Good \r\nContent-Length: 0\r\n\r\n"},
		{"bare LF", "GET", "HTTP/1.1 200 OK\nContent-Length: 2\n\nok" + next},
		{"lower-case names", "GET", "HTTP/1.1 404 Not Found\r\ncontent-length: 3\r\nconnection: CLOSE\r\n\r\nnop"},
		{"same length twice", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok"},
		{"204", "GET", "HTTP/1.1 204 No Content\r\n\r\n" + next},
		{"304 with length", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n" + next},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + next},
		{"long header line", "GET", "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 10000) + "\r\nContent-Length: 2\r\n\r\nok" + next},
		{"folded header", "GET", "HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\nok"},
		{"empty body, length 0", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n" + next},
		{"big body", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + strings.Repeat("z", 100000) + next},

		{"close, then keep-alive", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok"},
		{"keep-alive, then close, 1.0", "GET", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"},

		{"conflicting lengths", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!"},
		{"bad length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 2x\r\n\r\nok"},
		{"negative length", "GET", "HTTP/1.1 200 OK\r\nContent-Length: -2\r\n\r\nok"},
		{"not HTTP", "GET", "SSH-2.0-OpenSSH_9.2\r\n"},
		{"two-digit status", "GET", "HTTP/1.1 20 OK\r\n\r\n"},
		{"status not a number", "GET", "HTTP/1.1 2x0 OK\r\n\r\n"},
		{"header without colon", "GET", "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n"},
		{"head cut short", "GET", "HTTP/1.1 200 OK\r\nContent-Len"},
		{"nothing", "GET", ""},
		{"body cut short", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"},
		{"chunk cut short", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ours, std := parseOurs(c.raw, c.method), parseStdlib(c.raw, c.method)
			if ours != std {
				t.Errorf("\nours:     %+v\nnet/http: %+v", clip(ours), clip(std))
			}
		})
	}
}

func clip(p parsed) parsed {
	if len(p.body) > 40 {
		p.body = p.body[:40] + "…"
	}
	return p
}

// Where readResponse differs from net/http on purpose: it skips interim
// responses (as the http.Transport does), never reuses a connection that
// switched protocols, and bounds the head.
func TestReadResponseInterimAndLimits(t *testing.T) {
	got := parseOurs("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET")
	if got.failed || got.code != 200 || got.body != "ok" {
		t.Errorf("after interim responses: %+v, want 200 ok", got)
	}
	if got := parseOurs("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00", "GET"); got.failed || got.code != 101 || !got.close || got.body != "" {
		t.Errorf("101: %+v, want 101 with no body and the connection not reused", got)
	}
	huge := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Filler: "+strings.Repeat("f", 1000)+"\r\n", 70) + "Content-Length: 2\r\n\r\nok"
	if got := parseOurs(huge, "GET"); !got.failed {
		t.Errorf("a 70 KiB head was accepted: %+v", clip(got))
	}
}

// A probe reads responses of every shape from real servers: chunked,
// close-delimited, HEAD, and an interim 100 before the answer.
func TestHTTPCheckResponseShapes(t *testing.T) {
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "status: ")
		w.(http.Flusher).Flush() // forces a chunked body
		io.WriteString(w, "ok")
	}))
	t.Cleanup(chunked.Close)
	raw := func(response string) string { // answers every request head with response, then closes
		return serveTCP(t, func(c net.Conn) {
			br := bufio.NewReader(c)
			for {
				line, err := br.ReadString('\n')
				if err != nil || line == "\r\n" {
					break
				}
			}
			io.WriteString(c, response)
		})
	}
	cases := []struct {
		name, addr, method, body string
		keep                     bool
		up                       bool
		reason                   string
	}{
		{"chunked", chunked.Listener.Addr().String(), "GET", "status: ok", false, true, "HTTP 200 OK"},
		{"chunked, kept", chunked.Listener.Addr().String(), "GET", "status: ok", true, true, "HTTP 200 OK"},
		{"close-delimited", raw("HTTP/1.0 200 OK\r\n\r\nall ok here"), "GET", "all ok", false, true, "HTTP 200 OK"},
		{"close-delimited, kept", raw("HTTP/1.0 200 OK\r\n\r\nall ok here"), "GET", "all ok", true, true, "HTTP 200 OK"},
		{"interim first", raw("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown"), "GET", "", false, false, "HTTP 503 Service Unavailable"},
		{"HEAD", raw("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), "HEAD", "", true, true, "HTTP 200 OK"},
		{"body cut short", raw("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nok"), "GET", "ok", false, false, "unexpected EOF"},
		{"not HTTP", raw("SSH-2.0-OpenSSH_9.2\r\n"), "GET", "", false, false, "malformed HTTP response: the status line is not HTTP/1.x"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			check := spec.Check{Name: "c", Type: spec.CheckHTTP, Interval: spec.Duration(time.Second), Timeout: spec.Duration(time.Second),
				Method: c.method, Path: "/", ExpectStatus: spec.StatusCodes{{Lo: 200, Hi: 299}}, ExpectBody: c.body, KeepAlive: c.keep, Rise: 1, Fall: 1}
			mk, err := kinds()[spec.CheckHTTP](&check, testEnv())
			if err != nil {
				t.Fatal(err)
			}
			checker := mk(Target{ID: TargetID{Pool: "p", Address: "x"}, Probe: c.addr})
			for i := range 2 { // twice: a kept connection must be left ready, or be dropped
				r := probe(t, checker)
				if r.Up != c.up || !strings.Contains(r.Reason, c.reason) {
					t.Errorf("probe %d: up %v, reason %q; want up %v, reason containing %q", i, r.Up, r.Reason, c.up, c.reason)
				}
			}
		})
	}
}

// The probe request is written once per target, and it is what net/http
// would have sent.
func TestHTTPCheckWire(t *testing.T) {
	check := spec.Check{Name: "c", Type: spec.CheckHTTP, Method: "GET", Path: "/health?full=1", Host: "app.example",
		Headers: map[string]string{"X-Probe": "detour", "Authorization": "Bearer t"}, Timeout: spec.Duration(time.Second)}
	mk, err := kinds()[spec.CheckHTTP](&check, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	h := mk(Target{Probe: "127.0.0.1:8080"}).(*httpCheck)
	want := "GET /health?full=1 HTTP/1.1\r\nHost: app.example\r\nUser-Agent: detour-health/1\r\nConnection: close\r\nAuthorization: Bearer t\r\nX-Probe: detour\r\n\r\n"
	if got := string(h.wire); got != want {
		t.Errorf("request:\n%q\nwant\n%q", got, want)
	}
	check.Headers = map[string]string{"X-Bad": "a\r\nInjected: yes"}
	mk, err = kinds()[spec.CheckHTTP](&check, testEnv())
	if err != nil {
		t.Fatal(err)
	}
	if wire := mk(Target{Probe: "127.0.0.1:8080"}).(*httpCheck).wire; bytes.Contains(wire, []byte("\r\nInjected")) {
		t.Errorf("a header value with CRLF became a header of its own:\n%s", wire)
	}
}
