package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"
)

// agentSettings parses args as the agent does and returns the settings it
// would start with.
func agentSettings(t *testing.T, args ...string) node.Config {
	t.Helper()
	var a agentFlags
	cmd := newAgentCmd()
	// Rebind to a, as newAgentCmd binds to its own copy.
	cmd.ResetFlags()
	cmd.Flags().StringVar(&a.configFile, "config", "", "")
	cmd.Flags().StringVar(&a.logLevel, "log-level", "info", "")
	bindNodeFlags(cmd.Flags(), &a.cfg)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	cfg, problems, err := a.settings(cmd)
	if err != nil || len(problems) > 0 {
		t.Fatalf("%v: %v %v", args, err, problems)
	}
	return cfg
}

// sample is a value for a flag of type typ; alt picks a second, different
// one (for the node file).
func sample(t *testing.T, typ string, alt bool) string {
	t.Helper()
	values := map[string][2]string{
		"string":      {"from-flag", "from-file"},
		"bool":        {"true", "false"},
		"int":         {"7", "9"},
		"int64":       {"1048576", "2097152"},
		"duration":    {"3s", "5s"},
		"stringSlice": {"a,b", "c"},
		"list":        {"10.0.0.0/8", "192.168.0.0/16"},
		"index":       {"42", "43"},
		"peers":       {"x@127.0.0.1:1,y@127.0.0.1:2", "z@127.0.0.1:3"},
	}
	v, ok := values[typ]
	if !ok {
		t.Fatalf("no sample for flag type %q: add one", typ)
	}
	if alt {
		return v[1]
	}
	return v[0]
}

// nodeFlags lists the agent's node-setting flags.
func nodeFlags() []*pflag.Flag {
	var out []*pflag.Flag
	newAgentCmd().Flags().VisitAll(func(f *pflag.Flag) {
		if f.Name != "config" && f.Name != "log-level" {
			out = append(out, f)
		}
	})
	return out
}

// leaves lists the paths of the settings fields in v (nested structs
// walked), with their values.
func leaves(v reflect.Value, path string, out map[string]any) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		// Settings only: not the test hooks and programmatic fields the
		// node file leaves out, but --dev, which only a flag sets.
		if (f.Tag.Get("yaml") == "-" && f.Name != "Dev") || !f.IsExported() {
			continue
		}
		p := path + f.Name
		if f.Type.Kind() == reflect.Struct {
			leaves(v.Field(i), p+".", out)
			continue
		}
		out[p] = v.Field(i).Interface()
	}
}

func settingsMap(c node.Config) map[string]any {
	out := map[string]any{}
	leaves(reflect.ValueOf(c), "", out)
	return out
}

// changed lists the settings that differ between a and b.
func changed(a, b map[string]any) []string {
	var out []string
	for k, v := range a {
		if !reflect.DeepEqual(v, b[k]) {
			out = append(out, k)
		}
	}
	return out
}

