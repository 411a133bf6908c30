package controller

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/controller/machine"
)

// stampAbove is the size of an encoded command past which the leader
// stamps its own proposal without decoding it (ownEncoded).
const stampAbove = 1 << 20

// ownEncoded is the latest big command this node encoded in Propose:
// when it reaches stamp on this node (the leader's own proposal), only
// its time is replaced, in place of decoding 7 MB of command to set one
// field and encoding it again. A command from elsewhere (forwarded)
// is never this slice and is decoded as before.
type ownEncoded struct {
	mu   sync.Mutex
	data []byte
}

// keep notes data, a command Propose just encoded, when it is big.
func (o *ownEncoded) keep(data []byte) {
	if len(data) <= stampAbove {
		return
	}
	o.mu.Lock()
	o.data = data
	o.mu.Unlock()
}

// take says whether data is the slice kept (and forgets it).
func (o *ownEncoded) take(data []byte) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	own := len(data) > 0 && len(o.data) == len(data) && &o.data[0] == &data[0]
	if own {
		o.data = nil
	}
	return own
}

// restamp returns data, a command as Command.Encode writes it, with its
// time replaced by t, or false when data does not start as Encode
// starts a command of a known type ({"type":"...","time":"...").
func restamp(data []byte, t time.Time) ([]byte, bool) {
	const head = `{"type":"`
	if !bytes.HasPrefix(data, []byte(head)) {
		return nil, false
	}
	typeEnd := bytes.IndexByte(data[len(head):], '"')
	if typeEnd < 0 || !machine.CommandType(data[len(head):len(head)+typeEnd]).Known() {
		return nil, false
	}
	at := len(head) + typeEnd + 1
	const field = `,"time":"`
	if !bytes.HasPrefix(data[at:], []byte(field)) {
		return nil, false
	}
	from := at + len(field) - 1 // the time's opening quote
	end := bytes.IndexByte(data[from+1:], '"')
	if end < 0 {
		return nil, false
	}
	to := from + 1 + end + 1
	enc, err := json.Marshal(t)
	if err != nil {
		return nil, false
	}
	out := make([]byte, 0, len(data)-(to-from)+len(enc))
	out = append(out, data[:from]...)
	out = append(out, enc...)
	return append(out, data[to:]...), true
}
