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

	"gopkg.in/yaml.v3"
)

// Errors returned by Load and Parse. Check them with errors.Is.
var (
	// ErrInvalid means the spec has one or more problems; the error is an
	// *Error listing all of them.
	ErrInvalid = errors.New("spec is invalid")
	// ErrEmpty means the document holds no spec at all.
	ErrEmpty = errors.New("spec is empty")
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

// Load reads, decodes and validates the spec at path. Zone files named by
// `file:` are read relative to the spec's directory.
func Load(path string) (*Spec, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	return Parse(data, filepath.Dir(path))
}

// Parse decodes and validates a spec document. dir is where relative zone
// file paths are resolved; empty means they are not allowed.
func Parse(data []byte, dir string) (*Spec, error) {
	s, err := Decode(data)
	if err != nil {
		return nil, err
	}
	if err := s.readZoneFiles(dir); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
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
		e.Problems = append(e.Problems, p)
	}
	return e
}

// readZoneFiles loads `file:` zone files so that the spec carries their
// text; a spec replicated to other nodes then needs no file on them.
func (s *Spec) readZoneFiles(dir string) error {
	e := &Error{}
	for i := range s.Zones {
		z := &s.Zones[i]
		if z.File == "" {
			continue
		}
		p := z.File
		if !filepath.IsAbs(p) {
			if dir == "" {
				e.add(fmt.Sprintf("zones[%d].file", i), "a relative zone file path needs the spec's directory; give an absolute path")
				continue
			}
			p = filepath.Join(dir, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			e.add(fmt.Sprintf("zones[%d].file", i), "%v", err)
			continue
		}
		z.FileText = string(data)
	}
	return e.err()
}

// Marshal writes the spec as YAML, zone file contents inlined.
func (s *Spec) Marshal() ([]byte, error) {
	c := *s
	c.Zones = append([]Zone(nil), s.Zones...)
	for i := range c.Zones {
		if c.Zones[i].FileText != "" {
			if c.Zones[i].Static != "" {
				c.Zones[i].Static += "\n"
			}
			c.Zones[i].Static += c.Zones[i].FileText
			c.Zones[i].File, c.Zones[i].FileText = "", ""
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (e *Error) add(path, format string, args ...any) {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	e.Problems = append(e.Problems, Problem{Path: path, Message: msg})
}

func (e *Error) err() error {
	if len(e.Problems) == 0 {
		return nil
	}
	return e
}
