package machine

import (
	"bytes"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// packageDecls parses this package's non-test sources.
func packageDecls(t *testing.T) []*ast.File {
	t.Helper()
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, p := range pkgs {
		for _, f := range p.Files {
			files = append(files, f)
		}
	}
	return files
}

// declaredCommandTypes lists the constants of type CommandType in the
// package's sources: every command someone declared.
func declaredCommandTypes(t *testing.T) []string {
	var names []string
	for _, f := range packageDecls(t) {
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "CommandType" {
				for _, n := range vs.Names {
					names = append(names, n.Name)
				}
			}
			return true
		})
	}
	return names
}

// tableState is a state with the contract spec and a heartbeat check, at
// index 10.
func tableState(t *testing.T) *State {
	t.Helper()
	text, err := os.ReadFile("../../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.Replace(string(text), "checks:\n", "checks:\n  - {name: nightly, type: heartbeat, max_age: 1m, interval: 1s, rise: 1, fall: 1}\n", 1)
	st := NewState()
	st.Index = 10
	if _, err := st.apply(&Command{Type: CmdSetSpec, Time: time.Now(), Spec: &SetSpec{YAML: []byte(yaml)}}); err != nil {
		t.Fatal(err)
	}
	st.Index = 11
	if _, err := st.apply(&Command{Type: CmdIncident, Time: time.Now(), Incident: &IncidentCommand{Action: IncidentActionOpen, Title: "open"}}); err != nil {
		t.Fatal(err)
	}
	st.Index = 12
	if _, err := st.apply(&Command{Type: CmdSetOverride, Time: time.Now(), Override: &Override{Kind: OverrideDrain, Target: "us-west", Reason: "to clear"}}); err != nil {
		t.Fatal(err)
	}
	return st
}

// sampleCommands is one valid command of each type, applicable to
// tableState. A new command type needs one here: the test below fails
// without it.
func sampleCommands() map[CommandType]*Command {
	return map[CommandType]*Command{
		CmdSetSpec:          {Spec: &SetSpec{YAML: mustRead("../../examples/contract/spec.yaml")}},
		CmdObserverReport:   {Report: &ObserverReport{Observer: "n1", Changes: []VerdictChange{{Pool: "web-us-east", Address: "192.0.2.10", Up: true}}}},
		CmdObserverLiveness: {Liveness: &ObserverLiveness{Observer: "n1", Fresh: false, Reason: "silent"}},
		CmdSetOverride:      {Override: &Override{Kind: OverrideDrain, Target: "us-east", Reason: "maintenance", For: "30m"}},
		CmdClearOverride:    {Clear: &ClearOverride{Kind: OverrideDrain, Target: "us-west"}},
		CmdExpireOverrides:  {},
		CmdRegisterMember:   {Member: &Member{ID: "n9", Datacenter: "us-east", RaftAddr: "127.0.0.1:1"}},
		CmdRemoveMember:     {Member: &Member{ID: "n9"}},
		CmdHeartbeat:        {Beat: &Heartbeat{Check: "nightly", Endpoint: "192.0.2.50"}},
		CmdIncident:         {Incident: &IncidentCommand{Action: IncidentActionUpdate, ID: "1", Message: "still on it"}},
		CmdNotifyCursor:     {Cursor: &NotifyCursor{Channel: "ops", Seq: 3}},
		CmdProviderSync:     {Provider: &ProviderSync{Name: "cloudflare-main", InSync: true}},
		CmdClusterID:        {Cluster: &ClusterIDCommand{ID: "c-0123456789abcdef"}},
		// Against the spec staged by stageForActivate: the leader could
		// not compile it, so activation drops it.
		CmdActivateSpec: {Activate: &ActivateSpec{Index: 15, Error: "test: not compiled"}},
		CmdMembership:   {Membership: &MembershipChange{Op: MemberAdd, ID: "n9", Addr: "127.0.0.9:7001", Author: "alice"}},
	}
}

func mustRead(path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	return b
}

// frequentCommands are the commands a person does not send that are
// frequent and idempotent: they carry no ID. Every other command that is
// not the leader's own decision must be once-only.
var frequentCommands = []CommandType{CmdObserverReport, CmdHeartbeat}

// Every command type declared is in the table once, applies, refuses a
// command without its payload, and is once-only unless it is frequent
// and idempotent or the leader's own decision; a once-only command
// applied twice under one ID changes the state once and answers with
// the first copy's result.
func TestCommandTableCoversEveryCommand(t *testing.T) {
	declared := declaredCommandTypes(t)
	if len(declared) < 12 {
		t.Fatalf("found %d CommandType constants in the sources: the parse missed some", len(declared))
	}
	if len(declared) != len(commandTable) {
		t.Errorf("%d command types declared, %d in the table", len(declared), len(commandTable))
	}
	samples := sampleCommands()
	seen := map[CommandType]bool{}
	for _, d := range commandTable {
		if seen[d.typ] {
			t.Errorf("%s is in the table twice", d.typ)
		}
		seen[d.typ] = true
		if d.apply == nil {
			t.Errorf("%s has no apply function", d.typ)
			continue
		}
		sample := samples[d.typ]
		if sample == nil {
			t.Errorf("%s has no sample command in this test", d.typ)
			continue
		}
		t.Run(string(d.typ), func(t *testing.T) { checkCommand(t, d, *sample) })
	}
}

func checkCommand(t *testing.T, d commandDef, sample Command) {
	sample.Type, sample.Time = d.typ, time.Now()
	wantOnce := !d.leaderOnly && !slices.Contains(frequentCommands, d.typ)
	if d.onceOnly != wantOnce {
		t.Errorf("once-only is %v, want %v (a command a person sends is once-only)", d.onceOnly, wantOnce)
	}
	if d.onceOnly && d.leaderOnly {
		t.Errorf("both once-only and leader-only")
	}
	if d.payload != nil {
		st := tableState(t)
		empty := Command{Type: d.typ, Time: time.Now()}
		if _, err := st.apply(&empty); !errors.Is(err, ErrBadCommand) {
			t.Errorf("without its payload: %v, want ErrBadCommand", err)
		}
		if d.payload(&sample) == nil {
			t.Errorf("the payload accessor finds nothing in %+v", sample)
		}
	}
	st := tableState(t)
	if d.typ == CmdActivateSpec {
		st.Staged = &StagedSpec{Index: 15, Version: st.SpecVersion + 1}
	}
	st.Index = 20
	if d.onceOnly {
		sample.ID = "n1-test-1"
	}
	first, err := st.apply(&sample)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	if first.Index != 20 || first.Duplicate {
		t.Errorf("result %+v, want index 20, not a duplicate", first)
	}
	if !d.onceOnly {
		return
	}
	before, err := encodeSnapshot(st)
	if err != nil {
		t.Fatal(err)
	}
	st.Index = 21
	again, err := st.apply(&sample)
	if err != nil {
		t.Fatalf("the retried copy: %v", err)
	}
	first.Duplicate = true
	if !reflect.DeepEqual(again, first) {
		t.Errorf("the retried copy answered %+v, want the first copy's %+v", again, first)
	}
	st.Index = 20 // the copy changed nothing but the index the FSM sets
	after, _ := encodeSnapshot(st)
	if !bytes.Equal(before, after) {
		t.Errorf("the retried copy changed the state")
	}
}
