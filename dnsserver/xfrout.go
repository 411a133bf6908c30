package dnsserver

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/seed3787e6f1/detour/spec"
)

// xfrChunk bounds the uncompressed records of one transfer message, far
// below the 64 KiB a TCP message may hold, so that one large record
// never overflows it.
const xfrChunk = 16 << 10

// TransferTotals counts the zone transfers this server answered.
type TransferTotals struct {
	AXFR         uint64 // whole zones sent for an AXFR
	IXFR         uint64 // incremental answers
	IXFRFallback uint64 // IXFRs answered with the whole zone: serial not in the journal
	UpToDate     uint64 // IXFRs answered with the SOA alone
	Refused      uint64 // not allowed, zone not served, or a bad TSIG
}

type transferStats struct {
	axfr, ixfr, fallback, upToDate, refused atomic.Uint64
}

// Transfers returns the zone transfer counters.
func (s *Server) Transfers() TransferTotals {
	t := &s.xfrStats
	return TransferTotals{AXFR: t.axfr.Load(), IXFR: t.ixfr.Load(), IXFRFallback: t.fallback.Load(),
		UpToDate: t.upToDate.Load(), Refused: t.refused.Load()}
}

// transferQtype returns the type of an AXFR or IXFR query, or 0 for any
// other message.
func transferQtype(msg []byte, sc *Scratch) uint16 {
	var q query
	key, ok := parseQuery(msg, sc.key, &q)
	sc.key = key
	if !ok || q.qnameEnd == 0 || q.flags&flagQR != 0 || q.opcode != dns.OpcodeQuery {
		return 0
	}
	if q.qtype == dns.TypeAXFR || q.qtype == dns.TypeIXFR {
		return q.qtype
	}
	return 0
}

// signer signs the messages of one transfer: the first with the request's
// MAC, each next one with the previous message's MAC and the timers only
// (RFC 8945 5.3.1).
type signer struct {
	key, alg, secret string
	mac              string
	first            bool
}

// keyName is the name of the key, or "" for an unsigned exchange.
func (sg *signer) keyName() string {
	if sg == nil {
		return ""
	}
	return sg.key
}

func (sg *signer) pack(m *dns.Msg, tsigErr uint16) ([]byte, error) {
	if sg == nil {
		return m.Pack()
	}
	m.SetTsig(sg.key, sg.alg, 300, time.Now().Unix())
	m.Extra[len(m.Extra)-1].(*dns.TSIG).Error = tsigErr
	out, mac, err := dns.TsigGenerate(m, sg.secret, sg.mac, !sg.first)
	sg.mac, sg.first = mac, false
	return out, err
}

