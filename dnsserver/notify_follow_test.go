package dnsserver

import "testing"

func TestSerialBefore(t *testing.T) {
	for _, c := range []struct {
		a, b uint32
		want bool
	}{
		{1, 2, true},
		{2, 1, false},
		{7, 7, false},
		{0xFFFFFFFF, 0, true}, // wraps
		{0, 0xFFFFFFFF, false},
		{1, 1 << 31, true},
	} {
		if got := serialBefore(c.a, c.b); got != c.want {
			t.Errorf("serialBefore(%d, %d) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}
