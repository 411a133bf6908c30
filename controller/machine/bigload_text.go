package machine

import (
	"bytes"
	"encoding/binary"
	"io"
)

// gunzipBounded reads the gzip stream zr of the member gz, up to limit
// bytes and one more (for the caller to refuse), into a buffer sized
// once from the size gzip's trailer records (RFC 1952: ISIZE, the size
// modulo 2^32), never past limit: io.ReadAll grew and copied a spec of
// 30 MB over and over. A trailer that lies costs at most the limit.
func gunzipBounded(zr io.Reader, gz []byte, limit int) ([]byte, error) {
	hint := 0
	if len(gz) >= 4 {
		hint = int(min(uint64(binary.LittleEndian.Uint32(gz[len(gz)-4:])), uint64(limit)))
	}
	buf := bytes.NewBuffer(make([]byte, 0, hint+bytes.MinRead)) // MinRead: ReadFrom grows below it
	if _, err := buf.ReadFrom(io.LimitReader(zr, int64(limit)+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
