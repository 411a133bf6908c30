package machine

// Spec changes in two steps, so that applying one never stalls the log.
//
// Parsing, validating and compiling a spec of 200,000 records takes
// seconds. Raft applies entries one after another: were that work done
// in Apply, every observer report committed behind the spec would wait
// for it, and failover with them. So:
//
//  1. The proposer (the API) parses and validates the spec before
//     proposing it: a spec that reaches the log is valid.
//  2. Applying set_spec only stages it (the bytes and the version it
//     will get) and starts compiling it in the background, on every
//     replica at about the same time. Reports applied meanwhile change
//     verdicts and answers under the spec still in force.
//  3. The leader, once its own compile has finished, proposes a small
//     activate_spec naming the staging entry. Every replica puts the
//     staged spec in force when it applies that entry, at the same log
//     position: it uses its finished compile, or waits for it (rare:
//     all replicas started at about the same time, and the leader's
//     finished first). A spec the leader could not compile is dropped
//     by the same entry, with the reason in the event log.
//
// One spec is staged at a time: staging another while one is being
// activated is refused with ErrSpecChanged (the same spec again is a
// no-op), so a writer never loses its spec silently.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// CmdActivateSpec puts the staged spec in force, or drops it.
const CmdActivateSpec CommandType = "activate_spec"

// ErrCompile halts a replica that could not compile a spec the leader
// compiled: it cannot apply what the others apply.
var ErrCompile = errors.New("the staged spec does not compile here")

// StagedSpec is a spec committed but not yet in force.
type StagedSpec struct {
	// YAML or YAMLGzip is the spec as committed; View.Staged leaves
	// them out.
	YAML     []byte `json:"yaml,omitempty"`
	YAMLGzip []byte `json:"yaml_gzip,omitempty"`
	Author   string `json:"author,omitempty"`
	// Version is the version the spec gets in force.
	Version uint64 `json:"version"`
	// Index is the log index of the set_spec entry that staged it: what
	// activate_spec names.
	Index uint64 `json:"index"`
}

// ActivateSpec puts the spec staged at Index in force or, with Error
// set (the leader could not compile it), drops it.
type ActivateSpec struct {
	Index uint64 `json:"index"`
	Error string `json:"error,omitempty"`
}

// specRefusal is the last staged spec dropped, for the proposer waiting
// for it. It is not replicated: only a live waiter needs it.
type specRefusal struct {
	staged *StagedSpec
	reason string
}

// stage is set_spec's apply: check the version, keep the bytes.
func (st *State) stage(c *SetSpec, now time.Time) error {
	if c == nil {
		return fmt.Errorf("%w: set_spec without a spec", ErrBadCommand)
	}
	if c.IfVersion != nil && *c.IfVersion != st.SpecVersion {
		return fmt.Errorf("%w: version %d is in force, not %d", ErrSpecChanged, st.SpecVersion, *c.IfVersion)
	}
	if sg := st.Staged; sg != nil {
		if sg.same(c) {
			return nil // the same spec again: already on its way
		}
		return fmt.Errorf("%w: version %d is being compiled and activated; apply again once it is in force", ErrSpecChanged, sg.Version)
	}
	if st.compile == nil {
		// A bare state (tests, tools): no background, no second step.
		if c.YAMLGzip != nil {
			y, err := (&StagedSpec{YAMLGzip: c.YAMLGzip}).Text()
			if err != nil {
				return err
			}
			cc := *c
			cc.YAML, cc.YAMLGzip = y, nil
			c = &cc
		}
		return st.setSpec(c, now)
	}
	st.Staged = &StagedSpec{YAML: c.YAML, YAMLGzip: c.YAMLGzip, Author: c.Author, Version: st.SpecVersion + 1, Index: st.Index}
	return nil
}

// activate is activate_spec's apply.
func (st *State) activate(a *ActivateSpec, now time.Time) error {
	if a == nil {
		return fmt.Errorf("%w: activate_spec without a target", ErrBadCommand)
	}
	sg := st.Staged
	if sg == nil || sg.Index != a.Index {
		return fmt.Errorf("%w: no spec staged at entry %d", ErrNotFound, a.Index)
	}
	st.Staged = nil
	if a.Error != "" {
		st.refused = &specRefusal{staged: sg, reason: a.Error}
		st.event(now, "spec", fmt.Sprintf("v%d", sg.Version), fmt.Sprintf("spec version %d not applied: the leader could not compile it: %s", sg.Version, a.Error))
		return nil
	}
	s, yaml, err := st.compile(sg)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCompile, err)
	}
	st.SpecYAML, st.SpecHash, st.spec, st.SpecVersion = yaml, specHash(yaml), s, sg.Version
	by := ""
	if sg.Author != "" {
		by = " by " + sg.Author
	}
	st.event(now, "spec", fmt.Sprintf("v%d", st.SpecVersion), fmt.Sprintf("spec version %d applied%s", st.SpecVersion, by))
	return nil
}

// ParsedSpec is a SetSpec of a spec the caller has parsed and validated
// already: yaml must be a text Parse reads into sp (the text the caller
// parsed, or sp's canonical JSON). Proposing it spares the proposer
// parsing it again, and its replica compiling it from the text.
func ParsedSpec(sp *spec.Spec, yaml []byte, author string) *SetSpec {
	return &SetSpec{YAML: yaml, Author: author, parsed: sp}
}

// Text returns the staged spec's text, inflated when it came gzipped (at
// most spec.MaxSpecBytes).
func (sg *StagedSpec) Text() ([]byte, error) {
	if sg.YAMLGzip == nil {
		return sg.YAML, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(sg.YAMLGzip))
	if err != nil {
		return nil, fmt.Errorf("%w: the spec's gzip: %w", ErrBadCommand, err)
	}
	b, err := gunzipBounded(zr, sg.YAMLGzip, spec.MaxSpecBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: the spec's gzip: %w", ErrBadCommand, err)
	}
	if len(b) > spec.MaxSpecBytes {
		return nil, fmt.Errorf("%w: the spec is over %d bytes", ErrBadCommand, spec.MaxSpecBytes)
	}
	return b, nil
}

// Parsed is the spec ParsedSpec was given, nil for a SetSpec decoded
// from the log or built from text alone.
func (c *SetSpec) Parsed() *spec.Spec { return c.parsed }

// StagedIs reports whether the spec staged is c, as committed.
func (v *View) StagedIs(c *SetSpec) bool { return v.staged != nil && v.staged.same(c) }

// InForce reports whether yaml is the text of the spec in force (by its
// SHA-256: a state restored from a snapshot has the spec, not its text).
func (v *View) InForce(yaml []byte) bool { return v.specHash != "" && v.specHash == specHash(yaml) }

// Refused reports whether the last staged spec dropped (the leader
// could not compile it) is the one staged at index or, index 0, is c;
// reason is why it was dropped.
func (v *View) Refused(index uint64, c *SetSpec) (reason string, ok bool) {
	r := v.refused
	if r == nil || !(r.staged.Index == index || index == 0 && r.staged.same(c)) {
		return "", false
	}
	return r.reason, true
}

// same reports whether c is the spec staged, as committed.
func (sg *StagedSpec) same(c *SetSpec) bool {
	return bytes.Equal(sg.YAML, c.YAML) && bytes.Equal(sg.YAMLGzip, c.YAMLGzip)
}
