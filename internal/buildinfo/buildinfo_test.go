package buildinfo

import (
	"maps"
	"runtime/debug"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	tests := []struct {
		name            string
		bi              *debug.BuildInfo
		ok              bool
		injVer, injTime string
		injRev          string
		want            Info
	}{
		{name: "no build info", want: Info{Version: "(devel)"}},
		{name: "stamped by the toolchain", bi: stamped, ok: true,
			want: Info{Version: "v1.4.0", Revision: "abc123", VCSTime: "2026-11-30T10:00:00Z", Modified: true, BuildTime: "2026-11-30T10:00:00Z", GoVersion: "go1.26.8"}},
		{name: "injected by a packager", bi: stamped, ok: true, injVer: "1.4.0-1", injTime: "2026-12-01T00:00:00Z",
			want: Info{Version: "1.4.0-1", Revision: "abc123", VCSTime: "2026-11-30T10:00:00Z", Modified: true, BuildTime: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8"}},
		{name: "empty module version", bi: &debug.BuildInfo{GoVersion: "go1.26.8"}, ok: true,
			want: Info{Version: "(devel)", GoVersion: "go1.26.8"}},
		{name: "revision injected where the toolchain had none", bi: &debug.BuildInfo{GoVersion: "go1.26.8"}, ok: true, injRev: "def456",
			want: Info{Version: "(devel)", Revision: "def456", GoVersion: "go1.26.8"}},
		{name: "the toolchain's revision wins", bi: stamped, ok: true, injRev: "def456",
			want: Info{Version: "v1.4.0", Revision: "abc123", VCSTime: "2026-11-30T10:00:00Z", Modified: true, BuildTime: "2026-11-30T10:00:00Z", GoVersion: "go1.26.8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version, buildTime, revision = tt.injVer, tt.injTime, tt.injRev
			t.Cleanup(func() { version, buildTime, revision = "", "", "" })
			if got := fromBuildInfo(tt.bi, tt.ok); got != tt.want {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	in := Info{Version: "v1.4.0", Revision: "abc123", Modified: true, VCSTime: "2026-11-30T10:00:00Z", BuildTime: "2026-12-01T00:00:00Z", GoVersion: "go1.26.8"}
	want := `detour v1.4.0
  revision:  abc123 (modified)
  commit:    2026-11-30T10:00:00Z
  built:     2026-12-01T00:00:00Z
  go:        go1.26.8
`
	if got := in.Text(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := (Info{Version: "(devel)"}).Text(); got != "detour (devel)\n" {
		t.Errorf("without VCS facts: got %q", got)
	}
}

func TestCollector(t *testing.T) {
	in := Info{Version: "v1.4.0", Revision: "abc123", GoVersion: "go1.26.8"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(in.Collector())
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || len(mfs[0].GetMetric()) != 1 {
		t.Fatalf("gathered %v, %v; want one family of one series", mfs, err)
	}
	m := mfs[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"version": "v1.4.0", "revision": "abc123", "goversion": "go1.26.8"}
	if mfs[0].GetName() != "detour_build_info" || m.GetGauge().GetValue() != 1 || !maps.Equal(labels, want) {
		t.Errorf("got %s %v = %v; want detour_build_info %v = 1", mfs[0].GetName(), labels, m.GetGauge().GetValue(), want)
	}
}
