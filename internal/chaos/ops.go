package chaos

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Do makes operation in on node n and classifies its reply.
func (c *Cluster) Do(n *Node, in OpInput) OpOutput {
	var (
		method = http.MethodPost
		path   string
		body   any
	)
	pool := func(i int) string { return fmt.Sprintf("app-dc%d", i+1) }
	switch in.Kind {
	case OpDrain:
		path, body = "/v1/overrides/drain", map[string]any{"target": pool(in.Arg), "reason": "chaos", "force": true}
	case OpUndrain:
		path, body = "/v1/overrides/undrain", map[string]any{"target": pool(in.Arg)}
	case OpPin:
		path, body = "/v1/overrides/pin", map[string]any{"record": "app.example.test", "type": "A", "pool": pool(in.Arg), "reason": "chaos", "force": true}
	case OpRelease:
		path, body = "/v1/overrides/release", map[string]any{"record": "app.example.test", "type": "A"}
	case OpSpec:
		method, path, body = http.MethodPut, "/v1/spec", map[string]any{"yaml": SpecText(c.Lab, in.Arg), "force": true}
	case OpIncident:
		path, body = "/v1/incidents", map[string]any{"title": fmt.Sprintf("chaos-%d", in.Arg), "message": "chaos"}
	case OpRead:
		st, err := c.ReadState(n)
		if err != nil {
			return OpOutput{Outcome: Unknown, Detail: err.Error()}
		}
		return OpOutput{Outcome: Applied, State: st, Version: st.Version}
	}
	code, b, err := c.Call(n, method, path, body)
	detail := fmt.Sprintf("%d %s", code, firstLine(string(b)))
	switch {
	case err != nil || code >= 500:
		if err != nil {
			detail = err.Error()
		}
		return OpOutput{Outcome: Unknown, Detail: detail}
	case code == http.StatusNotFound && (in.Kind == OpUndrain || in.Kind == OpRelease):
		return OpOutput{Outcome: NotFound, Detail: detail}
	case code >= 400:
		return OpOutput{Outcome: Refused, Detail: detail}
	}
	out := OpOutput{Outcome: Applied, Detail: detail}
	if in.Kind == OpSpec {
		var r struct {
			Version int  `json:"version"`
			Changed bool `json:"changed"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return OpOutput{Outcome: Unknown, Detail: err.Error()}
		}
		out.Version, out.Changed = r.Version, r.Changed
	}
	return out
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:160]
	}
	return s
}

// ReadState reads the state the model covers from n's replica.
func (c *Cluster) ReadState(n *Node) (State, error) {
	st := State{Pin: -1}
	var ov struct {
		Overrides []struct {
			Kind, Target, Record, Pool string
		} `json:"overrides"`
	}
	if err := c.Get(n, "/v1/overrides", &ov); err != nil {
		return st, err
	}
	for _, o := range ov.Overrides {
		var i int
		switch o.Kind {
		case "drain":
			if _, err := fmt.Sscanf(o.Target, "app-dc%d", &i); err == nil {
				st.Drained |= 1 << (i - 1)
			}
		case "pin":
			if _, err := fmt.Sscanf(o.Pool, "app-dc%d", &i); err == nil && strings.TrimSuffix(o.Record, ".") == "app.example.test" {
				st.Pin = i - 1
			}
		}
	}
	var sp struct {
		Version int    `json:"version"`
		YAML    string `json:"yaml"`
	}
	if err := c.Get(n, "/v1/spec", &sp); err != nil {
		return st, err
	}
	st.Version = sp.Version
	st.TTL = appTTL(sp.YAML)
	var inc struct {
		Incidents []struct {
			Title string `json:"title"`
		} `json:"incidents"`
	}
	if err := c.Get(n, "/v1/incidents", &inc); err != nil {
		return st, err
	}
	for _, x := range inc.Incidents {
		var k int
		if _, err := fmt.Sscanf(x.Title, "chaos-%d", &k); err == nil && k < 64 {
			st.Incidents |= 1 << k
		}
	}
	return st, nil
}

// appTTL finds the app record's TTL in a normalised spec (0 if not found).
func appTTL(yaml string) int {
	lines := strings.Split(yaml, "\n")
	for i, l := range lines {
		if !strings.Contains(l, "app.example.test") {
			continue
		}
		for _, m := range lines[i:min(i+4, len(lines))] {
			var ttl int
			if _, after, ok := strings.Cut(m, "ttl: "); ok {
				if _, err := fmt.Sscanf(after, "%d", &ttl); err == nil {
					return ttl
				}
			}
		}
	}
	return 0
}

// waitFor polls cond every 100 ms for up to timeout.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}
