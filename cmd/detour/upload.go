package main

import (
	"bytes"
	"compress/gzip"

	"github.com/seed3787e6f1/detour/internal/api"
)

// compressBig gzips a request body past the API's plain bound
// (api.MaxBody): a node takes such a body, up to its max_spec_upload,
// from an admin token only (a spec past about 30,000 records).
func compressBig(body []byte) []byte {
	if len(body) <= api.MaxBody {
		return body
	}
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	_, _ = zw.Write(body) // a bytes.Buffer does not fail
	_ = zw.Close()
	return b.Bytes()
}

// isGzip reports whether body is gzip data (compressBig's): JSON never
// starts with gzip's magic bytes.
func isGzip(body []byte) bool { return len(body) > 2 && body[0] == 0x1f && body[1] == 0x8b }
