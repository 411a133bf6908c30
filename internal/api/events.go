package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/internal/api/wire"
)

// MaxWait bounds a long poll of GET /v1/events?wait=.
const MaxWait = 60 * time.Second

// events serves the audit log: events after ?after= (default all kept),
// at most ?limit=; ?wait=DUR long-polls until there is one; with Accept:
// text/event-stream it streams them as server-sent events until the
// client leaves.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var after uint64
	var limit int
	var wait time.Duration
	var err error
	if v := q.Get("after"); v != "" {
		if after, err = strconv.ParseUint(v, 10, 64); err != nil {
			writeError(w, http.StatusBadRequest, "after=%q: want an event sequence number", v)
			return
		}
	}
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 0 {
			writeError(w, http.StatusBadRequest, "limit=%q: want a count", v)
			return
		}
	}
	if v := q.Get("wait"); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait < 0 {
			writeError(w, http.StatusBadRequest, "wait=%q: want a duration such as 30s", v)
			return
		}
		wait = min(wait, MaxWait)
	}
	if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		s.stream(w, r, after)
		return
	}
	evs, changed := s.eventsAfter(after)
	if len(evs) == 0 && wait > 0 {
		// A long poll may outlast the server's write timeout.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(wait + 10*time.Second))
		t := time.NewTimer(wait)
		defer t.Stop()
	poll:
		for len(evs) == 0 {
			select {
			case <-changed:
				evs, changed = s.eventsAfter(after)
			case <-t.C:
				break poll
			case <-r.Context().Done():
				return
			case <-s.done():
				break poll
			}
		}
	}
	if limit > 0 && len(evs) > limit {
		evs = evs[len(evs)-limit:]
	}
	last := after
	if len(evs) > 0 {
		last = evs[len(evs)-1].Seq
	} else {
		last = max(after, s.store.FSM().View().NextEvent())
	}
	writeJSON(w, http.StatusOK, EventsResponse{Events: evs, Last: last, Freshness: s.freshness()})
}

// eventsAfter returns the events after seq and a channel closed at the
// next change, taken together so that nothing falls between them.
func (s *Server) eventsAfter(seq uint64) ([]wire.Event, <-chan struct{}) {
	view := s.store.FSM().View()
	evs, changed := view.EventsAfter(seq), view.Changed()
	out := make([]wire.Event, 0, len(evs))
	for _, e := range evs {
		out = append(out, wireEvent(e))
	}
	return out, changed
}

// stream sends events as server-sent events ("id: SEQ", "data: JSON"),
// with a comment every 15 s to keep proxies from closing the stream.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, after uint64) {
	rc := http.NewResponseController(w)
	// The request is read; the server's read timeout must not end the
	// stream.
	_ = rc.SetReadDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if n, err := strconv.ParseUint(id, 10, 64); err == nil {
			after = n
		}
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		// The stream lives as long as the client; each write gets its
		// own deadline instead of the server's.
		_ = rc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		evs, changed := s.eventsAfter(after)
		for _, e := range evs {
			b, _ := json.Marshal(e)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: event\ndata: %s\n\n", e.Seq, b); err != nil {
				return
			}
			after = e.Seq
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-changed:
		case <-keepalive.C:
			if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil {
				return
			}
		case <-r.Context().Done():
			return
		case <-s.done():
			return
		}
	}
}
