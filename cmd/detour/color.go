package main

import (
	"io"
	"os"
)

// palette colours human output, only when writing to a terminal and
// NO_COLOR is unset (https://no-color.org).
type palette struct{ on bool }

func colorFor(w io.Writer) palette {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return palette{}
	}
	st, err := f.Stat()
	return palette{on: err == nil && st.Mode()&os.ModeCharDevice != 0}
}

func (p palette) wrap(code, s string) string {
	if !p.on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p palette) good(s string) string { return p.wrap("32", s) }
func (p palette) bad(s string) string  { return p.wrap("1;31", s) }
func (p palette) warn(s string) string { return p.wrap("33", s) }
func (p palette) dim(s string) string  { return p.wrap("2", s) }
func (p palette) bold(s string) string { return p.wrap("1", s) }
