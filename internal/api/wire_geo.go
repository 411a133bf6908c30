package api

import (
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/policy"
)

func wireGeoAnswer(g policy.GeoAnswer) wire.GeoAnswer {
	out := wire.GeoAnswer{Match: g.Match, Datacenter: g.Datacenter, Pool: g.Pool, Answers: g.Answers, Reason: g.Reason,
		Fallback: g.Fallback, Pass: g.Pass}
	if out.Answers == nil {
		out.Answers = []string{}
	}
	if g.Location != nil {
		out.Location = &wire.Location{Lat: g.Location.Lat, Lon: g.Location.Lon}
	}
	return out
}
