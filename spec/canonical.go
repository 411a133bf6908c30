package spec

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// A spec's canonical form is its JSON: the spec as validated (defaults
// filled, names normalised), with its zone files inlined into the zones'
// static text and no local paths, as Marshal writes it in YAML. The JSON
// encoder is a hundred times cheaper than the YAML one at 10,000 records
// (0.1 s against 7-20 s), so the places that compare specs or keep them
// in a snapshot use this form and never YAML.

// ErrCanonical means a document is not a spec's canonical JSON.
var ErrCanonical = errors.New("not a spec's canonical JSON")

// CanonicalJSON returns the spec in its canonical form: JSON of the
// spec as validated, zone files inlined, local paths dropped.
// DecodeCanonical reads it back.
func (s *Spec) CanonicalJSON() ([]byte, error) {
	b, err := marshalCanonical(s.canonical())
	if err != nil {
		return nil, fmt.Errorf("spec: canonical JSON: %w", err)
	}
	return b, nil
}

// Fingerprint is the SHA-256 of the spec's canonical JSON: two specs
// with the same fingerprint decide, serve and check alike, however
// their text was written.
func (s *Spec) Fingerprint() ([32]byte, error) {
	b, err := s.CanonicalJSON()
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// Same reports whether s and o are the same spec (equal fingerprints);
// nil is the same only as nil.
func (s *Spec) Same(o *Spec) (bool, error) {
	if s == nil || o == nil {
		return s == o, nil
	}
	if s == o {
		return true, nil
	}
	a, err := s.Fingerprint()
	if err != nil {
		return false, err
	}
	b, err := o.Fingerprint()
	if err != nil {
		return false, err
	}
	return a == b, nil
}

// DecodeCanonical reads a spec from its canonical JSON (CanonicalJSON of
// a valid spec: a snapshot's) and validates it again, which compiles its
// zones. Validating a spec already validated changes nothing, so the spec
// is the one encoded; the test of this file checks it for every example.
// It is strict (an unknown field is an error) and reads no file.
func DecodeCanonical(data []byte) (*Spec, error) {
	if len(data) > 2*MaxSpecBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var s Spec
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCanonical, err)
	}
	e := &Error{}
	s.refuseLocalFiles(e)
	if err := e.err(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// canonical is s as Marshal writes it (Inlined: zone files inlined
// into the static text, the local paths left out) without its compiled
// zones, which JSON must not see. It shares everything else with s.
func (s *Spec) canonical() *Spec {
	c := s.Inlined()
	c.compiled = nil
	return c
}

// UnmarshalText parses Go duration syntax (used by JSON).
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: %w", b, err)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalText parses "200" or "200-299" (used by JSON).
func (r *StatusRange) UnmarshalText(b []byte) error {
	v, err := parseStatusRange(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
