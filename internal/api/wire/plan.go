package wire

import (
	"fmt"
	"strings"
)

// PlanResponse is GET /v1/providers/plan: what each provider would be
// told to change, nothing written.
type PlanResponse struct {
	Plans []Plan `json:"plans"`
}

// Plan is what one provider would be told to change.
type Plan struct {
	Provider string   `json:"provider"`
	Type     string   `json:"type"`
	Zone     string   `json:"zone"`
	Changes  []Change `json:"changes"`
	// Error is why the provider could not be read; Changes is then empty.
	Error string `json:"error,omitempty"`
}

// Change turns Old into New: Old nil creates, New nil deletes.
type Change struct {
	Old *RRset `json:"old,omitempty"`
	New *RRset `json:"new,omitempty"`
}

// String says the change in one line: "create NAME TYPE TTL VALUES",
// "delete ...", or "update OLD -> NEW".
func (c Change) String() string {
	switch {
	case c.Old == nil && c.New == nil:
		return "nothing"
	case c.Old == nil:
		return "create " + c.New.String()
	case c.New == nil:
		return "delete " + c.Old.String()
	}
	return "update " + c.Old.String() + " -> " + c.New.String()
}

// RRset is the records of one name and type, as detour wants them or as
// a provider holds them. Its JSON names are capitalised, as they have
// always been.
type RRset struct {
	Name string `json:"Name"`
	Type string `json:"Type"`
	TTL  uint32 `json:"TTL"`
	// Values are addresses, or a canonical host name for CNAME; sorted.
	Values []string `json:"Values"`
	// Proxied is Cloudflare's proxy flag; false elsewhere.
	Proxied bool `json:"Proxied"`
	// Handle is the provider's own reference to what it holds
	// (Cloudflare: its records), passed through as the provider gave it.
	Handle any `json:"Handle"`
}

// String says the RRset in one line: "NAME TYPE TTL VALUES [proxied]".
func (r RRset) String() string {
	s := fmt.Sprintf("%s %s %d %s", r.Name, r.Type, r.TTL, strings.Join(r.Values, ","))
	if r.Proxied {
		s += " proxied"
	}
	return s
}
