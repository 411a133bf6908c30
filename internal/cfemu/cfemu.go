// Package cfemu emulates the parts of Cloudflare's v4 API that detour's
// Cloudflare provider uses, for tests and benchmarks: DNS records list
// (paging with page/per_page and result_info, filters on name, type and
// comment), create, batch, PATCH, PUT and DELETE, bearer-token auth, and
// injectable 429 (with Retry-After) and 5xx responses. Responses follow the
// documented envelope: {"success", "errors", "messages", "result",
// "result_info"}.
package cfemu

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Record is a DNS record as the API shows it.
type Record struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Type       string    `json:"type"`
	Content    string    `json:"content"`
	TTL        int       `json:"ttl"`
	Proxied    bool      `json:"proxied"`
	Proxiable  bool      `json:"proxiable"`
	Comment    string    `json:"comment,omitempty"`
	Tags       []string  `json:"tags"`
	CreatedOn  time.Time `json:"created_on"`
	ModifiedOn time.Time `json:"modified_on"`
}

// Server is a running emulator.
type Server struct {
	*httptest.Server
	Token string
	// MinTTL is the lowest TTL accepted besides 1 (automatic): 60, or 30
	// for an Enterprise zone.
	MinTTL int

	mu       sync.Mutex
	zones    map[string]map[string]*Record // zone ID -> record ID -> record
	nextID   int
	requests map[string]int // "GET list", "POST batch", ...
	faults   []fault
	delay    time.Duration
}

type fault struct {
	status     int
	retryAfter time.Duration
}

// New starts an emulator serving zoneIDs on loopback, accepting token.
func New(token string, zoneIDs ...string) *Server {
	s := &Server{Token: token, MinTTL: 60, zones: map[string]map[string]*Record{}, requests: map[string]int{}}
	for _, z := range zoneIDs {
		s.zones[z] = map[string]*Record{}
	}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Listener.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	s.Server.Listener = l
	s.Server.Start()
	return s
}

// BaseURL is what base_url should say to reach the emulator.
func (s *Server) BaseURL() string { return s.URL + "/client/v4/" }

// Fail makes the next n requests answer status (429 with retryAfter as
// Retry-After, or a 5xx).
func (s *Server) Fail(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults = append(s.faults, fault{status, retryAfter})
	}
}

// SetDelay makes every request take at least d (a slow API).
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Requests returns how many requests were served by kind ("GET list",
// "POST batch", "PATCH record", ...), and the total.
func (s *Server) Requests() (map[string]int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out, n := map[string]int{}, 0
	for k, v := range s.requests {
		out[k] = v
		n += v
	}
	return out, n
}

// ResetRequests zeroes the request counters.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
}

// Records returns a zone's records sorted by name, type and content.
func (s *Server) Records(zoneID string) []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.zones[zoneID] {
		out = append(out, *r)
	}
	sortRecords(out)
	return out
}

// Put stores a record as if someone had made it by hand (a foreign record,
// or an edit of detour's); an empty ID creates one. It returns the ID.
func (s *Server) Put(zoneID string, r Record) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.ID == "" {
		r.ID = s.newID()
		r.CreatedOn = time.Now().UTC()
	}
	r.ModifiedOn = time.Now().UTC()
	s.zones[zoneID][r.ID] = &r
	return r.ID
}

// Delete removes a record by hand.
func (s *Server) Delete(zoneID, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zones[zoneID], id)
}

func (s *Server) newID() string {
	s.nextID++
	return fmt.Sprintf("%032x", s.nextID)
}

func sortRecords(rs []Record) {
	sort.Slice(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Content < b.Content
	})
}

// apiError is an entry of the envelope's errors list.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, errs ...apiError) {
	writeJSON(w, status, map[string]any{"success": false, "errors": errs, "messages": []any{}, "result": nil})
}

