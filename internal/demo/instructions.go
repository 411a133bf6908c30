package demo

import (
	"fmt"
	"net"
	"strings"
	"text/tabwriter"
)

// Instructions are what `detour demo` prints: how to query each node,
// watch the cluster, and take a datacenter down and back. bin is how the
// user runs detour ("detour" or "go run ./cmd/detour").
func (d *Demo) Instructions(bin string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "detour demo: three nodes and three simulated datacenters, on loopback.\n\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  DATACENTER\tNODE\tDNS\tAPI\tSITE\tANSWER")
	for _, m := range d.members {
		fmt.Fprintf(tw, "  %s\t%s\t%s\thttp://%s\thttp://%s\t%s\n", m.dc, m.id, m.cfg.DNSAddr, m.cfg.APIAddr, m.site.addr, Answers[m.dc])
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nAsk every node for www.example.test (us-east is first in the failover order):\n\n")
	for _, m := range d.members {
		host, port, _ := net.SplitHostPort(m.cfg.DNSAddr)
		fmt.Fprintf(&b, "  dig @%s -p %s +short www.example.test     # %s\n", host, port, m.id)
	}
	api0, api1 := "http://"+d.members[0].cfg.APIAddr, "http://"+d.members[1].cfg.APIAddr
	env := ""
	if api0 != "http://127.0.0.1:8053" {
		env = "DETOUR_API=" + api0 + " "
	}
	fmt.Fprintf(&b, "\nWatch the cluster from another terminal:\n\n")
	fmt.Fprintf(&b, "  %swatch -n1 %s status\n", env, bin)
	fmt.Fprintf(&b, "  %s%s events --follow --api %s\n", "", bin, api1)
	ctl := ""
	if d.control.addr != "127.0.0.1:8050" {
		ctl = " --control http://" + d.control.addr
	}
	fmt.Fprintf(&b, "\nTake a datacenter down — its node and its site — and bring it back:\n\n")
	fmt.Fprintf(&b, "  %s demo down us-east%s    # www answers %s (us-west) within seconds, from every live node\n", bin, ctl, Answers["us-west"])
	fmt.Fprintf(&b, "  %s demo up us-east%s      # back to %s once its site passes the check again\n", bin, ctl, Answers["us-east"])
	fmt.Fprintf(&b, "\n  us-east-1 may hold the leader: the others elect a new one. While it is down,\n")
	fmt.Fprintf(&b, "  ask another node:  %s status --api %s\n", bin, api1)
	fmt.Fprintf(&b, "\nSteer it by hand:\n\n")
	fmt.Fprintf(&b, "  %s drain us-west --reason \"maintenance\" --for 10m\n", bin)
	fmt.Fprintf(&b, "  %s failover www.example.test --to web-eu-west --reason \"testing eu\"\n", bin)
	fmt.Fprintf(&b, "  %s failover www.example.test --release\n", bin)
	fmt.Fprintf(&b, "  %s drill --lose us-east        # what losing us-east would do, before it happens\n", bin)
	fmt.Fprintf(&b, "\nCtrl-C stops the demo and removes its data.\n")
	return b.String()
}
