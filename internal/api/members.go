package api

import (
	"context"
	"net"
	"net/http"

	"github.com/seed3787e6f1/detour/controller"
)

// MembersResponse is GET /v1/members.
type MembersResponse struct {
	Members   []controller.MemberInfo `json:"members"`
	Freshness Freshness               `json:"freshness"`
}

// AddMember is the body of POST /v1/members.
type AddMember struct {
	ID      string `json:"id"`
	Address string `json:"address"`
	// Nonvoter adds a node that serves DNS but does not vote.
	Nonvoter bool `json:"nonvoter,omitempty"`
}

// Done is the reply to a write that has nothing more to say.
type Done struct {
	Message string `json:"message"`
}

func (s *Server) members(w http.ResponseWriter, _ *http.Request) {
	ms, err := s.store.Members()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "reading the Raft configuration: %v", err)
		return
	}
	if ms == nil {
		ms = []controller.MemberInfo{}
	}
	writeJSON(w, http.StatusOK, MembersResponse{Members: ms, Freshness: s.freshness()})
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
	s.write(w, r, func(ctx context.Context) error {
		if req.Nonvoter {
			return s.store.AddNonvoter(ctx, req.ID, req.Address)
		}
		return s.store.AddVoter(ctx, req.ID, req.Address)
	}, "added "+req.ID+" at "+req.Address)
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
	s.write(w, r, func(ctx context.Context) error { return s.store.RemoveServer(ctx, id) }, "removed "+id)
}

func (s *Server) stepDown(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, s.store.StepDown, "the leader stepped down; a new one is being elected")
}

// write runs a membership change on the leader within WriteTimeout.
func (s *Server) write(w http.ResponseWriter, r *http.Request, fn func(context.Context) error, ok string) {
	ctx, cancel := context.WithTimeout(r.Context(), WriteTimeout)
	defer cancel()
	if err := fn(ctx); err != nil {
		s.writeStoreError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Done{Message: ok})
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
