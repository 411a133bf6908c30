package r53emu

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const apiPrefix = "/2013-04-01/"

// serve authenticates, applies injected faults, and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if e := s.gate(r); e != nil {
		e.write(w)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, apiPrefix)
	parts := strings.Split(strings.TrimSuffix(path, "/"), "/")
	switch {
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		s.count("POST rrset")
		s.changeRRSets(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset":
		s.count("GET rrset")
		s.listRRSets(w, r, parts[1])
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "change":
		s.count("GET change")
		s.getChange(w, parts[1])
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "hostedzone":
		s.count("GET hostedzone")
		s.getZone(w, parts[1])
	case r.Method == http.MethodGet && len(parts) == 1 && parts[0] == "hostedzonesbyname":
		s.count("GET hostedzonesbyname")
		s.zonesByName(w, r)
	default:
		(&apiError{http.StatusNotFound, "UnknownOperationException", fmt.Sprintf("%s %s is not emulated", r.Method, r.URL.Path), nil}).write(w)
	}
}

func (s *Server) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[kind]++
}

// gate checks the request's credentials and answers injected faults and
// rate limiting.
func (s *Server) gate(r *http.Request) *apiError {
	auth := r.Header.Get("Authorization")
	const scheme = "AWS4-HMAC-SHA256 Credential="
	if !strings.HasPrefix(auth, scheme) {
		return &apiError{http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token", nil}
	}
	cred, _, _ := strings.Cut(strings.TrimPrefix(auth, scheme), ",")
	scope := strings.Split(cred, "/") // AKID/date/region/service/aws4_request
	if len(scope) != 5 || scope[0] != s.AccessKeyID {
		return &apiError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.", nil}
	}
	if scope[3] != "route53" {
		return &apiError{http.StatusForbidden, "SignatureDoesNotMatch", "Credential should be scoped to correct service: 'route53'.", nil}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) > 0 {
		code := s.faults[0]
		s.faults = s.faults[1:]
		s.requests["throttled"]++
		return faultError(code)
	}
	if s.limit != nil && !s.limit.take(time.Now()) {
		s.requests["throttled"]++
		return faultError("Throttling")
	}
	return nil
}

func faultError(code string) *apiError {
	switch code {
	case "Throttling":
		return &apiError{http.StatusBadRequest, code, "Rate exceeded", nil}
	case "PriorRequestNotComplete":
		return &apiError{http.StatusBadRequest, code, "The request was rejected because Route 53 was still processing a prior request.", nil}
	case "ServiceUnavailable":
		return &apiError{http.StatusServiceUnavailable, code, "Service unavailable", nil}
	}
	return &apiError{http.StatusBadRequest, code, "injected fault", nil}
}

// Wire shapes of the documented XML.

type wireRR struct {
	Value string `xml:"Value"`
}

type wireAlias struct {
	HostedZoneID         string `xml:"HostedZoneId"`
	DNSName              string `xml:"DNSName"`
	EvaluateTargetHealth bool   `xml:"EvaluateTargetHealth"`
}

type wireRRSet struct {
	Name            string     `xml:"Name"`
	Type            string     `xml:"Type"`
	SetIdentifier   string     `xml:"SetIdentifier,omitempty"`
	Weight          *int64     `xml:"Weight,omitempty"`
	TTL             *int64     `xml:"TTL,omitempty"`
	ResourceRecords []wireRR   `xml:"ResourceRecords>ResourceRecord,omitempty"`
	AliasTarget     *wireAlias `xml:"AliasTarget,omitempty"`
}

type wireChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

func toWire(r *RRSet) wireRRSet {
	w := wireRRSet{Name: r.Name, Type: r.Type, SetIdentifier: r.SetIdentifier, Weight: r.Weight}
	if r.Alias != nil {
		w.AliasTarget = &wireAlias{r.Alias.HostedZoneID, r.Alias.DNSName, r.Alias.Evaluate}
		return w
	}
	ttl := r.TTL
	w.TTL = &ttl
	for _, v := range r.Values {
		w.ResourceRecords = append(w.ResourceRecords, wireRR{v})
	}
	return w
}

func fromWire(w wireRRSet) RRSet {
	r := RRSet{Name: CanonicalName(w.Name), Type: strings.ToUpper(w.Type), SetIdentifier: w.SetIdentifier, Weight: w.Weight}
	if w.TTL != nil {
		r.TTL = *w.TTL
	}
	for _, v := range w.ResourceRecords {
		r.Values = append(r.Values, v.Value)
	}
	if w.AliasTarget != nil {
		r.Alias = &Alias{w.AliasTarget.HostedZoneID, CanonicalName(w.AliasTarget.DNSName), w.AliasTarget.EvaluateTargetHealth}
	}
	return r
}

func (s *Server) changeRRSets(w http.ResponseWriter, r *http.Request, zoneID string) {
	var req struct {
		ChangeBatch struct {
			Comment string `xml:"Comment"`
			Changes []struct {
				Action string    `xml:"Action"`
				RRSet  wireRRSet `xml:"ResourceRecordSet"`
			} `xml:"Changes>Change"`
		} `xml:"ChangeBatch"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 32<<20))
	if err == nil {
		err = xml.Unmarshal(body, &req)
	}
	if err != nil {
		(&apiError{http.StatusBadRequest, "InvalidInput", "Could not parse the request: " + err.Error(), nil}).write(w)
		return
	}
	batch := make([]Change, len(req.ChangeBatch.Changes))
	for i, c := range req.ChangeBatch.Changes {
		batch[i] = Change{Action: c.Action, Set: fromWire(c.RRSet)}
	}
	info, e := s.apply(zoneID, req.ChangeBatch.Comment, batch)
	if e != nil {
		e.write(w)
		return
	}
	writeXML(w, http.StatusOK, struct {
		XMLName    xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ChangeResourceRecordSetsResponse"`
		ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
	}{ChangeInfo: info})
}

