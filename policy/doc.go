// Package policy decides what each health-driven record answers. It is a
// pure function from a spec, what is known of endpoint health and the
// operator's pins to one Decision per record: which pool answers (the
// first healthy one for failover, every healthy one for weighted and
// all-healthy), with which addresses or target, and why; and, when no
// pool is healthy, the record's on_all_down rule (fail open to every
// endpoint, the fallback addresses, or no data).
//
// A decision is plain data: answer groups of addresses or targets, each
// with its weight. It holds no DNS types: turning a decision into
// resource records is the DNS side's business, so every node derives the
// same decisions from the same state whatever DNS library it runs, and
// the replicated state can compare decisions to tell when an answer
// changed.
package policy
