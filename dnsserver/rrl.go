package dnsserver

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math/bits"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// ErrLimits means a rate limit or cookie setting is out of range.
var ErrLimits = errors.New("invalid DNS abuse limits")

// Response rate limiting defaults, as Knot DNS's mod-rrl.
const (
	DefaultRRLSlip          = 2
	DefaultRRLIPv4PrefixLen = 24
	DefaultRRLIPv6PrefixLen = 56
	DefaultRRLTableSize     = 1 << 16
	// maxRRLRate keeps a bucket's milli-tokens within 32 bits.
	maxRRLRate = 1_000_000
)

// RRLConfig configures response rate limiting (RRL) over UDP: each client
// network (a /24 or /56) gets Rate responses per second of each class
// (one answer name and type; NXDOMAIN; referrals; wildcard answers;
// errors), as a token bucket holding a second's worth. A response over the
// rate is dropped, except every Slip-th, which goes out truncated (TC) so
// that a real client behind a spoofed flood retries over TCP. TCP is never
// limited: a TCP client cannot spoof its address. Queries with a valid
// server cookie, and clients in Exempt, are not limited either.
type RRLConfig struct {
	// Rate is responses per second per client network and class; 0
	// turns RRL off.
	Rate int
	// Slip sends every Slip-th limited response truncated; 0 means 2,
	// 1 truncates all, -1 drops all.
	Slip int
	// IPv4PrefixLen and IPv6PrefixLen group client addresses; 0 means
	// 24 and 56.
	IPv4PrefixLen, IPv6PrefixLen int
	// TableSize is the number of buckets, rounded up to a power of two;
	// 0 means 65536 (512 KiB). Flows that share a bucket share its rate.
	TableSize int
	// Exempt lists client networks never limited.
	Exempt []netip.Prefix
}

// Response classes: the rate applies to each separately.
const (
	rrlAnswer   byte = iota + 1 // keyed by name and type
	rrlNXDomain                 // one per client network, whatever the name
	rrlReferral
	rrlWildcard
	rrlError
)

// limiter is RRL's bucket table: fixed size, shared by every UDP worker,
// updated with compare-and-swap so that nothing locks or allocates.
type limiter struct {
	cfg    RRLConfig
	seed   maphash.Seed
	start  time.Time
	mask   uint64
	bucket []atomic.Uint64 // last update in ms since start << 32 | milli-tokens
}

func newLimiter(cfg RRLConfig) (*limiter, error) {
	if cfg.Rate < 0 || cfg.Rate > maxRRLRate {
		return nil, fmt.Errorf("dns: %w: rate limit %d is out of range 0-%d", ErrLimits, cfg.Rate, maxRRLRate)
	}
	if cfg.Slip == 0 {
		cfg.Slip = DefaultRRLSlip
	}
	if cfg.IPv4PrefixLen <= 0 || cfg.IPv4PrefixLen > 32 {
		cfg.IPv4PrefixLen = DefaultRRLIPv4PrefixLen
	}
	if cfg.IPv6PrefixLen <= 0 || cfg.IPv6PrefixLen > 128 {
		cfg.IPv6PrefixLen = DefaultRRLIPv6PrefixLen
	}
	if cfg.TableSize <= 0 {
		cfg.TableSize = DefaultRRLTableSize
	}
	size := uint64(1) << bits.Len64(uint64(cfg.TableSize-1))
	return &limiter{
		cfg: cfg, seed: maphash.MakeSeed(),
		// Start a second back: a zero word is a bucket never used.
		start:  time.Now().Add(-time.Second),
		mask:   size - 1,
		bucket: make([]atomic.Uint64, size),
	}, nil
}

// limit decides the fate of reply to q from client over UDP: reply itself,
// reply cut to a truncated slip, or nil to drop it.
func (l *limiter) limit(reply, msg []byte, q *query, client netip.Addr, sc *Scratch) []byte {
	if q.cookieValid || !client.IsValid() || l.exempt(client) {
		return reply
	}
	class := classify(reply, sc)
	if l.take(l.index(client, class, sc), uint32(sc.clock().Sub(l.start).Milliseconds())) {
		return reply
	}
	sc.rrlLimited++
	if l.cfg.Slip > 0 && sc.rrlLimited%uint64(l.cfg.Slip) == 0 {
		sc.Stats.RRLSlipped.Add(1)
		return appendOPT(truncate(reply, q), msg, q, 0, -1)
	}
	sc.Stats.RRLDropped.Add(1)
	return nil
}

func (l *limiter) exempt(client netip.Addr) bool {
	for _, p := range l.cfg.Exempt {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// classify tells the response class of reply.
func classify(reply []byte, sc *Scratch) byte {
	flags := binary.BigEndian.Uint16(reply[2:])
	switch {
	case flags&0xF == dns.RcodeNameError:
		return rrlNXDomain
	case flags&0xF != dns.RcodeSuccess:
		return rrlError
	case sc.wildcard:
		return rrlWildcard
	case flags&flagAA == 0 && binary.BigEndian.Uint16(reply[6:]) == 0:
		return rrlReferral
	}
	return rrlAnswer
}

// index hashes client network, class and, for answers, the question into
// a bucket. The key is built in sc so that nothing is allocated.
func (l *limiter) index(client netip.Addr, class byte, sc *Scratch) uint64 {
	bitsLen := l.cfg.IPv6PrefixLen
	if client.Is4() {
		bitsLen = l.cfg.IPv4PrefixLen
	}
	p, _ := client.Prefix(bitsLen)
	a := p.Addr().As16()
	k := append(sc.rrlKey[:0], class)
	k = append(k, a[:]...)
	if class == rrlAnswer {
		k = append(k, sc.key...)
	}
	sc.rrlKey = k
	return maphash.Bytes(l.seed, k) & l.mask
}

// take takes a token from bucket i at now (ms since start), refilling it
// at the rate up to a second's worth first; false means none was left.
// Workers read the clock once per batch, so now may be a little behind
// the bucket's last update by another worker: that counts as no time
// passed, never as a wrap-around of the 32-bit milliseconds.
func (l *limiter) take(i uint64, now uint32) bool {
	full := uint64(l.cfg.Rate) * 1000
	b := &l.bucket[i]
	for {
		old := b.Load()
		tokens, stamp := full, now
		if old != 0 {
			last := uint32(old >> 32)
			switch elapsed := int32(now - last); {
			case elapsed >= 0:
				tokens = min(full, old&0xFFFFFFFF+uint64(elapsed)*uint64(l.cfg.Rate))
			case elapsed > -1000:
				// Another worker's batch came a moment later.
				tokens, stamp = old&0xFFFFFFFF, last
			}
			// Otherwise the bucket is over 24 days old (the
			// milliseconds wrapped): full.
		}
		ok := tokens >= 1000
		if ok {
			tokens -= 1000
		}
		if b.CompareAndSwap(old, uint64(stamp)<<32|tokens) {
			return ok
		}
	}
}
