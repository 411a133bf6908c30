// Package dnssec holds detour's DNSSEC signing keys: generating a zone's
// combined signing key (CSK), or a key-signing key (KSK) and a
// zone-signing key (ZSK) when its keys are split, writing and reading
// them in BIND's key file format (K<zone>+<alg>+<tag>.key and .private,
// with BIND's timing metadata), the key directory every node loads, each
// key's state at a given time (published in the DNSKEY RRset, signing),
// and the steps of key rollovers, read from the keys' timing. The
// signing itself is done by the DNS server (dnsserver).
package dnssec
