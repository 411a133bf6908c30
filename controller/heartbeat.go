package controller

import (
	"context"
	"time"
)

// Heartbeat commits a job's ping through the cluster: the job may call any
// node, and every node's health engine hears of it. It implements the
// health package's Beater for the API's heartbeat route; at is ignored in
// favour of the proposer's clock stamped into the entry.
func (s *Store) Heartbeat(check, endpoint string, _ time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Propose(ctx, &Command{Type: CmdHeartbeat, Beat: &Heartbeat{Check: check, Endpoint: endpoint}})
}
