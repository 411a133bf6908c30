package api

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"

	"github.com/seed3787e6f1/detour/controller"
)

// IdempotencyKeyHeader carries a client's key for one write. A client
// that sends the same write, with the same key, to several nodes (the
// first went silent: did it get it?) has it applied once: the key
// becomes the command's ID, and the cluster applies a command ID once
// within its dedup window. The detour CLI sends one with every write.
const IdempotencyKeyHeader = "Idempotency-Key"

// idempotencyKey is what a key may be: enough for a random 128-bit key
// in hex or a UUID, too little to fill the log.
var idempotencyKey = regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)

// errIdempotencyKey is a malformed Idempotency-Key: a 400.
var errIdempotencyKey = errors.New("bad " + IdempotencyKeyHeader)

// withIdempotencyKey makes c's ID the request's idempotency key, scoped
// to the caller so that one client's key never suppresses another's
// write. A malformed key is refused (errIdempotencyKey, a 400); no key
// leaves c as it is (the node gives it a fresh ID).
func withIdempotencyKey(r *http.Request, c *controller.Command) error {
	key := r.Header.Get(IdempotencyKeyHeader)
	if key == "" {
		return nil
	}
	if !idempotencyKey.MatchString(key) {
		return fmt.Errorf("%w %q: want 16 to 64 letters, digits, '-' or '_' (a random key per write)", errIdempotencyKey, clip(key))
	}
	c.ID = "key:" + caller(r.Context()).Name + ":" + key
	return nil
}
