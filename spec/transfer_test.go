package spec

import (
	"net/netip"
	"strings"
	"testing"
)

func TestTransferValidation(t *testing.T) {
	zone := func(extra string) string {
		return strings.Replace(base, "    nameservers: [ns1.example.test.]\n", "    nameservers: [ns1.example.test.]\n"+extra, 1)
	}
	for _, tc := range []struct {
		name  string
		extra string
		want  []string
	}{
		{"ok", `    allow_transfer: [127.0.0.1, 10.0.0.0/8, xfr, "192.0.2.0/24 xfr"]
    also_notify: ["127.0.0.1:5300", "[::1]:53 xfr"]
    tsig_keys: [{name: xfr, secret_env: XFR_SECRET}]
`, nil},
		{"unknown key", "    allow_transfer: [nokey]\n", []string{`zones[0].allow_transfer[0]: TSIG key "nokey." is not defined in this zone's tsig_keys (keys: none defined)`}},
		{"bad entry", "    allow_transfer: [\"10.0.0.0/8 a b\", \"x/y z\"]\n", []string{"allow_transfer[0]", `allow_transfer[1]: "x/y z": "x/y" is not an address or CIDR`}},
		{"bad notify", "    also_notify: [127.0.0.1, \"host:53\"]\n", []string{`also_notify[0]: "127.0.0.1": "127.0.0.1" is not IP:port`, "also_notify[1]"}},
		{"bad key", "    tsig_keys: [{name: k, algorithm: md5}, {name: k}]\n", []string{
			`tsig_keys[0].algorithm: "md5"`, "tsig_keys[0].secret_env: is required", `tsig_keys[1].name: "k." is defined twice`}},
		{"secret env shape", "    tsig_keys: [{name: k, secret_env: 'a b'}]\n", []string{`tsig_keys[0].secret_env: "a b" is not known`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(zone(tc.extra)))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range s.Zones[0].TSIGKeys {
					if k.Algorithm != "hmac-sha256" || !strings.HasSuffix(k.Name, ".") {
						t.Errorf("key not normalised: %+v", k)
					}
				}
				return
			}
			if err == nil {
				t.Fatal("spec accepted")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestTransferRuleMatches(t *testing.T) {
	for _, tc := range []struct {
		rule, addr, key string
		want            bool
	}{
		{"10.0.0.0/8", "10.1.2.3", "", true},
		{"10.0.0.0/8", "11.1.2.3", "", false},
		{"10.0.0.0/8", "::ffff:10.1.2.3", "", true},
		{"xfr", "192.0.2.1", "xfr.", true},
		{"xfr", "192.0.2.1", "", false},
		{"xfr", "192.0.2.1", "other.", false},
		{"10.0.0.0/8 xfr", "10.0.0.1", "", false},
		{"10.0.0.0/8 XFR.", "10.0.0.1", "xfr.", true},
		{"10.0.0.0/8 xfr", "11.0.0.1", "xfr.", false},
		{"::1", "::1", "", true},
	} {
		r, err := ParseTransferRule(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Matches(netip.MustParseAddr(tc.addr), tc.key); got != tc.want {
			t.Errorf("%q from %s key %q: %v, want %v", tc.rule, tc.addr, tc.key, got, tc.want)
		}
	}
}
