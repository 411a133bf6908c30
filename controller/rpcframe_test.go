package controller

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

// A frame round-trips; a length over MaxRPCMessage is refused after its
// 4 bytes, with the rest of the stream unread.
func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	if err := writeFrame(&buf, rpcRequest{Op: opApply, Data: []byte("x"), From: "b-1"}); err != nil {
		t.Fatal(err)
	}
	var got rpcRequest
	if err := readFrame(&buf, &got); err != nil || got.Op != opApply || string(got.Data) != "x" || got.From != "b-1" {
		t.Fatalf("round trip: %+v %v", got, err)
	}
	huge := &countingReader{r: io.MultiReader(bytes.NewReader([]byte{0x01, 0x00, 0x00, 0x01}), strings.NewReader(strings.Repeat("x", 1<<20)))}
	err := readFrame(huge, &got)
	if !errors.Is(err, ErrMessageTooLarge) || huge.n != 4 {
		t.Errorf("a 16 MiB + 1 length: %v after reading %d bytes, want ErrMessageTooLarge after 4", err, huge.n)
	}
	if err := writeFrame(io.Discard, rpcRequest{Data: make([]byte, MaxRPCMessage)}); !errors.Is(err, ErrMessageTooLarge) {
		t.Errorf("writing a frame over the limit: %v", err)
	}
}
