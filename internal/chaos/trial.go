package chaos

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// TrialConfig says what one trial runs.
type TrialConfig struct {
	Seed   uint64
	Faults int    // faults per trial
	Only   string // when set, every fault is this kind
	Bin    string // the detour binary
	Dir    string // scratch space (certificates, data dirs, logs)
	Logf   func(format string, args ...any)
}

// TrialResult is what a trial found.
type TrialResult struct {
	Seed       uint64
	Faults     []FaultRun
	Failovers  []Failover
	Violations []Violation
	Converge   time.Duration   // applied index, events, serials equal after the last heal; -1 never
	Recovered  []time.Duration // per fault: heal to every node ready and right; -1 never
	Notes      []string
}

// Schedule is the faults a seed draws, in order.
func Schedule(seed uint64, faults int, only string) []string {
	rng := rand.New(rand.NewPCG(seed, 0x6368616f73))
	var out []string
	for range faults {
		k := Faults[rng.IntN(len(Faults))]
		if only != "" {
			k = only
		}
		out = append(out, k)
	}
	return out
}

// wan sets a one-way delay of 40-120 ms (the same both ways between two
// datacenters), ±10 ms jitter and 1% loss on every node-network link.
func wan(lab *Lab, rng *rand.Rand) {
	n := len(lab.NS)
	for i := range n {
		for j := i + 1; j < n; j++ {
			l := Link{Delay: minDelay + time.Duration(rng.IntN(int((maxDelay-minDelay)/time.Millisecond)+1))*time.Millisecond, Jitter: linkJitter, Loss: 0.01}
			lab.Switch.Set(i, j, l)
			lab.Switch.Set(j, i, l)
		}
	}
}

// RunTrial runs one trial: a fresh lab and cluster, cfg.Faults faults
// drawn from the seed while two clients write, the heal, and the checks.
// An error means the harness failed, not the product.
func RunTrial(cfg TrialConfig) (*TrialResult, error) {
	res := &TrialResult{Seed: cfg.Seed, Converge: -1}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x747269616c))
	kinds := Schedule(cfg.Seed, cfg.Faults, cfg.Only)
	cfg.Logf("chaos trial seed=%d faults=%q", cfg.Seed, kinds)
	lab, err := NewLab(3)
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	wan(lab, rng)
	modes := []string{"local", "local", "local"}
	others := []string{"local", "last", "servfail"}
	modes[rng.IntN(3)] = others[rng.IntN(3)]
	c, err := NewCluster(lab, cfg.Bin, cfg.Dir, modes)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	keepLogs := false
	defer func() {
		if !keepLogs {
			return
		}
		for _, n := range c.Nodes {
			cfg.Logf("--- %s (minority mode %s), last lines of its log:\n%s", n.ID, n.Mode, c.Logs(n, 60))
		}
	}()
	if err := c.WaitReady(90 * time.Second); err != nil {
		keepLogs = true
		return nil, err
	}
	start := time.Now()
	w := NewWorld(3, start)
	h := NewHistory(start)
	init := State{Pin: -1, Version: 1, TTL: 1}
	smp := StartSampler(c)
	tr := &trial{c: c, w: w, rng: rng, h: h, logf: cfg.Logf, t0: start}
	ops := startWriters(c, w, h, cfg.Seed)
	for _, k := range kinds {
		ops.on.Store(true)
		f, err := tr.inject(k)
		res.Faults = append(res.Faults, f)
		res.Violations = append(res.Violations, f.Violations...)
		cfg.Logf("  %s: %s, healed after %s", f.Start.Sub(start).Round(time.Millisecond), f.Label, f.Healed.Sub(f.Start).Round(time.Millisecond))
		if err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: %v", f.Label, err))
		}
		// Writes stop a while, so quiet periods show (invariant 3).
		time.Sleep(time.Second)
		ops.on.Store(false)
		time.Sleep(6 * time.Second)
	}
	ops.stop()
	if err := tr.healAll(); err != nil {
		res.Notes = append(res.Notes, "heal: "+err.Error())
	}
	conv, why := converge(c, 60*time.Second)
	if conv >= 0 {
		res.Converge = conv
	} else {
		res.Violations = append(res.Violations, Violation{Invariant: 6, T: time.Since(start), What: why, Fault: wholeTrial})
	}
	// The final reads: every node's state, after everything returned.
	for _, n := range c.Nodes {
		call := time.Now()
		out := c.Do(n, OpInput{Kind: OpRead})
		h.Record(10+n.Idx, OpInput{Kind: OpRead, Node: n.ID}, out, call, time.Now())
	}
	samples := smp.Stop()
	res.Violations = append(res.Violations, checkTimeline(w, c, samples, start)...)
	res.Failovers = failovers(w, res.Faults, samples)
	res.Recovered = recoveries(w, len(c.Nodes), res.Faults, samples)
	for i := range res.Violations {
		if res.Violations[i].Fault == "" {
			res.Violations[i].Fault = faultAt(res.Faults, start.Add(res.Violations[i].T))
		}
	}
	note, err := h.Linearizable(init, 60*time.Second)
	if err != nil {
		res.Violations = append(res.Violations, Violation{Invariant: 5, T: time.Since(start), What: err.Error(), Fault: wholeTrial})
	}
	if note != "" {
		res.Notes = append(res.Notes, note)
	}
	if len(res.Violations) > 0 {
		keepLogs = true
		for _, v := range res.Violations {
			cfg.Logf("  VIOLATION %s", v)
		}
		cfg.Logf("  reproduce: DETOUR_CHAOS_SEED=%d", cfg.Seed)
	}
	return res, nil
}

