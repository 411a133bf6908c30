// Package buildinfo says which detour this is: the module version, the
// VCS revision and time the Go toolchain stamped into the binary, and a
// build time a packager may inject.
package buildinfo

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Set by packagers with the linker, for builds outside a VCS checkout or
// to name a release:
//
//	go build -ldflags "-X github.com/seed3787e6f1/detour/internal/buildinfo.version=1.2.3
//	  -X github.com/seed3787e6f1/detour/internal/buildinfo.buildTime=2026-01-02T15:04:05Z" ./cmd/detour
//
// revision counts only where the toolchain recorded none (a git worktree,
// whose .git is a file, or -buildvcs=false). They are the linker's only
// way in, hence package variables; nothing writes them at run time.
var (
	version   string
	buildTime string
	revision  string
)

// Info is what a binary knows about its own build.
type Info struct {
	Version   string // module version, "(devel)" for a plain go build outside VCS
	Revision  string // VCS revision, empty when unknown
	VCSTime   string // commit time (RFC 3339), empty when unknown
	Modified  bool   // the tree had uncommitted changes
	BuildTime string // injected build time, else VCSTime
	GoVersion string
}

// Read returns this binary's build information.
func Read() Info {
	return fromBuildInfo(debug.ReadBuildInfo())
}

// fromBuildInfo fills an Info from what the toolchain recorded, with the
// injected values over it.
func fromBuildInfo(bi *debug.BuildInfo, ok bool) Info {
	in := Info{Version: "(devel)"}
	if ok {
		in.GoVersion = bi.GoVersion
		if bi.Main.Version != "" {
			in.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				in.Revision = s.Value
			case "vcs.time":
				in.VCSTime = s.Value
			case "vcs.modified":
				in.Modified = s.Value == "true"
			}
		}
	}
	if version != "" {
		in.Version = version
	}
	if in.Revision == "" {
		in.Revision = revision
	}
	in.BuildTime = buildTime
	if in.BuildTime == "" {
		in.BuildTime = in.VCSTime
	}
	return in
}

// String is the one-line form `detour version` prints first.
func (in Info) String() string {
	return "detour " + in.Version
}

// Lines are `detour version`'s output: the version, then one
// "key: value" line per known fact.
func (in Info) Lines() []string {
	out := []string{in.String()}
	add := func(k, v string) {
		if v != "" {
			out = append(out, fmt.Sprintf("  %-10s %s", k+":", v))
		}
	}
	rev := in.Revision
	if rev != "" && in.Modified {
		rev += " (modified)"
	}
	add("revision", rev)
	add("commit", in.VCSTime)
	add("built", in.BuildTime)
	add("go", in.GoVersion)
	return out
}

// Text is Lines joined, ending in a newline.
func (in Info) Text() string { return strings.Join(in.Lines(), "\n") + "\n" }

// Collector exports detour_build_info{version,revision,goversion} 1, the
// Prometheus convention for joining a build's facts onto other series.
func (in Info) Collector() prometheus.Collector {
	rev := in.Revision
	if rev != "" && in.Modified {
		rev += "-modified"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "detour_build_info",
		Help:        "Always 1; the labels say which build of detour this node runs.",
		ConstLabels: prometheus.Labels{"version": in.Version, "revision": rev, "goversion": in.GoVersion},
	})
	g.Set(1)
	return g
}
