package api

import (
	"errors"
	"net/http"

	"github.com/seed3787e6f1/detour/dnsserver"
)

// dnssecStatus answers GET /v1/dnssec/{zone}: how this node signs the
// zone, its keys' public parts and timings. Private keys never leave the
// node's key directory.
func (s *Server) dnssecStatus(w http.ResponseWriter, r *http.Request) {
	zone := r.PathValue("zone")
	if s.dnssec == nil {
		writeError(w, http.StatusNotFound, "%s: this node signs no zone", zone)
		return
	}
	st, err := s.dnssec(zone)
	switch {
	case errors.Is(err, dnsserver.ErrNotSigned):
		writeError(w, http.StatusNotFound, "%s: not signed here: no dnssec in its spec, or not a zone of the spec", zone)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "%s: %v", zone, err)
	default:
		writeJSON(w, http.StatusOK, st)
	}
}
