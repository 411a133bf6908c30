// Package r53emu emulates the parts of the Route 53 REST/XML API
// (version 2013-04-01) that detour's route53 provider and `detour spec
// import` use, for tests and benchmarks: ChangeResourceRecordSets (atomic
// batches of CREATE, DELETE and UPSERT with the documented checks and
// limits), GetChange (PENDING until an injectable delay has passed, then
// INSYNC), ListResourceRecordSets (DNS-ordered, paged with name, type,
// identifier and maxitems), GetHostedZone and ListHostedZonesByName.
// Bodies follow the documented XML shapes, errors the documented
// ErrorResponse envelope, so the real AWS SDK parses them.
//
// Requests must carry a SigV4 Authorization header for the emulator's
// access key ID and the route53 service; the signature itself is not
// verified. Faults can be injected: Throttling and PriorRequestNotComplete
// answers, a request rate limit, and slow INSYNC.
package r53emu

import (
	"encoding/xml"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Namespace is the XML namespace of every Route 53 document.
const Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

// Route 53's documented limits.
const (
	// MaxRecordsPerBatch is how many ResourceRecord elements one
	// ChangeResourceRecordSets request may hold (UPSERT counting twice).
	MaxRecordsPerBatch = 1000
	// MaxValueCharsPerBatch is the sum of the lengths of all Value
	// elements one request may hold (UPSERT counting twice).
	MaxValueCharsPerBatch = 32000
	// MaxItems is the largest (and default) page of a listing.
	MaxItems = 300
)

// RRSet is a resource record set as Route 53 holds it. Name is stored
// lower-case, fully qualified and escaped as Route 53 lists it (\052 for
// a leading *).
type RRSet struct {
	Name          string
	Type          string
	TTL           int64
	Values        []string
	SetIdentifier string
	Weight        *int64
	// Alias, when set, makes the set an alias of another name.
	Alias *Alias
}

// Alias is an alias target.
type Alias struct {
	HostedZoneID string
	DNSName      string
	Evaluate     bool
}

type setKey struct{ name, typ, id string }

func (r *RRSet) key() setKey { return setKey{r.Name, r.Type, r.SetIdentifier} }

type zone struct {
	id, name string
	sets     map[setKey]*RRSet
}

type change struct {
	id        string
	submitted time.Time
	insyncAt  time.Time
	comment   string
}

// Server is a running emulator.
type Server struct {
	*httptest.Server
	// AccessKeyID is the only access key accepted.
	AccessKeyID string

	mu       sync.Mutex
	zones    map[string]*zone
	changes  map[string]*change
	nextID   int
	requests map[string]int
	faults   []string // error codes to answer the next requests with
	insync   time.Duration
	limit    *bucket
	batches  [][]string // every accepted batch, as "ACTION name type" lines
}

// New starts an emulator on loopback accepting accessKeyID.
func New(accessKeyID string) *Server {
	s := &Server{AccessKeyID: accessKeyID, zones: map[string]*zone{}, changes: map[string]*change{}, requests: map[string]int{}}
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

// Endpoint is what the SDK's BaseEndpoint (or a spec's base_url) should
// say to reach the emulator.
func (s *Server) Endpoint() string { return s.URL + "/" }

// AddZone creates a hosted zone with its SOA and NS record sets, as
// Route 53 does.
func (s *Server) AddZone(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name = CanonicalName(name)
	z := &zone{id: id, name: name, sets: map[setKey]*RRSet{}}
	for _, r := range []RRSet{
		{Name: name, Type: "SOA", TTL: 900, Values: []string{"ns-1.awsdns-00.test. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}},
		{Name: name, Type: "NS", TTL: 172800, Values: []string{"ns-1.awsdns-00.test.", "ns-2.awsdns-00.test."}},
	} {
		z.sets[r.key()] = &r
	}
	s.zones[id] = z
}

// Fail makes the next n requests answer the error code: "Throttling"
// or "PriorRequestNotComplete" (HTTP 400), or any other code (HTTP 400).
func (s *Server) Fail(n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := 0; i < n; i++ {
		s.faults = append(s.faults, code)
	}
}

// SetRateLimit makes the emulator answer Throttling past perSecond
// requests a second (a burst of burst); 0 removes the limit. Route 53
// allows 5 requests a second per account.
func (s *Server) SetRateLimit(perSecond float64, burst int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limit = nil
	if perSecond > 0 {
		s.limit = &bucket{rate: perSecond, burst: float64(burst), tokens: float64(burst), last: time.Now()}
	}
}

// SetInsyncDelay makes each accepted change stay PENDING for d.
func (s *Server) SetInsyncDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.insync = d
}

// Requests returns how many requests were served by kind ("POST
// rrset", "GET rrset", "GET change", "GET hostedzone", "GET
// hostedzonesbyname", "throttled"), and the total.
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

// ResetRequests zeroes the request counters and the batch log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = map[string]int{}
	s.batches = nil
}

// Batches returns every accepted change batch since the last reset, each
// as "ACTION name type" lines.
func (s *Server) Batches() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.batches)
}

