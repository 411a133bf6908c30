package controller

import (
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

type downSet map[string]bool

func (d downSet) Endpoint(pool, addr string) EndpointHealth {
	if d[addr] {
		return EndpointHealth{Known: true, Up: false, Reason: "connect: connection refused"}
	}
	return EndpointHealth{Known: true, Up: true}
}

// The contract's promise: with all three check addresses healthy www
// answers 192.0.2.10; with the first failing, 198.51.100.10; with all
// three failing, 192.0.2.99. docs answers the CNAME and www's address.
func TestContractExampleFailover(t *testing.T) {
	s, err := spec.Load("../examples/contract/spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1700000000, 0)
	l, err := NewLocal(s, func() time.Time { clock = clock.Add(time.Second); return clock })
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		down downSet
		want string
	}{
		{"all healthy", downSet{}, "192.0.2.10"},
		{"first down", downSet{"192.0.2.10": true}, "198.51.100.10"},
		{"first two down", downSet{"192.0.2.10": true, "198.51.100.10": true}, "203.0.113.10"},
		{"all down", downSet{"192.0.2.10": true, "198.51.100.10": true, "203.0.113.10": true}, "192.0.2.99"},
	}
	var lastSerial uint32
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := l.SetHealth(c.down); err != nil {
				t.Fatal(err)
			}
			snap := l.Answers()
			for _, q := range []string{"www.example.test.", "docs.example.test."} {
				m := snap.Lookup(q, dns.TypeA)
				if len(m.Answer) == 0 {
					t.Fatalf("%s: no answer: %v", q, m)
				}
				a, ok := m.Answer[len(m.Answer)-1].(*dns.A)
				if !ok || a.A.String() != c.want {
					t.Errorf("%s A = %v, want %s", q, m.Answer, c.want)
				}
			}
			if serial := snap.Serial("example.test"); serial <= lastSerial {
				t.Errorf("serial %d did not rise above %d", serial, lastSerial)
			} else {
				lastSerial = serial
			}
		})
	}
}
