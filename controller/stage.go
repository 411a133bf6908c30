package controller

// Spec changes in two steps, so that applying one never stalls the log.
//
// Parsing, validating and compiling a spec of 200,000 records takes
// seconds. Raft applies entries one after another: were that work done
// in Apply, every observer report committed behind the spec would wait
// for it, and failover with them. So:
//
//  1. The proposer (the API) parses and validates the spec before
//     proposing it: a spec that reaches the log is valid.
//  2. Applying set_spec only stages it (the bytes and the version it
//     will get) and starts compiling it in the background, on every
//     replica at about the same time. Reports applied meanwhile change
//     verdicts and answers under the spec still in force.
//  3. The leader, once its own compile has finished, proposes a small
//     activate_spec naming the staging entry. Every replica puts the
//     staged spec in force when it applies that entry, at the same log
//     position: it uses its finished compile, or waits for it (rare:
//     all replicas started at about the same time, and the leader's
//     finished first). A spec the leader could not compile is dropped
//     by the same entry, with the reason in the event log.
//
// One spec is staged at a time: staging another while one is being
// activated is refused with ErrSpecChanged (the same spec again is a
// no-op), so a writer never loses its spec silently.

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
	"github.com/seed3787e6f1/detour/dnsserver"
	"github.com/seed3787e6f1/detour/spec"
)

// ErrSpecCompiling means a spec was committed but is not yet in force on
// the proposing node when its caller stopped waiting: it goes in force
// once compiled (or is dropped, with an event, if it cannot be).
var ErrSpecCompiling = errors.New("the spec is committed but not yet in force on this node (compiling)")

// compileJob compiles one staged spec in the background.
type compileJob struct {
	index uint64 // the staging entry
	done  chan struct{}
	// set before done closes
	yaml  []byte
	spec  *spec.Spec
	zones *dnsserver.ZoneSet
	err   error
	took  time.Duration
}

// startCompile starts compiling sg unless its job runs already. Called
// with f.mu held after every apply and restore.
func (f *FSM) startCompile() {
	sg := f.m.Staged()
	if sg == nil || (f.job != nil && f.job.index == sg.Index) {
		return
	}
	j := &compileJob{index: sg.Index, done: make(chan struct{})}
	f.job = j
	staged := *sg
	go func() {
		defer close(j.done)
		start := time.Now()
		var s *spec.Spec
		yaml, err := staged.Text()
		if err != nil {
			j.err = err
			return
		}
		j.yaml = yaml
		if o := f.offered.Swap(nil); o != nil && bytes.Equal(o.yaml, yaml) {
			s = o.spec // parsed by this node's proposer: only the zones are left
		} else if s, err = spec.Parse(yaml); err != nil {
			s = nil
		}
		if err == nil {
			j.zones, err = dnsserver.NewZoneSet(s)
		}
		j.spec, j.err, j.took = s, err, time.Since(start)
	}()
}

// compiled waits for the compile of sg and returns its spec; the zone
// set goes to the publisher with it. Called with f.mu held, by
// activate.
func (f *FSM) compiled(sg *StagedSpec) (*spec.Spec, []byte, error) {
	f.startCompile() // a job of another index cannot run: one is staged at a time
	j := f.job
	<-j.done // at once but in a replay: Apply waited before it locked (awaitCompile)
	if j.err != nil {
		return nil, nil, j.err
	}
	f.ready = j
	return j.spec, j.yaml, nil
}

// compileDone returns the finished compile of the spec staged at index,
// or nil while it runs (or for another index), and a channel closed
// when it finishes.
func (f *FSM) compileDone(index uint64) (*compileJob, <-chan struct{}) {
	f.mu.Lock()
	j := f.job
	f.mu.Unlock()
	if j == nil || j.index != index {
		return nil, nil
	}
	select {
	case <-j.done:
		return j, j.done
	default:
		return nil, j.done
	}
}

// activateTick bounds how late a new leader notices a staged spec.
const activateTick = 200 * time.Millisecond

