// Package dnsserver is detour's authoritative DNS server, over UDP and
// TCP. It answers from an immutable Snapshot, swapped atomically when the
// controller publishes a new one: the static zones of the spec (ZoneSet)
// and the current answers of the health-driven records (DynamicAnswer,
// with weighted variants). It serves zone transfers (AXFR, and IXFR from
// a journal of serial changes) to the secondaries a zone allows, sends
// NOTIFY when a serial moves, and protects itself with response rate
// limiting, DNS cookies and TCP connection limits. Stats counts what it
// answered.
package dnsserver
