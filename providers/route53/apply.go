package route53

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/seed3787e6f1/detour/providers"
)

// unit is one RRset change as Route 53 changes: the record set and its
// ownership record, always in the same batch so that ownership and data
// change together.
type unit struct {
	changes []types.Change
	result  *providers.RRset
}

// size counts a unit against the batch limits: ResourceRecord elements
// and value characters, UPSERT counting twice.
func (u unit) size() (recs, chars int) {
	for _, c := range u.changes {
		n := 1
		if c.Action == types.ChangeActionUpsert {
			n = 2
		}
		for _, r := range c.ResourceRecordSet.ResourceRecords {
			recs += n
			chars += n * len(aws.ToString(r.Value))
		}
	}
	return recs, chars
}

// Apply writes the changes in one ChangeResourceRecordSets batch, split
// in several only beyond the API's limits, and waits for each to be
// INSYNC. Creates use CREATE (so that a record set someone made since
// the last read is refused, not overwritten), updates UPSERT, deletes
// DELETE the exact sets read. A change to a record set held by someone
// else is skipped and reported once the others are written.
func (p *Provider) Apply(ctx context.Context, changes []providers.Change) ([]*providers.RRset, error) {
	p.mu.Lock()
	foreign, orphans := p.foreign, p.orphans
	p.mu.Unlock()
	out := make([]*providers.RRset, len(changes))
	var units []unit
	var idx []int
	var skipped []string
	for i, c := range changes {
		if why, ok := foreign[c.Key()]; ok && c.Old == nil {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", c.Key(), why))
			continue
		}
		u, err := p.unit(c, orphans[c.Key()])
		if err != nil {
			return nil, err
		}
		units = append(units, u)
		idx = append(idx, i)
	}
	for start := 0; start < len(units); {
		end := p.batchEnd(units, start)
		if err := p.send(ctx, units[start:end]); err != nil {
			return nil, err
		}
		start = end
	}
	for j, u := range units {
		out[idx[j]] = u.result
	}
	if len(skipped) > 0 {
		return nil, fmt.Errorf("%w; detour leaves it alone (delete it, or give it the ownership record, to hand it over): %s", ErrNotOwned, strings.Join(skipped, ", "))
	}
	return out, nil
}

// batchEnd returns the end of the batch starting at units[start]: as many
// units as fit the limits, at least one.
func (p *Provider) batchEnd(units []unit, start int) int {
	recs, chars := 0, 0
	end := start
	for end < len(units) {
		r, c := units[end].size()
		if end > start && (recs+r > p.cfg.MaxRecords || chars+c > p.cfg.MaxChars) {
			break
		}
		recs, chars = recs+r, chars+c
		end++
	}
	return end
}

// unit turns an RRset change into Route 53 changes.
func (p *Provider) unit(c providers.Change, orphan bool) (unit, error) {
	if c.New == nil {
		h, ok := c.Old.Handle.(*handle)
		if !ok {
			return unit{}, errors.New("route53: delete of a record set that was not read")
		}
		return unit{changes: []types.Change{
			{Action: types.ChangeActionDelete, ResourceRecordSet: &h.set},
			{Action: types.ChangeActionDelete, ResourceRecordSet: &h.owner},
		}}, nil
	}
	set := p.wireSet(*c.New)
	owner := types.ResourceRecordSet{
		Name: aws.String(OwnerName(c.New.Key)), Type: types.RRTypeTxt, TTL: aws.Int64(OwnerTTL),
		ResourceRecords: []types.ResourceRecord{{Value: aws.String(p.ownerVal)}},
	}
	var u unit
	switch {
	case c.Old != nil:
		u.changes = []types.Change{{Action: types.ChangeActionUpsert, ResourceRecordSet: &set}}
		if h, ok := c.Old.Handle.(*handle); ok {
			owner = h.owner
		}
	case orphan:
		u.changes = []types.Change{
			{Action: types.ChangeActionCreate, ResourceRecordSet: &set},
			{Action: types.ChangeActionUpsert, ResourceRecordSet: &owner},
		}
	default:
		u.changes = []types.Change{
			{Action: types.ChangeActionCreate, ResourceRecordSet: &set},
			{Action: types.ChangeActionCreate, ResourceRecordSet: &owner},
		}
	}
	rr := *c.New
	rr.Values = slices.Clone(rr.Values)
	rr.Handle = &handle{set: set, owner: owner}
	u.result = &rr
	return u, nil
}

// wireSet is the record set detour writes for rr: a simple routing
// record set holding every answer.
func (p *Provider) wireSet(rr providers.RRset) types.ResourceRecordSet {
	s := types.ResourceRecordSet{Name: aws.String(rr.Name), Type: types.RRType(rr.Type), TTL: aws.Int64(int64(rr.TTL))}
	for _, v := range rr.Values {
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return s
}

// send writes one batch and waits, bounded, until Route 53 reports it
// INSYNC.
func (p *Provider) send(ctx context.Context, units []unit) error {
	var batch []types.Change
	for _, u := range units {
		batch = append(batch, u.changes...)
	}
	res, err := p.client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String(p.cfg.HostedZoneID),
		ChangeBatch:  &types.ChangeBatch{Changes: batch, Comment: aws.String("detour")},
	})
	if err != nil {
		return wrap(fmt.Sprintf("change batch of %d changes", len(batch)), err)
	}
	if p.cfg.WaitTimeout < 0 || res.ChangeInfo == nil || res.ChangeInfo.Status == types.ChangeStatusInsync {
		return nil
	}
	id := aws.ToString(res.ChangeInfo.Id)
	w := r53.NewResourceRecordSetsChangedWaiter(p.client, func(o *r53.ResourceRecordSetsChangedWaiterOptions) {
		o.MinDelay, o.MaxDelay = p.cfg.WaitMinDelay, p.cfg.WaitMaxDelay
	})
	if err := w.Wait(ctx, &r53.GetChangeInput{Id: aws.String(id)}, p.cfg.WaitTimeout); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var api interface{ ErrorCode() string }
		if errors.As(err, &api) {
			return wrap("get change "+id, err)
		}
		return fmt.Errorf("%w: %s still PENDING after %s (Route 53 accepted it and will apply it): %w", ErrNotInSync, id, p.cfg.WaitTimeout, err)
	}
	return nil
}
