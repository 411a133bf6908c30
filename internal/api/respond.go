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
func decode(w http.ResponseWriter, r *http.Request, v any) bool { return decodeLimit(w, r, v, MaxBody) }

// decodeLimit is decode with a bound of limit bytes (upload.go).
func decodeLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusBadRequest, "the body must be JSON (Content-Type: application/json), got %q", ct)
		return false
	}
	body := http.MaxBytesReader(w, r.Body, limit)
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
		writeError(w, http.StatusBadRequest, "%s", uploadLimitMessage(limit))
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "the body is empty: send a JSON object")
	default:
		writeError(w, http.StatusBadRequest, "the body is not valid JSON for this request: %v", err)
	}
	return false
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
