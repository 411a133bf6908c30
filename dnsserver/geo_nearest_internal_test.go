package dnsserver

import (
	"math"
	"math/rand/v2"
	"testing"
)

// nearestByLoop is the nearest pick written plainly: the first live site
// with the largest dot product, the default without a location.
func nearestByLoop(vecs [][3]float64, ps []*packed, def *packed, pl *Place) *packed {
	if !pl.HasLocation || len(ps) == 0 {
		return def
	}
	best, bestDot := ps[0], -2.0
	for i, v := range vecs {
		if d := v[0]*pl.Vec[0] + v[1]*pl.Vec[1] + v[2]*pl.Vec[2]; d > bestDot {
			best, bestDot = ps[i], d
		}
	}
	return best
}

// TestGeoNearestPicksAsThePlainLoop checks the branch-free nearest pick
// against the plain loop: random sites and clients, sites at the same
// place (the first wins), one site, none, a client without a location
// and one whose vector is NaN (a broken database: the first site).
func TestGeoNearestPicksAsThePlainLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 1))
	point := func() [3]float64 { return UnitVector(rng.Float64()*180-90, rng.Float64()*360-180) }
	def := &packed{}
	for n := range 6 {
		for range 2000 {
			g := &geoPacked{def: def}
			for i := range n {
				v := point()
				if i > 0 && rng.IntN(3) == 0 {
					v = g.liveVec[rng.IntN(i)] // a tie
				}
				g.liveVec, g.liveP = append(g.liveVec, v), append(g.liveP, &packed{})
			}
			pl := &Place{HasLocation: rng.IntN(8) != 0, Vec: point()}
			switch rng.IntN(10) {
			case 0:
				pl.Vec = [3]float64{math.NaN(), math.NaN(), math.NaN()}
			case 1:
				if n > 0 {
					pl.Vec = g.liveVec[rng.IntN(n)]
				}
			}
			if got, want := g.nearest(pl), nearestByLoop(g.liveVec, g.liveP, def, pl); got != want {
				t.Fatalf("%d sites %v, client %+v: picked %p, the plain loop %p", n, g.liveVec, pl, got, want)
			}
		}
	}
}