// transfer answers an AXFR or IXFR query received over TCP from addr,
// handing each reply message to write. It returns the first reply (to be
// counted) or an error from write.
func (s *Server) transfer(msg []byte, from netip.Addr, write func([]byte) error) ([]byte, error) {
	opt := optRR(s.xfrQuery(msg, from), msg, -1)
	req := new(dns.Msg)
	if err := req.Unpack(msg); err != nil || len(req.Question) != 1 {
		return s.xfrReply(&dns.Msg{MsgHdr: dns.MsgHdr{Id: binary.BigEndian.Uint16(msg)}}, dns.RcodeFormatError, nil, opt, write)
	}
	qq := req.Question[0]
	origin := dns.CanonicalName(qq.Name)
	log := s.logger.With("zone", origin, "client", from.String(), "type", dns.TypeToString[qq.Qtype])
	snap := s.journaled.Load()
	if snap == nil { // before the first snapshot was observed
		snap = s.handler.src.Answers()
	}
	var z *zone
	var zt *zoneTransfer
	if snap != nil {
		z, zt = snap.zs.zones[origin], snap.zs.xfr[origin]
	}
	if z == nil || qq.Qclass != dns.ClassINET {
		s.xfrStats.refused.Add(1)
		log.Info("zone transfer refused: zone not served here")
		return s.xfrReply(req, dns.RcodeNotAuth, nil, opt, write)
	}
	var keys map[string]spec.TSIGKey
	if zt != nil {
		keys = zt.keys
	}
	sg, tsigErr := s.checkTSIG(req, msg, keys)
	if tsigErr != 0 {
		s.xfrStats.refused.Add(1)
		log.Warn("zone transfer refused: TSIG", "tsig_error", dns.RcodeToString[int(tsigErr)])
		out, err := tsigErrorReply(req, tsigErr, opt)
		if err != nil {
			return nil, err
		}
		return out, write(out)
	}
	key := ""
	if sg != nil {
		key = sg.key
	}
	if !transferAllowed(zt, from, key) {
		s.xfrStats.refused.Add(1)
		log.Info("zone transfer refused: not in allow_transfer", "key", key)
		return s.xfrReply(req, dns.RcodeRefused, sg, opt, write)
	}
	soa := snap.soa[origin]
	var rrs []dns.RR
	style := "axfr"
	switch qq.Qtype {
	case dns.TypeAXFR:
		s.xfrStats.axfr.Add(1)
		rrs = append(snap.Records(origin), soa)
	case dns.TypeIXFR:
		if len(req.Ns) != 1 || req.Ns[0].Header().Rrtype != dns.TypeSOA {
			return s.xfrReply(req, dns.RcodeFormatError, sg, opt, write)
		}
		have := req.Ns[0].(*dns.SOA).Serial
		if int32(soa.Serial-have) <= 0 {
			s.xfrStats.upToDate.Add(1)
			style, rrs = "up-to-date", []dns.RR{soa}
			break
		}
		if deltas, ok := s.journal.since(origin, have, soa.Serial); ok {
			s.xfrStats.ixfr.Add(1)
			style = "ixfr"
			rrs = []dns.RR{soa}
			for _, d := range deltas {
				rrs = append(append(append(append(rrs, d.from), d.del...), d.to), d.add...)
			}
			rrs = append(rrs, soa)
			break
		}
		s.xfrStats.fallback.Add(1)
		style = "axfr-style ixfr"
		rrs = append(snap.Records(origin), soa)
	}
	first, err := s.xfrSend(req, rrs, sg, opt, write)
	log.Info("zone transfer", "style", style, "serial", soa.Serial, "records", len(rrs), "key", key, "err", err)
	return first, err
}

// checkTSIG verifies a signed request against keys. It returns the
// signer for the replies (nil for an unsigned request) or the TSIG error
// to answer with (RFC 8945 5.2).
func (s *Server) checkTSIG(req *dns.Msg, msg []byte, keys map[string]spec.TSIGKey) (*signer, uint16) {
	t := req.IsTsig()
	if t == nil {
		return nil, 0
	}
	name := dns.CanonicalName(t.Hdr.Name)
	k, ok := keys[name]
	if !ok {
		return nil, dns.RcodeBadKey
	}
	alg, _ := spec.TSIGAlgorithm(k.Algorithm)
	secret := s.cfg.Getenv(k.SecretEnv)
	if secret == "" {
		s.logger.Warn("TSIG key has no secret in this node's environment", "key", name, "secret_env", k.SecretEnv)
		return nil, dns.RcodeBadKey
	}
	if dns.CanonicalName(t.Algorithm) != alg {
		return nil, dns.RcodeBadKey
	}
	switch err := dns.TsigVerify(msg, secret, "", false); {
	case errors.Is(err, dns.ErrTime):
		return nil, dns.RcodeBadTime
	case err != nil:
		return nil, dns.RcodeBadSig
	}
	return &signer{key: name, alg: alg, secret: secret, mac: t.MAC, first: true}, 0
}

func transferAllowed(zt *zoneTransfer, from netip.Addr, key string) bool {
	if zt == nil {
		return false
	}
	for _, r := range zt.rules {
		if r.Matches(from, key) {
			return true
		}
	}
	return false
}

