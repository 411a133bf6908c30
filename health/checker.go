package health

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/spec"
)

// Checker probes one target. Check returns when the probe is done or ctx
// is over; the engine gives ctx the check's timeout and measures latency.
// A Checker is used by one goroutine at a time.
type Checker interface {
	Check(ctx context.Context) Result
}

// deadliner is a Checker that keeps to a deadline by itself, with I/O
// deadlines, so that the engine arms no timer and builds no context per
// probe: at 10,000 probes a second those were a tenth of the engine's
// CPU. ctx still ends a probe early (shutdown) and has no deadline.
type deadliner interface {
	CheckBy(ctx context.Context, deadline time.Time) Result
}

// releaser is a Checker that holds something between probes (a kept
// connection) and lets it go when its target is retired or the engine
// stops. No probe of the target runs meanwhile.
type releaser interface {
	release()
}

func release(c Checker) {
	if r, ok := c.(releaser); ok {
		r.release()
	}
}

// CheckerFunc adapts a function to a Checker.
type CheckerFunc func(ctx context.Context) Result

// Check calls f(ctx).
func (f CheckerFunc) Check(ctx context.Context) Result { return f(ctx) }

// Target is what a checker is built for.
type Target struct {
	ID TargetID
	// Probe is the host:port to probe: the endpoint's check_address, or
	// its address with the check's port. For a heartbeat it is the
	// endpoint address.
	Probe string
}

// kind builds the checkers of one spec check. It runs once per check and
// returns a function that makes a checker per target, so that what all
// endpoints share (a transport, a TLS config, a compiled regex) is built
// once.
type kind func(c *spec.Check, env *env) (func(Target) Checker, error)

// env is what kinds may need from the engine.
type env struct {
	beats  *beatBook
	now    func() time.Time
	source net.IP // local address of probes; nil lets the kernel choose
	guard  *guard // refuses forbidden addresses at connect time
	// getenv and envPolicy resolve headers_env (nil getenv: os.Getenv).
	getenv    func(string) string
	envPolicy spec.EnvPolicy
}

// dialer returns a dialer for network ("tcp" or "udp") bound to the
// engine's source address, if any. Every probe connects through one: its
// Control refuses the addresses the node does not allow (guard.go).
func (e *env) dialer(network string) *net.Dialer {
	// No TCP keepalive: a probe's connection lives for one probe, and
	// enabling it costs four setsockopt calls per connection.
	d := &net.Dialer{KeepAlive: -1}
	if e == nil || e.guard == nil {
		d.Control = (&guard{}).control
	} else {
		d.Control = e.guard.control
	}
	if e != nil && e.source != nil {
		if network == "udp" {
			d.LocalAddr = &net.UDPAddr{IP: e.source}
		} else {
			d.LocalAddr = &net.TCPAddr{IP: e.source}
		}
	}
	return d
}

// kinds is the table of check types the engine runs. It is explicit on
// purpose: a check type exists when it is listed here.
func kinds() map[string]kind {
	return map[string]kind{
		spec.CheckHTTP:      httpKind,
		spec.CheckHTTPS:     httpKind,
		spec.CheckTCP:       tcpKind,
		spec.CheckDNS:       dnsKind,
		spec.CheckTLS:       tlsKind,
		spec.CheckHeartbeat: heartbeatKind,
	}
}

// probeAddress is what a target probes: check_address when given,
// otherwise the endpoint address with the check's port.
func probeAddress(c *spec.Check, ep spec.Endpoint) string {
	if c.Type == spec.CheckHeartbeat {
		return ep.Address
	}
	if ep.CheckAddress != "" {
		return ep.CheckAddress
	}
	// Validate makes host names fully qualified; the trailing dot would
	// end up in Host headers and SNI.
	return net.JoinHostPort(strings.TrimSuffix(ep.Address, "."), strconv.Itoa(c.Port))
}

// brokenChecker reports a check that could not be set up, on every probe,
// so that the operator sees why in the target's status.
func brokenChecker(err error) Checker {
	r := fail(ClassConfig, fmt.Sprintf("check cannot be set up: %v", err))
	return CheckerFunc(func(context.Context) Result { return r })
}
