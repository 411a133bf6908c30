package netguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// Control judges the address actually dialled, in any of its forms, and
// its refusal names the setting that would allow it.
func TestControl(t *testing.T) {
	g := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Setting: "some_allow_networks"}
	cases := []struct {
		address string
		err     string // "" means allowed
	}{
		{"192.0.2.1:80", ""},
		{"127.0.0.1:25", ""},
		{"127.0.0.2:25", "target address 127.0.0.2 is not allowed by this node's some_allow_networks"},
		{"[::ffff:169.254.169.254]:80", "target address 169.254.169.254 is not allowed by this node's some_allow_networks"},
		{"[fe80::1%eth0]:80", "target address fe80::1 is not allowed by this node's some_allow_networks"},
		{"[::1]:8053", "target address ::1 is not allowed by this node's some_allow_networks"},
		{"metadata.internal:80", "target address is not an IP address"},
	}
	for _, c := range cases {
		err := g.Control("tcp", c.address, nil)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v, want allowed", c.address, err)
		case c.err != "" && (err == nil || err.Error() != c.err || !errors.Is(err, ErrNotAllowed)):
			t.Errorf("%s: %v, want ErrNotAllowed %q", c.address, err, c.err)
		}
	}
}

func TestParseNetworks(t *testing.T) {
	got, err := ParseNetworks("x_allow_networks", []string{"10.1.2.3/8", " ::1/128 ", "192.0.2.7", "::ffff:192.0.2.8"})
	if err != nil || fmt.Sprint(got) != "[10.0.0.0/8 ::1/128 192.0.2.7/32 192.0.2.8/32]" {
		t.Errorf("got %v, %v", got, err)
	}
	_, err = ParseNetworks("x_allow_networks", []string{"10.0.0.0/8", "loopback", "127.0.0.1/33"})
	if err == nil || !strings.HasPrefix(err.Error(), `x_allow_networks: "loopback", "127.0.0.1/33": want networks`) {
		t.Errorf("got %v", err)
	}
}
