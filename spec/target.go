package spec

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Errors of ResolveTarget and FindRecord. Check them with errors.Is; the
// TargetError and RecordError they come in say what the spec has.
var (
	ErrNoTarget      = errors.New("no datacenter, pool or endpoint by that name")
	ErrNoRecord      = errors.New("no health-driven record by that name")
	ErrAmbiguousName = errors.New("the name is ambiguous")
)

// Kinds of target.
const (
	TargetDatacenter = "datacenter"
	TargetPool       = "pool"
	TargetEndpoint   = "endpoint"
)

// Target is what a drain names: a datacenter, a pool, or one endpoint of
// a pool (pool/address).
type Target struct {
	Kind string // TargetDatacenter, TargetPool or TargetEndpoint
	// Name is the datacenter's or the pool's name; Pool and Address
	// are set for an endpoint.
	Name    string
	Pool    string
	Address string
}

// TargetError is why a name is no target, with what the spec has, for
// the caller's message.
type TargetError struct {
	Name string
	// Pool and Address are set when Name is pool/address; NoPool says
	// the spec has no such pool, else the pool lacks the address.
	Pool, Address string
	NoPool        bool
	// Ambiguous: Name is both a datacenter and a pool.
	Ambiguous bool
	// Datacenters and Pools are the spec's; Endpoints are Pool's
	// addresses when it exists.
	Datacenters, Pools, Endpoints []string
}

// Detail says what is wrong, without the sentinel's words.
func (e *TargetError) Detail() string {
	switch {
	case e.Address != "" && e.NoPool:
		return fmt.Sprintf("pool %q", e.Pool)
	case e.Address != "":
		return fmt.Sprintf("pool %s has no endpoint %s", e.Pool, e.Address)
	case e.Ambiguous:
		return fmt.Sprintf("%q is both a datacenter and a pool; rename one", e.Name)
	}
	return fmt.Sprintf("%q (datacenters: %s; pools: %s; endpoints: pool/address)", e.Name, strings.Join(e.Datacenters, ", "), strings.Join(e.Pools, ", "))
}

func (e *TargetError) Error() string { return ErrNoTarget.Error() + ": " + e.Detail() }

// Unwrap makes the error ErrNoTarget, and ErrAmbiguousName when it is.
func (e *TargetError) Unwrap() []error {
	if e.Ambiguous {
		return []error{ErrNoTarget, ErrAmbiguousName}
	}
	return []error{ErrNoTarget}
}

// ResolveTarget says what name is: a datacenter, a pool, or pool/address
// for one endpoint. A name that is both a datacenter and a pool is
// refused. Errors are a *TargetError.
func (s *Spec) ResolveTarget(name string) (Target, error) {
	e := &TargetError{Name: name}
	for _, d := range s.Datacenters {
		e.Datacenters = append(e.Datacenters, d.Name)
	}
	for _, p := range s.Pools {
		e.Pools = append(e.Pools, p.Name)
	}
	if pool, addr, ok := strings.Cut(name, "/"); ok {
		e.Pool, e.Address = pool, addr
		for _, p := range s.Pools {
			if p.Name != pool {
				continue
			}
			for _, ep := range p.Endpoints {
				if ep.Address == addr {
					return Target{Kind: TargetEndpoint, Name: name, Pool: pool, Address: addr}, nil
				}
				e.Endpoints = append(e.Endpoints, ep.Address)
			}
			return Target{}, e
		}
		e.NoPool = true
		return Target{}, e
	}
	isDC, isPool := slices.Contains(e.Datacenters, name), slices.Contains(e.Pools, name)
	switch {
	case isDC && isPool:
		e.Ambiguous = true
		return Target{}, e
	case isDC:
		return Target{Kind: TargetDatacenter, Name: name}, nil
	case isPool:
		return Target{Kind: TargetPool, Name: name}, nil
	}
	return Target{}, e
}

// RecordError is why FindRecord found no one record, with the records
// the spec has ("name type"), for the caller's message.
type RecordError struct {
	Name, Type string // as asked; Name fully qualified and lower case
	Ambiguous  bool   // several records of the name, and no type given
	Records    []string
}

func (e *RecordError) Error() string {
	if e.Ambiguous {
		return fmt.Sprintf("%s: %s has records of several types", ErrAmbiguousName, e.Name)
	}
	return fmt.Sprintf("%s: %s %s (records: %s)", ErrNoRecord, e.Name, e.Type, strings.Join(e.Records, ", "))
}

// Unwrap makes the error ErrNoRecord, or ErrAmbiguousName.
func (e *RecordError) Unwrap() error {
	if e.Ambiguous {
		return ErrAmbiguousName
	}
	return ErrNoRecord
}

// FindRecord finds a health-driven record by name, in any form (any
// case, with or without the final dot), and type (any case; empty: the
// only record of that name). Errors are a *RecordError.
func (s *Spec) FindRecord(name, typ string) (*Record, error) {
	want := strings.ToLower(strings.TrimSuffix(name, ".")) + "."
	var found *Record
	e := &RecordError{Name: want, Type: typ}
	for i := range s.Records {
		r := &s.Records[i]
		e.Records = append(e.Records, r.Name+" "+r.Type)
		if r.Name == want && (typ == "" || strings.EqualFold(r.Type, typ)) {
			e.Ambiguous = found != nil
			found = r
		}
	}
	if e.Ambiguous || found == nil {
		return nil, e
	}
	return found, nil
}
