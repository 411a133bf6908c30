package wire

// SpecResponse is GET /v1/spec, and the reply to PUT /v1/spec.
type SpecResponse struct {
	Version uint64 `json:"version"`
	// YAML is the spec in force, zone files inlined.
	YAML string `json:"yaml"`
	// Changed is false when an apply found the spec already in force.
	Changed bool `json:"changed"`
	// Index is the log index of the latest change in the state shown;
	// for an apply, that of the change itself.
	Index     uint64    `json:"index"`
	Freshness Freshness `json:"freshness"`
}

// SpecRequest is the body of PUT /v1/spec and POST /v1/spec/diff.
type SpecRequest struct {
	// YAML is a whole spec with zone files inlined (the CLI inlines
	// them), as `detour check` accepts it.
	YAML string `json:"yaml"`
	// IfVersion, when set, applies only over that version: two operators
	// applying at once do not overwrite each other unseen.
	IfVersion uint64 `json:"if_version,omitempty"`
	// Guard: dry_run and force (PUT only).
	Guard
}

// SpecDiff is the reply to POST /v1/spec/diff.
type SpecDiff struct {
	Version uint64 `json:"version"`
	// Changes names what the new spec adds (+), removes (-) or changes
	// (~): datacenters, checks, pools, records, zones, providers.
	Changes []string `json:"changes"`
	// Diff is a line diff of the spec in force and the new one, both
	// normalised.
	Diff     string    `json:"diff"`
	Warnings []Problem `json:"warnings"`
}
