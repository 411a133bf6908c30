package dnsserver

import (
	"errors"
	"fmt"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
)

// ErrNotSigned means a zone this server does not sign: not served, or
// without dnssec in the spec.
var ErrNotSigned = errors.New("zone is not signed (no dnssec in its spec, or not served)")

// DNSSECStatus is what a node says of a signed zone: its settings, its
// keys (public parts only) and the signatures it serves now.
type DNSSECStatus struct {
	Zone      string `json:"zone"`
	Algorithm string `json:"algorithm"`
	Denial    string `json:"denial"`
	// Signing is false when the node has no key that signs: it then
	// serves the zone unsigned (Problem says why).
	Signing bool   `json:"signing"`
	Problem string `json:"problem,omitempty"`
	Serial  uint32 `json:"serial"`
	// Epoch is when the signatures served now were made (every node
	// signs on the same epochs); they are valid from Inception to
	// Expiration, and made anew at NextRefresh.
	Epoch       time.Time   `json:"epoch,omitzero"`
	Inception   time.Time   `json:"inception,omitzero"`
	Expiration  time.Time   `json:"expiration,omitzero"`
	NextRefresh time.Time   `json:"next_refresh,omitzero"`
	Validity    string      `json:"validity"`
	Refresh     string      `json:"refresh"`
	DNSKEYTTL   uint32      `json:"dnskey_ttl"`
	Keys        []DNSSECKey `json:"keys"`
	// Rollover is the step of a key rollover and what to do next.
	Rollover dnssec.Rollover `json:"rollover"`
	// Checked is this node's clock when it answered.
	Checked time.Time `json:"checked"`
	// KeyScheme is the spec's dnssec.keys: csk or split.
	KeyScheme string `json:"key_scheme"`
	// ZSKRollover is the step of a ZSK rollover (pre-publication), for
	// a zone whose keys are split.
	ZSKRollover *dnssec.Rollover `json:"zsk_rollover,omitempty"`
	// MaxTTL is the largest TTL of the zone's records now (negative
	// answers' included): what a ZSK rollover waits for after the
	// switch ('detour dnssec rollover --max-zone-ttl').
	MaxTTL uint32 `json:"max_ttl"`
	// Notice says when the key files do not match the spec's keys.
	Notice string `json:"notice,omitempty"`
}

// DNSSECKey is one key of a zone, public parts and timing.
type DNSSECKey struct {
	Tag uint16 `json:"tag"`
	// Role is csk, ksk or zsk.
	Role      string    `json:"role"`
	Algorithm string    `json:"algorithm"`
	Flags     uint16    `json:"flags"`
	State     string    `json:"state"`
	Created   time.Time `json:"created,omitzero"`
	Publish   time.Time `json:"publish,omitzero"`
	Activate  time.Time `json:"activate,omitzero"`
	Inactive  time.Time `json:"inactive,omitzero"`
	Delete    time.Time `json:"delete,omitzero"`
	DNSKEY    string    `json:"dnskey"`
	DS        string    `json:"ds"`
}

// DNSSECStatus reports on zone's signing, or ErrNotSigned.
func (s *Server) DNSSECStatus(zone string) (DNSSECStatus, error) {
	origin := dns.CanonicalName(zone)
	g := s.handler.sign
	snap := s.handler.src.Answers()
	if g == nil || snap == nil || snap.zs.dnssec[origin] == nil {
		return DNSSECStatus{}, fmt.Errorf("dnsserver: %s: %w", origin, ErrNotSigned)
	}
	settings := snap.zs.dnssec[origin]
	now := g.now()
	st := DNSSECStatus{
		Zone: origin, Algorithm: settings.Algorithm, Denial: "compact (RFC 9824)", Serial: snap.Serial(origin),
		Validity: settings.Validity.String(), Refresh: settings.Refresh.String(), DNSKEYTTL: settings.DNSKEYTTL, Checked: now.UTC(),
	}
	keys := g.keys().Keys(origin)
	for _, k := range keys {
		st.Keys = append(st.Keys, keyStatus(k, keys, now))
	}
	st.Rollover = dnssec.RolloverState(keys, now, time.Duration(settings.DNSKEYTTL)*time.Second)
	splitStatus(&st, snap, settings, keys, now)
	zsg := snap.dnssec.zones[origin]
	if zsg == nil {
		st.Problem = "no key of the zone's algorithm is active on this node: the zone is served unsigned (see docs/security.md, DNSSEC keys)"
		return st, nil
	}
	st.Signing = true
	st.Epoch = zsg.epoch
	st.Inception = time.Unix(int64(zsg.incept), 0).UTC()
	st.Expiration = time.Unix(int64(zsg.expire), 0).UTC()
	st.NextRefresh = zsg.epoch.Add(settings.Refresh.D())
	return st, nil
}

// keyStatus is k's status among the zone's keys: a ZSK has no DS (no
// registrar should hold one).
func keyStatus(k *dnssec.Key, keys []*dnssec.Key, now time.Time) DNSSECKey {
	ks := DNSSECKey{
		Tag: k.Tag(), Role: dnssec.Role(k, keys), Algorithm: dns.AlgorithmToString[k.DNSKEY.Algorithm], Flags: k.DNSKEY.Flags, State: k.State(now),
		Created: k.Timing.Created, Publish: k.Timing.Publish, Activate: k.Timing.Activate,
		Inactive: k.Timing.Inactive, Delete: k.Timing.Delete,
		DNSKEY: k.DNSKEY.String(),
	}
	if k.SEP() {
		ks.DS = k.DS().String()
	}
	return ks
}
