package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"

	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/spec"
)

func (s *Server) getSpec(w http.ResponseWriter, _ *http.Request) {
	view := s.store.FSM().View()
	sp, v, index := view.Spec(), view.SpecVersion(), view.Index()
	if sp == nil {
		writeError(w, http.StatusNotFound, "the cluster has no spec yet: apply one with `detour spec apply FILE`")
		return
	}
	y, err := sp.Marshal()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "%v", err)
		return
	}
	writeJSON(w, http.StatusOK, SpecResponse{Version: v, YAML: string(y), Index: index, Freshness: s.freshness()})
}

// parseSpec validates a spec from a request, writing 400 with every
// problem when it is invalid.
func parseSpec(w http.ResponseWriter, text string) (*spec.Spec, []byte, bool) {
	if len(bytes.TrimSpace([]byte(text))) == 0 {
		writeError(w, http.StatusBadRequest, "yaml is required: the whole spec")
		return nil, nil, false
	}
	sp, err := spec.Parse([]byte(text))
	if err != nil {
		e := Error{Error: "the spec is invalid; nothing was changed: " + err.Error()}
		var serr *spec.Error
		if errors.As(err, &serr) {
			e.Error = fmt.Sprintf("the spec is invalid (%d problem(s)); nothing was changed", len(serr.Problems))
			for _, p := range serr.Problems[:min(len(serr.Problems), MaxProblems)] {
				e.Problems = append(e.Problems, Problem{Path: p.Path, Message: p.Message})
			}
			if more := len(serr.Problems) - MaxProblems; more > 0 {
				e.Error += fmt.Sprintf("; the first %d are listed, %d more are not (run `detour check` for all)", MaxProblems, more)
			}
		}
		writeJSON(w, http.StatusBadRequest, e)
		return nil, nil, false
	}
	// The text committed is the text received: every replica parses
	// the same bytes into the same spec. Writing it out again in YAML
	// (Marshal) costs many seconds for a spec of thousands of records.
	return sp, []byte(text), true
}

func (s *Server) applySpec(w http.ResponseWriter, r *http.Request) {
	var req SpecRequest
	if !s.decodeSpec(w, r, &req) || !s.specSlot.acquire(w, r) {
		return
	}
	defer s.specSlot.release()
	sp, y, ok := parseSpec(w, req.YAML)
	if !ok || s.refuseSpecEnv(w, sp) {
		return
	}
	// Whether this spec is already in force, or the version sent is
	// stale, is judged on state as new as the leader's: this node's own
	// may trail it. A node that cannot catch up (cut off from the
	// leader) never calls the spec already in force: the commit decides.
	caughtUp := s.catchUp(r.Context())
	view := s.store.FSM().View()
	cur, v, index := view.Spec(), view.SpecVersion(), view.Index()
	if req.IfVersion != 0 && req.IfVersion < v {
		// Versions only grow: the cluster is past it too. A version
		// above this node's is checked where the change applies.
		writeError(w, http.StatusConflict, "the spec in force is version %d, not %d: someone applied a spec since; run `detour spec diff` again", v, req.IfVersion)
		return
	}
	if _, ok := s.guardWrite(w, r, req.Guard, change{spec: sp}, "applying this spec"); !ok {
		return
	}
	if caughtUp && cur != nil && (req.IfVersion == 0 || req.IfVersion == v) {
		if same, err := cur.Same(sp); err == nil && same {
			writeJSON(w, http.StatusOK, SpecResponse{Version: v, YAML: string(y), Changed: false, Index: index, Freshness: s.freshness()})
			return
		}
	}
	c := &controller.Command{Type: controller.CmdSetSpec, Spec: controller.ParsedSpec(sp, y, caller(r.Context()).Name)}
	if req.IfVersion != 0 {
		// Checked again where the change applies: another apply may land
		// between the check above and this one.
		c.Spec.IfVersion = &req.IfVersion
	}
	res, err := s.commit(r, c)
	if errors.Is(err, controller.ErrSpecChanged) {
		writeError(w, http.StatusConflict, "%v: someone applied a spec since; run `detour spec diff` again", err)
		return
	} else if err != nil {
		s.writeStoreError(w, err)
		return
	}
	v = res.SpecVersion
	if v == 0 { // a leader of an older version does not say
		_, v = s.store.FSM().Spec()
	}
	writeJSON(w, http.StatusOK, SpecResponse{Version: v, YAML: string(y), Changed: true, Index: res.Index, Freshness: s.freshness()})
}

func (s *Server) diffSpec(w http.ResponseWriter, r *http.Request) {
	var req SpecRequest
	if !s.decodeSpec(w, r, &req) || !s.specSlot.acquire(w, r) {
		return
	}
	defer s.specSlot.release()
	next, _, ok := parseSpec(w, req.YAML)
	if !ok {
		return
	}
	y, err := next.Marshal() // the diff is of the specs as normalised
	if err != nil {
		writeError(w, http.StatusBadRequest, "the spec cannot be normalised: %v", err)
		return
	}
	s.catchUp(r.Context()) // the diff is against the spec in force, not this node's possibly older copy
	cur, v := s.store.FSM().Spec()
	var old []byte
	if cur != nil {
		old, _ = cur.Marshal()
	}
	d := SpecDiff{Version: v, Changes: specChanges(cur, next), Diff: lineDiff(string(old), string(y)), Warnings: convertSlice(next.Lint(), wireProblem)}
	if d.Warnings == nil {
		d.Warnings = []Problem{}
	}
	writeJSON(w, http.StatusOK, d)
}
