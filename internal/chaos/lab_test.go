package chaos

import (
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// requireLab skips without root and `ip netns`, except under CI.
func requireLab(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v: CI runs as root with iproute2", err)
		}
		t.Skip(err)
	}
}

// The node network carries TCP between namespaces through the switch,
// which delays, and blocks one direction, as told.
func TestLabNodeNetwork(t *testing.T) {
	t.Parallel() // a lab of its own; after TestChaos, which runs alone
	requireLab(t)
	lab, err := NewLab(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	var ln net.Listener
	if err := InNetns(lab.NS[0], func() (err error) {
		ln, err = net.Listen("tcp", lab.NodeIP(0)+":7000")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	rtt := func() (time.Duration, error) {
		var d time.Duration
		err := InNetns(lab.NS[1], func() error {
			start := time.Now()
			c, err := net.DialTimeout("tcp", lab.NodeIP(0)+":7000", time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write([]byte("x")); err != nil {
				return err
			}
			if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
				return err
			}
			d = time.Since(start)
			return nil
		})
		return d, err
	}
	if _, err := rtt(); err != nil {
		t.Fatalf("no path over the node network: %v", err)
	}
	lab.Switch.Set(0, 1, Link{Delay: 50 * time.Millisecond})
	lab.Switch.Set(1, 0, Link{Delay: 50 * time.Millisecond})
	d, err := rtt()
	if err != nil {
		t.Fatal(err)
	}
	// Connect and one exchange: two round trips of 100 ms.
	if d < 190*time.Millisecond {
		t.Errorf("two round trips took %s, want at least 200ms", d)
	}
	lab.Switch.Set(0, 1, Link{Blocked: true})
	if _, err := rtt(); err == nil {
		t.Error("a connection worked with replies blocked")
	}
}
