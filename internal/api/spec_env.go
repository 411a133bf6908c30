package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/seed3787e6f1/detour/spec"
)

// refuseSpecEnv answers 400 and returns true when sp names an
// environment variable this node would refuse for its use (a provider's
// token in a check header or a notification, say): the spec would apply,
// and only fail where the variable is read. Other nodes with other
// settings still refuse what they refuse where they read it.
func (s *Server) refuseSpecEnv(w http.ResponseWriter, sp *spec.Spec) bool {
	var e Error
	for _, r := range sp.EnvRefs() {
		if err := s.env.Allow(r.Use, r.Name); err != nil {
			e.Problems = append(e.Problems, Problem{Path: r.Path,
				Message: strings.TrimPrefix(err.Error(), spec.ErrEnvNotAllowed.Error()+": ")})
		}
	}
	if len(e.Problems) == 0 {
		return false
	}
	e.Error = fmt.Sprintf("the spec names %d environment variable(s) this node does not let it read for their use; nothing was changed", len(e.Problems))
	writeJSON(w, http.StatusBadRequest, e)
	return true
}
