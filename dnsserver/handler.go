package dnsserver

import (
	"encoding/binary"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Source gives the snapshot to answer from. The controller implements it;
// Answers must be cheap (an atomic load) and never return nil once the
// server runs.
type Source interface {
	Answers() *Snapshot
}

// ServFailer is a source that may ask, while it has no snapshot, for
// SERVFAIL instead of REFUSED (a node cut off from its cluster in
// minority_mode servfail).
type ServFailer interface {
	ServFail() bool
}

// Options tune the handler. The zero value is usable.
type Options struct {
	// MaxUDPSize caps UDP replies to EDNS clients; 0 means 1232.
	MaxUDPSize int
	// Chaos enables answers to CHAOS TXT version.bind, version.server,
	// id.server and hostname.bind. Off by default: they tell attackers
	// what runs here.
	Chaos bool
	// Version and Identity are the CHAOS answers.
	Version  string
	Identity string
	// NSID is the name server identifier (RFC 5001) sent to queries
	// that ask for it with an empty NSID option; empty sends none. At
	// most MaxNSIDLen bytes: longer is cut.
	NSID string
	// Geo places clients for geo and nearest records; nil answers every
	// client as one the database does not know.
	Geo Locator
}

// Handler answers DNS messages from the current snapshot. It is safe for
// concurrent use; each goroutine needs its own Scratch.
type Handler struct {
	src  Source
	opts Options
	// tsig checks a signed query's TSIG against the zones' keys and
	// returns the signer of the reply, or the TSIG error to answer
	// with; the Server sets it. Without it every key is unknown.
	tsig func(snap *Snapshot, req *dns.Msg, msg []byte) (*signer, uint16)
	// cookies answers DNS COOKIEs; nil ignores them. rrl limits UDP
	// responses; nil sends them all. The Server sets both.
	cookies *cookies
	rrl     *limiter
	// sign signs the zones with dnssec on; nil when the server has no
	// keys (dnssec.go). The Server sets it.
	sign *signing
}

// NewHandler returns a handler answering from src.
func NewHandler(src Source, opts Options) *Handler {
	if opts.MaxUDPSize <= 0 {
		opts.MaxUDPSize = DefaultMaxUDPSize
	}
	opts.MaxUDPSize = min(max(opts.MaxUDPSize, MinUDPSize), 65535)
	if len(opts.NSID) > MaxNSIDLen {
		opts.NSID = opts.NSID[:MaxNSIDLen]
	}
	return &Handler{src: src, opts: opts}
}

// Scratch is per-goroutine working memory, so answering allocates nothing
// on the fast path.
type Scratch struct {
	key  []byte
	out  []byte
	rand uint64
	// wildcard: the last answer came from a wildcard (an RRL class).
	wildcard bool
	// rrlKey is room for a rate-limit bucket's key; rrlLimited counts
	// limited responses, for the slip.
	rrlKey     []byte
	rrlLimited uint64
	// now, when set, is the time the current batch of datagrams came:
	// one clock read per batch rather than per query.
	now time.Time
	// Stats counts what this goroutine answered.
	Stats Stats
	// do and co are the query's DNSSEC OK and Compact Answers OK bits.
	do, co bool
	// place is room for where a geo query's client is (geo.go).
	place Place
	// dotted and neg are room for a negative answer's name in text form
	// and its body (negative.go).
	dotted, neg []byte
}

// NewScratch returns working memory for one goroutine.
func NewScratch(seed uint64) *Scratch {
	return &Scratch{key: make([]byte, 0, 260), out: make([]byte, 0, 65535+2), rand: seed | 1, rrlKey: make([]byte, 0, 280),
		dotted: make([]byte, 0, 256), neg: make([]byte, 0, 1024)}
}

// clock is the time of the current batch, or the time now.
func (s *Scratch) clock() time.Time {
	if s.now.IsZero() {
		return time.Now()
	}
	return s.now
}

func (s *Scratch) next() uint32 {
	// xorshift64*: cheap and good enough for weighted answers.
	s.rand ^= s.rand >> 12
	s.rand ^= s.rand << 25
	s.rand ^= s.rand >> 27
	return uint32((s.rand * 2685821657736338717) >> 32)
}

// Serve answers msg and returns the reply, which aliases sc's memory and
// is valid until the next call with sc. It returns nil when msg deserves
// no reply (a response, or too short to carry an ID). tcp selects the
// size limit: 65535 instead of the client's UDP buffer.
func (h *Handler) Serve(msg []byte, sc *Scratch, tcp bool) []byte {
	return h.ServeFrom(msg, sc, netip.Addr{}, tcp)
}

// ServeFrom is Serve for a query from client: server cookies are bound to
// its address, and over UDP its responses are rate limited.
func (h *Handler) ServeFrom(msg []byte, sc *Scratch, client netip.Addr, tcp bool) []byte {
	var q query
	out := h.reply(msg, sc, &q, client, tcp)
	if out != nil && !tcp && h.rrl != nil {
		if out = h.rrl.limit(out, msg, &q, client, sc); out == nil {
			return nil
		}
	}
	if out == nil {
		sc.Stats.Dropped.Add(1)
		return nil
	}
	sc.Stats.count(out, q.qtype)
	return out
}

// reply builds the answer to msg, parsed into q.
func (h *Handler) reply(msg []byte, sc *Scratch, q *query, client netip.Addr, tcp bool) []byte {
	var ok bool
	sc.key, ok = parseQuery(msg, sc.key, q)
	if !ok {
		return nil
	}
	sc.wildcard = false
	if !q.simple && !q.edns && q.flags&flagQR == 0 {
		q.findOPT(msg)
	}
	if q.nsid {
		q.nsidVal = h.opts.NSID
	}
	q.maxUDP = uint16(h.opts.MaxUDPSize)
	// Like Knot DNS, a query without one question gets FORMERR and no
	// server cookie (RFC 7873 5.4 would answer one).
	if q.cookie != 0 && h.cookies != nil && binary.BigEndian.Uint16(msg[4:]) == 1 {
		h.cookies.answer(msg, q, client, uint32(sc.clock().Unix()))
	}
	limit := 65535
	if !tcp {
		limit = udpLimit(q, h.opts.MaxUDPSize)
	}
	snap := h.src.Answers()
	sc.do, sc.co = q.do, q.co
	if q.simple && q.qclass == dns.ClassINET && snap != nil {
		if p, signed := snap.signedFast(q.do, sc.key); signed {
			if out := h.geoFast(snap.dnssec.geo, msg, q, sc, limit, client); out != nil {
				return out
			}
			if p == nil {
				return h.slow(snap, msg, q, sc, limit, client)
			}
			sc.out = finish(sc.out, p.choose(sc.next()), msg, q, limit, 0, -1)
			return sc.out
		}
		if out := h.geoFast(snap.geo, msg, q, sc, limit, client); out != nil {
			return out
		}
		p := snap.overlay[string(sc.key)]
		if p == nil {
			p = snap.zs.fast[string(sc.key)]
		}
		if p != nil {
			sc.out = finish(sc.out, p.choose(sc.next()), msg, q, limit, 0, -1)
			return sc.out
		}
		if w := snap.zs.staticAnswer(sc.key); w != nil {
			sc.out = finish(sc.out, w, msg, q, limit, 0, -1)
			return sc.out
		}
		if w := snap.negative(sc.key, sc); w != nil {
			sc.out = finish(sc.out, w, msg, q, limit, 0, -1)
			return sc.out
		}
	}
	return h.slow(snap, msg, q, sc, limit, client)
}

// slow answers any message with the full parser and resolver.
func (h *Handler) slow(snap *Snapshot, msg []byte, q *query, sc *Scratch, limit int, client netip.Addr) []byte {
	if q.flags&flagQR != 0 {
		return nil
	}
	m := new(dns.Msg)
	if err := m.Unpack(msg); err != nil && !unpackIgnoringOptions(m, msg, q) {
		return h.headerOnly(msg, q, sc, dns.RcodeFormatError)
	}
	if m.IsTsig() != nil {
		return h.signed(snap, m, msg, q, sc, limit, client)
	}
	r := new(dns.Msg)
	r.Id, r.Opcode, r.Response, r.RecursionDesired = m.Id, m.Opcode, true, m.RecursionDesired
	if len(m.Question) == 1 {
		qq := m.Question[0]
		r.Question = []dns.Question{{Name: strings.ToLower(qq.Name), Qtype: qq.Qtype, Qclass: qq.Qclass}}
	}
	opts := 0
	for _, rr := range m.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			opts++
		}
	}
	extRcode, ede := uint8(0), -1
	switch {
	case opts > 1:
		r.Rcode = dns.RcodeFormatError
		q.edns = false
	case q.badCookie, q.badECS:
		r.Rcode = dns.RcodeFormatError
	case q.edns && q.version != 0:
		// BADVERS is rcode 16: 1 in the OPT's extended rcode, 0 here.
		extRcode = 1
	default:
		h.respond(snap, m, r, sc, &ede, peer{addr: client})
	}
	body, err := r.Pack()
	if err != nil {
		return h.headerOnly(msg, q, sc, dns.RcodeServerFailure)
	}
	if len(r.Question) == 0 || len(m.Question[0].Name) != len(r.Question[0].Name) {
		q.qnameEnd = 0
	}
	out := finish(sc.out, body, msg, q, limit, extRcode, ede)
	sc.out = out
	return out
}

