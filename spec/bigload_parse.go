package spec

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// errNotFast says the fast parser met what it leaves to miekg/dns's
// ZoneParser for the whole text: a multi-line record, an escape, a
// directive other than $ORIGIN and $TTL, or a line miekg/dns refuses.
var errNotFast = errors.New("zone text needs the full parser")

// parseStatic parses zone text as parseZoneText does, into out: the
// plain lines of a big zone (owner, TTL, class and an A, AAAA, CNAME,
// NS, PTR, MX or TXT record in its simplest form) straight to wire
// form, any other line by miekg/dns's ZoneParser in the context the
// lines before set (origin, default TTL, owner), and the whole text by
// ZoneParser when a line needs more than its own context or does not
// parse, so that errors read as before. Records miekg/dns parsed are
// added pending (staticRecs.addPending); the others are canonical, of
// class IN and in the zone. On an error nothing is added.
func parseStatic(text, origin string, ttl uint32, budget *int, out *staticRecs) error {
	mr, md, ms, b0 := len(out.recs), len(out.rdata), len(out.slow), *budget
	p := fastParser{zone: dns.CanonicalName(origin), origin: dns.Fqdn(origin), ttl: ttl, budget: budget, out: out}
	err := p.parse(text)
	if err == nil {
		return nil
	}
	out.truncate(mr, md, ms)
	if errors.Is(err, errTooManyRecords) {
		return err
	}
	*budget = b0
	return parseSlow(text, origin, ttl, budget, out)
}

// parseSlow parses zone text with miekg/dns's ZoneParser
// (parseZoneText) into out, every record pending.
func parseSlow(text, origin string, ttl uint32, budget *int, out *staticRecs) error {
	rrs, err := parseZoneText(text, origin, ttl, budget)
	if err != nil {
		return err
	}
	for _, rr := range rrs {
		out.addPending(rr)
	}
	return nil
}

// zoneTextParser is parseStatic or parseSlow.
type zoneTextParser func(text, origin string, ttl uint32, budget *int, out *staticRecs) error

// fastParser is the state zone text sets as it goes.
type fastParser struct {
	zone   string // canonical
	origin string // $ORIGIN, absolute
	ttl    uint32 // $TTL
	budget *int
	out    *staticRecs

	owner, ownerTok, ownerCanon string // the last owner: absolute, as written, canonical
	rdata                       []byte
	toks                        []string
	nl                          bool   // the line ends with a newline, not the text
	next                        string // the text after the line
}

// parse parses text line by line.
func (p *fastParser) parse(text string) error {
	if _, ok := plainName(p.origin); !ok {
		return errNotFast
	}
	for text != "" {
		line, rest, nl := strings.Cut(text, "\n")
		text = rest
		p.nl, p.next = nl, rest
		body, slow, ok := lineBody(line)
		if !ok {
			return errNotFast
		}
		if strings.TrimLeft(body, " \t") == "" {
			continue
		}
		// The last line of a text without a final newline goes to
		// miekg/dns, which reads a text's last token otherwise.
		if body[0] == '$' {
			if !nl {
				return errNotFast
			}
			if err := p.directive(body); err != nil {
				return err
			}
			continue
		}
		if err := p.record(body, slow || !nl); err != nil {
			return err
		}
	}
	return nil
}

// lineBody is line without its comment; ok is false for what a line
// alone does not say (parentheses, escapes, an open quote, a carriage
// return). slow says the fast parser does not read it (a ';' in
// quotes).
func lineBody(line string) (body string, slow, ok bool) {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case ';':
			if quoted {
				slow = true
				continue
			}
			return line[:i], slow, true
		case '(', ')', '\\', '\r':
			return "", false, false
		}
	}
	return line, slow, !quoted
}

// directive reads a $ORIGIN or $TTL line.
func (p *fastParser) directive(body string) error {
	toks := p.split(body)
	if len(toks) != 2 {
		return errNotFast
	}
	switch toks[0] {
	case "$TTL":
		ttl, ok := decimalTTL(toks[1])
		if !ok {
			return errNotFast
		}
		p.ttl = ttl
	case "$ORIGIN":
		if toks[1] == "@" {
			return errNotFast
		}
		abs, ok := p.absolute(toks[1])
		if !ok {
			return errNotFast
		}
		p.origin, p.ownerTok = abs, "" // a relative owner now means another name
	default:
		return errNotFast
	}
	return nil
}