// RecordSets returns a zone's record sets in Route 53's listing order.
func (s *Server) RecordSets(zoneID string) []RRSet {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[zoneID]
	if z == nil {
		return nil
	}
	return z.sorted()
}

// Put stores a record set as if someone had made it by hand, replacing
// any set of the same name, type and identifier.
func (s *Server) Put(zoneID string, r RRSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.Name = CanonicalName(r.Name)
	r.Values = slices.Clone(r.Values)
	if r.Alias != nil {
		a := *r.Alias
		a.DNSName = CanonicalName(a.DNSName)
		r.Alias = &a
	}
	s.zones[zoneID].sets[r.key()] = &r
}

// Delete removes a record set by hand.
func (s *Server) Delete(zoneID, name, typ, setID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.zones[zoneID].sets, setKey{CanonicalName(name), typ, setID})
}

func (z *zone) sorted() []RRSet {
	out := make([]RRSet, 0, len(z.sets))
	for _, r := range z.sets {
		c := *r
		c.Values = slices.Clone(r.Values)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b RRSet) int { return compareKeys(a.key(), b.key()) })
	return out
}

// compareKeys orders record sets as ListResourceRecordSets does: by name
// with its labels reversed ("test.example.www."), then type, then
// identifier.
func compareKeys(a, b setKey) int {
	if c := strings.Compare(reversed(a.name), reversed(b.name)); c != 0 {
		return c
	}
	if c := strings.Compare(a.typ, b.typ); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

func reversed(name string) string {
	labels := strings.Split(strings.TrimSuffix(name, "."), ".")
	slices.Reverse(labels)
	return strings.Join(labels, ".") + "."
}

// CanonicalName returns name as Route 53 stores it: lower-case, fully
// qualified, with characters other than a-z, 0-9, - and _ escaped as
// \ooo (a leading * becomes \052). Escapes already present are kept.
func CanonicalName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '\\' && i+3 < len(name) && isOctal(name[i+1:i+4]):
			b.WriteString(name[i : i+4])
			i += 3
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	return b.String()
}

var octal = regexp.MustCompile(`^[0-3][0-7][0-7]$`)

func isOctal(s string) bool { return octal.MatchString(s) }

// bucket is a token bucket for SetRateLimit.
type bucket struct {
	rate, burst, tokens float64
	last                time.Time
}

func (b *bucket) take(now time.Time) bool {
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// apiError is an error answer: HTTP status, code and message.
type apiError struct {
	status        int
	code, message string
	messages      []string // InvalidChangeBatch's list
}

func (e *apiError) write(w http.ResponseWriter) {
	type errBody struct {
		Type     string   `xml:"Type"`
		Code     string   `xml:"Code"`
		Message  string   `xml:"Message"`
		Messages []string `xml:"messages>Message,omitempty"`
	}
	doc := struct {
		XMLName   xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ErrorResponse"`
		Error     errBody  `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}{Error: errBody{Type: "Sender", Code: e.code, Message: e.message, Messages: e.messages}, RequestID: "r53emu"}
	if e.status >= 500 {
		doc.Error.Type = "Receiver"
	}
	writeXML(w, e.status, doc)
}

func writeXML(w http.ResponseWriter, status int, doc any) {
	body, err := xml.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-RequestId", "r53emu")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
