package dnsserver

import (
	"encoding/binary"
	"log/slog"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/spec"
)

// DNSSEC online signing. A zone with dnssec enabled in the spec is signed
// by the server with the keys its node holds: the signing source derives,
// from each snapshot the controller publishes, a signed one: the same
// answers, the serial of signed zones moved to the current signing epoch
// when that is later (so that secondaries fetch the re-signed zone), and
// every answer of the fast path packed a second time with its RRSIGs, for
// queries with DO. Negative answers, wildcard answers and whatever else
// the slow path answers are signed online.

// signedData is a derived snapshot's signing state.
type signedData struct {
	zones map[string]*zoneSigner // by origin: the zones signed
	// packed holds the DO=1 answers of the fast path of signed zones
	// that depend on the snapshot (health-driven records, the SOA);
	// static those that depend on the spec and the keys alone, shared
	// by every snapshot signed in the same epoch with the same keys.
	packed map[string]*packed
	static map[string]*packed
	cache  *sigCache
	// wire maps every zone's wire name to whether it is signed.
	wire map[string]bool
	// geo holds the DO=1 answers of geo records in signed zones: every
	// rule's and site's answer signed (geo_signed.go).
	geo *geoIndex
}

// zoneSigner signs one zone's RRsets for one epoch.
type zoneSigner struct {
	origin string
	// keyset signs the DNSKEY, CDS and CDNSKEY RRsets, zsk the rest:
	// the same keys (CSKs) unless the zone's keys are split.
	keyset   []*dnssec.Key
	zsk      []*dnssec.Key
	dnskey   []dns.RR // the DNSKEY RRset: published keys
	cds      []dns.RR // CDS and CDNSKEY of the keys that sign the keyset
	cdnskey  []dns.RR
	incept   uint32
	expire   uint32
	epoch    time.Time
	settings *spec.DNSSEC
}

// sigCache holds the signatures of RRsets already signed in an epoch,
// by the RRset's text, so that a new snapshot re-signs only what changed.
type sigCache struct {
	mu    sync.Mutex
	id    string // epoch and keys: a new id starts a new cache
	rrsig map[string][]dns.RR
}

// signing is the handler's signing state: the keys and the snapshots
// derived so far.
type signing struct {
	keys   func() dnssec.Keyring
	logger *slog.Logger
	now    func() time.Time
	// cur is the newest derived snapshot and the one it came from.
	cur   atomic.Pointer[derived]
	mu    sync.Mutex // one derivation at a time
	cache *sigCache
	// warned remembers zones logged as unsigned for want of a key.
	warned map[string]bool
	// static is the signed static answers of one zone set, epoch and
	// key set: a new snapshot of the same ones signs and packs only
	// what depends on it.
	static *staticSigned
	// ring is the keyring the newest snapshot was signed with: a new
	// one (a key directory read again) makes poll sign anew.
	ring atomic.Pointer[dnssec.Keyring]
}

type staticSigned struct {
	zs     *ZoneSet
	id     string
	packed map[string]*packed
}

type derived struct {
	from *Snapshot
	snap *Snapshot
	// refresh is when the epoch ends and the snapshot must be derived
	// anew.
	refresh time.Time
}

// signingSource is the Source the handler answers from when DNSSEC keys
// are configured: the controller's snapshots, signed.
type signingSource struct {
	inner Source
	g     *signing
}

// Answers returns the signed snapshot derived from the inner source's,
// deriving it first when the inner one changed. (poll derives it anew
// when its time is up: the query path reads no clock.)
func (s *signingSource) Answers() *Snapshot {
	inner := s.inner.Answers()
	if inner == nil || len(inner.zs.dnssec) == 0 {
		return inner
	}
	if d := s.g.cur.Load(); d != nil && d.from == inner {
		return d.snap
	}
	return s.g.derive(inner)
}

// ServFail passes the inner source's answer on.
func (s *signingSource) ServFail() bool {
	sf, ok := s.inner.(ServFailer)
	return ok && sf.ServFail()
}

