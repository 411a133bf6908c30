package logging

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// records decodes what a JSON logger wrote, one object a line.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not one JSON object: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func jsonLogger(t *testing.T, level slog.Level) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	l, err := New(&buf, FormatJSON, level)
	if err != nil {
		t.Fatal(err)
	}
	return l, &buf
}

func TestNewFormats(t *testing.T) {
	for _, tt := range []struct {
		format string
		want   string
	}{{"", "level=INFO msg=hi"}, {"text", "level=INFO msg=hi"}, {"json", `"level":"INFO","msg":"hi"`}} {
		var buf bytes.Buffer
		l, err := New(&buf, tt.format, slog.LevelInfo)
		if err != nil {
			t.Fatalf("%q: %v", tt.format, err)
		}
		l.Info("hi")
		if !strings.Contains(buf.String(), tt.want) {
			t.Errorf("%q wrote %q, want %q in it", tt.format, buf.String(), tt.want)
		}
	}
	if _, err := New(&bytes.Buffer{}, "xml", slog.LevelInfo); !errors.Is(err, ErrFormat) {
		t.Errorf("xml: %v, want ErrFormat", err)
	}
}

// A key given again with With is written once, with its last value, in
// the place it first had.
func TestWithKeyWrittenOnce(t *testing.T) {
	l, buf := jsonLogger(t, slog.LevelInfo)
	l.With("component", "controller", "node", "a").With("component", "raft").Info("x")
	line := strings.TrimSpace(buf.String())
	if strings.Count(line, `"component"`) != 1 || !strings.Contains(line, `"component":"raft","node":"a"`) {
		t.Errorf("got %s", line)
	}
	var tbuf bytes.Buffer
	tl, _ := New(&tbuf, FormatText, slog.LevelInfo)
	tl.With("component", "controller").With("component", "raft").Info("x")
	if got := tbuf.String(); strings.Count(got, "component=") != 1 || !strings.Contains(got, "component=raft") {
		t.Errorf("text: got %s", got)
	}
}

// hclog's levels and key-value pairs become the record's; the name and
// With's pairs are fields; nothing is nested in the message.
func TestHclogAdapter(t *testing.T) {
	l, buf := jsonLogger(t, slog.LevelDebug)
	h := Hclog(l.With("component", "raft"), HclogOptions{Name: "raft"})
	h.Trace("not shown")
	h.Debug("d", "k", 1)
	h.Info("entering leader state", "leader", stringer("Node at 127.0.0.1:1 [Leader]"))
	h.Named("net").With("peer", "b").Warn("failed to contact", "time", 2*time.Second)
	h.Error("e", "servers", hclog.Fmt("%d voters", 3), "err", errors.New("boom"), "flags", hclog.Hex(255))
	recs := records(t, buf)
	want := []map[string]any{
		{"level": "DEBUG", "msg": "d", "k": 1.0, "logger": "raft"},
		{"level": "INFO", "msg": "entering leader state", "leader": "Node at 127.0.0.1:1 [Leader]"},
		{"level": "WARN", "msg": "failed to contact", "logger": "raft.net", "peer": "b", "time": nil, "component": "raft"},
		{"level": "ERROR", "msg": "e", "servers": "3 voters", "err": "boom", "flags": "0xff"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d:\n%s", len(recs), len(want), buf)
	}
	for i, w := range want {
		for k, v := range w {
			if v != nil && recs[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v\n%v", i, k, recs[i][k], v, recs[i])
			}
		}
	}
	if !h.IsDebug() || h.IsTrace() {
		t.Errorf("IsDebug %v IsTrace %v under a debug slog logger", h.IsDebug(), h.IsTrace())
	}
	h.SetLevel(hclog.Warn)
	if h.IsInfo() || h.GetLevel() != hclog.Warn {
		t.Error("SetLevel(Warn) left Info on")
	}
}

// The standard-library logger hclog hands out reads the level tag.
func TestHclogStandardLogger(t *testing.T) {
	l, buf := jsonLogger(t, slog.LevelInfo)
	Hclog(l, HclogOptions{}).StandardLogger(nil).Print("[WARN] raft: disk slow\n")
	recs := records(t, buf)
	if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["msg"] != "raft: disk slow" {
		t.Errorf("got %v", recs)
	}
}

// A vote request refused again and again is logged at INFO once a
// minute, the ones between at DEBUG, with the count of those on the
// next INFO; other warnings are untouched.
func TestRaftQuiet(t *testing.T) {
	l, buf := jsonLogger(t, slog.LevelInfo)
	now := time.Unix(0, 0)
	q := RaftQuiet()
	q.Now = func() time.Time { return now }
	h := Hclog(l, HclogOptions{Quiet: q})
	const msg = "rejecting pre-vote request since we have a leader"
	for range 10 {
		h.Warn(msg, "from", "c")
		h.Warn("failed to contact", "server-id", "c")
		now = now.Add(time.Second)
	}
	now = now.Add(time.Minute)
	h.Warn(msg, "from", "c")
	var rejections, contacts []map[string]any
	for _, r := range records(t, buf) {
		switch r["msg"] {
		case msg:
			rejections = append(rejections, r)
		case "failed to contact":
			contacts = append(contacts, r)
		}
	}
	if len(contacts) != 10 || contacts[0]["level"] != "WARN" {
		t.Errorf("other warnings: %d, first %v; want all 10 at WARN", len(contacts), contacts[0])
	}
	if len(rejections) != 2 {
		t.Fatalf("refusals logged %d times at INFO, want 2: %v", len(rejections), rejections)
	}
	if rejections[0]["level"] != "INFO" || rejections[1]["repeats_logged_at_debug"] != 9.0 {
		t.Errorf("got %v", rejections)
	}
	var dbuf bytes.Buffer
	dl, _ := New(&dbuf, FormatJSON, slog.LevelDebug)
	dh := Hclog(dl, HclogOptions{Quiet: RaftQuiet()})
	for range 3 {
		dh.Warn(msg)
	}
	if n := strings.Count(dbuf.String(), msg); n != 3 {
		t.Errorf("at debug, %d of 3 refusals logged", n)
	}
}

type stringer string

func (s stringer) String() string { return string(s) }
