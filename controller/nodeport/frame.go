package nodeport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxMessage bounds one message on a forwarding connection: far above a
// command with the largest spec the API takes (1 MiB, base64 in JSON), far
// below what would hurt a node.
const MaxMessage = 16 << 20

// ErrMessageTooLarge means a forwarding message's length prefix is over
// MaxMessage; the message is not read.
var ErrMessageTooLarge = errors.New("node port: message over the size limit")

// Forwarding messages are framed: a 4-byte big-endian length, then that
// many bytes of JSON. The length is checked before anything is read, so a
// peer cannot make a node buffer more than MaxMessage.

// WriteFrame sends v as one frame, in one write; a message over
// MaxMessage is refused before anything is sent.
func WriteFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(body) > MaxMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, len(body), MaxMessage)
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err = w.Write(append(buf, body...))
	return err
}

// ReadFrame reads one frame into v; a length over MaxMessage is refused
// after its 4 bytes, with the body unread.
func ReadFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxMessage {
		return fmt.Errorf("%w: %d bytes announced, limit %d", ErrMessageTooLarge, n, MaxMessage)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