// derive makes (or returns, when another goroutine just made it) the
// signed snapshot of inner.
func (g *signing) derive(inner *Snapshot) *Snapshot {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if d := g.cur.Load(); d != nil && d.from == inner {
		return d.snap
	}
	snap, refresh := g.sign(inner, now)
	g.cur.Store(&derived{from: inner, snap: snap, refresh: refresh})
	return snap
}

// epochOf is the start of the signing epoch holding now: epochs are
// multiples of the refresh interval since the Unix epoch, the same on
// every node.
func epochOf(now time.Time, refresh time.Duration) time.Time {
	r := int64(refresh / time.Second)
	if r <= 0 {
		r = int64(spec.DefaultSigRefresh / time.Second)
	}
	return time.Unix(now.Unix()/r*r, 0).UTC()
}

// sign derives the signed snapshot of inner at now, and says when it
// must be derived again.
func (g *signing) sign(inner *Snapshot, now time.Time) (*Snapshot, time.Time) {
	keys := g.keys()
	g.ring.Store(&keys)
	out := *inner
	out.soa = make(map[string]*dns.SOA, len(inner.soa))
	for o, s := range inner.soa {
		out.soa[o] = s
	}
	sd := &signedData{zones: map[string]*zoneSigner{}, packed: map[string]*packed{}}
	// Derived again every minute at least: keys may come or go.
	refresh := now.Add(time.Minute)
	id := ""
	for _, origin := range slices.Sorted(maps.Keys(inner.zs.dnssec)) {
		settings, zkeys := inner.zs.dnssec[origin], keys.Keys(origin)
		refresh = minTime(refresh, nextKeyEvent(zkeys, now))
		zsg := newZoneSigner(origin, settings, zkeys, now)
		if zsg == nil {
			g.warn(origin)
			continue
		}
		sd.zones[origin] = zsg
		refresh = minTime(refresh, zsg.epoch.Add(settings.Refresh.D()))
		id += zsg.id()
		if soa := out.soa[origin]; soa != nil {
			if floor := uint32(serialFloor(zsg.epoch, zkeys, now).Unix()); int32(floor-soa.Serial) > 0 {
				c := *soa
				c.Serial = floor
				out.soa[origin] = &c
			}
		}
	}
	if g.cache == nil || g.cache.id != id {
		g.cache = &sigCache{id: id, rrsig: map[string][]dns.RR{}}
	}
	sd.cache = g.cache
	fill := g.static == nil || g.static.zs != inner.zs || g.static.id != id
	if fill {
		g.static = &staticSigned{zs: inner.zs, id: id, packed: map[string]*packed{}}
	}
	sd.static = g.static.packed
	sd.zoneWire(inner.zs)
	out.dnssec = sd
	out.overlay = make(map[string]*packed, len(inner.zs.overlayKeys))
	for _, k := range inner.zs.overlayKeys {
		if p := out.pack(k.name, k.typ); p != nil {
			out.overlay[string(wireKey(nil, k.name, k.typ))] = p
		}
	}
	out.packApexPlain()
	out.packSigned(fill)
	out.packSignedGeos(inner)
	return &out, refresh
}

// warn logs, once per zone, that a zone to sign has no key.
func (g *signing) warn(origin string) {
	if g.warned[origin] {
		return
	}
	if g.warned == nil {
		g.warned = map[string]bool{}
	}
	g.warned[origin] = true
	g.logger.Error("dnssec: no signing key for zone: served unsigned", "zone", origin)
}

