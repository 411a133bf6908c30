package machine

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"strings"
	"testing"
)

// TestGunzipBounded: the text comes back whole, sized from the trailer
// or not, and a stream past the limit is read one byte past it only,
// whatever the trailer claims.
func TestGunzipBounded(t *testing.T) {
	text := []byte(strings.Repeat("h1 IN A 10.0.0.1\n", 50000))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(text)
	zw.Close()
	for _, trailer := range []uint32{uint32(len(text)), 0, 1 << 31} {
		member := bytes.Clone(gz.Bytes())
		binary.LittleEndian.PutUint32(member[len(member)-4:], trailer)
		zr, err := gzip.NewReader(bytes.NewReader(member))
		if err != nil {
			t.Fatal(err)
		}
		got, err := gunzipBounded(zr, member, len(text)+10)
		if trailer == uint32(len(text)) && (err != nil || !bytes.Equal(got, text)) {
			t.Fatalf("trailer %d: %d bytes, %v; want the %d of the text", trailer, len(got), err, len(text))
		}
		if cap(got) > 2*len(text)+10 {
			t.Fatalf("trailer %d: a buffer of %d bytes for a limit of %d", trailer, cap(got), len(text)+10)
		}
		zr, _ = gzip.NewReader(bytes.NewReader(member))
		got, _ = gunzipBounded(zr, member, 1000)
		if len(got) != 1001 {
			t.Fatalf("trailer %d, limit 1000: read %d bytes, want 1001", trailer, len(got))
		}
	}
}
