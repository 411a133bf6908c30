package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/seed3787e6f1/detour/internal/demo"
	"github.com/spf13/cobra"
)

// defaultDemoControl is where `detour demo down|up` find the demo.
const defaultDemoControl = "http://127.0.0.1:8050"

func newDemoCmd() *cobra.Command {
	var logLevel string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run three nodes and three simulated datacenters in one process",
		Long: `Run a whole detour cluster on loopback: three nodes (DNS on 127.0.0.1 ports
5353-5355, API on 8053-8055), one simulated datacenter each with a small web
site (ports 18101-18103), and a spec where www.example.test fails over
us-east -> us-west -> eu-west. It prints how to query each node with dig,
how to watch the cluster, and how to take a datacenter down and back:

  detour demo down us-east     its node and its site stop
  detour demo up us-east`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The nodes' logs are off by default: Raft complains loudly
			// about a datacenter the user took down on purpose, and
			// `detour events --follow` tells the story better.
			logger := slog.New(slog.DiscardHandler)
			if logLevel != "off" {
				var level slog.Level
				if err := level.UnmarshalText([]byte(logLevel)); err != nil {
					return usageError{err}
				}
				logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			fmt.Fprintln(cmd.ErrOrStderr(), "starting three nodes and three datacenters...")
			d, err := demo.Start(ctx, demoOptions(logger))
			if err != nil {
				return err
			}
			defer d.Close()
			fmt.Fprint(cmd.OutOrStdout(), d.Instructions(binName()))
			<-ctx.Done()
			fmt.Fprintln(cmd.ErrOrStderr(), "stopping the demo")
			return nil
		},
	}
	cmd.Flags().StringVar(&logLevel, "log-level", "off", "node logs: off, debug, info, warn or error")
	cmd.AddCommand(newDemoDCCmd("down"), newDemoDCCmd("up"))
	return cmd
}

// demoOptions are the default ports, or free ones with
// DETOUR_DEMO_PORTS=0 (tests of the command itself).
func demoOptions(logger *slog.Logger) demo.Options {
	opts := demo.DefaultOptions()
	if os.Getenv("DETOUR_DEMO_PORTS") == "0" {
		opts = demo.Options{Interval: time.Second}
	}
	opts.Logger = logger
	return opts
}

// binName is how the user ran detour, for the printed commands.
func binName() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ./cmd/detour"
	}
	return "detour"
}

func newDemoDCCmd(action string) *cobra.Command {
	var control string
	short := "Take a demo datacenter down: its node and its site stop"
	if action == "up" {
		short = "Bring a demo datacenter back: its site and its node restart"
	}
	cmd := &cobra.Command{
		Use:   action + " DATACENTER",
		Short: short,
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base := strings.TrimSuffix(firstOf(control, os.Getenv("DETOUR_DEMO"), defaultDemoControl), "/")
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "POST", base+"/demo/datacenters/"+args[0]+"/"+action, nil)
			if err != nil {
				return usageError{err}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return fmt.Errorf("cannot reach the demo at %s: %v (is `detour demo` running?)", base, err)
			}
			defer resp.Body.Close()
			var body struct {
				Error string          `json:"error"`
				Up    map[string]bool `json:"up"`
			}
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			_ = json.Unmarshal(data, &body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("demo %s %s: %s", action, args[0], firstOf(body.Error, resp.Status))
			}
			var parts []string
			for _, dc := range demo.Datacenters {
				state := "up"
				if !body.Up[dc] {
					state = "DOWN"
				}
				parts = append(parts, dc+" "+state)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s is %s; datacenters: %s\n", args[0], map[string]string{"down": "down (node and site stopped)", "up": "starting again (node and site)"}[action], strings.Join(parts, ", "))
			return nil
		},
	}
	cmd.Flags().StringVar(&control, "control", "", "the demo's control URL (env DETOUR_DEMO, default "+defaultDemoControl+")")
	return cmd
}
