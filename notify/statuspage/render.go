package statuspage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// The page's forms, each served from memory.
const (
	formHTML = "text/html"
	formJSON = "application/json"
	formAtom = "application/atom+xml"
)

// rendered is the page in each of its forms, made once per change of
// the state and served until the next one.
type rendered struct {
	changed <-chan struct{} // closed when the state moves on
	cutOff  bool            // rendered while this node was cut off
	at      time.Time
	forms   map[string]form
}

// form is one rendering and its entity tag.
type form struct {
	body []byte
	etag string
}

// current returns the page as rendered for the current state, rendering
// it first when the state changed since.
func (s *Server) current() (*rendered, error) {
	cut := s.cutOff()
	if p := s.cache.Load(); p != nil && !closed(p.changed) && p.cutOff == cut {
		return p, nil
	}
	s.renderMu.Lock()
	defer s.renderMu.Unlock()
	if p := s.cache.Load(); p != nil && !closed(p.changed) && p.cutOff == cut {
		return p, nil // another request rendered it meanwhile
	}
	// Take the channel before reading: a change after it closes it,
	// and the next request renders again.
	changed := s.opts.State.Changed()
	p, err := s.render(s.Page())
	if err != nil {
		return nil, err
	}
	p.changed = changed
	s.cache.Store(p)
	s.renders.Add(1)
	return p, nil
}

// render makes every form of page.
func (s *Server) render(page Page) (*rendered, error) {
	var h bytes.Buffer
	if err := pageTemplate.Execute(&h, page); err != nil {
		return nil, err
	}
	var j bytes.Buffer
	enc := json.NewEncoder(&j)
	enc.SetIndent("", "  ")
	if err := enc.Encode(page); err != nil {
		return nil, err
	}
	a, err := s.atomFeed(page)
	if err != nil {
		return nil, err
	}
	p := &rendered{at: page.Generated, forms: map[string]form{}, cutOff: page.CutOff}
	for kind, body := range map[string][]byte{formHTML: h.Bytes(), formJSON: j.Bytes(), formAtom: a} {
		sum := sha256.Sum256(body)
		p.forms[kind] = form{body: body, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return p, nil
}

// serve answers with one form of the current page, or 304 when the
// client holds it already (If-None-Match, If-Modified-Since).
func (s *Server) serve(w http.ResponseWriter, r *http.Request, kind string) {
	p, err := s.current()
	if err != nil {
		s.opts.Logger.Error("status page rendering", "err", err)
		http.Error(w, "the status page could not be rendered", http.StatusInternalServerError)
		return
	}
	f := p.forms[kind]
	w.Header().Set("Content-Type", kind+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, "", p.at, bytes.NewReader(f.body))
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