func ok(w http.ResponseWriter, result any, info any) {
	body := map[string]any{"success": true, "errors": []any{}, "messages": []any{}, "result": result}
	if info != nil {
		body["result_info"] = info
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/client/v4")
	parts := strings.Split(strings.Trim(path, "/"), "/")
	kind := r.Method + " ?"
	switch {
	case len(parts) == 3 && parts[0] == "zones" && parts[2] == "dns_records":
		kind = map[string]string{"GET": "GET list", "POST": "POST record"}[r.Method]
	case len(parts) == 4 && parts[0] == "zones" && parts[2] == "dns_records" && parts[3] == "batch":
		kind = "POST batch"
	case len(parts) == 4 && parts[0] == "zones" && parts[2] == "dns_records":
		kind = r.Method + " record"
	}
	s.mu.Lock()
	s.requests[kind]++
	delay := s.delay
	var f *fault
	if len(s.faults) > 0 {
		f = &s.faults[0]
		s.faults = s.faults[1:]
	}
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if f != nil {
		if f.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int((f.retryAfter+time.Second-1)/time.Second)))
			fail(w, f.status, apiError{971, "Please wait and consider throttling your request speed"})
			return
		}
		fail(w, f.status, apiError{10000, "Internal server error"})
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		fail(w, http.StatusBadRequest, apiError{9106, "Missing X-Auth-Key, X-Auth-Email or Authorization headers"})
		return
	}
	if auth != "Bearer "+s.Token {
		fail(w, http.StatusForbidden, apiError{9109, "Invalid access token"})
		return
	}
	if len(parts) < 3 || parts[0] != "zones" || parts[2] != "dns_records" {
		fail(w, http.StatusNotFound, apiError{7000, "No route for that URI"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	zone := s.zones[parts[1]]
	if zone == nil {
		fail(w, http.StatusNotFound, apiError{7003, "Could not route to /zones/" + parts[1] + ", perhaps your object identifier is invalid?"})
		return
	}
	switch kind {
	case "GET list":
		s.list(w, r, zone)
	case "POST record":
		var in Record
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			fail(w, http.StatusBadRequest, apiError{9207, "Request body is invalid: " + err.Error()})
			return
		}
		next := clone(zone)
		rec, e := s.create(next, in)
		if e != nil {
			fail(w, http.StatusBadRequest, *e)
			return
		}
		s.zones[parts[1]] = next
		ok(w, rec, nil)
	case "POST batch":
		s.batch(w, r, parts[1])
	case "PATCH record", "PUT record", "DELETE record":
		next := clone(zone)
		var res any
		var e *apiError
		switch r.Method {
		case "DELETE":
			if next[parts[3]] == nil {
				e = &apiError{81044, "Record does not exist."}
			}
			delete(next, parts[3])
			res = map[string]string{"id": parts[3]}
		default:
			var in map[string]json.RawMessage
			if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
				fail(w, http.StatusBadRequest, apiError{9207, "Request body is invalid: " + err.Error()})
				return
			}
			in["id"], _ = json.Marshal(parts[3])
			res, e = s.edit(next, in, r.Method == "PUT")
		}
		if e != nil {
			fail(w, http.StatusBadRequest, *e)
			return
		}
		s.zones[parts[1]] = next
		ok(w, res, nil)
	default:
		fail(w, http.StatusMethodNotAllowed, apiError{10405, "Method not allowed"})
	}
}

func clone(z map[string]*Record) map[string]*Record {
	out := make(map[string]*Record, len(z))
	for k, v := range z {
		c := *v
		out[k] = &c
	}
	return out
}

