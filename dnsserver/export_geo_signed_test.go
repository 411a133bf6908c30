package dnsserver

import "log/slog"

// NewSigningHandlerForTest is the handler a server with cfg.DNSSECKeys
// answers with, for src: its snapshots signed.
func NewSigningHandlerForTest(src Source, cfg Config) *Handler {
	return newSigningHandler(src, cfg, slog.New(slog.DiscardHandler))
}