// record reads a record line: owner (or a blank: the last owner), TTL
// and class in either order, each optional, type and rdata.
func (p *fastParser) record(body string, slow bool) error {
	toks := p.split(body)
	if body[0] != ' ' && body[0] != '\t' {
		if toks[0] != p.ownerTok || p.owner == "" {
			abs, ok := p.absolute(toks[0])
			if !ok {
				return p.slowLine(toks[0], body)
			}
			p.owner, p.ownerTok, p.ownerCanon = abs, toks[0], lowerASCII(abs)
		}
		toks = toks[1:]
	} else if p.owner == "" {
		return errNotFast
	}
	ttl := p.ttl
	i := 0
	if i < len(toks) {
		if t, ok := decimalTTL(toks[i]); ok {
			ttl = t
			i++
			if i < len(toks) && strings.EqualFold(toks[i], "IN") {
				i++
			}
		} else if strings.EqualFold(toks[i], "IN") {
			i++
			if i < len(toks) {
				if t, ok := decimalTTL(toks[i]); ok {
					ttl = t
					i++
				}
			}
		}
	}
	if slow || i >= len(toks) || !inZone(p.zone, p.ownerCanon) {
		return p.slowLine(p.owner, body)
	}
	typ, ok := p.rdataOf(toks[i], toks[i+1:])
	if !ok {
		return p.slowLine(p.owner, body)
	}
	if *p.budget <= 0 {
		return errTooManyRecords
	}
	*p.budget--
	p.out.addFast(p.ownerCanon, typ, ttl, p.rdata)
	return nil
}

// slowLine has miekg/dns parse one line, as the full parser would in
// the same place: the line's owner is given as absolute (owner).
func (p *fastParser) slowLine(owner, body string) error {
	rest := body
	if body[0] != ' ' && body[0] != '\t' {
		end := strings.IndexAny(body, " \t")
		if end < 0 {
			end = len(body)
		}
		rest = body[end:]
	}
	// miekg/dns reads a record whose rdata is short on into the next
	// line when that starts with a blank: the whole text, then.
	if owner == "" || endsWithType(p.split(body)) || strings.HasPrefix(p.next, " ") || strings.HasPrefix(p.next, "\t") {
		return errNotFast
	}
	text := "$ORIGIN " + p.origin + "\n$TTL " + strconv.FormatUint(uint64(p.ttl), 10) + "\n" + owner + " " + rest
	if p.nl {
		text += "\n" // miekg/dns reads the last token of a text otherwise than of a line
	}
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	rr, ok := zp.Next()
	if !ok || zp.Err() != nil {
		return errNotFast
	}
	if _, more := zp.Next(); more || zp.Err() != nil || emptyRdata(rr) || !p.sameFields(body, rr) {
		return errNotFast
	}
	if *p.budget <= 0 {
		return errTooManyRecords
	}
	*p.budget--
	h := rr.Header()
	p.owner, p.ownerTok, p.ownerCanon = h.Name, "", ""
	if abs, ok := plainName(h.Name); ok {
		p.ownerCanon = lowerASCII(abs)
	}
	p.out.addPending(rr)
	return nil
}

// split splits a line's body at blanks; a quoted string is one field,
// quotes included.
func (p *fastParser) split(body string) []string {
	toks := p.toks[:0]
	for i := 0; i < len(body); {
		c := body[i]
		if c == ' ' || c == '\t' {
			i++
			continue
		}
		j := i
		if c == '"' {
			j = i + 1 + strings.IndexByte(body[i+1:], '"') + 1 // lineBody saw it closed
		} else {
			for j < len(body) && body[j] != ' ' && body[j] != '\t' {
				j++
			}
		}
		toks = append(toks, body[i:j])
		i = j
	}
	p.toks = toks
	return toks
}

