package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/miekg/dns"
	"gopkg.in/yaml.v3"
)

// Errors returned by Load and Parse. Check them with errors.Is.
var (
	// ErrInvalid means the spec has one or more problems; the error is an
	// *Error listing all of them.
	ErrInvalid = errors.New("spec is invalid")
	// ErrEmpty means the document holds no spec at all.
	ErrEmpty = errors.New("spec is empty")
	// ErrTooLarge means a file a spec names is over its size limit.
	ErrTooLarge = errors.New("file too large")
)

// Problem is one thing wrong (or, from Lint, doubtful) in a spec.
type Problem struct {
	// Path locates the problem: "pools[1].check", or "line 12" for
	// problems found while decoding YAML.
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Path + ": " + p.Message }

// Error lists every problem found in a spec.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "spec has %d problem", len(e.Problems))
	if len(e.Problems) != 1 {
		b.WriteString("s")
	}
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true for an *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// Load reads, decodes and validates the spec file at path: a file the
// operator trusts (the CLI's argument, the node's own --spec). The zone
// files (`file:`) and CA bundles (`ca_file:`) it names are read, relative
// to its directory, and carried inline (Zone.FileText, Check.CAPEM), so
// that the spec needs no file anywhere else. Every read is bounded: the
// spec by MaxSpecBytes, each file by MaxZoneTextBytes or MaxCAPEMBytes.
func Load(path string) (*Spec, error) {
	data, err := readBounded(path, MaxSpecBytes)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return ParseLocal(data, filepath.Dir(path))
}

// ParseLocal is Load for a document already in memory: dir is where
// relative paths resolve (empty means they are refused). It is for text
// the operator trusts as much as the files it names; a spec from anywhere
// else (the API, the Raft log) goes through Parse, which reads nothing.
func ParseLocal(data []byte, dir string) (*Spec, error) {
	s, err := decodeBounded(data)
	if err != nil {
		return nil, err
	}
	if err := s.readLocalFiles(dir); err != nil {
		return nil, err
	}
	if n := s.inlinedSize(len(data)); n > MaxSpecBytes {
		return nil, &Error{Problems: []Problem{{Path: "document", Message: fmt.Sprintf(
			"with its files inlined the spec is %d bytes, over the limit of %d bytes for a spec (see docs/spec.md, Limits)", n, MaxSpecBytes)}}}
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// inlinedSize is about the size of the document once its files travel
// in it: what a node will be sent.
func (s *Spec) inlinedSize(doc int) int {
	for _, z := range s.Zones {
		doc += len(z.FileText)
	}
	for _, c := range s.Checks {
		doc += len(c.CAPEM)
	}
	return doc
}

// Parse decodes and validates a self-contained spec: one sent to the API,
// or replayed from the Raft log or a snapshot. It does no I/O: a `file:`
// or `ca_file:` naming a path is a problem, since whatever reads the spec
// here (a node, for whoever holds a token) must not read its own disk on
// the sender's behalf. The CLI inlines both before sending.
func Parse(data []byte) (*Spec, error) {
	s, err := decodeBounded(data)
	if err != nil {
		return nil, err
	}
	e := &Error{}
	s.refuseLocalFiles(e)
	if err := s.Validate(); err != nil {
		var verr *Error
		if !errors.As(err, &verr) {
			return nil, err
		}
		e.Problems = append(e.Problems, verr.Problems...)
	}
	if err := e.err(); err != nil {
		s.compiled = nil
		return nil, err
	}
	return s, nil
}

// decodeBounded refuses a document over MaxSpecBytes before decoding it:
// a decoded YAML tree costs many times its text.
func decodeBounded(data []byte) (*Spec, error) {
	if len(data) > MaxSpecBytes {
		return nil, &Error{Problems: []Problem{{Path: "document", Message: fmt.Sprintf(
			"%d bytes is over the limit of %d bytes for a spec (see docs/spec.md, Limits)", len(data), MaxSpecBytes)}}}
	}
	return Decode(data)
}

// Decode decodes a spec document strictly (unknown keys are errors) without
// validating it.
func Decode(data []byte) (*Spec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s Spec
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, ErrEmpty
		}
		return nil, yamlError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Problems: []Problem{{Path: "document", Message: "more than one YAML document; a spec is a single document"}}}
	}
	return &s, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlError turns yaml.v3's errors into Problems with line paths and
// user-facing type names.
func yamlError(err error) error {
	var lines []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines = te.Errors
	} else {
		lines = []string{err.Error()}
	}
	e := &Error{}
	for _, l := range lines {
		p := Problem{Path: "document", Message: l}
		if m := yamlLine.FindStringSubmatch(l); m != nil {
			p = Problem{Path: "line " + m[1], Message: m[2]}
		}
		p.Message = strings.ReplaceAll(p.Message, "in type spec.", "in ")
		p.Message = strings.ReplaceAll(p.Message, "into spec.", "into ")
		p.Message = boundYAMLMessage(p.Message)
		e.Problems = append(e.Problems, p)
	}
	return e
}