// xfrQuery reads what the replies to transfer query msg from client
// echo: its EDNS settings, cookie and NSID request.
func (s *Server) xfrQuery(msg []byte, from netip.Addr) *query {
	q := new(query)
	_, _ = parseQuery(msg, make([]byte, 0, 260), q)
	if !q.edns {
		q.findOPT(msg)
	}
	if q.nsid {
		q.nsidVal = s.handler.opts.NSID
	}
	q.maxUDP = uint16(s.handler.opts.MaxUDPSize)
	if q.cookie != 0 && s.handler.cookies != nil && binary.BigEndian.Uint16(msg[4:]) == 1 {
		s.handler.cookies.answer(msg, q, from, uint32(time.Now().Unix()))
	}
	return q
}

// xfrSend sends rrs in as many messages as they need, each with opt
// (RFC 5936 2.2.5: the OPT of an EDNS query in every message).
func (s *Server) xfrSend(req *dns.Msg, rrs []dns.RR, sg *signer, opt *dns.OPT, write func([]byte) error) ([]byte, error) {
	var first []byte
	for len(rrs) > 0 || first == nil {
		n, size := 0, 0
		for n < len(rrs) && (n == 0 || size+dns.Len(rrs[n]) <= xfrChunk) {
			size += dns.Len(rrs[n])
			n++
		}
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative, m.Compress = true, true
		m.Answer = rrs[:n]
		if opt != nil {
			m.Extra = []dns.RR{opt}
		}
		rrs = rrs[n:]
		out, err := sg.pack(m, 0)
		if err != nil {
			return first, err
		}
		if first == nil {
			first = out
		}
		if err := write(out); err != nil {
			return first, err
		}
	}
	return first, nil
}

// xfrReply answers with an empty message and rcode, with opt when set,
// signed when sg is set.
func (s *Server) xfrReply(req *dns.Msg, rcode int, sg *signer, opt *dns.OPT, write func([]byte) error) ([]byte, error) {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	if opt != nil {
		m.Extra = []dns.RR{opt}
	}
	out, err := sg.pack(m, 0)
	if err != nil {
		return nil, err
	}
	return out, write(out)
}

// tsigErrorReply is NOTAUTH with the TSIG error, unsigned as RFC 8945
// requires for BADKEY and BADSIG (and, to keep this short, BADTIME); opt
// is the reply's OPT record, or nil.
func tsigErrorReply(req *dns.Msg, tsigErr uint16, opt *dns.OPT) ([]byte, error) {
	t := req.IsTsig()
	m := new(dns.Msg)
	m.SetRcode(req, dns.RcodeNotAuth)
	m.Extra = nil
	if opt != nil {
		m.Extra = append(m.Extra, opt)
	}
	if t == nil || t.Algorithm == "" {
		// A TSIG record with no algorithm name (an empty RDATA) cannot be
		// echoed: it would pack without its name and not parse. The query
		// is malformed.
		m.Rcode = dns.RcodeFormatError
		return m.Pack()
	}
	m.Extra = append(m.Extra, &dns.TSIG{
		Hdr:       dns.RR_Header{Name: t.Hdr.Name, Rrtype: dns.TypeTSIG, Class: dns.ClassANY},
		Algorithm: t.Algorithm, TimeSigned: uint64(time.Now().Unix()), Fudge: 300,
		OrigId: req.Id, Error: tsigErr,
	})
	return m.Pack()
}

// queryTSIG checks a signed query against the keys of all zones.
// Answers carry nothing secret, so which zone the key belongs to does not
// matter here; transfers check the key against the zone's
// allow_transfer.
func (s *Server) queryTSIG(snap *Snapshot, req *dns.Msg, msg []byte) (*signer, uint16) {
	var keys map[string]spec.TSIGKey
	if snap != nil {
		keys = snap.zs.tsigKeys
	}
	return s.checkTSIG(req, msg, keys)
}
