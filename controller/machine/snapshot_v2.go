package machine

// Snapshot format 2: a JSON header, then a binary body.
//
// Format 1 was the whole State as JSON: 24 MiB for 10,000 records with
// three observers' verdicts on 30,000 endpoints, 1.7 s of CPU to encode
// and 0.9 s to decode, plus the spec's YAML (base64 in the JSON) parsed
// again on restore (1.3 s). Format 2 writes:
//
//   - a header: the State as JSON (so that a version reading format 1
//     only finds "format":2 and refuses it with ErrSnapshotFormat), but
//     for its three bulky parts: the spec's text, the observers'
//     verdicts and the last known verdicts; it names the spec by the
//     SHA-256 of the text committed (spec_sha256);
//   - a newline, then the body: the spec in its canonical JSON
//     (spec.CanonicalJSON: read back without YAML, and not at all when
//     the restoring replica holds that spec already), then the verdicts
//     in a compact binary form, every endpoint key and reason written
//     once in a table.
//
// The body's integers are unsigned varints (encoding/binary), strings
// a length and the bytes, latencies the IEEE 754 bits of a float64 in
// eight little-endian bytes, times Unix nanoseconds as a signed varint.

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// errSnapshotBody means a format-2 snapshot's body does not read.
var errSnapshotBody = errors.New("malformed snapshot body")

// Flags of a verdict in the body.
const (
	verdictUp      = 1 << iota // Verdict.Up, LastVerdict.Up
	verdictFirst               // Verdict.First
	verdictNoSince             // Verdict.Since is the zero time
)

// specHash names a spec by the SHA-256 of the text committed, in hex.
func specHash(text []byte) string {
	if len(text) == 0 {
		return ""
	}
	h := sha256.Sum256(text)
	return hex.EncodeToString(h[:])
}

// specJSONCache keeps the canonical JSON of the spec last snapshotted:
// the spec changes far less often than snapshots are taken.
type specJSONCache struct {
	mu   sync.Mutex
	spec *spec.Spec
	json []byte
}

// get returns s's canonical JSON.
func (c *specJSONCache) get(s *spec.Spec) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == s {
		return c.json, nil
	}
	b, err := s.CanonicalJSON()
	if err != nil {
		return nil, err
	}
	c.spec, c.json = s, b
	return b, nil
}

// encodeV2 writes the view in format 2.
func encodeV2(v *View, cache *specJSONCache) ([]byte, error) {
	head, err := json.Marshal(versionedState{Format: 2, State: v.headerState()})
	if err != nil {
		return nil, err
	}
	var sj []byte
	if v.spec != nil {
		if sj, err = cache.get(v.spec); err != nil {
			return nil, err
		}
	}
	tab, entries := verdicts(v.observers, v.lastKnown)
	w := &bodyWriter{b: make([]byte, 0, len(head)+len(sj)+len(tab)+len(entries)+32)}
	w.b = append(w.b, head...)
	w.b = append(w.b, '\n')
	w.bytes(sj)
	w.b = append(w.b, tab...)
	w.b = append(w.b, entries...)
	return w.b, nil
}

// headerState is the view as a State without the parts the body holds.
func (v *View) headerState() *State {
	obs := make(map[string]*ObserverRecord, len(v.observers))
	for id, o := range v.observers {
		obs[id] = &ObserverRecord{Fresh: o.Fresh, LastReport: o.LastReport}
	}
	return &State{
		SpecHash: v.specHash, SpecVersion: v.specVersion, Staged: v.staged,
		Observers: obs, Overrides: v.overrides, Members: v.members,
		Events: v.events, NextEvent: v.nextEvent, Serials: v.versions,
		Incidents: v.incidents, NextIncident: v.nextIncident,
		Providers: v.providers, Cursors: v.cursors,
		Holds: v.extra.holds, ClusterID: v.extra.clusterID, Joining: v.extra.joining,
		LeaderID: v.extra.leaderID, NonVoters: v.extra.nonVoters,
		Now: v.now, Applied: v.applied, Results: v.results, Index: v.index, Term: v.term,
	}
}

