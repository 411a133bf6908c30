package testutil

import "testing"

// StartCachingValidatingUnbound is StartValidatingUnbound with unbound's
// cache left to the records' own TTLs (no cap): what a DNSSEC key
// rollover must survive is a resolver that holds the DNSKEY RRset and
// the signatures for as long as their TTLs say.
func StartCachingValidatingUnbound(t testing.TB, stubs map[string]string, anchors []string) string {
	t.Helper()
	return startUnbound(t, stubs, "validator iterator", func(dir string) string {
		return unboundAnchors(t, dir, anchors) + "  cache-min-ttl: 0\n  prefetch: no\n  prefetch-key: no\n"
	})
}
