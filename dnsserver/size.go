package dnsserver

// Names is the number of owner names across the zone set's zones, empty
// non-terminals included: a measure of how much memory it holds.
func (zs *ZoneSet) Names() int {
	n := 0
	for _, z := range zs.zones {
		n += len(z.nodes)
	}
	return n
}
