package api

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// DefaultMaxSpecUpload is the default bound on a gzip-compressed spec
// request once decompressed (Options.MaxSpecUpload): the largest spec a
// node takes (spec.MaxSpecBytes), with room for the JSON around it.
const DefaultMaxSpecUpload = spec.MaxSpecBytes + MaxBody

// ErrUploadRefused is why a compressed body is refused: the caller may
// not send one, or this node takes none.
var ErrUploadRefused = errors.New("compressed spec uploads are refused")

// maxSpecUpload is the decompressed bound of a compressed spec request:
// opts' setting, DefaultMaxSpecUpload for zero, none (-1) for a negative
// one; never above DefaultMaxSpecUpload.
func maxSpecUpload(n int64) int64 {
	switch {
	case n == 0:
		return DefaultMaxSpecUpload
	case n < 0:
		return -1
	}
	return min(n, DefaultMaxSpecUpload)
}

// decodeSpec reads a request that sends a spec. A plain body is bounded
// by MaxBody, as every other request; an admin's body sent with
// Content-Encoding: gzip is decompressed as it is read and bounded by
// this node's max_spec_upload, compressed and decompressed alike, so that
// neither a long body nor a small one that inflates (a gzip bomb) is
// ever read past it. Others' compressed bodies are refused: only an
// admin may make the node parse a spec past a megabyte.
func (s *Server) decodeSpec(w http.ResponseWriter, r *http.Request, v any) bool {
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
		return decode(w, r, v)
	case "gzip":
	default:
		writeError(w, http.StatusUnsupportedMediaType, "Content-Encoding %q: send the body as it is, or gzip-compressed", enc)
		return false
	}
	limit := s.maxUpload
	if limit < 0 || !caller(r.Context()).Scope.allows(ScopeAdmin) {
		writeError(w, http.StatusForbidden, "%v: this node takes them from admin tokens only, up to max_spec_upload (%d bytes; negative: none)", ErrUploadRefused, limit)
		return false
	}
	gz, err := gzip.NewReader(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		writeError(w, http.StatusBadRequest, "the body is not gzip data (Content-Encoding: gzip): %v", err)
		return false
	}
	defer gz.Close()
	r2 := r.Clone(r.Context())
	r2.Body = http.MaxBytesReader(w, io.NopCloser(gz), limit)
	r2.Header.Del("Content-Encoding")
	return decodeLimit(w, r2, v, limit)
}

// uploadLimitMessage says which bound a body passed.
func uploadLimitMessage(limit int64) string {
	if limit > MaxBody {
		return fmt.Sprintf("the body is larger than %d bytes (max_spec_upload, compressed or decompressed): nothing was changed", limit)
	}
	return fmt.Sprintf("the body is larger than %d bytes: nothing was changed; send a bigger spec gzip-compressed (Content-Encoding: gzip, as `detour spec apply` does) with an admin token", limit)
}
