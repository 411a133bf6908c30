package notify

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/seed3787e6f1/detour/internal/netguard"
)

// A spec author chooses where notifications go. Left alone, a webhook at
// http://169.254.169.254/ would have the leader fetch the cloud
// metadata service's credentials, and one at http://127.0.0.1:8053/ would
// post to the node's own API. Every connection a channel opens, redirects
// included, passes netguard's check at connect time, on the address
// actually dialled: loopback, link-local, cloud metadata, unspecified and
// multicast addresses are refused unless Deps.AllowNetworks (the node's
// notify_allow_networks) lists them.

// allowSetting is the node setting that fills Deps.AllowNetworks; a
// refusal names it.
const allowSetting = "notify_allow_networks"

// guard is what d's channels may connect to.
func (d Deps) guard() netguard.Guard {
	return netguard.Guard{Allow: d.AllowNetworks, Setting: allowSetting}
}

// newHTTPClient returns the client of the webhook, Slack and PagerDuty
// channels. Its every connection passes g. It ignores HTTP_PROXY and
// HTTPS_PROXY: through a proxy the guard would only see the proxy's
// address, and the proxy would connect to whatever the spec named.
func newHTTPClient(g netguard.Guard) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	d := g.Dialer()
	d.Timeout, d.KeepAlive = 30*time.Second, 30*time.Second // as http.DefaultTransport
	t.DialContext = d.DialContext
	return &http.Client{Timeout: 15 * time.Second, Transport: t}
}

// refusal turns a connection the guard refused into a short error naming
// the host the channel was configured with, the refused address and the
// setting; other errors pass unchanged.
func refusal(host string, err error) error {
	var b *netguard.BlockedError
	if errors.As(err, &b) {
		return fmt.Errorf("%s: %w (nothing was sent)", host, b)
	}
	return err
}
