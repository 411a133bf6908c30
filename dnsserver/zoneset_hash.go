package dnsserver

import "github.com/miekg/dns"

// staticHash is a hash of a zone's static records that does not depend
// on their order: the sum of a mixed FNV-1a hash of each record's wire
// form (no compression). The records are distinct (the spec drops
// duplicates), so a sum tells sets apart as well as a sorted list
// would, without rendering and sorting a million records as text.
func staticHash(rrs []dns.RR) uint64 {
	buf := make([]byte, 1024)
	var sum uint64
	for _, rr := range rrs {
		n, err := dns.PackRR(rr, buf, 0, nil, false)
		if err != nil {
			// Too large for buf: a record of up to 64 KiB.
			big := make([]byte, dns.MaxMsgSize)
			if n, err = dns.PackRR(rr, big, 0, nil, false); err != nil {
				sum += mix64(uint64(rr.Header().Rrtype)) // cannot be: validated records pack
				continue
			}
			buf = big
		}
		sum += mix64(fnv64a(buf[:n]))
	}
	return sum
}

// mix64 is splitmix64's finaliser: it spreads the bits of x so that a
// sum of hashes does not cancel out.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// fnv64a is FNV-1a over b, without hash.Hash's allocation.
func fnv64a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}