// bodyWriter appends a format-2 body.
type bodyWriter struct{ b []byte }

func (w *bodyWriter) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *bodyWriter) bytes(b []byte)   { w.uvarint(uint64(len(b))); w.b = append(w.b, b...) }
func (w *bodyWriter) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }

// strtab numbers strings in the order first met.
type strtab struct {
	ids  map[string]uint64
	list []string
}

func (t *strtab) id(s string) uint64 {
	if i, ok := t.ids[s]; ok {
		return i
	}
	i := uint64(len(t.list))
	t.ids[s] = i
	t.list = append(t.list, s)
	return i
}

// verdicts encodes the string table, and every observer's verdicts (by
// observer ID and endpoint key, so that equal states write equal bytes)
// followed by the last known verdicts, which the table's numbers name.
func verdicts(obs map[string]*ObserverRecord, last map[string]LastVerdict) (table, entries []byte) {
	n := len(last)
	for _, o := range obs {
		n += len(o.Verdicts)
	}
	tab := &strtab{ids: make(map[string]uint64, len(last)+64)}
	e := &bodyWriter{b: make([]byte, 0, 24*n+64)}
	ids := slices.Sorted(maps.Keys(obs))
	// Every observer judges about the same endpoints, those the last
	// known verdicts hold: their keys are sorted once.
	known := slices.Sorted(maps.Keys(last))
	e.uvarint(uint64(len(ids)))
	for _, id := range ids {
		vs := obs[id].Verdicts
		e.str(id)
		e.uvarint(uint64(len(vs)))
		for _, k := range sortedKeys(vs, known) {
			v := vs[k]
			flags := byte(0)
			if v.Up {
				flags |= verdictUp
			}
			if v.First {
				flags |= verdictFirst
			}
			if v.Since.IsZero() {
				flags |= verdictNoSince
			}
			e.uvarint(tab.id(k))
			e.b = append(e.b, flags)
			e.uvarint(tab.id(v.Reason))
			e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(v.Latency))
			if !v.Since.IsZero() {
				e.b = binary.AppendVarint(e.b, v.Since.UnixNano())
			}
		}
	}
	e.uvarint(uint64(len(last)))
	for _, k := range known {
		v := last[k]
		flags := byte(0)
		if v.Up {
			flags |= verdictUp
		}
		e.uvarint(tab.id(k))
		e.b = append(e.b, flags)
		e.uvarint(tab.id(v.Reason))
	}
	size := 0
	for _, s := range tab.list {
		size += len(s) + 2
	}
	w := &bodyWriter{b: make([]byte, 0, size+10)}
	w.uvarint(uint64(len(tab.list)))
	for _, s := range tab.list {
		w.str(s)
	}
	return w.b, e.b
}

// sortedKeys returns m's keys in order: those of sorted that m holds
// when they are all of them, else m's own keys sorted.
func sortedKeys(m map[string]*Verdict, sorted []string) []string {
	out := make([]string, 0, len(m))
	for _, k := range sorted {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	if len(out) == len(m) {
		return out
	}
	return slices.Sorted(maps.Keys(m))
}

// decodeV2Body reads a format-2 body into st, whose header is read: the
// spec's canonical JSON (returned, nil for none) and the verdicts.
func decodeV2Body(st *State, body []byte) ([]byte, error) {
	r := &bodyReader{b: body}
	sj := r.bytes()
	r.verdicts(st)
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d bytes past the end", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return sj, nil
}

// bodyReader reads a format-2 body; the first error sticks.
type bodyReader struct {
	b   []byte
	err error
}

func (r *bodyReader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", errSnapshotBody, fmt.Sprintf(format, args...))
	}
	r.b = nil
}

