package node

import (
	"crypto/tls"

	"github.com/seed3787e6f1/detour/internal/api"
)

// apiSecurity returns the API's TLS settings and tokens. With the node's
// TLS set, the API serves HTTPS with the node's certificate; clients
// authenticate with bearer tokens, and a client certificate from the CA
// is checked when one is offered.
func (c *Config) apiSecurity(nodeTLS *tls.Config) (*tls.Config, *api.Tokens, error) {
	tokens := &api.Tokens{}
	if c.APITokens != "" {
		t, err := api.LoadTokens(c.APITokens)
		if err != nil {
			return nil, nil, err
		}
		tokens.Merge(t)
	}
	tokens.Merge(c.Tokens)
	if nodeTLS == nil {
		return nil, tokens, nil
	}
	t := nodeTLS.Clone()
	t.ClientAuth = tls.VerifyClientCertIfGiven
	return t, tokens, nil
}
