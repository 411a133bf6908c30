package controller

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxRPCMessage bounds one message on a forwarding connection: far above a
// command with the largest spec the API takes (1 MiB, base64 in JSON), far
// below what would hurt a node.
const MaxRPCMessage = 16 << 20

// ErrMessageTooLarge means a forwarding message's length prefix is over
// MaxRPCMessage; the message is not read.
var ErrMessageTooLarge = errors.New("node port: message over the size limit")

// Forwarding messages are framed: a 4-byte big-endian length, then that
// many bytes of JSON. The length is checked before anything is read, so a
// peer cannot make a node buffer more than MaxRPCMessage.

// writeFrame sends v as one frame, in one write.
func writeFrame(w io.Writer, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if len(body) > MaxRPCMessage {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, len(body), MaxRPCMessage)
	}
	buf := make([]byte, 4, 4+len(body))
	binary.BigEndian.PutUint32(buf, uint32(len(body)))
	_, err = w.Write(append(buf, body...))
	return err
}

// readFrame reads one frame into v.
func readFrame(r io.Reader, v any) error {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxRPCMessage {
		return fmt.Errorf("%w: %d bytes announced, limit %d", ErrMessageTooLarge, n, MaxRPCMessage)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return err
	}
	return json.Unmarshal(body, v)
}
