package dnsserver

import (
	"bytes"
	"encoding/binary"

	"github.com/miekg/dns"
)

// fit makes reply out (header and sections, no OPT) at most limit bytes
// long by dropping optional additional records, whole RRsets from the
// end, as RFC 2181 9 asks: a reply is truncated (TC) only when what it
// must carry does not fit. What it must carry is the answer and
// authority sections and, in a referral, the glue of in-domain name
// servers (RFC 9471). It returns the reply's new length, or false when
// what must stay is over limit (out is then unchanged). It works on the
// wire, without allocating.
func fit(out []byte, limit int) (int, bool) {
	if len(out) <= limit {
		return len(out), true
	}
	if len(out) < headerLen {
		return 0, false
	}
	qd := int(binary.BigEndian.Uint16(out[4:]))
	an := int(binary.BigEndian.Uint16(out[6:]))
	ns := int(binary.BigEndian.Uint16(out[8:]))
	ar := int(binary.BigEndian.Uint16(out[10:]))
	off := headerLen
	for i := 0; i < qd && off > 0; i++ {
		if off = skipName(out, off); off > 0 {
			off += 4
		}
	}
	cut := -1 // owner of the delegation, in a referral
	if an == 0 && ns > 0 && out[2]&(flagAA>>8) == 0 && off > 0 && rrType(out, off) == dns.TypeNS {
		cut = off
	}
	for i := 0; i < an+ns && off > 0; i++ {
		off = skipRR(out, off)
	}
	if off <= 0 || off > limit {
		return 0, false
	}
	// keep RRs (ending at keepOff) is the longest prefix of whole
	// RRsets within limit; required is past the last required RR.
	keep, keepOff, required := 0, off, 0
	prev := -1
	for i := 0; i < ar; i++ {
		if prev < 0 || !sameRRset(out, prev, off) {
			if off <= limit {
				keep, keepOff = i, off
			}
		}
		if cut > 0 && isUnder(out, off, cut) {
			required = i + 1
		}
		prev = off
		if off = skipRR(out, off); off <= 0 {
			return 0, false
		}
	}
	if required > keep {
		return 0, false
	}
	binary.BigEndian.PutUint16(out[10:], uint16(keep))
	return keepOff, true
}

// skipName returns the offset just past the (possibly compressed) name
// at off, or -1.
func skipName(msg []byte, off int) int {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1
		case l&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return -1
			}
			return off + 2
		case l&0xC0 != 0:
			return -1
		}
		off += 1 + l
	}
	return -1
}

// skipRR returns the offset just past the record at off, or -1.
func skipRR(msg []byte, off int) int {
	off = skipName(msg, off)
	if off < 0 || off+10 > len(msg) {
		return -1
	}
	end := off + 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	if end > len(msg) {
		return -1
	}
	return end
}

// rrType is the type of the record at off, or 0.
func rrType(msg []byte, off int) uint16 {
	off = skipName(msg, off)
	if off < 0 || off+2 > len(msg) {
		return 0
	}
	return binary.BigEndian.Uint16(msg[off:])
}

// readName writes the name at off, decompressed and lower-cased, into
// buf and returns its length, or -1.
func readName(msg []byte, off int, buf *[255]byte) int {
	n := 0
	for hops := 0; off < len(msg) && hops < 64; {
		l := int(msg[off])
		switch {
		case l == 0:
			if n >= len(buf) {
				return -1
			}
			buf[n] = 0
			return n + 1
		case l&0xC0 == 0xC0:
			if off+2 > len(msg) {
				return -1
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3FFF)
			hops++
			continue
		case l&0xC0 != 0 || off+1+l > len(msg) || n+1+l >= len(buf):
			return -1
		}
		buf[n] = byte(l)
		for i, c := range msg[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[n+1+i] = c
		}
		n += 1 + l
		off += 1 + l
	}
	return -1
}

// sameRRset reports whether the records at a and b have the same owner,
// type and class.
func sameRRset(msg []byte, a, b int) bool {
	ea, eb := skipName(msg, a), skipName(msg, b)
	if ea < 0 || eb < 0 || ea+4 > len(msg) || eb+4 > len(msg) || !bytes.Equal(msg[ea:ea+4], msg[eb:eb+4]) {
		return false
	}
	var na, nb [255]byte
	la, lb := readName(msg, a, &na), readName(msg, b, &nb)
	return la > 0 && la == lb && na == nb
}

// isUnder reports whether the name at off is the name at parent or below
// it.
func isUnder(msg []byte, off, parent int) bool {
	var n, p [255]byte
	ln, lp := readName(msg, off, &n), readName(msg, parent, &p)
	if ln < 0 || lp < 0 || ln < lp || !bytes.Equal(n[ln-lp:ln], p[:lp]) {
		return false
	}
	// The suffix must start on a label.
	i := 0
	for i < ln-lp {
		i += 1 + int(n[i])
	}
	return i == ln-lp
}

// fitMsg is fit for a reply built as a message (a signed one): it drops
// r's optional additional records until r packs into limit bytes, or
// keeps the question alone and sets TC when that is not enough.
func fitMsg(r *dns.Msg, limit int) {
	if r.Len() <= limit {
		return
	}
	wire, err := r.Pack()
	if err == nil {
		if _, ok := fit(wire, limit); ok {
			r.Extra = r.Extra[:binary.BigEndian.Uint16(wire[10:])]
			return
		}
	}
	r.Truncated, r.Answer, r.Ns, r.Extra = true, nil, nil, nil
}
