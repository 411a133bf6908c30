package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// MaxBody bounds a request body. The largest is a spec; a megabyte holds
// thousands of records, and anything larger is a mistake or an attack.
const MaxBody = 1 << 20

// Error is every error the API returns, as JSON. Message says what was
// wrong and what to do; Problems lists each problem of a refused spec.
type Error struct {
	Error    string    `json:"error"`
	Problems []Problem `json:"problems,omitempty"`
}

// Problem is one problem of a spec, with its path.
type Problem struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, Error{Error: fmt.Sprintf(format, args...)})
}

// decode reads a JSON body of at most MaxBody bytes into v: unknown
// fields, trailing data, other content types and oversized bodies are
// refused with 400 and a message, and false is returned.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, "the body must be JSON (Content-Type: application/json), got %q", ct)
		return false
	}
	body := http.MaxBytesReader(w, r.Body, MaxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("data after the JSON object")
	}
	if err == nil {
		if _, rerr := io.Copy(io.Discard, body); rerr != nil {
			err = rerr
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeError(w, http.StatusBadRequest, "the body is larger than %d bytes: nothing was changed", MaxBody)
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "the body is empty: send a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "the body is not valid JSON for this request: %v", err)
	}
	return false
}

// Freshness says how current a node's reads are: a follower serves its
// own state, which trails the leader by the age of its last contact.
type Freshness struct {
	Node      string `json:"node"`
	RaftState string `json:"raft_state"`
	LeaderID  string `json:"leader_id"`
	Leader    string `json:"leader_address"`
	// LastContactMS is the age of the last contact with the leader in
	// milliseconds: 0 on the leader, -1 when never.
	LastContactMS float64 `json:"last_contact_ms"`
	AppliedIndex  uint64  `json:"applied_index"`
}

func (s *Server) freshness() Freshness {
	state, lc := s.store.RaftState()
	id, addr := s.store.Leader()
	ms := float64(lc) / float64(time.Millisecond)
	if lc < 0 {
		ms = -1
	}
	return Freshness{Node: s.store.ID(), RaftState: state, LeaderID: id, Leader: addr, LastContactMS: ms, AppliedIndex: s.store.AppliedIndex()}
}

type callerKey struct{}

func withCaller(ctx context.Context, t Token) context.Context {
	return context.WithValue(ctx, callerKey{}, t)
}

func caller(ctx context.Context) Token {
	t, _ := ctx.Value(callerKey{}).(Token)
	return t
}
