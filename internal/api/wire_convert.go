package api

import (
	"github.com/seed3787e6f1/detour/controller"
	"github.com/seed3787e6f1/detour/internal/api/wire"
	"github.com/seed3787e6f1/detour/providers"
	"github.com/seed3787e6f1/detour/spec"
)

// The conversions from the replicated state's types to the API's: each
// copies field by field, so a change to either side is a decision made
// here (wire_convert_test.go checks that every field is accounted for).
// A nil slice stays nil and an empty one empty: the JSON tells them
// apart (null, []).

func wireOverride(o controller.Override) wire.Override {
	return wire.Override{Kind: o.Kind, Target: o.Target, Record: o.Record, Type: o.Type, Pool: o.Pool,
		Reason: o.Reason, Author: o.Author, Created: o.Created, For: o.For, Expires: o.Expires}
}

// wireOverridePtr converts an optional override.
func wireOverridePtr(o *controller.Override) *wire.Override {
	if o == nil {
		return nil
	}
	w := wireOverride(*o)
	return &w
}

// wireOverrides converts overrides in force: never nil.
func wireOverrides(in []controller.Override) []*wire.Override {
	out := make([]*wire.Override, 0, len(in))
	for _, o := range in {
		w := wireOverride(o)
		out = append(out, &w)
	}
	return out
}

func wireIncident(inc controller.Incident) wire.Incident {
	return wire.Incident{ID: inc.ID, Title: inc.Title, Status: inc.Status, ETA: inc.ETA, Opened: inc.Opened,
		Resolved: inc.Resolved, Updates: convertSlice(inc.Updates, wireIncidentUpdate), Current: convertSlice(inc.Current, wireServiceNote)}
}

func wireIncidentUpdate(u controller.IncidentUpdate) wire.IncidentUpdate {
	return wire.IncidentUpdate{Time: u.Time, Status: u.Status, Message: u.Message, Author: u.Author}
}

func wireServiceNote(n controller.ServiceNote) wire.ServiceNote {
	return wire.ServiceNote{Service: n.Service, Message: n.Message, Time: n.Time, Seq: n.Seq, Healthy: n.Healthy}
}

func wireEvent(e controller.Event) wire.Event {
	return wire.Event{Seq: e.Seq, Time: e.Time, Kind: e.Kind, Subject: e.Subject, Message: e.Message}
}

func wireMember(m controller.MemberInfo) wire.MemberInfo {
	return wire.MemberInfo{ID: m.ID, Datacenter: m.Datacenter, Address: m.Address, Voter: m.Voter, Leader: m.Leader,
		APIAddr: m.APIAddr, DNSAddr: m.DNSAddr, GeoIP: m.GeoIP, Role: m.Role, Reachability: m.Reachability, LastContactMS: m.LastContactMS,
		AppliedIndex: m.AppliedIndex, Promoting: m.Promoting, Error: m.Error, ClockSkewMS: m.ClockSkewMS}
}

// wireMembers converts a member list: never nil.
func wireMembers(in []controller.MemberInfo) []wire.MemberInfo {
	out := make([]wire.MemberInfo, 0, len(in))
	for _, m := range in {
		out = append(out, wireMember(m))
	}
	return out
}

func wireQuorum(q controller.Quorum) wire.Quorum {
	return wire.Quorum{Known: q.Known, Leader: q.Leader, Voters: q.Voters, VotersUp: q.VotersUp, Needed: q.Needed,
		CanLose: q.CanLose, OK: q.OK, Summary: q.Summary}
}

func wireMinority(m controller.MinorityStatus) wire.MinorityStatus {
	return wire.MinorityStatus{CutOff: m.CutOff, Mode: m.Mode, Since: m.Since, After: m.After, Message: m.Message,
		Answers: convertSlice(m.Answers, wireDecision)}
}

// wireCursor converts a delivery cursor. Drop is a command's field only
// (the state counts drops in Dropped and LastDropped).
func wireCursor(c controller.NotifyCursor) wire.NotifyCursor {
	return wire.NotifyCursor{Channel: c.Channel, Seq: c.Seq, Error: c.Error, At: c.At, Dropped: c.Dropped, LastDropped: c.LastDropped}
}

func wireProviderSync(p controller.ProviderSync) wire.ProviderSync {
	return wire.ProviderSync{Name: p.Name, Type: p.Type, Zone: p.Zone, InSync: p.InSync, Pending: p.Pending,
		LastSuccess: p.LastSuccess, LastError: p.LastError, LastErrorAt: p.LastErrorAt, By: p.By}
}

func wireDecision(d controller.Decision) wire.Decision {
	return wire.Decision{Name: d.Name, Type: d.Type, Pool: d.Pool, Answers: d.Answers, Reason: d.Reason, Fallback: d.Fallback,
		GeoPolicy: d.GeoPolicy, Geo: convertSlice(d.Geo, wireGeoAnswer)}
}

func wirePlan(p providers.Plan) wire.Plan {
	return wire.Plan{Provider: p.Provider, Type: p.Type, Zone: p.Zone, Changes: convertSlice(p.Changes, wireChange), Error: p.Error}
}

func wireChange(c providers.Change) wire.Change {
	return wire.Change{Old: wireRRset(c.Old), New: wireRRset(c.New)}
}

func wireRRset(r *providers.RRset) *wire.RRset {
	if r == nil {
		return nil
	}
	return &wire.RRset{Name: r.Name, Type: r.Type, TTL: r.TTL, Values: r.Values, Proxied: r.Proxied, Handle: r.Handle}
}

func wireProblem(p spec.Problem) wire.Problem {
	return wire.Problem{Path: p.Path, Message: p.Message}
}

// convertSlice converts each element; nil stays nil.
func convertSlice[From, To any](in []From, conv func(From) To) []To {
	if in == nil {
		return nil
	}
	out := make([]To, len(in))
	for i, v := range in {
		out[i] = conv(v)
	}
	return out
}