// newZoneSigner returns the zone's signer at now, or nil when none of
// keys signs then.
func newZoneSigner(origin string, settings *spec.DNSSEC, keys []*dnssec.Key, now time.Time) *zoneSigner {
	epoch := epochOf(now, settings.Refresh.D())
	z := &zoneSigner{
		origin: origin, settings: settings, epoch: epoch,
		incept: uint32(epoch.Add(-settings.Backdate.D()).Unix()),
		expire: uint32(epoch.Add(settings.Validity.D()).Unix()),
	}
	alg, _ := dnssec.Algorithm(settings.Algorithm)
	var active []*dnssec.Key
	for _, k := range keys {
		if !k.Published(now) {
			continue
		}
		dk := *k.DNSKEY
		dk.Hdr.Ttl = settings.DNSKEYTTL
		z.dnskey = append(z.dnskey, &dk)
		if k.Active(now) && k.DNSKEY.Algorithm == alg {
			active = append(active, k)
		}
	}
	if len(active) == 0 {
		return nil
	}
	z.keyset, z.zsk = dnssec.Roles(active)
	for _, k := range z.keyset {
		dk := *k.DNSKEY
		dk.Hdr.Ttl = settings.DNSKEYTTL
		z.cds = append(z.cds, dk.ToDS(dns.SHA256).ToCDS())
		z.cdnskey = append(z.cdnskey, dk.ToCDNSKEY())
	}
	return z
}

// signers returns the keys that sign an RRset of type t: the keyset's
// for DNSKEY, CDS and CDNSKEY, the ZSKs' for the rest.
func (z *zoneSigner) signers(t uint16) []*dnssec.Key {
	switch t {
	case dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY:
		return z.keyset
	}
	return z.zsk
}

// id names the zone's signing: epoch and keys.
func (z *zoneSigner) id() string {
	var b strings.Builder
	b.WriteString(z.origin)
	b.WriteString(z.epoch.String())
	for _, rr := range z.dnskey {
		b.WriteString(rr.String())
	}
	for _, k := range z.keyset {
		b.WriteString(k.BaseName())
	}
	b.WriteByte('/')
	for _, k := range z.zsk {
		b.WriteString(k.BaseName())
	}
	return b.String()
}

// sigs returns the RRSIGs of rrset (one per key that signs its type),
// from the cache when it holds them; keep stores new ones there
// (answers made at build time: the names and variants of the zone, not
// a random name's).
func (z *zoneSigner) sigs(c *sigCache, rrset []dns.RR, keep bool) []dns.RR {
	var key string
	if c != nil {
		key = rrsetKey(rrset)
		c.mu.Lock()
		s, ok := c.rrsig[key]
		c.mu.Unlock()
		if ok {
			return s
		}
	}
	keys := z.signers(rrset[0].Header().Rrtype)
	out := make([]dns.RR, 0, len(keys))
	for _, k := range keys {
		sig := &dns.RRSIG{
			Hdr:        dns.RR_Header{Ttl: rrset[0].Header().Ttl},
			Algorithm:  k.DNSKEY.Algorithm,
			KeyTag:     k.Tag(),
			SignerName: z.origin,
			Inception:  z.incept,
			Expiration: z.expire,
		}
		if err := sig.Sign(k.Signer, rrset); err != nil {
			continue
		}
		out = append(out, sig)
	}
	if c != nil && keep {
		c.mu.Lock()
		c.rrsig[key] = out
		c.mu.Unlock()
	}
	return out
}

// rrsetKey is an RRset's text, the cache's key.
func rrsetKey(rrset []dns.RR) string {
	var b strings.Builder
	for _, rr := range rrset {
		b.WriteString(strings.ToLower(rr.String()))
		b.WriteByte('\n')
	}
	return b.String()
}

// serialFloor is the least serial (as Unix time) of a signed zone at
// now: the start of the signing epoch, or the last key timing event
// (published, activated, retired, removed) if later. The zone's records
// change at each, and secondaries must see the serial move; every node
// holding the same key files computes the same floor.
func serialFloor(epoch time.Time, keys []*dnssec.Key, now time.Time) time.Time {
	floor := epoch
	for _, k := range keys {
		for _, at := range []time.Time{k.Timing.Publish, k.Timing.Activate, k.Timing.Inactive, k.Timing.Delete} {
			if !at.After(now) && at.After(floor) {
				floor = at
			}
		}
	}
	return floor
}

