package health

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

func heartbeatSpec(maxAge time.Duration) *spec.Spec {
	hb := spec.Check{Name: "nightly", Type: spec.CheckHeartbeat, MaxAge: spec.Duration(maxAge),
		Interval: spec.Duration(50 * time.Millisecond), Timeout: spec.Duration(25 * time.Millisecond), Rise: 1, Fall: 1}
	web := httpCheckSpec("web")
	return &spec.Spec{
		Checks: []spec.Check{hb, web},
		Pools: []spec.Pool{
			{Name: "jobs", Check: "nightly", Endpoints: []spec.Endpoint{{Address: "192.0.2.50"}, {Address: "mailer.example.test."}, {Address: "2001:db8::5"}}},
			{Name: "web", Check: "web", Endpoints: []spec.Endpoint{{Address: "192.0.2.1", CheckAddress: "127.0.0.1:1"}}},
		},
	}
}

// beat posts a heartbeat and returns the status code.
func beat(t *testing.T, base, check, endpoint, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/heartbeat/"+url.PathEscape(check)+"/"+url.PathEscape(endpoint), nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func verdictOf(e *Engine, id TargetID) Status {
	for _, st := range e.View() {
		if st.Target == id {
			return st
		}
	}
	return Status{}
}

func TestHeartbeatBeatStopBeat(t *testing.T) {
	e, rec := startEngine(t, heartbeatSpec(300*time.Millisecond), Options{})
	api := httptest.NewServer(HeartbeatHandler(e, "s3cret"))
	t.Cleanup(api.Close)
	job := TargetID{Pool: "jobs", Address: "192.0.2.50"}
	next := func() Transition {
		for {
			if tr := rec.next(t); tr.Target == job {
				return tr
			}
		}
	}

	if code := beat(t, api.URL, "nightly", "192.0.2.50", "s3cret"); code != http.StatusNoContent {
		t.Fatalf("beat: HTTP %d, want 204", code)
	}
	if tr := next(); tr.To != Up {
		t.Fatalf("got %+v, want up after a beat", tr)
	}
	// The job stops beating.
	tr := next()
	if tr.To != Down || !strings.HasPrefix(tr.Reason, "last heartbeat ") || !strings.HasSuffix(tr.Reason, "ago (max_age 300ms)") {
		t.Fatalf("got %+v, want down for lack of beats", tr)
	}

	// A beat without the token, or with a wrong one, changes nothing.
	if code := beat(t, api.URL, "nightly", "192.0.2.50", ""); code != http.StatusUnauthorized {
		t.Errorf("beat without token: HTTP %d, want 401", code)
	}
	if code := beat(t, api.URL, "nightly", "192.0.2.50", "guess"); code != http.StatusUnauthorized {
		t.Errorf("beat with a wrong token: HTTP %d, want 401", code)
	}
	time.Sleep(150 * time.Millisecond) // three evaluations
	if st := verdictOf(e, job); st.Verdict != Down {
		t.Fatalf("verdict %v after refused beats, want still down", st.Verdict)
	}

	// The job comes back.
	if code := beat(t, api.URL, "nightly", "192.0.2.50", "s3cret"); code != http.StatusNoContent {
		t.Fatalf("beat: HTTP %d, want 204", code)
	}
	if tr := next(); tr.To != Up {
		t.Fatalf("got %+v, want up after the job beat again", tr)
	}
}

func TestHeartbeatHandlerErrors(t *testing.T) {
	e, _ := startEngine(t, heartbeatSpec(time.Hour), Options{})
	api := httptest.NewServer(HeartbeatHandler(e, "s3cret"))
	t.Cleanup(api.Close)
	cases := []struct {
		name, check, endpoint, token string
		want                         int
	}{
		{"ip endpoint", "nightly", "192.0.2.50", "s3cret", http.StatusNoContent},
		{"host name without final dot", "nightly", "Mailer.Example.Test", "s3cret", http.StatusNoContent},
		{"ipv6 endpoint", "nightly", "2001:0db8::5", "s3cret", http.StatusNoContent},
		{"unknown check", "weekly", "192.0.2.50", "s3cret", http.StatusNotFound},
		{"unknown endpoint", "nightly", "192.0.2.51", "s3cret", http.StatusNotFound},
		{"not a heartbeat check", "web", "192.0.2.1", "s3cret", http.StatusBadRequest},
		{"unknown check without token", "weekly", "192.0.2.50", "", http.StatusUnauthorized},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := beat(t, api.URL, c.check, c.endpoint, c.token); got != c.want {
				t.Errorf("HTTP %d, want %d", got, c.want)
			}
		})
	}
	resp, err := http.Get(api.URL + "/v1/heartbeat/nightly/192.0.2.50")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d, want 405", resp.StatusCode)
	}
	// An empty configured token refuses everything rather than nothing.
	open := httptest.NewServer(HeartbeatHandler(e, ""))
	t.Cleanup(open.Close)
	if got := beat(t, open.URL, "nightly", "192.0.2.50", ""); got != http.StatusUnauthorized {
		t.Errorf("empty token configured: HTTP %d, want 401", got)
	}
}

func TestHeartbeatErrors(t *testing.T) {
	e, err := New(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e.Update(heartbeatSpec(time.Hour))
	for _, c := range []struct {
		check, endpoint string
		want            error
	}{
		{"weekly", "192.0.2.50", ErrUnknownCheck},
		{"nightly", "192.0.2.99", ErrUnknownEndpoint},
		{"web", "192.0.2.1", ErrNotHeartbeat},
	} {
		if err := e.Heartbeat(c.check, c.endpoint, time.Now()); !errors.Is(err, c.want) {
			t.Errorf("Heartbeat(%q, %q) = %v, want %v", c.check, c.endpoint, err, c.want)
		}
	}
}

// A job that never beats gets max_age of grace from start, then is down.
func TestHeartbeatNeverBeats(t *testing.T) {
	_, rec := startEngine(t, heartbeatSpec(200*time.Millisecond), Options{})
	job := TargetID{Pool: "jobs", Address: "mailer.example.test."}
	var got []Transition
	for len(got) < 2 {
		if tr := rec.next(t); tr.Target == job {
			got = append(got, tr)
		}
	}
	if got[0].To != Up || got[1].To != Down || !strings.HasPrefix(got[1].Reason, "no heartbeat since start") {
		t.Fatalf("transitions %+v, want up (grace) then down with no heartbeat since start", got)
	}
}
