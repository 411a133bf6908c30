package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
)

// ZoneDigests fingerprints each zone's part of the spec, by zone name:
// the zone's own settings and text and the definitions of the
// health-driven records that live in it. Two specs give a zone the same
// digest when they define it alike, whatever else differs, so a
// replicated state can tell which zones a spec change touches from the
// spec alone. The digest depends on nothing but the spec's values (no
// DNS library's rendering of them). It is nil until Validate succeeds.
func (s *Spec) ZoneDigests() map[string]string {
	if s.compiled == nil {
		return nil
	}
	out := make(map[string]string, len(s.Zones))
	for i := range s.Zones {
		z := &s.Zones[i]
		cz := s.compiled[z.Name]
		if cz == nil {
			continue
		}
		h := sha256.New()
		// The zone's settings, its text apart (long: hashed as is).
		settings := *z
		settings.Static, settings.FileText = "", ""
		writeJSON(h, settings)
		writeText(h, z.Static)
		writeText(h, z.FileText)
		for _, r := range cz.Dynamic {
			writeJSON(h, r)
		}
		out[z.Name] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// writeJSON writes v's JSON, length first, to h.
func writeJSON(h hash.Hash, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Spec types are plain data: never here.
		b = []byte(err.Error())
	}
	writeText(h, string(b))
}

// writeText writes s, length first, to h.
func writeText(h hash.Hash, s string) {
	fmt.Fprintf(h, "%d:", len(s))
	_, _ = h.Write([]byte(s))
}