// Every flag reaches the settings, with and without --config, and wins
// over the node file's value; every node-file key has its flag.
func TestEveryAgentFlagReachesSettings(t *testing.T) {
	// A node file setting every key to a value no flag below gives.
	var fileArgs []string
	for _, f := range nodeFlags() {
		if f.Value.Type() == "bool" {
			continue // false is the zero value: nothing to write
		}
		fileArgs = append(fileArgs, "--"+f.Name+"="+sample(t, f.Value.Type(), true))
	}
	fileCfg := agentSettings(t, fileArgs...)
	fileCfg.Dev, fileCfg.Insecure = false, false
	data, err := yaml.Marshal(fileCfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	base, fileBase := settingsMap(agentSettings(t)), settingsMap(agentSettings(t, "--config", path))
	if got := changed(settingsMap(fileCfg), fileBase); len(got) > 0 {
		t.Fatalf("the node file did not round-trip: %v", got)
	}
	reached := map[string]bool{}
	for _, f := range nodeFlags() {
		arg := "--" + f.Name + "=" + sample(t, f.Value.Type(), false)
		flagOnly := settingsMap(agentSettings(t, arg))
		paths := changed(base, flagOnly)
		if len(paths) == 0 {
			t.Errorf("%s: changes no setting", arg)
			continue
		}
		both := settingsMap(agentSettings(t, "--config", path, arg))
		for _, p := range paths {
			reached[p] = true
			if reflect.DeepEqual(fileBase[p], flagOnly[p]) {
				t.Errorf("%s: the node file already has %v for %s: the test proves nothing", arg, fileBase[p], p)
			}
			if !reflect.DeepEqual(both[p], flagOnly[p]) {
				t.Errorf("%s with --config: %s is %v, want the flag's %v", arg, p, both[p], flagOnly[p])
			}
		}
		// Nothing else moved from the file's values.
		for _, p := range changed(fileBase, both) {
			if !reached[p] || !strings.Contains(strings.Join(paths, " "), p) {
				t.Errorf("%s with --config: also changed %s", arg, p)
			}
		}
	}
	for p := range base {
		if !reached[p] {
			t.Errorf("setting %s has no flag", p)
		}
	}
}

// A list flag given on the command line replaces the node file's list; it
// is never appended to it.
func TestAgentListFlagReplacesNodeFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "node.yaml")
	data := "skip_entries: [5]\nspec_env_prefixes: [FILE_]\ncheck_allow_networks: [10.0.0.0/8]\npeers:\n  - {id: a, address: 127.0.0.1:1}\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := agentSettings(t, "--config", path, "--skip-entry", "7", "--spec-env-prefix", "FLAG_", "--check-allow-networks", "", "--peers", "b@127.0.0.1:2")
	if !reflect.DeepEqual(cfg.SkipEntries, []uint64{7}) || !reflect.DeepEqual(cfg.SpecEnvPrefixes, []string{"FLAG_"}) ||
		cfg.CheckAllowNetworks == nil || len(cfg.CheckAllowNetworks) != 0 || len(cfg.Peers) != 1 || cfg.Peers[0].ID != "b" {
		t.Fatalf("flags did not replace the file's lists: %+v %+v %#v %+v", cfg.SkipEntries, cfg.SpecEnvPrefixes, cfg.CheckAllowNetworks, cfg.Peers)
	}
	// Without the flags, the file's lists stand.
	cfg = agentSettings(t, "--config", path)
	if !reflect.DeepEqual(cfg.SkipEntries, []uint64{5}) || !reflect.DeepEqual(cfg.CheckAllowNetworks, []string{"10.0.0.0/8"}) {
		t.Fatalf("the file's lists were lost: %+v %+v", cfg.SkipEntries, cfg.CheckAllowNetworks)
	}
}

// An agent with a node file holding an unknown key and a value of the
// wrong type, a setting missing, an unreadable spec and a weak token
// reports all of it in one round.
func TestAgentReportsEveryProblemInOneRound(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.yaml")
	data := "node_id: n-1\nraft_addr: 127.0.0.1:7001\npeers: [{id: n-1, address: 127.0.0.1:7001}]\ndns_addr: 127.0.0.1:0\napi_addr: 127.0.0.1:0\n" +
		"data_dir: " + filepath.Join(dir, "data") + "\nspec: " + filepath.Join(dir, "missing.yaml") + "\ninsecure: true\n" +
		"colour: blue\napi_auth_failures: many\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DETOUR_API_TOKENS", "admin:admin:7")
	code, out := runCLI("agent", "--config", path)
	if code == 0 {
		t.Fatalf("the agent started:\n%s", out)
	}
	for _, want := range []string{"field colour not found", "cannot unmarshal !!str `many`", "--datacenter is required",
		"--spec " + filepath.Join(dir, "missing.yaml"), "DETOUR_API_TOKENS: API token too weak"} {
		if !strings.Contains(out, want) {
			t.Errorf("the output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("the data dir was made: %v", err)
	}
}