// nextKeyEvent is the first time after now a key is published,
// activated, retired or removed, or the far future.
func nextKeyEvent(keys []*dnssec.Key, now time.Time) time.Time {
	next := now.Add(24 * time.Hour)
	for _, k := range keys {
		for _, at := range []time.Time{k.Timing.Publish, k.Timing.Activate, k.Timing.Inactive, k.Timing.Delete} {
			if at.After(now) {
				next = minTime(next, at)
			}
		}
	}
	return next
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// dnssecSettings notes the zones the spec signs: their settings by
// origin.
func (zs *ZoneSet) dnssecSettings(s *spec.Spec) {
	for i := range s.Zones {
		z := &s.Zones[i]
		if z.DNSSEC.On() {
			if zs.dnssec == nil {
				zs.dnssec = map[string]*spec.DNSSEC{}
			}
			zs.dnssec[dns.CanonicalName(z.Name)] = z.DNSSEC
		}
	}
}

// zoneWire maps every zone's wire name to whether d signs it, for the
// fast path.
func (d *signedData) zoneWire(zs *ZoneSet) {
	d.wire = make(map[string]bool, len(zs.zones))
	for origin := range zs.zones {
		w := wireKey(nil, origin, 0)
		d.wire[string(w[:len(w)-2])] = d.zones[origin] != nil
	}
}

// signedKey reports whether the name of key (a wire name and type, as
// parseQuery builds it) is in a zone d signs. It walks the name's
// suffixes, longest first, so nested zones answer for their names;
// DS at a zone's apex is its parent's when the parent is served here
// (zoneFor).
func (d *signedData) signedKey(key []byte) bool {
	name := key[:len(key)-2]
	if binary.BigEndian.Uint16(key[len(name):]) == dns.TypeDS && name[0] != 0 {
		if _, apex := d.wire[string(name)]; apex {
			if signed, ok := d.zoneOf(name[1+int(name[0]):]); ok {
				return signed // the parent answers DS at a zone's apex (zoneFor)
			}
		}
	}
	signed, _ := d.zoneOf(name)
	return signed
}

// zoneOf reports whether the zone holding name (wire form) is signed,
// and whether any zone here holds it.
func (d *signedData) zoneOf(name []byte) (signed, ok bool) {
	for off := 0; off < len(name); off += 1 + int(name[off]) {
		if signed, ok := d.wire[string(name[off:])]; ok {
			return signed, true
		}
		if name[off] == 0 {
			break
		}
	}
	return false, false
}

// poll signs src's snapshot anew when the keys changed (a Keyring is
// replaced, never changed in place, when its directory is read again)
// or its refresh time came (a new epoch, a key's timing event, a
// minute), and otherwise makes sure the signed snapshot is current: the
// query path then rarely waits for a signing.
func (g *signing) poll(src Source) {
	stale := false
	if prev := g.ring.Load(); prev != nil {
		stale = !sameRing(*prev, g.keys())
	}
	if d := g.cur.Load(); d != nil && !g.now().Before(d.refresh) {
		stale = true
	}
	if stale {
		g.mu.Lock()
		g.cur.Store(nil)
		g.mu.Unlock()
	}
	src.Answers()
}

// sameRing reports whether a and b are the same keyring (the same map).
func sameRing(a, b dnssec.Keyring) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// runSigning polls every interval until ctx ends.
func (s *Server) runSigning() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.WatchInterval)
	defer t.Stop()
	for {
		s.handler.sign.poll(s.handler.src)
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newSigningHandler is NewHandler for a server: when it has DNSSEC keys,
// answering from the signed snapshots of src.
func newSigningHandler(src Source, cfg Config, logger *slog.Logger) *Handler {
	if cfg.DNSSECKeys == nil {
		return NewHandler(src, cfg.Options)
	}
	g := &signing{keys: cfg.DNSSECKeys, logger: logger, now: time.Now}
	h := NewHandler(&signingSource{inner: src, g: g}, cfg.Options)
	h.sign = g
	return h
}

// signs reports whether d signs zone origin.
func (d *signedData) signs(origin string) bool {
	return d != nil && d.zones[origin] != nil
}
