package chaos

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"
)

// Fault names, in the order docs/reliability.md lists them.
const (
	FaultKillDC        = "kill -9 datacenter"
	FaultKillLeader    = "kill -9 leader"
	FaultKillFollower  = "kill -9 follower"
	FaultFreezeLeader  = "SIGSTOP leader"
	FaultFreezeAfter   = "site dies, SIGSTOP leader"
	FaultPartition     = "partition one node"
	FaultAsymPartition = "asymmetric partition"
	FaultFlap          = "flapping site"
	FaultFullRestart   = "full restart with overrides"
	FaultRolling       = "rolling restart + spec apply"
)

// Faults is every fault a schedule draws from.
var Faults = []string{FaultKillDC, FaultKillLeader, FaultKillFollower, FaultFreezeLeader, FaultFreezeAfter,
	FaultPartition, FaultAsymPartition, FaultFlap, FaultFullRestart, FaultRolling,
	FaultDiskFull, FaultClock, FaultMembers}

// FaultRun is one fault injected in a trial.
type FaultRun struct {
	Kind     string
	Label    string // Kind, with which node or site
	Start    time.Time
	Healed   time.Time
	SiteDown int       // datacenter whose site died in it, -1 none
	SiteAt   time.Time // when
	Leader   bool      // the node hit was the leader
	// Violations are the fault's own assertions that failed (the
	// faults of diskfull.go and after).
	Violations []Violation `json:",omitempty"`
}

// trial is the state a fault works on.
type trial struct {
	c     *Cluster
	w     *World
	rng   *rand.Rand
	h     *History
	logf  func(string, ...any)
	extra int       // incident numbers for the faults' own writes
	t0    time.Time // the trial's start, for the faults' own violations
}

func (tr *trial) hold(lo, hi time.Duration) {
	time.Sleep(lo + time.Duration(tr.rng.Int64N(int64(hi-lo)+1)))
}

// leaderIdx is the leader's index, or a random node when none is known.
func (tr *trial) leaderIdx() (int, bool) {
	if l := tr.c.Leader(); l != nil {
		return l.Idx, true
	}
	return tr.rng.IntN(len(tr.c.Nodes)), false
}

func (tr *trial) kill(i int) {
	_ = tr.c.Signal(tr.c.Nodes[i], syscall.SIGKILL)
	tr.w.SetProc(i, procDead)
}

func (tr *trial) start(i int) error {
	if err := tr.c.Start(tr.c.Nodes[i]); err != nil {
		return err
	}
	tr.w.SetProc(i, procRunning)
	return nil
}

func (tr *trial) siteDown(f *FaultRun, i int) {
	tr.c.Sites[i].Stop()
	tr.w.SetSite(i, false)
	if f.SiteDown < 0 {
		f.SiteDown, f.SiteAt = i, time.Now()
	}
}

func (tr *trial) siteUp(i int) error {
	if err := tr.c.Sites[i].Start(); err != nil {
		return err
	}
	tr.w.SetSite(i, true)
	return nil
}

// cut drops frames to (in) and from (out) node i on the node network.
func (tr *trial) cut(i int, in, out bool) {
	for j := range tr.c.Nodes {
		if j == i {
			continue
		}
		to, from := tr.c.Lab.Switch.Get(j, i), tr.c.Lab.Switch.Get(i, j)
		to.Blocked, from.Blocked = in, out
		tr.c.Lab.Switch.Set(j, i, to)
		tr.c.Lab.Switch.Set(i, j, from)
	}
	tr.w.SetCut(i, in, out)
}

// inject runs one fault of kind from injection to healing.
func (tr *trial) inject(kind string) (FaultRun, error) {
	f := FaultRun{Kind: kind, Label: kind, Start: time.Now(), SiteDown: -1}
	var err error
	switch kind {
	case FaultKillDC:
		err = tr.killDC(&f)
	case FaultKillLeader, FaultKillFollower:
		err = tr.killNode(&f, kind == FaultKillLeader)
	case FaultFreezeLeader, FaultFreezeAfter:
		err = tr.freeze(&f, kind == FaultFreezeAfter)
	case FaultPartition, FaultAsymPartition:
		tr.partition(&f, kind == FaultAsymPartition)
	case FaultFlap:
		err = tr.flap(&f)
	case FaultFullRestart:
		err = tr.fullRestart(&f)
	case FaultRolling:
		err = tr.rolling(&f)
	case FaultDiskFull:
		err = tr.diskFull(&f)
	case FaultClock:
		err = tr.clockOff(&f)
	case FaultMembers:
		err = tr.members(&f)
	default:
		err = fmt.Errorf("chaos: unknown fault %q", kind)
	}
	f.Healed = time.Now()
	return f, err
}

// killDC kills a datacenter, node and site; the first (serving) one half
// the time.
func (tr *trial) killDC(f *FaultRun) error {
	i := tr.rng.IntN(len(tr.c.Nodes))
	if tr.rng.IntN(2) == 0 {
		i = 0
	}
	l, _ := tr.leaderIdx()
	f.Leader = l == i
	f.Label = fmt.Sprintf("%s (dc%d, leader: %v)", f.Kind, i+1, f.Leader)
	tr.kill(i)
	tr.siteDown(f, i)
	tr.hold(9*time.Second, 12*time.Second)
	if err := tr.siteUp(i); err != nil {
		return err
	}
	return tr.start(i)
}

