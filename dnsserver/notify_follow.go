package dnsserver

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/miekg/dns"
)

// After a secondary acknowledges a NOTIFY, the notifier asks it for the
// zone's SOA a little later and notifies again while it still serves an
// older serial. An acknowledgement promises nothing: NSD 4 acknowledges
// a NOTIFY that arrives while it is still loading the previous transfer
// and may then fetch the new serial only at its SOA refresh (minutes),
// holding a failover back on that nameserver for as long.
const (
	followFirstWait = 500 * time.Millisecond
	followAttempts  = 3
)

// follow checks that the secondary took serial, and notifies it again
// when it did not, up to followAttempts times with doubling waits. It
// returns early on shutdown, or on a kick for a newer serial, which it
// puts back for the caller to start over with.
func (n *notifier) follow(k notifyKey, serial uint32, kick chan struct{}, log *slog.Logger) {
	wait := followFirstWait
	for range followAttempts {
		select {
		case <-n.s.ctx.Done():
			return
		case <-kick:
			select {
			case kick <- struct{}{}:
			default:
			}
			return
		case <-time.After(wait):
		}
		wait *= 2
		have, err := n.secondarySerial(k)
		if err != nil || !serialBefore(have, serial) {
			return
		}
		log.Info("secondary acknowledged the NOTIFY but still serves an older serial; notifying again", "serial", serial, "secondary_serial", have)
		if _, err := n.send(k, notifyFirstTimeout); err != nil {
			return
		}
	}
}

// secondarySerial asks the secondary for the zone's SOA serial.
func (n *notifier) secondarySerial(k notifyKey) (uint32, error) {
	addr := k.target.Addr.String()
	if err := n.guard.Control("udp", addr, nil); err != nil {
		return 0, err
	}
	m := new(dns.Msg)
	m.SetQuestion(k.origin, dns.TypeSOA)
	m.RecursionDesired = false
	c := &dns.Client{Net: "udp", Timeout: notifyFirstTimeout, Dialer: n.guard.Dialer()}
	r, _, err := c.ExchangeContext(n.s.ctx, m, addr)
	if err != nil {
		return 0, err
	}
	for _, rr := range r.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, nil
		}
	}
	return 0, fmt.Errorf("secondary answered %s without the SOA", dns.RcodeToString[r.Rcode])
}

// serialBefore reports whether serial a comes before b in RFC 1982
// arithmetic (serials wrap).
func serialBefore(a, b uint32) bool { return a != b && int32(b-a) > 0 }
