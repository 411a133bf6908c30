package statuspage

import (
	"html/template"
	"net/http"
	"time"
)

// The page is plain HTML and CSS: no JavaScript, readable in any browser
// and by a screen reader, and refreshed by the browser every 30 s.
var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"when":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 MST") },
	"label":  func(s string) string { return labels[s] },
	"banner": func(s string) string { return banners[s] },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="30">
<title>{{.Title}}</title>
<link rel="alternate" type="application/atom+xml" title="{{.Title}}" href="feed.atom">
<style>
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
header{display:flex;align-items:center;gap:1rem}header img{max-height:3rem}
h1{font-size:1.6rem;margin:0}
.banner{padding:1rem;border-radius:.4rem;margin:1.5rem 0;font-weight:600}
.operational{background:#e3f5e6;color:#14532d}.degraded{background:#fff4d6;color:#713f12}.outage{background:#fde2e1;color:#7f1d1d}
.incident{border:2px solid #b45309;border-radius:.4rem;padding:.8rem 1rem;margin:1rem 0}
.incident h3{margin:.2rem 0}.eta{font-weight:600}
table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.5rem;border-bottom:1px solid #ddd}
.state{font-weight:600;white-space:nowrap}
.history li{margin:.4rem 0}.muted{color:#555;font-size:.9rem}
footer{margin-top:2rem;color:#555;font-size:.85rem}
</style>
</head>
<body>
<header>{{if .LogoURL}}<img src="{{.LogoURL}}" alt="">{{end}}<h1>{{.Title}}</h1></header>

{{if .CutOff}}<div class="banner degraded" id="cut-off">This node is cut off; information may be out of date.</div>
{{end}}<div class="banner {{.Status}}" id="overall">{{banner .Status}}</div>

{{range .Incidents}}
<section class="incident" id="incident-{{.ID}}">
<h3>{{.Title}}</h3>
{{if not .ETA.IsZero}}<p class="eta">Expected resolution: {{when .ETA}}</p>{{end}}
{{range .Updates}}<p><span class="muted">{{when .Time}} · {{.Status}}</span><br>{{.Message}}</p>{{end}}
{{if .Hidden}}<p class="muted">{{.Hidden}} earlier updates are not shown.</p>{{end}}
</section>
{{end}}

<h2>Services</h2>
<table id="services">
<tr><th>Service</th><th>Status</th><th>Where</th></tr>
{{range .Services}}<tr><td>{{.Name}}</td><td class="state {{.Status}}">{{label .Status}}</td><td>{{.Detail}}</td></tr>
{{else}}<tr><td colspan="3">No services configured yet.</td></tr>{{end}}
</table>

<h2>Recent history</h2>
<ul class="history" id="history">
{{range .History}}<li><span class="muted">{{when .Time}}</span> {{.Title}}</li>
{{else}}<li>Nothing to report.</li>{{end}}
</ul>
{{if .Resolved}}
<h2>Resolved incidents</h2>
<ul class="history">
{{range .Resolved}}<li><span class="muted">{{when .Opened}} – {{when .Resolved}}</span> {{.Title}}</li>{{end}}
</ul>
{{end}}
<footer>
State as of {{when .StateTime}}, served by {{if .Node}}node {{.Node}}{{else}}one of our nodes{{end}} at {{when .Generated}}.
Every node serves this page from its own copy of the state.
<a href="status.json">JSON</a> · <a href="feed.atom">Atom feed</a>
</footer>
</body>
</html>
`))

var (
	banners = map[string]string{
		StateOperational: "All systems operational",
		StateDegraded:    "Some services run from a backup site",
		StateOutage:      "Some services are down",
	}
	labels = map[string]string{StateOperational: "Operational", StateDegraded: "Degraded", StateOutage: "Outage"}
)

func (s *Server) html(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src http: https:")
	s.serve(w, r, formHTML)
}
