package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// notify_allow_networks comes from the node file, is validated, and
// defaults to loopback under --dev only.
func TestNotifyAllowNetworks(t *testing.T) {
	file := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(file, []byte("notify_allow_networks: [127.0.0.1/32, 10.20.0.0/16]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.notifyAllowNetworks(); err != nil || len(got) != 2 || got[1].String() != "10.20.0.0/16" {
		t.Errorf("from the node file: %v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		want int
	}{
		{"production default", Config{}, 0},
		{"dev default", Config{Dev: true}, len(LoopbackNetworks)},
		{"dev, set empty", Config{Dev: true, NotifyAllowNetworks: []string{}}, 0},
	} {
		if got, err := tc.cfg.notifyAllowNetworks(); err != nil || len(got) != tc.want {
			t.Errorf("%s: %v, %v; want %d networks", tc.name, got, err, tc.want)
		}
	}
	bad := Config{Dev: true, Spec: "x.yaml", NotifyAllowNetworks: []string{"loopback"}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), `notify_allow_networks: "loopback": want networks`) {
		t.Errorf("Validate: %v", err)
	}
}