func (s *Server) getChange(w http.ResponseWriter, id string) {
	s.mu.Lock()
	c := s.changes[id]
	var info wireChangeInfo
	if c != nil {
		info = c.info(time.Now())
	}
	s.mu.Unlock()
	if c == nil {
		(&apiError{http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist: " + id, nil}).write(w)
		return
	}
	writeXML(w, http.StatusOK, struct {
		XMLName    xml.Name       `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetChangeResponse"`
		ChangeInfo wireChangeInfo `xml:"ChangeInfo"`
	}{ChangeInfo: info})
}

func (c *change) info(now time.Time) wireChangeInfo {
	status := "PENDING"
	if !now.Before(c.insyncAt) {
		status = "INSYNC"
	}
	return wireChangeInfo{ID: "/change/" + c.id, Status: status, SubmittedAt: c.submitted.Format(time.RFC3339Nano), Comment: c.comment}
}

func (s *Server) listRRSets(w http.ResponseWriter, r *http.Request, zoneID string) {
	q := r.URL.Query()
	max := MaxItems
	if v := q.Get("maxitems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			(&apiError{http.StatusBadRequest, "InvalidInput", "maxitems must be a positive integer", nil}).write(w)
			return
		}
		max = min(n, MaxItems)
	}
	if q.Get("type") != "" && q.Get("name") == "" {
		(&apiError{http.StatusBadRequest, "InvalidInput", "The input is not valid: type requires name", nil}).write(w)
		return
	}
	s.mu.Lock()
	z := s.zones[zoneID]
	var sets []RRSet
	if z != nil {
		sets = z.sorted()
	}
	s.mu.Unlock()
	if z == nil {
		noZone(w, zoneID)
		return
	}
	from := setKey{name: q.Get("name"), typ: q.Get("type"), id: q.Get("identifier")}
	if from.name != "" {
		from.name = CanonicalName(from.name)
	}
	type resp struct {
		XMLName              xml.Name    `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListResourceRecordSetsResponse"`
		ResourceRecordSets   []wireRRSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated          bool        `xml:"IsTruncated"`
		NextRecordName       string      `xml:"NextRecordName,omitempty"`
		NextRecordType       string      `xml:"NextRecordType,omitempty"`
		NextRecordIdentifier string      `xml:"NextRecordIdentifier,omitempty"`
		MaxItems             int         `xml:"MaxItems"`
	}
	out := resp{MaxItems: max}
	for i := range sets {
		if from.name != "" && compareKeys(sets[i].key(), from) < 0 {
			continue
		}
		if len(out.ResourceRecordSets) == max {
			out.IsTruncated = true
			out.NextRecordName, out.NextRecordType, out.NextRecordIdentifier = sets[i].Name, sets[i].Type, sets[i].SetIdentifier
			break
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, toWire(&sets[i]))
	}
	writeXML(w, http.StatusOK, out)
}

func noZone(w http.ResponseWriter, id string) {
	(&apiError{http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: " + id, nil}).write(w)
}

type wireZone struct {
	ID                     string `xml:"Id"`
	Name                   string `xml:"Name"`
	CallerReference        string `xml:"CallerReference"`
	PrivateZone            bool   `xml:"Config>PrivateZone"`
	ResourceRecordSetCount int    `xml:"ResourceRecordSetCount"`
}

func (z *zone) wire() wireZone {
	return wireZone{ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: "r53emu-" + z.id, ResourceRecordSetCount: len(z.sets)}
}

func (s *Server) getZone(w http.ResponseWriter, id string) {
	s.mu.Lock()
	z := s.zones[id]
	var wz wireZone
	var ns []string
	if z != nil {
		wz = z.wire()
		if r := z.sets[setKey{z.name, "NS", ""}]; r != nil {
			ns = r.Values
		}
	}
	s.mu.Unlock()
	if z == nil {
		noZone(w, id)
		return
	}
	writeXML(w, http.StatusOK, struct {
		XMLName     xml.Name `xml:"https://route53.amazonaws.com/doc/2013-04-01/ GetHostedZoneResponse"`
		HostedZone  wireZone `xml:"HostedZone"`
		NameServers []string `xml:"DelegationSet>NameServers>NameServer"`
	}{HostedZone: wz, NameServers: ns})
}

// zonesByName lists hosted zones in order of reversed name, then ID,
// from dnsname (and hostedzoneid).
func (s *Server) zonesByName(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	max := 100
	if n, err := strconv.Atoi(q.Get("maxitems")); err == nil && n > 0 {
		max = min(n, 100)
	}
	s.mu.Lock()
	var zs []wireZone
	for _, z := range s.zones {
		zs = append(zs, z.wire())
	}
	s.mu.Unlock()
	order := func(name, id string) string { return reversed(name) + " " + id }
	sortZones(zs, order)
	start := ""
	if d := q.Get("dnsname"); d != "" {
		start = order(CanonicalName(d), q.Get("hostedzoneid"))
	}
	type resp struct {
		XMLName          xml.Name   `xml:"https://route53.amazonaws.com/doc/2013-04-01/ ListHostedZonesByNameResponse"`
		HostedZones      []wireZone `xml:"HostedZones>HostedZone"`
		DNSName          string     `xml:"DNSName,omitempty"`
		IsTruncated      bool       `xml:"IsTruncated"`
		NextDNSName      string     `xml:"NextDNSName,omitempty"`
		NextHostedZoneID string     `xml:"NextHostedZoneId,omitempty"`
		MaxItems         int        `xml:"MaxItems"`
	}
	out := resp{DNSName: q.Get("dnsname"), MaxItems: max}
	for _, z := range zs {
		if order(z.Name, strings.TrimPrefix(z.ID, "/hostedzone/")) < start {
			continue
		}
		if len(out.HostedZones) == max {
			out.IsTruncated, out.NextDNSName, out.NextHostedZoneID = true, z.Name, strings.TrimPrefix(z.ID, "/hostedzone/")
			break
		}
		out.HostedZones = append(out.HostedZones, z)
	}
	writeXML(w, http.StatusOK, out)
}

func sortZones(zs []wireZone, order func(name, id string) string) {
	for i := 1; i < len(zs); i++ {
		for j := i; j > 0 && order(zs[j].Name, zs[j].ID) < order(zs[j-1].Name, zs[j-1].ID); j-- {
			zs[j], zs[j-1] = zs[j-1], zs[j]
		}
	}
}
