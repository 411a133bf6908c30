package node

import (
	"context"

	"github.com/seed3787e6f1/detour/internal/geoip"
)

// newGeoIP makes the database that places DNS clients for geo records:
// the file the replicated spec's geoip.database names, on this node's
// disk, loaded once the store runs.
func (n *Node) newGeoIP() *geoip.DB {
	n.geo = geoip.New(geoip.Options{Path: n.geoIPPath, Poll: n.cfg.GeoIPPoll.D(), Logger: n.logger.With("component", "geoip")})
	return n.geo
}

// geoIPPath is the spec's geoip.database, empty before the store runs
// or without one.
func (n *Node) geoIPPath() string {
	if n.store == nil {
		return ""
	}
	s, _ := n.store.FSM().Spec()
	if s == nil || s.GeoIP == nil {
		return ""
	}
	return s.GeoIP.Database
}

// startGeoIP checks the database file until the node stops.
func (n *Node) startGeoIP() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		n.geo.Run(ctx)
	}()
	n.stops.add("geoip", func(stop context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-stop.Done():
			return stop.Err()
		}
	})
}

// GeoIP returns the node's geoip database (its status, and the place of
// an address).
func (n *Node) GeoIP() *geoip.DB { return n.geo }