// unpackIgnoringOptions unpacks msg into m without its OPT record's
// options, for a query whose options are well formed (the fast path's
// parser took them, q.simple) but that miekg/dns will not unpack: an
// option it knows with a length it does not expect, such as UL (2) with
// no data. RFC 6891 6.1.2: options not understood are ignored; the fast
// path answers such a query, and so does Knot DNS. The options detour
// acts on (cookie, NSID, client subnet) are read from the query itself.
func unpackIgnoringOptions(m *dns.Msg, msg []byte, q *query) bool {
	if !q.simple || !q.edns || q.qnameEnd == 0 {
		return false
	}
	opt := q.qnameEnd + 4 // the OPT follows the question, the message's last record
	if len(msg) < opt+optLen {
		return false
	}
	stripped := append([]byte(nil), msg[:opt+optLen]...)
	binary.BigEndian.PutUint16(stripped[opt+9:], 0)
	*m = dns.Msg{}
	return m.Unpack(stripped) == nil
}

// signed answers a query that carries a TSIG record: the reply is signed
// with the same key, as RFC 8945 requires (a BIND secondary refuses an
// unsigned answer to its signed SOA query, and never transfers). A key
// this server does not hold, a bad MAC or a stale time get NOTAUTH with
// the TSIG error, unsigned.
func (h *Handler) signed(snap *Snapshot, m *dns.Msg, msg []byte, q *query, sc *Scratch, limit int, client netip.Addr) []byte {
	sg, tsigErr := (*signer)(nil), uint16(dns.RcodeBadKey)
	if h.tsig != nil {
		sg, tsigErr = h.tsig(snap, m, msg)
	}
	var out []byte
	var err error
	if tsigErr != 0 {
		out, err = tsigErrorReply(m, tsigErr, optRR(q, msg, -1))
	} else {
		r := new(dns.Msg)
		r.SetReply(m) // keeps the question as asked
		r.RecursionAvailable = false
		ede := -1
		if len(r.Question) == 1 {
			r.Question[0].Name = strings.ToLower(r.Question[0].Name)
		}
		h.respond(snap, m, r, sc, &ede, peer{addr: client, key: sg.keyName()})
		if len(r.Question) == 1 {
			r.Question[0].Name = m.Question[0].Name
		}
		fitMsg(r, limit-tsigLen(sg)-optSize(q, ede))
		if opt := optRR(q, msg, ede); opt != nil {
			r.Extra = append(r.Extra, opt)
		}
		out, err = sg.pack(r, 0)
	}
	if err != nil {
		return h.headerOnly(msg, q, sc, dns.RcodeServerFailure)
	}
	sc.out = append(sc.out[:0], out...)
	return sc.out
}

