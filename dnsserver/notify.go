package dnsserver

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/internal/netguard"
	"github.com/seed3787e6f1/detour/spec"
)

// PeerAllowSetting is the node setting that fills Config.PeerAllow;
// refusals name it.
const PeerAllowSetting = "dns_peer_allow_networks"

// DefaultWatchInterval is how often the server checks for a new snapshot.
// A pointer compare; the work is done only when a zone with transfer
// settings changed.
const DefaultWatchInterval = 50 * time.Millisecond

// NOTIFY retries (RFC 1996 3.6): a secondary that does not answer is asked
// again, up to notifyAttempts times, waiting twice as long each time. The
// first wait is short: a NOTIFY lost while the secondary is busy with the
// previous transfer would otherwise hold a failover back by a second,
// and a NOTIFY too many costs the secondary one SOA query.
const (
	notifyFirstTimeout = 300 * time.Millisecond
	notifyFirstRetry   = 100 * time.Millisecond
	notifyAttempts     = 5
)

// errZoneGone means a NOTIFY target is no longer configured.
var errZoneGone = errors.New("zone or target no longer configured")

// watch follows the published snapshots without touching the query path:
// on each change of a zone's serial it journals the difference for IXFR
// and NOTIFYs the zone's secondaries. Every node does it: serials are the
// same everywhere, secondaries ignore a NOTIFY for a serial they hold,
// and a secondary still hears of a failover when the leader's
// datacenter is gone.
func (s *Server) watch(prev *Snapshot) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.WatchInterval)
	defer t.Stop()
	for {
		if snap := s.handler.src.Answers(); snap != nil && snap != prev {
			s.observe(prev, snap)
			prev = snap
		}
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// observe journals and announces what changed between prev (nil at
// start) and cur.
func (s *Server) observe(prev, cur *Snapshot) {
	for origin, zt := range cur.zs.xfr {
		if prev != nil && prev.soa[origin] != nil && prev.Serial(origin) == cur.Serial(origin) {
			continue
		}
		s.journalChange(prev, cur, origin)
		for _, t := range zt.notify {
			s.notifier().kick(origin, t)
		}
	}
	if prev != nil {
		for origin := range prev.zs.xfr {
			if cur.zs.xfr[origin] == nil {
				s.journal.reset(origin)
			}
		}
	}
	s.journaled.Store(cur)
}

// journalChange records the change of origin's records from prev to cur.
func (s *Server) journalChange(prev, cur *Snapshot, origin string) {
	if prev == nil || prev.soa[origin] == nil {
		s.journal.reset(origin)
		return
	}
	var del, add []dns.RR
	switch {
	case cur.dnssec.signs(origin) || prev.dnssec.signs(origin):
		// Signed: signatures and NSECs move with the data.
		del, add = diffRecords(prev.Records(origin)[1:], cur.Records(origin)[1:])
	case prev.zs == cur.zs:
		// Same spec: only the health-driven answers can differ.
		del, add = diffRecords(prev.dynamicRecords(origin), cur.dynamicRecords(origin))
	case prev.zs.zones[origin].staticCount()+cur.zs.zones[origin].staticCount() <= maxDiffRecords:
		del, add = diffRecords(prev.Records(origin)[1:], cur.Records(origin)[1:])
	default:
		s.journal.reset(origin)
		return
	}
	s.journal.add(origin, delta{from: prev.soa[origin], to: cur.soa[origin], del: del, add: add})
}

// notifier runs one goroutine per (zone, secondary) that has been sent a
// NOTIFY, so that a slow or dead secondary delays no other.
type notifier struct {
	s       *Server
	guard   netguard.Guard
	refused atomic.Uint64 // NOTIFYs not sent: target not allowed
	mu      sync.Mutex
	workers map[notifyKey]chan struct{}
}

type notifyKey struct {
	origin string
	target spec.NotifyTarget
}

func (s *Server) notifier() *notifier {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notify == nil {
		s.notify = &notifier{s: s, workers: map[notifyKey]chan struct{}{},
			guard: netguard.Guard{Allow: s.cfg.PeerAllow, Setting: PeerAllowSetting}}
	}
	return s.notify
}

// kick asks the (zone, target) worker to send a NOTIFY for the zone's
// current serial; kicks during a send fold into one.
func (n *notifier) kick(origin string, t spec.NotifyTarget) {
	k := notifyKey{origin, t}
	n.mu.Lock()
	ch := n.workers[k]
	if ch == nil {
		ch = make(chan struct{}, 1)
		n.workers[k] = ch
		n.s.wg.Add(1)
		go n.run(k, ch)
	}
	n.mu.Unlock()
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (n *notifier) run(k notifyKey, kick chan struct{}) {
	defer n.s.wg.Done()
	ctx := n.s.ctx
	log := n.s.logger.With("zone", k.origin, "secondary", k.target.Addr.String())
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		}
		timeout, wait := notifyFirstTimeout, notifyFirstRetry
		for attempt := 1; ; attempt++ {
			serial, err := n.send(k, timeout)
			if errors.Is(err, netguard.ErrNotAllowed) {
				n.refused.Add(1)
				log.Warn("notify not sent: the secondary's address is not allowed", "serial", serial, "err", err)
				break
			}
			if errors.Is(err, errZoneGone) {
				n.mu.Lock()
				delete(n.workers, k)
				n.mu.Unlock()
				return
			}
			if err == nil {
				log.Debug("notify acknowledged", "serial", serial)
				n.follow(k, serial, kick, log)
				break
			}
			if attempt == notifyAttempts {
				log.Warn("notify not acknowledged; the secondary will find the change at its SOA refresh", "serial", serial, "attempts", attempt, "err", err)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-kick: // a newer serial: start over
				attempt, timeout, wait = 0, notifyFirstTimeout, notifyFirstRetry
				continue
			case <-time.After(wait):
			}
			timeout, wait = timeout*2, wait*2
		}
	}
}

