// Package examples holds example specs. The dev spec is embedded in the
// binary so that `detour agent --dev` runs from any directory.
package examples

import _ "embed"

// DevSpec is examples/dev/spec.yaml, the spec `agent --dev` serves by
// default.
//
//go:embed dev/spec.yaml
var DevSpec []byte