func (r *bodyReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *bodyReader) varint() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a number of items of at least one byte each: never more
// than the bytes left.
func (r *bodyReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("%d items in %d bytes", n, len(r.b))
		return 0
	}
	return int(n)
}

func (r *bodyReader) bytes() []byte {
	n := r.uvarint()
	if n > uint64(len(r.b)) {
		r.fail("%d bytes wanted, %d left", n, len(r.b))
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}

// flags reads a verdict's flags, refusing flags this version does not
// know.
func (r *bodyReader) flags() byte {
	if len(r.b) < 1 {
		r.fail("truncated")
		return 0
	}
	c := r.b[0]
	if c&^(verdictUp|verdictFirst|verdictNoSince) != 0 {
		r.fail("verdict flags %#x", c)
		return 0
	}
	r.b = r.b[1:]
	return c
}

func (r *bodyReader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

// str reads a string by its number in tab.
func (r *bodyReader) str(tab []string) string {
	i := r.uvarint()
	if i >= uint64(len(tab)) {
		r.fail("string %d of %d", i, len(tab))
		return ""
	}
	return tab[i]
}

// verdicts reads what bodyWriter.verdicts wrote into st, whose
// observers the header named.
func (r *bodyReader) verdicts(st *State) {
	tab := make([]string, r.count())
	for i := range tab {
		tab[i] = string(r.bytes())
	}
	n := r.count()
	for range n {
		id := string(r.bytes())
		o := st.Observers[id]
		if o == nil && r.err == nil {
			r.fail("verdicts of observer %q, which the header lacks", id)
		}
		m := r.count()
		if r.err != nil {
			return
		}
		slab := make([]Verdict, m) // one allocation for the observer's verdicts
		o.Verdicts = make(map[string]*Verdict, m)
		for i := range slab {
			k := r.str(tab)
			flags := r.flags()
			v := &slab[i]
			v.Up, v.First = flags&verdictUp != 0, flags&verdictFirst != 0
			v.Reason = r.str(tab)
			v.Latency = math.Float64frombits(r.u64())
			if flags&verdictNoSince == 0 {
				v.Since = time.Unix(0, r.varint()).UTC()
			}
			o.Verdicts[k] = v
		}
	}
	if n := r.count(); n > 0 {
		st.LastKnown = make(map[string]LastVerdict, n)
		for range n {
			k := r.str(tab)
			flags := r.flags()
			st.LastKnown[k] = LastVerdict{Up: flags&verdictUp != 0, Reason: r.str(tab)}
		}
	}
}

// readSnapshot reads a snapshot of any format this version knows into a
// new state, and the spec's canonical JSON when the snapshot carries
// it (format 2).
func readSnapshot(r io.Reader) (*State, []byte, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	dec := json.NewDecoder(br)
	v := versionedState{State: NewState()}
	if err := dec.Decode(&v); err != nil {
		return nil, nil, err
	}
	format := max(v.Format, 1) // unnumbered: the first format
	switch {
	case format > SnapshotFormat:
		return nil, nil, fmt.Errorf("%w: the snapshot is format %d, this version reads up to %d; upgrade this node", ErrSnapshotFormat, format, SnapshotFormat)
	case format == 1:
		v.SpecHash = specHash(v.SpecYAML)
		return v.State, nil, nil
	}
	rest, err := io.ReadAll(io.MultiReader(dec.Buffered(), br))
	if err != nil {
		return nil, nil, err
	}
	body, ok := bytes.CutPrefix(rest, []byte("\n"))
	if !ok {
		return nil, nil, fmt.Errorf("%w: no newline after the header", errSnapshotBody)
	}
	sj, err := decodeV2Body(v.State, body)
	if err != nil {
		return nil, nil, err
	}
	if (len(sj) == 0) != (v.SpecHash == "") {
		return nil, nil, fmt.Errorf("%w: spec_sha256 %q with %d bytes of spec", errSnapshotBody, v.SpecHash, len(sj))
	}
	return v.State, sj, nil
}
