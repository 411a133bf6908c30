package testcluster

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/node"
	"github.com/seed3787e6f1/detour/internal/r53emu"
	"github.com/seed3787e6f1/detour/internal/testutil"
)

// route53Holds reports whether the emulated hosted zone holds www A with
// exactly addr, next to detour's ownership record.
func route53Holds(emu *r53emu.Server, zoneID, addr string) bool {
	www, owner := false, false
	for _, r := range emu.RecordSets(zoneID) {
		switch {
		case r.Name == "www.example.test." && r.Type == "A":
			www = slices.Equal(r.Values, []string{addr})
		case r.Name == "_detour-a.www.example.test." && r.Type == "TXT":
			owner = slices.Equal(r.Values, []string{`"heritage=detour,detour/owner=detour"`})
		}
	}
	return www && owner
}

// A real three-node cluster with a route53 provider (wired through the
// node's provider table, credentials from the environment as the AWS
// SDK's default chain reads them) keeps the hosted zone on the cluster's
// answer, and follows a failover.
func TestRoute53FollowsFailover(t *testing.T) {
	const zoneID = "ZCLUSTERTEST"
	emu := r53emu.New("AKIDCLUSTER")
	t.Cleanup(emu.Close)
	emu.AddZone(zoneID, "example.test")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDCLUSTER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	c := New(t, Options{Configure: func(_ *Member, cfg *node.Config) { cfg.ProviderBaseURLs = []string{emu.Endpoint()} }})
	text := c.Spec + fmt.Sprintf("providers:\n  - {name: aws, type: route53, zone: example.test, zone_id: %s, base_url: %q, drift_interval: 1s}\n", zoneID, emu.Endpoint())
	if err := c.Propose(c.Leader(), &controller.Command{Type: controller.CmdSetSpec, Spec: &controller.SetSpec{YAML: []byte(text), Author: "test"}}); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, "www at us-east in Route 53", 15*time.Second, func() bool { return route53Holds(emu, zoneID, Answers["us-east"]) })
	c.Member("us-east").Site.SetUp(false)
	testutil.Eventually(t, "www at us-west in Route 53", 15*time.Second, func() bool { return route53Holds(emu, zoneID, Answers["us-west"]) })
	c.CheckInvariants()
}
