package machine

import (
	"bufio"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The script tests drive the replicated state machine without Raft: each
// file under testdata/script is a list of commands, each followed by the
// output it must produce, in the style of etcd-io/raft's datadriven
// tests:
//
//	# a comment
//	report observer=n1
//	web-us-east/192.0.2.10 down refused
//	----
//	endpoint: web-us-east/192.0.2.10 is down: ...
//
// A command is a name and key=value arguments (values in double quotes
// may hold spaces), then input lines, then "----" and the expected
// output up to a blank line. go test -run TestScripts -update rewrites
// the expected output from what the commands produce.

var updateScripts = flag.Bool("update", false, "rewrite the expected output of testdata/script files")

// scriptStart is the state's clock when a script begins.
var scriptStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func TestScripts(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "script", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) { runScript(t, f) })
	}
}

// scriptCmd is one command of a script and where it stands.
type scriptCmd struct {
	// head is the text of the file up to the "----": comments and
	// blank lines before the command, the command and its input.
	head  string
	line  int
	name  string
	args  map[string]string
	input []string
	want  string
}

// scriptRun is a script's state machine and clock.
type scriptRun struct {
	st  *State
	now time.Time
	idx uint64
	// seen is how many events were already printed.
	seen uint64
}

func runScript(t *testing.T, path string) {
	cmds, err := parseScript(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &scriptRun{st: NewState(), now: scriptStart}
	var out strings.Builder
	failed := false
	for _, c := range cmds {
		got, err := r.do(c)
		if err != nil {
			t.Fatalf("%s:%d: %s: %v", path, c.line, c.name, err)
		}
		if !*updateScripts && got != c.want {
			failed = true
			t.Errorf("%s:%d: %s\n got:\n%s\nwant:\n%s", path, c.line, c.name, got, c.want)
		}
		out.WriteString(c.head + "----\n" + got + "\n\n")
	}
	if *updateScripts {
		text := strings.TrimRight(out.String(), "\n") + "\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if failed {
		t.Log("rerun with -update to rewrite the expected output")
	}
}

func parseScript(path string) ([]scriptCmd, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var cmds []scriptCmd
	var head strings.Builder
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		head.WriteString(l + "\n")
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			continue
		}
		c := scriptCmd{line: n}
		fields, err := splitArgs(l)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		c.name, c.args = fields[0], map[string]string{}
		for _, a := range fields[1:] {
			k, v, ok := strings.Cut(a, "=")
			if !ok {
				return nil, fmt.Errorf("%s:%d: argument %q is not key=value", path, n, a)
			}
			c.args[k] = v
		}
		for sc.Scan() {
			n++
			if sc.Text() == "----" {
				break
			}
			head.WriteString(sc.Text() + "\n")
			c.input = append(c.input, sc.Text())
		}
		c.head = head.String()
		head.Reset()
		var want []string
		for sc.Scan() {
			n++
			if sc.Text() == "" {
				break
			}
			want = append(want, sc.Text())
		}
		c.want = strings.Join(want, "\n")
		cmds = append(cmds, c)
	}
	return cmds, sc.Err()
}

