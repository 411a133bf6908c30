package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/seed3787e6f1/detour/internal/api"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/spf13/cobra"
)

func newIncidentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "incident",
		Short: "Open, update and resolve incidents: what the status page and notifications tell customers",
		Long: `An incident is what customers read on every node's status page and in
notifications: a title, messages, and when service is expected back (--eta).
Every change goes to the audit log with its author.`,
	}
	cmd.AddCommand(newIncidentOpenCmd(), newIncidentUpdateCmd(), newIncidentResolveCmd(), newIncidentListCmd())
	return cmd
}

func newIncidentOpenCmd() *cobra.Command {
	var (
		o                   clientOpts
		title, message, eta string
	)
	cmd := &cobra.Command{
		Use:   "open --title TEXT --message TEXT [--eta DUR|TIME]",
		Short: "Open an incident",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if strings.TrimSpace(title) == "" {
				return usageError{errors.New("--title is required: what customers read first")}
			}
			return incidentCall(cmd, &o, "/v1/incidents", api.IncidentRequest{Title: title, Message: message, ETA: eta})
		},
	}
	addClientFlags(cmd, &o)
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "the incident's title (required)")
	f.StringVar(&message, "message", "", "the first message: what customers see happening")
	f.StringVar(&eta, "eta", "", "when service is expected back: a duration from now (2h) or an RFC 3339 time")
	return cmd
}

func newIncidentUpdateCmd() *cobra.Command {
	var (
		o            clientOpts
		message, eta string
		clearETA     bool
	)
	cmd := &cobra.Command{
		Use:   "update ID --message TEXT [--eta DUR|TIME | --clear-eta]",
		Short: "Add a message to an incident, or change its expected resolution",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case eta != "" && clearETA:
				return usageError{errors.New("give --eta or --clear-eta, not both")}
			case strings.TrimSpace(message) == "" && eta == "" && !clearETA:
				return usageError{errors.New("--message (or --eta) is required: say what changed")}
			}
			return incidentCall(cmd, &o, "/v1/incidents/"+url.PathEscape(args[0]), api.IncidentRequest{Action: wire.ActionUpdate, Message: message, ETA: eta, ClearETA: clearETA})
		},
	}
	addClientFlags(cmd, &o)
	f := cmd.Flags()
	f.StringVar(&message, "message", "", "what changed")
	f.StringVar(&eta, "eta", "", "new expected resolution: a duration from now (2h) or an RFC 3339 time")
	f.BoolVar(&clearETA, "clear-eta", false, "remove the expected resolution time")
	return cmd
}

func newIncidentResolveCmd() *cobra.Command {
	var (
		o       clientOpts
		message string
	)
	cmd := &cobra.Command{
		Use:   "resolve ID [--message TEXT]",
		Short: "Resolve an incident",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return incidentCall(cmd, &o, "/v1/incidents/"+url.PathEscape(args[0]), api.IncidentRequest{Action: wire.ActionResolve, Message: message})
		},
	}
	addClientFlags(cmd, &o)
	cmd.Flags().StringVar(&message, "message", "", "the closing message")
	return cmd
}

func newIncidentListCmd() *cobra.Command {
	var o clientOpts
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List incidents, open ones first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			var res api.IncidentsResponse
			if err := c.do(cmd.Context(), "GET", "/v1/incidents", nil, &res); err != nil {
				return err
			}
			if o.json {
				return printJSON(cmd.OutOrStdout(), res)
			}
			if len(res.Incidents) == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "no incidents")
			}
			for _, inc := range res.Incidents {
				printIncident(cmd.OutOrStdout(), inc)
			}
			return nil
		},
	}
	addClientFlags(cmd, &o)
	return cmd
}

func incidentCall(cmd *cobra.Command, o *clientOpts, path string, body api.IncidentRequest) error {
	c, err := o.client()
	if err != nil {
		return err
	}
	var res api.IncidentResult
	if err := c.do(cmd.Context(), "POST", path, body, &res); err != nil {
		return err
	}
	if o.json {
		return printJSON(cmd.OutOrStdout(), res)
	}
	fmt.Fprintln(cmd.OutOrStdout(), res.Message)
	if res.Incident != nil {
		printIncident(cmd.OutOrStdout(), res.Incident)
	}
	return nil
}

func printIncident(w io.Writer, inc *wire.Incident) {
	fmt.Fprintf(w, "incident %s [%s] %s\n", inc.ID, inc.Status, inc.Title)
	if !inc.ETA.IsZero() {
		fmt.Fprintf(w, "  expected back %s (in %s)\n", inc.ETA.UTC().Format("2006-01-02 15:04 MST"), time.Until(inc.ETA).Round(time.Minute))
	}
	for _, u := range inc.Updates {
		by := ""
		if u.Author != "" {
			by = " by " + u.Author
		}
		msg := u.Message
		if msg == "" {
			msg = "-"
		}
		fmt.Fprintf(w, "  %s %s%s: %s\n", u.Time.UTC().Format("2006-01-02 15:04 MST"), u.Status, by, msg)
	}
	for _, c := range inc.Current { // the automatic incident's word on each service
		fmt.Fprintf(w, "  %s current: %s\n", c.Time.UTC().Format("2006-01-02 15:04 MST"), c.Message)
	}
}