// tsigLen is room for the TSIG record sg adds.
func tsigLen(sg *signer) int {
	if sg == nil {
		return 0
	}
	return len(sg.key) + len(sg.alg) + 2 + 10 + 16 + 64 // names, fixed fields, a MAC up to SHA-512
}

// peer is who sent a query: its address and the TSIG key it signed with
// (verified), which allow_transfer rules match.
type peer struct {
	addr netip.Addr
	key  string
}

// respond fills r for query m: NOTIMP for an opcode other than QUERY,
// FORMERR for a question section that is not one question alone (an
// IXFR's SOA aside), otherwise the answer.
func (h *Handler) respond(snap *Snapshot, m, r *dns.Msg, sc *Scratch, ede *int, from peer) {
	switch {
	case m.Opcode != dns.OpcodeQuery:
		r.Rcode = dns.RcodeNotImplemented
	case len(m.Question) != 1 || len(m.Answer) > 0 || len(m.Ns) > 0 && m.Question[0].Qtype != dns.TypeIXFR:
		r.Rcode = dns.RcodeFormatError
	case m.Question[0].Qtype == dns.TypeIXFR && m.Question[0].Qclass == dns.ClassINET && snap != nil:
		ixfrUDP(snap, m, r, from)
	default:
		h.answer(snap, r, sc, ede)
	}
}

