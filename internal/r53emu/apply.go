package r53emu

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Change is one element of a change batch.
type Change struct {
	Action string // CREATE, DELETE, UPSERT
	Set    RRSet
}

// apply checks a batch against the zone as the earlier changes of the
// batch leave it, and applies it only if every change is valid, as Route
// 53 does (a batch is a transaction).
func (s *Server) apply(zoneID, comment string, batch []Change) (wireChangeInfo, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		return wireChangeInfo{}, &apiError{http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: " + zoneID, nil}
	}
	if e := checkLimits(batch); e != nil {
		return wireChangeInfo{}, e
	}
	next := maps.Clone(z.sets)
	var msgs []string
	touched := map[string]bool{}
	var log []string
	for _, c := range batch {
		if msg := z.change(next, c); msg != "" {
			msgs = append(msgs, msg)
			continue
		}
		touched[c.Set.Name] = true
		log = append(log, fmt.Sprintf("%s %s %s", c.Action, c.Set.Name, c.Set.Type))
	}
	for name := range touched {
		msgs = append(msgs, cnameConflicts(z, next, name)...)
	}
	if len(msgs) > 0 {
		slices.Sort(msgs)
		return wireChangeInfo{}, &apiError{http.StatusBadRequest, "InvalidChangeBatch", "[" + strings.Join(msgs, ", ") + "]", msgs}
	}
	z.sets = next
	s.batches = append(s.batches, log)
	s.nextID++
	now := time.Now().UTC()
	c := &change{id: fmt.Sprintf("C%012d", s.nextID), submitted: now, insyncAt: now.Add(s.insync), comment: comment}
	s.changes[c.id] = c
	info := c.info(now)
	info.Status = "PENDING"
	return info, nil
}

// checkLimits enforces the per-request limits on ResourceRecord elements
// and on the characters of their values, UPSERT counting twice.
func checkLimits(batch []Change) *apiError {
	recs, chars := 0, 0
	for _, c := range batch {
		n := 1
		if c.Action == "UPSERT" {
			n = 2
		}
		recs += n * len(c.Set.Values)
		for _, v := range c.Set.Values {
			chars += n * len(v)
		}
	}
	switch {
	case recs > MaxRecordsPerBatch:
		return &apiError{http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("Number of records limit of %d exceeded.", MaxRecordsPerBatch), nil}
	case chars > MaxValueCharsPerBatch:
		return &apiError{http.StatusBadRequest, "InvalidChangeBatch", fmt.Sprintf("Number of characters in record values limit of %d exceeded.", MaxValueCharsPerBatch), nil}
	}
	return nil
}

// change applies one change to sets, or says why it is refused, in the
// words Route 53 uses.
func (z *zone) change(sets map[setKey]*RRSet, c Change) string {
	r := c.Set
	desc := fmt.Sprintf("resource record set [name='%s', type='%s'%s]", r.Name, r.Type, idPart(r.SetIdentifier))
	if r.Name != z.name && !strings.HasSuffix(r.Name, "."+z.name) {
		return fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", r.Name, z.name)
	}
	if msg := checkData(r); msg != "" {
		return msg
	}
	cur := sets[r.key()]
	switch c.Action {
	case "CREATE":
		if cur != nil {
			return "Tried to create " + desc + " but it already exists"
		}
	case "DELETE":
		if cur == nil {
			return "Tried to delete " + desc + " but it was not found"
		}
		if !sameData(cur, &r) {
			return "Tried to delete " + desc + " but the values provided do not match the current values"
		}
		delete(sets, r.key())
		return ""
	case "UPSERT":
	default:
		return fmt.Sprintf("Invalid action %q for %s", c.Action, desc)
	}
	if (r.Type == "SOA" || r.Type == "NS") && r.Name == z.name && c.Action == "CREATE" {
		return "Tried to create " + desc + " but it already exists"
	}
	cp := r
	cp.Values = slices.Clone(r.Values)
	sets[r.key()] = &cp
	return ""
}

func idPart(id string) string {
	if id == "" {
		return ""
	}
	return fmt.Sprintf(", set-identifier='%s'", id)
}

// checkData validates a set's TTL and values for its type.
func checkData(r RRSet) string {
	if r.Alias != nil {
		return ""
	}
	if len(r.Values) == 0 {
		return fmt.Sprintf("InvalidChangeBatch: RRSet %s %s has no resource records", r.Name, r.Type)
	}
	if r.TTL < 0 || r.TTL > 2147483647 {
		return fmt.Sprintf("TTL %d of %s %s is out of range", r.TTL, r.Name, r.Type)
	}
	for _, v := range r.Values {
		switch r.Type {
		case "A":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
				return "ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '" + v + "'"
			}
		case "AAAA":
			if a, err := netip.ParseAddr(v); err != nil || !a.Is6() || a.Is4In6() {
				return "AAAARRDATAIllegalIPv6Address (Value is not a valid IPv6 address) encountered with '" + v + "'"
			}
		case "TXT", "SPF":
			if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
				return "Invalid Resource Record: FATAL problem: InvalidCharacterString (Value should be enclosed in quotation marks) encountered with '" + v + "'"
			}
		}
	}
	if r.Type == "CNAME" && len(r.Values) != 1 {
		return fmt.Sprintf("RRSet of type CNAME with DNS name %s has more than one resource record", r.Name)
	}
	return ""
}

func sameData(a, b *RRSet) bool {
	if (a.Alias == nil) != (b.Alias == nil) || (a.Alias != nil && *a.Alias != *b.Alias) {
		return false
	}
	if (a.Weight == nil) != (b.Weight == nil) || (a.Weight != nil && *a.Weight != *b.Weight) {
		return false
	}
	av, bv := slices.Clone(a.Values), slices.Clone(b.Values)
	slices.Sort(av)
	slices.Sort(bv)
	return a.TTL == b.TTL && slices.Equal(av, bv)
}

// cnameConflicts reports a CNAME sharing its name with another set, or
// at the apex.
func cnameConflicts(z *zone, sets map[setKey]*RRSet, name string) []string {
	cname, other := false, false
	for k := range sets {
		if k.name != name {
			continue
		}
		if k.typ == "CNAME" {
			cname = true
		} else {
			other = true
		}
	}
	if !cname {
		return nil
	}
	if other || name == z.name {
		return []string{fmt.Sprintf("RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records with the same DNS name in zone %s", name, z.name)}
	}
	return nil
}
