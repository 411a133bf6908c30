package nodeport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// countingReader counts what is read from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// A frame round-trips; a length over MaxMessage is refused after its
// 4 bytes, with the rest of the stream unread.
func TestFrames(t *testing.T) {
	type request struct {
		Op   string `json:"op"`
		Data []byte `json:"data,omitempty"`
		From string `json:"from,omitempty"`
	}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, request{Op: "apply", Data: []byte("x"), From: "b-1"}); err != nil {
		t.Fatal(err)
	}
	var got request
	if err := ReadFrame(&buf, &got); err != nil || got.Op != "apply" || string(got.Data) != "x" || got.From != "b-1" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	huge := &countingReader{r: io.MultiReader(bytes.NewReader([]byte{0x01, 0x00, 0x00, 0x01}), strings.NewReader(strings.Repeat("x", 1<<20)))}
	err := ReadFrame(huge, &got)
	if !errors.Is(err, ErrMessageTooLarge) || huge.n != 4 {
		t.Errorf("a 16 MiB + 1 length: %v after reading %d bytes, want ErrMessageTooLarge after 4", err, huge.n)
	}
	if err := WriteFrame(io.Discard, request{Data: make([]byte, MaxMessage)}); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("writing a frame over the limit: %v", err)
	}
}