// splitArgs splits a command line on spaces, keeping double-quoted
// values whole.
func splitArgs(l string) ([]string, error) {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(l); i++ {
		switch ch := l[i]; {
		case ch == '"':
			j := i + 1
			for j < len(l) && (l[j] != '"' || l[j-1] == '\\') {
				j++
			}
			if j == len(l) {
				return nil, fmt.Errorf("unterminated quote in %q", l)
			}
			s, err := strconv.Unquote(l[i : j+1])
			if err != nil {
				return nil, err
			}
			cur.WriteString(s)
			i = j
		case ch == ' ' || ch == '\t':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(ch)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// do runs one command and returns its output: for a state change, the
// events it logged (or "ok" for none, "error: ..." when refused); for a
// query, what it shows.
func (r *scriptRun) do(c scriptCmd) (string, error) {
	switch c.name {
	case "advance":
		d, err := time.ParseDuration(c.args["by"])
		if err != nil {
			return "", fmt.Errorf("advance by=DURATION: %w", err)
		}
		r.now = r.now.Add(d)
		return "now " + r.now.Format(time.RFC3339), nil
	case "answers":
		return r.answers(), nil
	case "health":
		return r.health(), nil
	case "observers":
		return r.observers(), nil
	case "overrides":
		return r.overrides(), nil
	}
	cmd, err := scriptCommand(c)
	if err != nil {
		return "", err
	}
	r.idx++
	r.st.Index, r.st.Term = r.idx, 1
	cmd.Time = r.now
	_, err = r.st.apply(cmd)
	return r.newEvents(err), nil
}

// newEvents renders the events logged since the last call, and err.
func (r *scriptRun) newEvents(err error) string {
	var lines []string
	for _, e := range r.st.Events {
		if e.Seq <= r.seen {
			continue
		}
		lines = append(lines, e.Kind+": "+e.Message)
	}
	r.seen = r.st.NextEvent
	if err != nil {
		lines = append(lines, "error: "+err.Error())
	}
	if len(lines) == 0 {
		return "ok"
	}
	return strings.Join(lines, "\n")
}

// scriptCommand builds the replicated command a script command stands
// for.
func scriptCommand(c scriptCmd) (*Command, error) {
	a := c.args
	switch c.name {
	case "spec":
		y := strings.Join(c.input, "\n") + "\n"
		if f := a["file"]; f != "" {
			b, err := os.ReadFile(filepath.Join("testdata", "script", f))
			if err != nil {
				return nil, err
			}
			y = string(b)
		}
		if q := a["quorum"]; q != "" {
			y += "quorum: " + strconv.Quote(q) + "\n"
		}
		s := &SetSpec{YAML: []byte(y), Author: a["author"]}
		if v, ok := a["if_version"]; ok {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("if_version: %w", err)
			}
			s.IfVersion = &n
		}
		return &Command{Type: CmdSetSpec, ID: a["id"], Spec: s}, nil
	case "report":
		rep := &ObserverReport{Observer: a["observer"]}
		for _, l := range c.input {
			ch, err := verdictLine(l)
			if err != nil {
				return nil, err
			}
			rep.Changes = append(rep.Changes, ch)
		}
		return &Command{Type: CmdObserverReport, Report: rep}, nil
	case "liveness":
		return &Command{Type: CmdObserverLiveness, Liveness: &ObserverLiveness{
			Observer: a["observer"], Fresh: a["fresh"] == "true", Reason: a["reason"]}}, nil
	case "drain":
		return &Command{Type: CmdSetOverride, ID: a["id"], Override: &Override{Kind: OverrideDrain,
			Target: a["target"], Reason: a["reason"], Author: a["author"], For: a["for"]}}, nil
	case "pin":
		return &Command{Type: CmdSetOverride, ID: a["id"], Override: &Override{Kind: OverridePin,
			Record: a["record"], Type: a["type"], Pool: a["pool"], Reason: a["reason"], Author: a["author"], For: a["for"]}}, nil
	case "undrain":
		return &Command{Type: CmdClearOverride, Clear: &ClearOverride{Kind: OverrideDrain, Target: a["target"], Author: a["author"]}}, nil
	case "unpin":
		return &Command{Type: CmdClearOverride, Clear: &ClearOverride{Kind: OverridePin, Record: a["record"], Type: a["type"], Author: a["author"]}}, nil
	case "expire":
		return &Command{Type: CmdExpireOverrides}, nil
	case "member":
		return &Command{Type: CmdRegisterMember, Member: &Member{ID: a["id"], Datacenter: a["dc"], RaftAddr: a["raft"]}}, nil
	case "remove-member":
		return &Command{Type: CmdRemoveMember, Member: &Member{ID: a["id"]}}, nil
	case "incident":
		return &Command{Type: CmdIncident, Incident: &IncidentCommand{Action: a["action"], ID: a["id"],
			Title: a["title"], Message: a["message"], Author: a["author"]}}, nil
	case "beat":
		return &Command{Type: CmdHeartbeat, Beat: &Heartbeat{Check: a["check"], Endpoint: a["endpoint"]}}, nil
	}
	return nil, fmt.Errorf("unknown script command %q", c.name)
}

// verdictLine parses "pool/address up|down|forget [reason...]".
func verdictLine(l string) (VerdictChange, error) {
	f := strings.Fields(l)
	if len(f) < 2 {
		return VerdictChange{}, fmt.Errorf("verdict %q: want pool/address up|down|forget [reason]", l)
	}
	pool, addr, ok := strings.Cut(f[0], "/")
	if !ok {
		return VerdictChange{}, fmt.Errorf("verdict %q: want pool/address", l)
	}
	ch := VerdictChange{Pool: pool, Address: addr, Reason: strings.Join(f[2:], " ")}
	switch f[1] {
	case "up":
		ch.Up = true
	case "down":
	case "forget":
		ch.Forget = true
	default:
		return VerdictChange{}, fmt.Errorf("verdict %q: %q is not up, down or forget", l, f[1])
	}
	return ch, nil
}

func (r *scriptRun) answers() string {
	ds := r.st.Decisions()
	if len(ds) == 0 {
		return "no records"
	}
	var lines []string
	for _, d := range ds {
		lines = append(lines, fmt.Sprintf("%s %s: %s; %s", d.Name, d.Type, describe(d), d.Reason))
	}
	return strings.Join(lines, "\n")
}

func (r *scriptRun) health() string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(r.st.health)) {
		h := r.st.health[k]
		s := "unknown (counted up)"
		switch {
		case h.Known && h.Up:
			s = "up"
		case h.Known:
			s = "down"
		}
		if h.Reason != "" {
			s += ": " + h.Reason
		}
		lines = append(lines, k+" "+s)
	}
	if len(lines) == 0 {
		return "no endpoints"
	}
	return strings.Join(lines, "\n")
}

func (r *scriptRun) observers() string {
	var lines []string
	for _, id := range slices.Sorted(maps.Keys(r.st.Observers)) {
		o := r.st.Observers[id]
		f := "stale"
		if o.Fresh {
			f = "fresh"
		}
		lines = append(lines, fmt.Sprintf("%s %s, %d verdicts, last report %s", id, f, len(o.Verdicts), o.LastReport.Format(time.RFC3339)))
	}
	if len(lines) == 0 {
		return "no observers"
	}
	return strings.Join(lines, "\n")
}

func (r *scriptRun) overrides() string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(r.st.Overrides)) {
		o := r.st.Overrides[k]
		s := k + ": " + o.Reason
		if !o.Expires.IsZero() {
			s += " (until " + o.Expires.Format(time.RFC3339) + ")"
		}
		lines = append(lines, s)
	}
	if len(lines) == 0 {
		return "no overrides"
	}
	return strings.Join(lines, "\n")
}