// send sends one NOTIFY for the zone's current serial and waits for the
// secondary's answer.
func (n *notifier) send(k notifyKey, timeout time.Duration) (uint32, error) {
	snap := n.s.handler.src.Answers()
	if snap == nil || snap.soa[k.origin] == nil || !notifyConfigured(snap.zs.xfr[k.origin], k.target) {
		return 0, errZoneGone
	}
	soa := snap.soa[k.origin]
	if err := n.guard.Control("udp", k.target.Addr.String(), nil); err != nil {
		return soa.Serial, err
	}
	m := new(dns.Msg)
	m.SetNotify(k.origin)
	m.Answer = []dns.RR{soa}
	c := &dns.Client{Net: "udp", Timeout: timeout, Dialer: n.guard.Dialer()}
	if k.target.Key != "" {
		key := snap.zs.xfr[k.origin].keys[k.target.Key]
		alg, _ := spec.TSIGAlgorithm(key.Algorithm)
		secret := n.s.cfg.Getenv(key.SecretEnv)
		if secret == "" {
			return soa.Serial, fmt.Errorf("TSIG key %s: environment variable %s is empty on this node", k.target.Key, key.SecretEnv)
		}
		m.SetTsig(k.target.Key, alg, 300, time.Now().Unix())
		c.TsigSecret = map[string]string{k.target.Key: secret}
	}
	r, _, err := c.ExchangeContext(n.s.ctx, m, k.target.Addr.String())
	if err != nil {
		return soa.Serial, err
	}
	if r.Rcode != dns.RcodeSuccess {
		return soa.Serial, fmt.Errorf("secondary answered %s", dns.RcodeToString[r.Rcode])
	}
	return soa.Serial, nil
}

func notifyConfigured(zt *zoneTransfer, t spec.NotifyTarget) bool {
	if zt == nil {
		return false
	}
	for _, x := range zt.notify {
		if x == t {
			return true
		}
	}
	return false
}

// NotifiesRefused returns how many NOTIFYs were not sent because the
// secondary's address is one this node does not allow (PeerAllow).
func (s *Server) NotifiesRefused() uint64 {
	return s.notifier().refused.Load()
}