// ixfrUDP answers an IXFR over UDP with the SOA alone (RFC 1995 4): it
// tells a client that is up to date so, and any other to ask again over
// TCP. It is a transfer all the same, checked in Knot DNS's order:
// NOTAUTH for a zone not served here or a client allow_transfer does not
// let in, then FORMERR without the client's SOA in the authority
// section.
func ixfrUDP(snap *Snapshot, m, r *dns.Msg, from peer) {
	name := r.Question[0].Name
	soa := snap.soa[name]
	switch {
	case soa == nil:
		r.Rcode = dns.RcodeNotAuth
	case !transferAllowed(snap.zs.xfr[name], from.addr, from.key):
		r.Rcode = dns.RcodeNotAuth
	case len(m.Ns) < 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA || !strings.EqualFold(m.Ns[0].Header().Name, name):
		r.Rcode = dns.RcodeFormatError
	default:
		r.Authoritative = true
		r.Answer = []dns.RR{soa}
	}
}

// answer fills r for its one question.
func (h *Handler) answer(snap *Snapshot, r *dns.Msg, sc *Scratch, ede *int) {
	qq := r.Question[0]
	switch {
	case qq.Qtype == dns.TypeOPT || qq.Qtype == dns.TypeTSIG || qq.Qtype == dns.TypeTKEY:
		r.Rcode = dns.RcodeFormatError
		return
	case qq.Qtype == dns.TypeNXNAME:
		// A meta-type of compact denial: never asked (RFC 9824 3.5).
		r.Rcode, *ede = dns.RcodeFormatError, int(dns.ExtendedErrorCodeInvalidQueryType)
		return
	case qq.Qclass == dns.ClassCHAOS && h.opts.Chaos && qq.Qtype == dns.TypeTXT:
		if txt := h.chaos(qq.Name); txt != "" {
			r.Answer = []dns.RR{&dns.TXT{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS}, Txt: []string{txt}}}
			return
		}
		r.Rcode = dns.RcodeRefused
		return
	case qq.Qclass != dns.ClassINET || snap == nil:
		r.Rcode = dns.RcodeRefused
		if sf, ok := h.src.(ServFailer); ok && snap == nil && sf.ServFail() {
			r.Rcode = dns.RcodeServerFailure
		}
		return
	case qq.Qtype == dns.TypeAXFR:
		// Over TCP the server answers transfers before the handler
		// sees them; AXFR over UDP does not exist (RFC 5936 4.2).
		r.Rcode = dns.RcodeNotImplemented
		return
	}
	res := (&resolver{zs: snap.zs, snap: snap, pick: func(v []Variant) int {
		var total uint32
		for _, x := range v {
			total += x.Weight
		}
		n := sc.next() % total
		for i, x := range v {
			if n < x.Weight {
				return i
			}
			n -= x.Weight
		}
		return 0
	}}).resolve(qq.Name, qq.Qtype)
	if res.refused {
		*ede = int(dns.ExtendedErrorCodeNotAuthoritative)
	}
	sc.wildcard = res.wildcard
	if sc.do {
		snap.dnssec.augment(snap, &res, qq.Name, qq.Qtype, sc.co, true)
	} else {
		snap.dnssec.apexPlain(&res, qq.Name, qq.Qtype)
	}
	r.Rcode, r.Authoritative = res.rcode, res.aa
	r.Answer, r.Ns, r.Extra = res.answer, res.ns, res.extra
	r.Compress = true
}

func (h *Handler) chaos(name string) string {
	switch name {
	case "version.bind.", "version.server.":
		return h.opts.Version
	case "id.server.", "hostname.bind.":
		return h.opts.Identity
	}
	return ""
}

// headerOnly answers with the query's header, no sections but an OPT
// when the query had one, and rcode.
func (h *Handler) headerOnly(msg []byte, q *query, sc *Scratch, rcode int) []byte {
	out := append(sc.out[:0], msg[:headerLen]...)
	flags := binary.BigEndian.Uint16(out[2:])
	flags = flags&(0xF<<11|flagRD) | flagQR | uint16(rcode&0xF)
	binary.BigEndian.PutUint16(out[2:], flags)
	for i := 4; i < headerLen; i++ {
		out[i] = 0
	}
	out = appendOPT(out, msg, q, 0, -1)
	sc.out = out
	return out
}
