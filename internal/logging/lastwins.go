package logging

import (
	"context"
	"log/slog"
	"slices"
)

// lastWins is a slog.Handler that keeps one attribute per key among those
// added with With: logger.With("component", "raft") on a logger that has
// "component=controller" replaces the value in place rather than writing
// the key twice (JSON consumers such as Elasticsearch refuse an object
// with a duplicate key).
type lastWins struct {
	root  slog.Handler // without the With attributes
	attrs []slog.Attr
	h     slog.Handler // root with attrs
}

func newLastWins(h slog.Handler) *lastWins { return &lastWins{root: h, h: h} }

// Enabled implements slog.Handler.
func (l *lastWins) Enabled(ctx context.Context, level slog.Level) bool {
	return l.root.Enabled(ctx, level)
}

// Handle implements slog.Handler.
func (l *lastWins) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }

// WithAttrs implements slog.Handler.
func (l *lastWins) WithAttrs(as []slog.Attr) slog.Handler {
	merged := slices.Clone(l.attrs)
	for _, a := range as {
		if i := slices.IndexFunc(merged, func(b slog.Attr) bool { return b.Key == a.Key }); i >= 0 {
			merged[i] = a
			continue
		}
		merged = append(merged, a)
	}
	return &lastWins{root: l.root, attrs: merged, h: l.root.WithAttrs(merged)}
}

// WithGroup implements slog.Handler: attributes after a group are the
// group's, so they are passed on as they come.
func (l *lastWins) WithGroup(name string) slog.Handler { return l.h.WithGroup(name) }
