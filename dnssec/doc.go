// Package dnssec holds detour's DNSSEC signing keys: generating a zone's
// combined signing key (CSK), writing and reading it in BIND's key file
// format (K<zone>+<alg>+<tag>.key and .private, with BIND's timing
// metadata), the key directory every node loads, and each key's state at
// a given time (published in the DNSKEY RRset, signing). The signing
// itself is done by the DNS server (dnsserver).
package dnssec
