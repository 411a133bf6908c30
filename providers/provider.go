// Package providers pushes the answers of detour's health-driven records to
// DNS services that serve them instead of, or beside, detour's own servers:
// Cloudflare, AWS Route 53, any RFC 2136 server. One package per provider implements the
// small Provider interface; the Manager runs one reconciler per provider of
// the spec, on the Raft leader only.
//
// A reconciler compares the desired RRsets (the records of the provider's
// zone, answered as the cluster decided) with what the provider holds for
// the RRsets detour owns, and writes only the difference. It never touches
// a record it does not own.
package providers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Errors reported by providers and the manager.
var (
	// ErrConfig: the provider's settings on this node are unusable (a
	// missing secret, a bad key); retrying does not help until they change.
	ErrConfig = errors.New("providers: configuration")
	// ErrAuth: the provider refused the credentials.
	ErrAuth = errors.New("providers: authentication refused")
	// ErrRateLimited: the provider asked detour to slow down.
	ErrRateLimited = errors.New("providers: rate limited")
	// ErrUnknownProvider: no provider of that name in the spec.
	ErrUnknownProvider = errors.New("providers: unknown provider")
)

// RetryAfterError carries how long the provider asked detour to wait
// (HTTP 429 with Retry-After). It wraps ErrRateLimited.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("rate limited, retry after %s: %v", e.After, e.Err)
}

// Unwrap returns ErrRateLimited and the cause.
func (e *RetryAfterError) Unwrap() []error { return []error{ErrRateLimited, e.Err} }

// Key names an RRset: a lower-case fully qualified name and a type.
type Key struct {
	Name string // www.example.test.
	Type string // A, AAAA, CNAME
}

func (k Key) String() string { return k.Name + " " + k.Type }

// RRset is the records of one name and type, as detour wants them or as a
// provider holds them.
type RRset struct {
	Key
	TTL uint32
	// Values are addresses, or a canonical host name for CNAME; sorted.
	Values []string
	// Proxied is Cloudflare's proxy flag; false elsewhere.
	Proxied bool
	// Handle is the provider's own reference to what it holds (Cloudflare:
	// record IDs); the reconciler hands it back to Apply untouched.
	Handle any
}

// Equal reports whether two RRsets hold the same data (handles aside).
func (r RRset) Equal(o RRset) bool {
	return r.Key == o.Key && r.TTL == o.TTL && r.Proxied == o.Proxied && slices.Equal(r.Values, o.Values)
}

func (r RRset) String() string {
	s := fmt.Sprintf("%s %s %d %s", r.Name, r.Type, r.TTL, strings.Join(r.Values, ","))
	if r.Proxied {
		s += " proxied"
	}
	return s
}

// Change turns Old into New: Old nil creates, New nil deletes.
type Change struct {
	Old *RRset `json:"old,omitempty"`
	New *RRset `json:"new,omitempty"`
}

// Key returns the RRset the change is about.
func (c Change) Key() Key {
	if c.New != nil {
		return c.New.Key
	}
	return c.Old.Key
}

// Op names the change: create, update or delete.
func (c Change) Op() string {
	switch {
	case c.Old == nil:
		return "create"
	case c.New == nil:
		return "delete"
	}
	return "update"
}

func (c Change) String() string {
	switch c.Op() {
	case "create":
		return "create " + c.New.String()
	case "delete":
		return "delete " + c.Old.String()
	}
	return "update " + c.Old.String() + " -> " + c.New.String()
}

// Provider is a DNS service holding some of a zone's records for detour.
//
// Read returns every RRset detour owns at the provider. want lists the
// RRsets detour means to hold: a provider that owns by name and type (RFC
// 2136) reads those; one that marks its records (Cloudflare) may ignore it.
//
// Apply makes the provider hold each change's New RRset (nil: none), Old
// being what Read returned. It returns what the provider now holds for
// the changed RRsets, in the order of changes (nil for a delete). On an
// error the reconciler reads again before its next attempt.
type Provider interface {
	Read(ctx context.Context, want []Key) ([]RRset, error)
	Apply(ctx context.Context, changes []Change) ([]*RRset, error)
}

// Normalizer is implemented by providers that store some values
// differently from how the spec writes them (Cloudflare's TTL floor), so
// that the diff compares like with like and does not rewrite forever.
type Normalizer interface {
	Normalize(RRset) RRset
}

// RequestCounter is implemented by providers that count the requests they
// sent, for status and metrics.
type RequestCounter interface {
	Requests() uint64
}

// Builder makes a Provider from its spec. getenv reads this node's
// environment, where secrets live; a Builder must not log them.
type Builder func(p spec.Provider, getenv func(string) string) (Provider, error)
