package api

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/seed3787e6f1/detour/controller"
)

func (s *Server) members(w http.ResponseWriter, r *http.Request) {
	ms, q := s.store.MembersHealth(r.Context())
	writeJSON(w, http.StatusOK, MembersResponse{Members: wireMembers(ms), Quorum: wireQuorum(q), Minority: s.minorityStatus(), Freshness: s.freshness()})
}

func (s *Server) addMember(w http.ResponseWriter, r *http.Request) {
	var req AddMember
	if !decode(w, r, &req) {
		return
	}
	if req.ID == "" {
		writeError(w, http.StatusBadRequest, "id is required: the new node's --node-id")
		return
	}
	if _, _, err := net.SplitHostPort(req.Address); err != nil {
		writeError(w, http.StatusBadRequest, "address %q: want the new node's --raft-addr as host:port", req.Address)
		return
	}
	author := caller(r.Context()).Name
	s.change(w, r, func(ctx context.Context) (string, error) {
		return s.store.Join(ctx, controller.JoinRequest{ID: req.ID, Addr: req.Address, Voter: !req.Nonvoter, Force: req.Force, Author: author})
	})
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	ms, err := s.store.Members()
	if err == nil {
		found := false
		for _, m := range ms {
			found = found || m.ID == id
		}
		if !found {
			writeError(w, http.StatusNotFound, "no member %q (members: %s)", id, memberIDs(ms))
			return
		}
	}
	force := r.URL.Query().Get("force") == "true"
	author := caller(r.Context()).Name
	s.change(w, r, func(ctx context.Context) (string, error) {
		return s.store.Leave(ctx, controller.LeaveRequest{ID: id, Force: force, Author: author})
	})
}

func (s *Server) stepDown(w http.ResponseWriter, r *http.Request) {
	author := caller(r.Context()).Name
	s.change(w, r, func(ctx context.Context) (string, error) { return s.store.Resign(ctx, author) })
}

// change runs a membership change on the leader within WriteTimeout:
// a node that does not answer is refused with 422, a change that lowers
// fault tolerance without force with 409.
func (s *Server) change(w http.ResponseWriter, r *http.Request, fn func(context.Context) (string, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), WriteTimeout)
	defer cancel()
	msg, err := fn(ctx)
	switch {
	case errors.Is(err, controller.ErrUnreachable):
		writeError(w, http.StatusUnprocessableEntity, "%v", err)
	case errors.Is(err, controller.ErrNeedsForce):
		writeError(w, http.StatusConflict, "%v", err)
	case err != nil:
		s.writeStoreError(w, err)
	default:
		writeJSON(w, http.StatusOK, Done{Message: msg})
	}
}

func memberIDs(ms []controller.MemberInfo) string {
	out := ""
	for i, m := range ms {
		if i > 0 {
			out += ", "
		}
		out += m.ID
	}
	return out
}