// activateStaged is a leader task (leader.go): while a spec is staged
// whose compile finished here, it proposes activate_spec (again after a
// while if the first was lost). A new leader's term starts it again.
func (s *Store) activateStaged(ctx context.Context) {
	t := time.NewTicker(activateTick)
	defer t.Stop()
	var sent uint64
	var sentAt time.Time
	for {
		v := s.fsm.View()
		var wait <-chan struct{}
		if sg := v.Staged(); sg != nil && s.IsLeader() && (sg.Index != sent || time.Since(sentAt) > 5*time.Second) {
			var j *compileJob
			j, wait = s.fsm.compileDone(sg.Index)
			if j != nil {
				a := &ActivateSpec{Index: sg.Index}
				if j.err != nil {
					a.Error = j.err.Error()
				}
				sent, sentAt = sg.Index, time.Now()
				s.logger.Info("activating the staged spec", "version", sg.Version, "staged_at", sg.Index, "compile", j.took.Round(time.Millisecond), "err", a.Error)
				cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				if _, err := s.Propose(cctx, &Command{Type: CmdActivateSpec, Activate: a}); err != nil && !errors.Is(err, ErrNotFound) {
					s.logger.Warn("activating the staged spec", "err", err)
				}
				cancel()
				continue
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-v.Changed():
		case <-wait:
		case <-t.C:
		}
	}
}

// awaitSpec waits until the spec c, just committed, is in force on this
// replica, or was dropped (an error), or replaced by a later one; yaml
// is its text.
func (s *Store) awaitSpec(ctx context.Context, c *SetSpec, yaml []byte) error {
	var index uint64 // of the staging entry, once seen
	for {
		v := s.fsm.View()
		reason, refused := v.Refused(index, c)
		switch sg := v.Staged(); {
		case sg != nil && (sg.Index == index || index == 0 && v.StagedIs(c)):
			index = sg.Index
		case index == 0 && v.InForce(yaml):
			return nil
		case refused:
			return fmt.Errorf("%w: %s", ErrRejected, reason)
		case index != 0:
			return nil // activated (or a later spec replaced it)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrSpecCompiling, ctx.Err())
		case <-v.Changed():
		}
	}
}

// checkSpec parses and validates a set_spec's spec on the proposing
// node, before it reaches the log: an invalid spec is refused here, and
// the spec parsed is offered to this replica's compile.
func (s *Store) checkSpec(c *Command) (*offered, error) {
	if c.Type != CmdSetSpec || c.Spec == nil {
		return nil, nil
	}
	sp := c.Spec.Parsed()
	if sp == nil {
		var err error
		if sp, err = spec.Parse(c.Spec.YAML); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	o := s.fsm.offer(c.Spec.YAML, sp)
	if len(c.Spec.YAML) > gzipAbove && c.Spec.YAMLGzip == nil {
		gz, err := gzipText(c.Spec.YAML)
		if err != nil {
			return o, err
		}
		sc := *c.Spec
		sc.YAML, sc.YAMLGzip = nil, gz
		c.Spec = &sc
	}
	return o, nil
}

// gzipAbove is the size of spec text from which a set_spec carries it
// gzipped: a zone of 200,000 records is 6 MiB of YAML, 8 MiB in the
// entry's JSON, and under a megabyte gzipped. Every replica stores,
// sends, decodes and snapshots the entry; only the background compile
// inflates it.
const gzipAbove = 256 << 10

func gzipText(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(b)/4 + 512) // a zone text compresses to about a fifth
	// The fastest level: for a million records 0.2 s of CPU instead of
	// 0.75 s, for 5.6 MB instead of 4.9 MB (bench/rss-1m.sh's zone).
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // a valid level: no error
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("controller: compressing the spec: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("controller: compressing the spec: %w", err)
	}
	return buf.Bytes(), nil
}

// offered is a spec this node parsed before proposing it.
type offered struct {
	yaml []byte
	spec *spec.Spec
}

// offer keeps sp, parsed from yaml, for the compile of the spec staged
// next, if it is the same.
func (f *FSM) offer(yaml []byte, sp *spec.Spec) *offered {
	o := &offered{yaml: yaml, spec: sp}
	f.offered.Store(o)
	return o
}

// withdraw drops offer o unless a compile took it or another replaced it.
func (f *FSM) withdraw(o *offered) {
	if o != nil {
		f.offered.CompareAndSwap(o, nil)
	}
}

// activateMarker is how an activate_spec entry's JSON starts its type.
var activateMarker = []byte(`"type":"` + string(CmdActivateSpec) + `"`)

// awaitCompile waits, before Apply takes the lock, for the compile an
// activate_spec entry will need: Raft applies one entry at a time, so
// nothing applies meanwhile either way, but readers of the lock (the
// leader's clock, its duties) do not wait with it.
func (f *FSM) awaitCompile(l *raft.Log) {
	if l.Type != raft.LogCommand || len(l.Data) > 4096 || !bytes.Contains(l.Data, activateMarker) {
		return
	}
	f.mu.Lock()
	j := f.job
	f.mu.Unlock()
	if j == nil {
		return
	}
	select {
	case <-j.done:
	default:
		f.logger.Info("activating a spec whose compile is still running here: waiting for it", "staged_at", j.index)
		<-j.done
	}
}
