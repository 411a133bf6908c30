package dnsserver_test

// diffTemporary is the TEMPORARY list of differences from Knot DNS that
// are bugs not yet fixed: each entry names the issue item that removes it
// ("issue 12 item 4: OPT missing from replies to EDNS queries") and, like
// diffKnown, edits the replies only where the query and both replies show
// that bug. A difference is explained when the edits of the entries that
// apply make the replies equal; the test names the narrowest entry that
// does. Keep it empty: an entry is a bug being fixed, never a way to pass.
//
// Issue 12 items 1 to 7 were listed here while they were open and left
// the list as their fixes landed.
var diffTemporary = []knownDiff{}
