//go:build race

package testutil

// Race reports whether the race detector is on: it slows CPU-bound work
// five- to tenfold, so tests that measure time under heavy load scale
// their load (not their assertions' meaning) by it.
const Race = true