// inlineHint is what a `file:` or `ca_file:` outside a local file is told.
const inlineHint = "names a file on the node, which a spec sent to a node may not do; the CLI inlines it: send the spec with `detour spec apply FILE`"

// refuseLocalFiles reports every path a self-contained spec names.
func (s *Spec) refuseLocalFiles(e *Error) {
	for i, z := range s.Zones {
		if z.File != "" {
			e.add(fmt.Sprintf("zones[%d].file", i), "%s (or put the zone text in static:)", inlineHint)
		}
	}
	for i, c := range s.Checks {
		if c.CAFile != "" {
			e.add(fmt.Sprintf("checks[%d].ca_file", i), "%s (or put the PEM in ca_pem:)", inlineHint)
		}
	}
}

// readLocalFiles reads the zone files and CA bundles a trusted spec names
// so that the spec carries their text: a spec replicated to other nodes
// then needs no file on them, and applying it reads nothing.
func (s *Spec) readLocalFiles(dir string) error {
	e := &Error{}
	for i := range s.Zones {
		z := &s.Zones[i]
		if z.File == "" {
			continue
		}
		path := fmt.Sprintf("zones[%d].file", i)
		if text, ok := readLocalText(e, path, dir, z.File, MaxZoneTextBytes); ok {
			z.FileText = text
		}
	}
	for i := range s.Checks {
		c := &s.Checks[i]
		if c.CAFile == "" {
			continue
		}
		path := fmt.Sprintf("checks[%d].ca_file", i)
		if c.CAPEM != "" {
			e.add(path, "is given with ca_pem; keep one of them")
			continue
		}
		if data, ok := readLocal(e, path, dir, c.CAFile, MaxCAPEMBytes); ok {
			c.CAPEM = string(data)
		}
	}
	return e.err()
}

// readLocal reads one file a trusted spec names, relative to dir, up to
// limit bytes; a problem at path says why it could not.
func readLocal(e *Error, path, dir, name string, limit int) ([]byte, bool) {
	p, ok := localPath(e, path, dir, name)
	if !ok {
		return nil, false
	}
	data, err := readBounded(p, limit)
	if err != nil {
		e.add(path, "%v", err)
		return nil, false
	}
	return data, true
}

// readLocalText is readLocal into a string.
func readLocalText(e *Error, path, dir, name string, limit int) (string, bool) {
	p, ok := localPath(e, path, dir, name)
	if !ok {
		return "", false
	}
	text, err := readBoundedText(p, limit)
	if err != nil {
		e.add(path, "%v", err)
		return "", false
	}
	return text, true
}

// localPath is name, relative to dir.
func localPath(e *Error, path, dir, name string) (string, bool) {
	if filepath.IsAbs(name) {
		return name, true
	}
	if dir == "" {
		e.add(path, "a relative path needs the spec's directory; give an absolute path")
		return "", false
	}
	return filepath.Join(dir, name), true
}

// readBounded reads a regular file of at most limit bytes: a device such
// as /dev/zero, a FIFO or an oversized file is refused, never read whole.
func readBounded(path string, limit int) ([]byte, error) {
	var buf bytes.Buffer
	if err := readBoundedTo(&buf, buf.Grow, path, limit); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// readBoundedText is readBounded into a string, without a copy of the
// bytes (a zone file of 24 MiB).
func readBoundedText(path string, limit int) (string, error) {
	var b strings.Builder
	if err := readBoundedTo(&b, b.Grow, path, limit); err != nil {
		return "", err
	}
	return b.String(), nil
}

// readBoundedTo reads the file as readBounded does into w, sized first
// with grow to the file's size: io.ReadAll grew and copied a 24 MiB zone
// file over and over.
func readBoundedTo(w io.Writer, grow func(int), path string, limit int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	}
	grow(int(min(fi.Size(), int64(limit))) + bytes.MinRead) // MinRead: bytes.Buffer.ReadFrom grows below it
	n, err := io.Copy(w, io.LimitReader(f, int64(limit)+1))
	if err != nil {
		return err
	}
	if n > int64(limit) {
		return fmt.Errorf("%w: %s is over the limit of %d bytes", ErrTooLarge, path, limit)
	}
	return nil
}

// joinZoneText is z's static text followed by its file's, parsing as the
// two parse apart: each starts at the zone's origin with the zone's ttl as
// $TTL, so that a $ORIGIN or $TTL in the static text does not reach into
// the file's.
func joinZoneText(z *Zone) string {
	if z.Static == "" {
		return z.FileText
	}
	ttl := z.TTL
	if ttl == 0 {
		ttl = DefaultZoneTTL
	}
	text := z.Static
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return fmt.Sprintf("%s$ORIGIN %s\n$TTL %d\n%s", text, dns.Fqdn(z.Name), ttl, z.FileText)
}

// Marshal writes the spec as YAML, self-contained: zone file contents
// inlined in static:, CA bundles in ca_pem:, no path left. Parse accepts
// what it writes.
func (s *Spec) Marshal() ([]byte, error) {
	c := s.Inlined()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (e *Error) add(path, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	e.Problems = append(e.Problems, Problem{Path: path, Message: boundMessage(msg)})
}

func (e *Error) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}
