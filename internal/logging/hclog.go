package logging

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
)

// levelTrace is hclog's Trace below slog's Debug.
const levelTrace = slog.LevelDebug - 4

// hclogAdapter is an hclog.Logger that hands every call to a slog.Logger
// as a record of the matching level with the call's key-value pairs as
// attributes: no second timestamp, no level inside the message.
type hclogAdapter struct {
	base    *slog.Logger // with the implied args, without the name
	l       *slog.Logger // base, with the name
	name    string
	implied []any
	// min is the hclog level set with SetLevel, shared by every logger
	// derived from the same root, as hclog's own are.
	min *atomic.Int32
	// quiet demotes repeated messages (see Quiet); nil for none.
	quiet *quieter
}

// HclogOptions tune an hclog adapter.
type HclogOptions struct {
	// Name is the hclog logger's name, logged as "logger" when set.
	Name string
	// Quiet demotes messages that repeat as a matter of course.
	Quiet *Quiet
}

// Hclog returns an hclog.Logger writing through l.
func Hclog(l *slog.Logger, opts HclogOptions) hclog.Logger {
	a := &hclogAdapter{base: l, min: new(atomic.Int32)}
	a.min.Store(int32(hclog.Trace))
	if opts.Quiet != nil {
		a.quiet = newQuieter(*opts.Quiet)
	}
	return a.named(opts.Name)
}

// named is a copy of a under name.
func (a *hclogAdapter) named(name string) *hclogAdapter {
	c := *a
	c.name, c.l = name, a.base
	if name != "" {
		c.l = a.base.With("logger", name)
	}
	return &c
}

// slogLevel maps hclog's levels onto slog's.
func slogLevel(level hclog.Level) slog.Level {
	switch level {
	case hclog.Trace:
		return levelTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (a *hclogAdapter) enabled(level hclog.Level) bool {
	if level < hclog.Level(a.min.Load()) {
		return false
	}
	return a.l.Enabled(context.Background(), slogLevel(level))
}

// Log implements hclog.Logger.
func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if level == hclog.Off || level == hclog.NoLevel {
		level = hclog.Info
	}
	if a.quiet != nil {
		var extra []any
		level, extra = a.quiet.pass(level, msg)
		args = append(args, extra...)
	}
	if !a.enabled(level) {
		return
	}
	a.l.Log(context.Background(), slogLevel(level), msg, slogArgs(args)...)
}

// Trace implements hclog.Logger.
func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }

// Debug implements hclog.Logger.
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }

// Info implements hclog.Logger.
func (a *hclogAdapter) Info(msg string, args ...any) { a.Log(hclog.Info, msg, args...) }

// Warn implements hclog.Logger.
func (a *hclogAdapter) Warn(msg string, args ...any) { a.Log(hclog.Warn, msg, args...) }

// Error implements hclog.Logger.
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }

// IsTrace implements hclog.Logger.
func (a *hclogAdapter) IsTrace() bool { return a.enabled(hclog.Trace) }

// IsDebug implements hclog.Logger.
func (a *hclogAdapter) IsDebug() bool { return a.enabled(hclog.Debug) }

// IsInfo implements hclog.Logger.
func (a *hclogAdapter) IsInfo() bool { return a.enabled(hclog.Info) }

// IsWarn implements hclog.Logger.
func (a *hclogAdapter) IsWarn() bool { return a.enabled(hclog.Warn) }

// IsError implements hclog.Logger.
func (a *hclogAdapter) IsError() bool { return a.enabled(hclog.Error) }

// ImpliedArgs implements hclog.Logger.
func (a *hclogAdapter) ImpliedArgs() []any { return a.implied }

// With implements hclog.Logger.
func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.base = a.base.With(slogArgs(args)...)
	c.implied = append(append([]any{}, a.implied...), args...)
	return c.named(a.name)
}

// Name implements hclog.Logger.
func (a *hclogAdapter) Name() string { return a.name }

// Named implements hclog.Logger: the name grows by a dot, as hclog's.
func (a *hclogAdapter) Named(name string) hclog.Logger {
	if a.name != "" {
		name = a.name + "." + name
	}
	return a.ResetNamed(name)
}

// ResetNamed implements hclog.Logger.
func (a *hclogAdapter) ResetNamed(name string) hclog.Logger { return a.named(name) }

// SetLevel implements hclog.Logger: a floor below the slog logger's own.
func (a *hclogAdapter) SetLevel(level hclog.Level) { a.min.Store(int32(level)) }

// GetLevel implements hclog.Logger.
func (a *hclogAdapter) GetLevel() hclog.Level { return hclog.Level(a.min.Load()) }

// StandardLogger implements hclog.Logger.
func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(a.StandardWriter(opts), "", 0)
}

// StandardWriter implements hclog.Logger: each line written becomes a
// record, its level read from a leading "[WARN]"-style tag.
func (a *hclogAdapter) StandardWriter(opts *hclog.StandardLoggerOptions) io.Writer {
	return stdWriter{a: a}
}

// stdWriter turns standard-library log lines into records.
type stdWriter struct{ a *hclogAdapter }

func (w stdWriter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		level, msg := inferLevel(strings.TrimSpace(string(line)))
		w.a.Log(level, msg)
	}
	return len(p), nil
}

// inferLevel reads and strips a "[LEVEL]" tag, as hclog's InferLevels.
func inferLevel(line string) (hclog.Level, string) {
	for _, t := range []struct {
		tag   string
		level hclog.Level
	}{{"[TRACE]", hclog.Trace}, {"[DEBUG]", hclog.Debug}, {"[INFO]", hclog.Info}, {"[WARN]", hclog.Warn}, {"[ERR]", hclog.Error}, {"[ERROR]", hclog.Error}} {
		if i := strings.Index(line, t.tag); i >= 0 {
			return t.level, strings.TrimSpace(line[i+len(t.tag):])
		}
	}
	return hclog.Info, line
}