func (tr *trial) killNode(f *FaultRun, leader bool) error {
	l, known := tr.leaderIdx()
	i := l
	if !leader {
		i = (l + 1 + tr.rng.IntN(len(tr.c.Nodes)-1)) % len(tr.c.Nodes)
	}
	f.Leader = leader && known
	f.Label = fmt.Sprintf("%s (n%d)", f.Kind, i+1)
	tr.kill(i)
	tr.hold(7*time.Second, 10*time.Second)
	return tr.start(i)
}

// freeze stops the leader (a frozen VM) and resumes it; after the serving
// site died, when siteFirst.
func (tr *trial) freeze(f *FaultRun, siteFirst bool) error {
	if siteFirst {
		tr.siteDown(f, 0)
		tr.hold(0, time.Second)
	}
	l, known := tr.leaderIdx()
	f.Leader = known
	f.Label = fmt.Sprintf("%s (n%d)", f.Kind, l+1)
	n := tr.c.Nodes[l]
	if err := tr.c.Signal(n, syscall.SIGSTOP); err != nil {
		return err
	}
	tr.w.SetProc(l, procStopped)
	tr.hold(6*time.Second, 10*time.Second)
	if err := tr.c.Signal(n, syscall.SIGCONT); err != nil {
		return err
	}
	tr.w.SetProc(l, procRunning)
	if siteFirst {
		tr.hold(4*time.Second, 6*time.Second)
		return tr.siteUp(0)
	}
	return nil
}

// partition cuts one node (the leader half the time) off the node
// network, both ways or one; its site stays reachable.
func (tr *trial) partition(f *FaultRun, asym bool) {
	i := tr.rng.IntN(len(tr.c.Nodes))
	if l, ok := tr.leaderIdx(); ok && tr.rng.IntN(2) == 0 {
		i, f.Leader = l, true
	}
	in, out := true, true
	if asym {
		in = tr.rng.IntN(2) == 0
		out = !in
	}
	f.Label = fmt.Sprintf("%s (n%d, in: %v, out: %v)", f.Kind, i+1, in, out)
	tr.cut(i, in, out)
	tr.hold(9*time.Second, 13*time.Second)
	tr.cut(i, false, false)
}

// flap turns the serving site off and on every 0.3-1.5 s.
func (tr *trial) flap(f *FaultRun) error {
	i := 0
	f.Label = fmt.Sprintf("%s (dc%d)", f.Kind, i+1)
	end := time.Now().Add(8 * time.Second)
	for time.Now().Before(end) {
		tr.siteDown(f, i)
		tr.hold(300*time.Millisecond, 1500*time.Millisecond)
		if err := tr.siteUp(i); err != nil {
			return err
		}
		tr.hold(300*time.Millisecond, 1500*time.Millisecond)
	}
	return nil
}

// write makes one operation as the faults' own client and records it.
func (tr *trial) write(in OpInput) OpOutput {
	n := tr.c.Nodes[tr.rng.IntN(len(tr.c.Nodes))]
	for _, m := range tr.c.Nodes {
		if tr.w.InMajority(m.Idx, time.Now()) {
			n = m
			break
		}
	}
	in.Node = n.ID
	tr.w.Touch()
	call := time.Now()
	out := tr.c.Do(n, in)
	tr.h.Record(9, in, out, call, time.Now())
	tr.w.Touch()
	return out
}

// fullRestart puts a pin and a drain in force, then stops every node (all
// SIGKILL or all SIGTERM) and starts them again.
func (tr *trial) fullRestart(f *FaultRun) error {
	tr.write(OpInput{Kind: OpPin, Arg: tr.rng.IntN(3)})
	tr.write(OpInput{Kind: OpDrain, Arg: tr.rng.IntN(3)})
	sig := syscall.SIGKILL
	if tr.rng.IntN(2) == 0 {
		sig = syscall.SIGTERM
	}
	f.Label = fmt.Sprintf("%s (%s)", f.Kind, sig)
	for i, n := range tr.c.Nodes {
		if n.Running() {
			_ = tr.c.Signal(n, sig)
		}
		tr.w.SetProc(i, procDead)
	}
	tr.hold(500*time.Millisecond, 2*time.Second)
	for i := range tr.c.Nodes {
		if err := tr.start(i); err != nil {
			return err
		}
	}
	return tr.c.WaitReady(60 * time.Second)
}

// rolling restarts each node in turn (SIGTERM, start, ready), applying a
// spec after the second.
func (tr *trial) rolling(f *FaultRun) error {
	for i, n := range tr.c.Nodes {
		if n.Running() {
			_ = tr.c.Signal(n, syscall.SIGTERM)
		}
		tr.w.SetProc(i, procDead)
		if err := tr.start(i); err != nil {
			return err
		}
		if err := tr.c.WaitReady(60 * time.Second); err != nil {
			return err
		}
		if i == 1 {
			tr.write(OpInput{Kind: OpSpec, Arg: 10 + tr.rng.IntN(5)})
		}
	}
	return nil
}

// healAll undoes whatever a failed fault left: every site up, every node
// linked and running.
func (tr *trial) healAll() error {
	for i := range tr.c.Nodes {
		tr.cut(i, false, false)
		if tr.c.Nodes[i].Env != nil {
			_ = tr.restartWith(i, nil)
		}
		if tr.w.DiskFull(i, time.Now()) {
			_ = tr.c.FreeDisk(tr.c.Nodes[i])
			tr.w.SetDisk(i, false)
		}
		if err := tr.siteUp(i); err != nil {
			return err
		}
		n := tr.c.Nodes[i]
		if tr.w.Proc(i, time.Now()) == procStopped {
			_ = tr.c.Signal(n, syscall.SIGCONT)
			tr.w.SetProc(i, procRunning)
		}
		if !n.Running() {
			if err := tr.start(i); err != nil {
				return err
			}
		}
	}
	return nil
}
