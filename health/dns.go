package health

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/seed3787e6f1/detour/spec"
)

// dnsCheck asks the endpoint one question and expects an rcode and,
// optionally, an answer. A truncated UDP answer is asked again over TCP,
// as a resolver would.
type dnsCheck struct {
	addr    string
	msg     *dns.Msg
	qtype   uint16
	rcode   int
	answer  string
	timeout time.Duration
	udp     *dns.Client // shared by the check's targets: Exchange does not change a client
	tcp     *dns.Client // for a truncated answer
}

func dnsKind(c *spec.Check, env *env) (func(Target) Checker, error) {
	qtype, ok := dns.StringToType[strings.ToUpper(c.QueryType)]
	if !ok {
		return nil, fmt.Errorf("%w: query_type %q is not a DNS type", ErrCheckConfig, c.QueryType)
	}
	rcode, ok := dns.StringToRcode[strings.ToUpper(c.ExpectRcode)]
	if !ok {
		return nil, fmt.Errorf("%w: expect_rcode %q is not an rcode", ErrCheckConfig, c.ExpectRcode)
	}
	udp := &dns.Client{Net: "udp", Timeout: c.Timeout.D(), Dialer: env.dialer("udp")}
	tcp := &dns.Client{Net: "tcp", Timeout: c.Timeout.D(), Dialer: env.dialer("tcp")}
	return func(t Target) Checker {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(c.QueryName), qtype)
		m.RecursionDesired = false
		m.SetEdns0(1232, false)
		return &dnsCheck{addr: t.Probe, msg: m, qtype: qtype, rcode: rcode,
			answer: normalAnswer(c.ExpectAnswer), timeout: c.Timeout.D(), udp: udp, tcp: tcp}
	}, nil
}

// Check sends the query and judges rcode and answer.
func (d *dnsCheck) Check(ctx context.Context) Result {
	q := d.msg.Copy()
	q.Id = dns.Id()
	resp, _, err := d.udp.ExchangeContext(ctx, q, d.addr)
	if err == nil && resp.Truncated {
		resp, _, err = d.tcp.ExchangeContext(ctx, q, d.addr)
	}
	if err != nil {
		return errorResult(ctx, err, d.timeout)
	}
	if resp.Rcode != d.rcode {
		return fail(ClassStatus, fmt.Sprintf("DNS rcode %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[d.rcode]))
	}
	if d.answer == "" {
		return ok("DNS " + dns.RcodeToString[resp.Rcode])
	}
	n := 0
	for _, rr := range resp.Answer {
		if rr.Header().Rrtype != d.qtype {
			continue
		}
		data := normalAnswer(strings.TrimPrefix(rr.String(), rr.Header().String()))
		if data == d.answer {
			return ok("DNS answer " + data)
		}
		n++
	}
	// The answers are not quoted: they are the server's to choose.
	return fail(ClassContent, fmt.Sprintf("DNS answer does not contain %q (%d %s records)", d.answer, n, dns.TypeToString[d.qtype]))
}

// normalAnswer makes answer data comparable: case and final dots do not
// matter ("WWW.Example.test." equals "www.example.test").
func normalAnswer(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}
