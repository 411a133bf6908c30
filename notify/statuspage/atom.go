package statuspage

import (
	"bytes"
	"cmp"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// The Atom feed (RFC 4287) lists incident messages and failovers, so
// customers can subscribe in any feed reader or chat integration.

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Link    []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomEntry struct {
	Title    string       `xml:"title"`
	ID       string       `xml:"id"`
	Updated  string       `xml:"updated"`
	Category atomCategory `xml:"category"`
	Content  atomContent  `xml:"content"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomContent struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

func (s *Server) atom(w http.ResponseWriter, r *http.Request) {
	s.serve(w, r, formAtom)
}

// atomFeed renders the feed of page. Its links are built from the
// configured public URL, or relative to the feed: never from a
// request's Host header, which a client chooses.
func (s *Server) atomFeed(p Page) ([]byte, error) {
	base := strings.TrimSuffix(s.opts.PublicURL, "/")
	home := "./"
	if base != "" {
		home = base + "/"
	}
	f := atomFeed{
		Title: p.Title, ID: "urn:detour:status:" + strings.ReplaceAll(strings.ToLower(p.Title), " ", "-"),
		Updated: atomTime(p.StateTime),
		Link: []atomLink{{Href: home, Type: "text/html"},
			{Href: strings.TrimPrefix(base+"/feed.atom", "/"), Rel: "self", Type: "application/atom+xml"}},
		Author: atomPerson{Name: p.Title},
	}
	for _, h := range p.History {
		f.Entries = append(f.Entries, atomEntry{
			Title: h.Title, ID: "urn:detour:event:" + h.ID, Updated: atomTime(h.Time),
			Category: atomCategory{Term: h.Kind},
			Content:  atomContent{Type: "text", Body: cmp.Or(h.Message, h.Title)},
		})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func atomTime(t time.Time) string {
	if t.IsZero() {
		t = time.Unix(0, 0)
	}
	return t.UTC().Format(time.RFC3339)
}
