module github.com/seed3787e6f1/detour

go 1.26.8

require (
	github.com/miekg/dns v1.1.73
	gopkg.in/yaml.v3 v3.0.1
)

require (
	golang.org/x/net v0.57.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
)