// rdataOf makes the rdata of a record of type typ in p.rdata, when the
// fast parser reads it.
func (p *fastParser) rdataOf(typ string, f []string) (uint16, bool) {
	p.rdata = p.rdata[:0]
	switch strings.ToUpper(typ) {
	case "A":
		if len(f) != 1 || strings.IndexByte(f[0], ':') >= 0 {
			return 0, false
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || !a.Is4() {
			return 0, false
		}
		b := a.As4()
		p.rdata = append(p.rdata, b[:]...)
		return dns.TypeA, true
	case "AAAA":
		if len(f) != 1 || strings.IndexByte(f[0], ':') < 0 {
			return 0, false
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			return 0, false
		}
		b := a.As16()
		p.rdata = append(p.rdata, b[:]...)
		return dns.TypeAAAA, true
	case "CNAME":
		return dns.TypeCNAME, len(f) == 1 && p.appendName(f[0])
	case "NS":
		return dns.TypeNS, len(f) == 1 && p.appendName(f[0])
	case "PTR":
		return dns.TypePTR, len(f) == 1 && p.appendName(f[0])
	case "MX":
		if len(f) != 2 {
			return 0, false
		}
		pref, ok := decimal(f[0], 5)
		if !ok || pref > 65535 {
			return 0, false
		}
		p.rdata = append(p.rdata, byte(pref>>8), byte(pref))
		return dns.TypeMX, p.appendName(f[1])
	case "TXT":
		return dns.TypeTXT, p.appendTXT(f)
	}
	return 0, false
}

// appendName appends name (relative to the origin, as written) in wire
// form.
func (p *fastParser) appendName(tok string) bool {
	abs, ok := p.absolute(tok)
	if !ok {
		return false
	}
	p.rdata = appendPlainName(p.rdata, abs)
	return true
}

// appendTXT appends TXT strings, each quoted, of 1 to 255 printable
// characters other than a quote, a backslash and a tab.
func (p *fastParser) appendTXT(f []string) bool {
	if len(f) == 0 {
		return false
	}
	for _, s := range f {
		if len(s) < 3 || len(s) > 257 || s[0] != '"' || s[len(s)-1] != '"' {
			return false
		}
		s = s[1 : len(s)-1]
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
				return false
			}
		}
		p.rdata = append(p.rdata, byte(len(s)))
		p.rdata = append(p.rdata, s...)
	}
	return true
}

// absolute makes tok (a name as written) absolute, as miekg/dns does,
// when it is a plain name.
func (p *fastParser) absolute(tok string) (string, bool) {
	if tok == "@" {
		return p.origin, true
	}
	if _, ok := plainName(tok); !ok {
		return "", false
	}
	abs := tok
	if !strings.HasSuffix(tok, ".") {
		if p.origin == "." {
			abs = tok + "."
		} else {
			abs = tok + "." + p.origin
		}
	}
	if len(abs)+1 > 255 {
		return "", false
	}
	return abs, true
}

// plainName says whether name is made of labels of 1 to 63 letters,
// digits, '-', '_' and '*', dot-separated, optionally absolute; "." is
// not.
func plainName(name string) (string, bool) {
	if name == "" || name[0] == '.' {
		return "", false
	}
	n := 0
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '.':
			if n == 0 {
				return "", false
			}
			n = 0
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '*':
			n++
			if n > 63 {
				return "", false
			}
		default:
			return "", false
		}
	}
	return name, true
}

// lowerASCII is s in lower case (s is plain ASCII).
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// decimalTTL reads a TTL written in decimal digits only.
func decimalTTL(s string) (uint32, bool) {
	v, ok := decimal(s, 10)
	if !ok || v > 1<<32-1 {
		return 0, false
	}
	return uint32(v), true
}

// decimal reads 1 to digits decimal digits.
func decimal(s string, digits int) (uint64, bool) {
	if s == "" || len(s) > digits {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, true
}

// emptyRdata says whether rr has no rdata: what miekg/dns makes of a
// line whose rdata is missing, which it reads otherwise in a whole text
// (by what follows the line): such a line goes with the whole text.
func emptyRdata(rr dns.RR) bool {
	var buf [dns.MaxMsgSize]byte
	n, err := dns.PackRR(rr, buf[:], 0, nil, false)
	return err != nil || n <= dns.Len(&dns.RFC3597{Hdr: *rr.Header()})
}

// endsWithType says whether a line's last field is a type: a record
// without rdata, which miekg/dns reads otherwise in a whole text (by what
// follows the line).
func endsWithType(toks []string) bool {
	if len(toks) == 0 {
		return true
	}
	last := strings.ToUpper(toks[len(toks)-1])
	_, ok := dns.StringToType[last]
	return ok || strings.HasPrefix(last, "TYPE")
}

// sameFields says whether the line gave rr as many rdata fields as rr's
// text has: miekg/dns reads a record short of fields on into the next
// lines of a whole text, and one whose text changes shape (\# rdata, a
// TXT string split) is left to the whole text too.
func (p *fastParser) sameFields(body string, rr dns.RR) bool {
	toks := p.split(body)
	if body[0] != ' ' && body[0] != '\t' {
		toks = toks[1:]
	}
	typ := dns.TypeToString[rr.Header().Rrtype]
	at := -1
	for i, t := range toks {
		if strings.EqualFold(t, typ) {
			at = i
			break
		}
	}
	if at < 0 {
		return false
	}
	n := len(toks) - at - 1
	return len(p.split(rr.String())) == n+4 // owner, TTL, class, type
}
