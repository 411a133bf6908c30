package dnsserver

// Names is the number of owner names across the zone set's zones, empty
// non-terminals included, a name in the static table counting once per
// type it holds: a measure of how much memory it holds.
func (zs *ZoneSet) Names() int {
	n := 0
	for _, z := range zs.zones {
		n += len(z.nodes)
	}
	return n + zs.static.entries
}