// writers are the clients that write during faults.
type writers struct {
	on   atomic.Bool
	quit chan struct{}
	wg   sync.WaitGroup
}

func (o *writers) stop() {
	close(o.quit)
	o.wg.Wait()
}

// startWriters starts two clients making random writes on random nodes
// while on is set.
func startWriters(c *Cluster, w *World, h *History, seed uint64) *writers {
	o := &writers{quit: make(chan struct{})}
	var incident atomic.Int32
	for id := range 2 {
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(id)+1))
			for {
				select {
				case <-o.quit:
					return
				case <-time.After(time.Duration(200+rng.IntN(600)) * time.Millisecond):
				}
				if !o.on.Load() {
					continue
				}
				in := OpInput{Kind: OpKind(rng.IntN(int(OpIncident) + 1)), Arg: rng.IntN(3)}
				switch in.Kind {
				case OpSpec:
					in.Arg = 1 + rng.IntN(4)
				case OpIncident:
					in.Arg = int(incident.Add(1))
					if in.Arg >= 50 {
						continue
					}
				}
				n := c.Nodes[rng.IntN(len(c.Nodes))]
				if !n.Running() {
					continue
				}
				in.Node = n.ID
				w.Touch()
				call := time.Now()
				out := c.Do(n, in)
				h.Record(id, in, out, call, time.Now())
				w.Touch()
			}
		}()
	}
	return o
}

// converge waits until every node has the same last event and SOA serial,
// and every node's applied index reached the highest of the round before.
// It returns how long that took, or -1 and what differed.
func converge(c *Cluster, timeout time.Duration) (time.Duration, string) {
	start := time.Now()
	cl := newDNSClient()
	var prevMax uint64
	why := ""
	for time.Since(start) < timeout {
		var events []int
		var serials []uint32
		var applied []uint64
		ok := true
		for _, n := range c.Nodes {
			var ev struct {
				Last int `json:"last"`
				freshness
			}
			if err := c.Get(n, "/v1/events?limit=1", &ev); err != nil {
				ok, why = false, err.Error()
				break
			}
			events = append(events, ev.Last)
			applied = append(applied, ev.Freshness.AppliedIndex)
			serials = append(serials, QuerySerial(cl, n.DNS))
		}
		if ok {
			same := true
			var hi uint64
			for i := range events {
				same = same && events[i] == events[0] && serials[i] == serials[0] && serials[i] != 0 && applied[i] >= prevMax
				hi = max(hi, applied[i])
			}
			if same && prevMax > 0 {
				return time.Since(start), ""
			}
			prevMax = hi
			why = fmt.Sprintf("events %v, serials %v, applied %v", events, serials, applied)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return -1, "not converged " + timeout.String() + " after healing: " + why
}

// TrialDir makes a scratch directory for a trial.
func TrialDir(seed uint64) (string, func(), error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("detour-chaos-%d-", seed))
	if err != nil {
		return "", nil, errors.Join(errors.New("chaos: scratch dir"), err)
	}
	return dir, func() { os.RemoveAll(filepath.Clean(dir)) }, nil
}

// wholeTrial is the fault column of the violations found over a whole
// trial (its history, its convergence).
const wholeTrial = "(whole trial: history, convergence)"

// faultAt is the label of the fault in force (or last healed) at t.
func faultAt(faults []FaultRun, t time.Time) string {
	label := "start"
	for _, f := range faults {
		if !f.Start.After(t) {
			label = f.Kind
		}
	}
	return label
}