// list serves GET dns_records: filters name (exact, or name.exact), type,
// comment.exact / comment.startswith / comment.present, then pages.
func (s *Server) list(w http.ResponseWriter, r *http.Request, zone map[string]*Record) {
	q := r.URL.Query()
	page, perPage := atoiOr(q.Get("page"), 1), atoiOr(q.Get("per_page"), 100)
	if page < 1 || perPage < 1 || perPage > 5000000 {
		fail(w, http.StatusBadRequest, apiError{1004, "DNS Validation Error: page and per_page must be positive"})
		return
	}
	name := strings.ToLower(strings.TrimSuffix(firstOf(q.Get("name"), q.Get("name.exact")), "."))
	var out []Record
	for _, rec := range zone {
		c := strings.ToLower(rec.Comment)
		switch {
		case name != "" && rec.Name != name,
			q.Get("type") != "" && rec.Type != q.Get("type"),
			q.Has("comment.exact") && c != strings.ToLower(q.Get("comment.exact")),
			q.Has("comment.startswith") && !strings.HasPrefix(c, strings.ToLower(q.Get("comment.startswith"))),
			q.Has("comment.present") && c == "":
			continue
		}
		out = append(out, *rec)
	}
	sortRecords(out)
	total := len(out)
	lo := min((page-1)*perPage, total)
	hi := min(lo+perPage, total)
	ok(w, out[lo:hi], map[string]int{
		"page": page, "per_page": perPage, "count": hi - lo, "total_count": total,
		"total_pages": (total + perPage - 1) / perPage,
	})
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func firstOf(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// batch runs deletes, patches, puts, then posts, in one transaction: all
// or nothing, as the documented endpoint does.
func (s *Server) batch(w http.ResponseWriter, r *http.Request, zoneID string) {
	var in struct {
		Deletes []struct {
			ID string `json:"id"`
		} `json:"deletes"`
		Patches []map[string]json.RawMessage `json:"patches"`
		Puts    []map[string]json.RawMessage `json:"puts"`
		Posts   []Record                     `json:"posts"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, apiError{9207, "Request body is invalid: " + err.Error()})
		return
	}
	next := clone(s.zones[zoneID])
	res := map[string][]*Record{"deletes": {}, "patches": {}, "puts": {}, "posts": {}}
	for _, d := range in.Deletes {
		rec := next[d.ID]
		if rec == nil {
			fail(w, http.StatusBadRequest, apiError{81044, "Record " + d.ID + " does not exist."})
			return
		}
		delete(next, d.ID)
		res["deletes"] = append(res["deletes"], rec)
	}
	for _, group := range []struct {
		key string
		in  []map[string]json.RawMessage
		put bool
	}{{"patches", in.Patches, false}, {"puts", in.Puts, true}} {
		for _, p := range group.in {
			rec, e := s.edit(next, p, group.put)
			if e != nil {
				fail(w, http.StatusBadRequest, *e)
				return
			}
			res[group.key] = append(res[group.key], rec)
		}
	}
	for _, p := range in.Posts {
		rec, e := s.create(next, p)
		if e != nil {
			fail(w, http.StatusBadRequest, *e)
			return
		}
		res["posts"] = append(res["posts"], rec)
	}
	s.zones[zoneID] = next
	ok(w, res, nil)
}

func (s *Server) create(zone map[string]*Record, in Record) (*Record, *apiError) {
	in.Name = strings.ToLower(strings.TrimSuffix(in.Name, "."))
	if e := s.check(zone, &in); e != nil {
		return nil, e
	}
	in.ID = s.newID()
	in.CreatedOn = time.Now().UTC()
	in.ModifiedOn = in.CreatedOn
	if in.Tags == nil {
		in.Tags = []string{}
	}
	zone[in.ID] = &in
	return &in, nil
}

// edit applies a PATCH (only the fields given) or PUT (the whole record).
func (s *Server) edit(zone map[string]*Record, in map[string]json.RawMessage, put bool) (*Record, *apiError) {
	var id string
	_ = json.Unmarshal(in["id"], &id)
	old := zone[id]
	if old == nil {
		return nil, &apiError{81044, "Record " + id + " does not exist."}
	}
	rec := *old
	if put {
		rec = Record{ID: old.ID, CreatedOn: old.CreatedOn, Tags: []string{}}
	}
	raw, _ := json.Marshal(in)
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, &apiError{9207, "Request body is invalid: " + err.Error()}
	}
	rec.ID = old.ID
	rec.Name = strings.ToLower(strings.TrimSuffix(rec.Name, "."))
	delete(zone, id)
	if e := s.check(zone, &rec); e != nil {
		return nil, e
	}
	rec.ModifiedOn = time.Now().UTC()
	zone[id] = &rec
	return &rec, nil
}

// check validates a record against the zone (which does not hold it):
// the documented rules detour could trip over.
func (s *Server) check(zone map[string]*Record, r *Record) *apiError {
	if r.TTL != 1 && (r.TTL < s.MinTTL || r.TTL > 86400) {
		return &apiError{9021, fmt.Sprintf("Invalid TTL. Must be between %d and 86400 seconds, or 1 for Automatic.", s.MinTTL)}
	}
	switch r.Type {
	case "A", "AAAA":
		ip, err := netip.ParseAddr(r.Content)
		if err != nil || ip.Is4() != (r.Type == "A") {
			return &apiError{9005, "Content for " + r.Type + " record is invalid."}
		}
		r.Proxiable = true
	case "CNAME":
		r.Content = strings.TrimSuffix(r.Content, ".")
		if r.Content == "" || r.Content == r.Name {
			return &apiError{9007, "Content for CNAME record is invalid."}
		}
		r.Proxiable = true
	default:
		return &apiError{9000, "the emulator supports A, AAAA and CNAME records"}
	}
	if r.Proxied && !r.Proxiable {
		return &apiError{9004, "This record type cannot be proxied."}
	}
	for _, o := range zone {
		if o.Name != r.Name {
			continue
		}
		if o.Type == r.Type && strings.EqualFold(o.Content, r.Content) {
			return &apiError{81058, "An identical record already exists."}
		}
		if o.Type == "CNAME" || r.Type == "CNAME" {
			return &apiError{81053, "An A, AAAA, or CNAME record with that host already exists."}
		}
	}
	return nil
}
