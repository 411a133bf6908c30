package wire

// GeoAnswer is one client-dependent answer of a geo or nearest record:
// a geo rule's answer (Match set), or a nearest record's answer from one
// pool (Datacenter and Location set).
type GeoAnswer struct {
	Match      []string  `json:"match,omitempty"`
	Datacenter string    `json:"datacenter,omitempty"`
	Location   *Location `json:"location,omitempty"`
	Pool       string    `json:"pool"`
	Answers    []string  `json:"answers"`
	Reason     string    `json:"reason"`
	Fallback   bool      `json:"fallback,omitempty"`
	// Pass: clients go on to the next matching rule, or the next
	// nearest pool.
	Pass bool `json:"pass,omitempty"`
}

// Location is a datacenter's place, in decimal degrees.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// GeoIPStatus is a node's geoip database: GET /v1/geoip.
type GeoIPStatus struct {
	Path   string `json:"path,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
	Type   string `json:"type,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Explain is GET /v1/explain: the answer a client gets from the node
// asked, and why.
type Explain struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Client string `json:"client"`
	// Place is where the node's database puts the client.
	Place ExplainPlace `json:"place"`
	// Rule (geo) or Pool (nearest) is what answers, with the answer's
	// words; Default is true when the record's own answer does.
	Rule    string   `json:"rule,omitempty"`
	Pool    string   `json:"pool,omitempty"`
	Answers []string `json:"answers"`
	Default bool     `json:"default,omitempty"`
	// Steps say, in order, how the answer was reached.
	Steps []string    `json:"steps"`
	GeoIP GeoIPStatus `json:"geoip"`
}

// ExplainPlace is where a database puts an address.
type ExplainPlace struct {
	Known     bool    `json:"known"`
	Continent string  `json:"continent,omitempty"`
	Country   string  `json:"country,omitempty"`
	Lat       float64 `json:"lat,omitempty"`
	Lon       float64 `json:"lon,omitempty"`
	Network   string  `json:"network,omitempty"`
}
