package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/spf13/cobra"
)

func newEventsCmd() *cobra.Command {
	var (
		o      clientOpts
		follow bool
		after  uint64
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "events [--follow]",
		Short: "Show the audit log: transitions, overrides, failovers",
		Long: `Show the cluster's audit log: endpoint transitions, answer changes (failovers),
overrides and who made them, spec versions, observers going stale, members.
--follow keeps printing new events as they are applied, until interrupted;
with --json each event is one JSON object per line.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			print := func(e wire.Event) {
				if o.json && follow {
					b, _ := json.Marshal(e)
					fmt.Fprintln(out, string(b))
					return
				}
				fmt.Fprintf(out, "%s  #%-5d %-8s %s\n", e.Time.UTC().Format(time.RFC3339), e.Seq, e.Kind, e.Message)
			}
			path := "/v1/events?after=" + strconv.FormatUint(after, 10)
			if limit > 0 {
				path += "&limit=" + strconv.Itoa(limit)
			}
			var res api.EventsResponse
			if err := c.do(cmd.Context(), "GET", path, nil, &res); err != nil {
				return err
			}
			if o.json && !follow {
				return printJSON(out, res)
			}
			for _, e := range res.Events {
				print(e)
			}
			if !follow {
				return nil
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return c.follow(ctx, res.Last, print)
		},
	}
	addClientFlags(cmd, &o)
	f := cmd.Flags()
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events until interrupted")
	f.Uint64Var(&after, "after", 0, "only events after this sequence number")
	f.IntVar(&limit, "limit", 0, "only the last N events (0: all kept)")
	return cmd
}

// follow streams events after seq as server-sent events, reconnecting
// (from the last event seen, to the next --api endpoint when one fails)
// when the stream breaks, until ctx ends.
func (c *client) follow(ctx context.Context, seq uint64, print func(wire.Event)) error {
	backoff := 200 * time.Millisecond
	for i := c.answered; ; i++ {
		err := c.streamOnce(ctx, c.bases[i%len(c.bases)], &seq, print)
		if ctx.Err() != nil {
			return nil
		}
		if _, ok := err.(*apiError); ok {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (c *client) streamOnce(ctx context.Context, base string, seq *uint64, print func(wire.Event)) error {
	req, err := c.request(ctx, base, "GET", "/v1/events?after="+strconv.FormatUint(*seq, 10), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	// The stream lives until interrupted: only the connection and the
	// reply's headers are bounded by --timeout (the transport's).
	resp, err := c.http.Do(req)
	if err != nil {
		err = &endpointError{base: base, timeout: c.timeout, err: err}
		fmt.Fprintf(c.notes, "detour: %v\n", err)
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		e := &apiError{status: resp.StatusCode}
		if json.Unmarshal(data, &e.body) != nil {
			e.body.Error = resp.Status
		}
		return e
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e wire.Event
		if err := json.Unmarshal([]byte(data), &e); err != nil {
			continue
		}
		if e.Seq > *seq {
			*seq = e.Seq
			print(e)
		}
	}
	return sc.Err()
}
