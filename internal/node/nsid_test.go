package node

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/seed3787e6f1/detour/internal/testutil"
)

// dig +nsid against a real node tells which node answered: its node ID
// by default, another name when set, nothing when off; over UDP and TCP,
// for an answer and for a name the node does not serve.
func TestNSIDWithDig(t *testing.T) {
	for _, tc := range []struct {
		nsid, want string
	}{
		{"", `; NSID: 6e 6f 64 65 2d 37 ("node-7")`},
		{"edge-fra", `; NSID: 65 64 67 65 2d 66 72 61 ("edge-fra")`},
		{NSIDOff, ""},
	} {
		t.Run("nsid="+tc.nsid, func(t *testing.T) {
			n, err := Start(Config{Dev: true, NodeID: "node-7", NSID: tc.nsid, DNSAddr: "127.0.0.1:0", APIAddr: "127.0.0.1:0",
				Spec: "../../examples/dev/spec.yaml"}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close(context.Background())
			for _, args := range [][]string{{"dev.test", "SOA"}, {"dev.test", "SOA", "+tcp"}, {"www.other.test", "A"}} {
				out := testutil.Dig(t, n.DNSAddr(), append([]string{"+nsid", "+norec"}, args...)...)
				got := ""
				for _, l := range strings.Split(out, "\n") {
					if strings.HasPrefix(l, "; NSID:") {
						got = strings.TrimSpace(l)
					}
				}
				if got != tc.want {
					t.Errorf("dig +nsid %v: NSID line %q, want %q\n%s", args, got, tc.want, out)
				}
				// Without +nsid, no NSID.
				if out := testutil.Dig(t, n.DNSAddr(), append([]string{"+norec"}, args...)...); strings.Contains(out, "NSID") {
					t.Errorf("dig %v: NSID unasked\n%s", args, out)
				}
			}
		})
	}
}

func TestNSIDTooLong(t *testing.T) {
	c := Config{NodeID: "n", NSID: strings.Repeat("x", 129)}
	var errs []string
	c.validateNSID(func(f string, a ...any) { errs = append(errs, f) })
	if len(errs) != 1 {
		t.Errorf("a 129-byte NSID gave %d errors", len(errs))
	}
	c.NSID = NSIDOff
	errs = nil
	c.NodeID = strings.Repeat("x", 200)
	c.validateNSID(func(f string, a ...any) { errs = append(errs, f) })
	if len(errs) != 0 {
		t.Errorf("nsid off with a long node ID: %v", errs)
	}
}
