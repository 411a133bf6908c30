package machine

import (
	"fmt"
	"time"
)

// ProviderSync is what the leader last knew of one provider's sync: it is
// committed when it changes, so `detour status` on any node shows it.
type ProviderSync struct {
	Name        string    `json:"name"`
	Type        string    `json:"type"`
	Zone        string    `json:"zone"`
	InSync      bool      `json:"in_sync"`
	Pending     int       `json:"pending"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// By is the leader that pushed.
	By string `json:"by"`
}

// Same reports whether two records say the same, ignoring when.
func (p *ProviderSync) Same(o *ProviderSync) bool {
	return p != nil && o != nil && p.Name == o.Name && p.InSync == o.InSync && p.Pending == o.Pending &&
		p.LastError == o.LastError && p.By == o.By && p.LastSuccess.Equal(o.LastSuccess)
}

func (st *State) providerSync(p *ProviderSync, now time.Time) error {
	if p == nil || p.Name == "" {
		return fmt.Errorf("%w: provider sync without a provider", ErrBadCommand)
	}
	if st.Providers == nil {
		st.Providers = map[string]*ProviderSync{}
	}
	old := st.Providers[p.Name]
	c := *p
	st.Providers[p.Name] = &c
	switch {
	case c.LastError != "" && (old == nil || old.LastError != c.LastError):
		st.event(now, "provider", c.Name, fmt.Sprintf("provider %s (%s) failing: %s", c.Name, c.Type, c.LastError))
	case c.InSync && old != nil && !old.InSync:
		st.event(now, "provider", c.Name, fmt.Sprintf("provider %s (%s) in sync again", c.Name, c.Type))
	}
	return nil
}
