// Package logging builds the agent's *slog.Logger in the chosen format
// and adapts libraries that log through hclog (hashicorp/raft) onto it,
// so every line on stderr has one format, one timestamp and a level.
package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Formats a logger can write.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// ErrFormat means a log format other than text or json.
var ErrFormat = errors.New("log format")

// New returns a logger writing records at level and above to w, as
// logfmt-like text (the default, format "") or one JSON object a line;
// a key given twice with With keeps its last value, written once.
func New(w io.Writer, format string, level slog.Leveler) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	switch format {
	case "", FormatText:
		return slog.New(newLastWins(slog.NewTextHandler(w, opts))), nil
	case FormatJSON:
		return slog.New(newLastWins(slog.NewJSONHandler(w, opts))), nil
	}
	return nil, fmt.Errorf("%w: want %s or %s, got %q", ErrFormat, FormatText, FormatJSON, format)
}

// CheckFormat reports whether format is one New accepts.
func CheckFormat(format string) error {
	_, err := New(io.Discard, format, slog.LevelInfo)
	return err
}
