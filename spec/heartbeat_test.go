package spec

import (
	"errors"
	"strings"
	"testing"
)

func TestHeartbeatTarget(t *testing.T) {
	s := &Spec{
		Checks: []Check{{Name: "nightly", Type: CheckHeartbeat}, {Name: "web", Type: "http"}, {Name: "weekly", Type: CheckHeartbeat}},
		Pools: []Pool{
			{Name: "jobs", Check: "nightly", Endpoints: []Endpoint{{Address: "192.0.2.50"}, {Address: "mailer.example.test."}, {Address: "2001:db8::5"}}},
			{Name: "site", Check: "web", Endpoints: []Endpoint{{Address: "192.0.2.1"}}},
		},
	}
	for _, c := range []struct {
		check, endpoint string
		addr            string
		err             error
		msg             string
	}{
		{"nightly", "192.0.2.50", "192.0.2.50", nil, ""},
		{"nightly", "Mailer.Example.Test", "mailer.example.test.", nil, ""},
		{"nightly", "2001:0db8:0:0::5", "2001:db8::5", nil, ""},
		{"monthly", "192.0.2.50", "", ErrUnknownCheck, `"monthly" (heartbeat checks: nightly, weekly)`},
		{"web", "192.0.2.1", "", ErrNotHeartbeat, `check "web" is of type http`},
		{"nightly", "192.0.2.1", "", ErrUnknownEndpoint, `no pool checked by "nightly" has endpoint "192.0.2.1"`},
		{"weekly", "192.0.2.50", "", ErrUnknownEndpoint, "weekly"},
	} {
		_, addr, err := s.HeartbeatTarget(c.check, c.endpoint)
		if addr != c.addr || !errors.Is(err, c.err) || (c.err != nil && !strings.Contains(err.Error(), c.msg)) {
			t.Errorf("HeartbeatTarget(%q, %q) = %q, %v; want %q, %v (%s)", c.check, c.endpoint, addr, err, c.addr, c.err, c.msg)
		}
	}
	var none *Spec
	if _, _, err := none.HeartbeatTarget("nightly", "192.0.2.50"); !errors.Is(err, ErrUnknownCheck) {
		t.Errorf("without a spec: %v, want ErrUnknownCheck", err)
	}
	if _, _, err := (&Spec{}).HeartbeatTarget("x", "y"); err == nil || !strings.Contains(err.Error(), "heartbeat checks: none") {
		t.Errorf("a spec without heartbeat checks: %v", err)
	}
}
