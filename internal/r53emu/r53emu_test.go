package r53emu_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/seed3787e6f1/detour/internal/r53emu"
)

// client is the real SDK client pointed at the emulator, without
// retries so that every answer is seen.
func client(t *testing.T, emu *r53emu.Server, key string) *r53.Client {
	t.Helper()
	return r53.New(r53.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(emu.Endpoint()),
		Credentials:  credentials.NewStaticCredentialsProvider(key, "secret", ""),
		Retryer:      aws.NopRetryer{},
	})
}

func setup(t *testing.T) (*r53emu.Server, *r53.Client) {
	emu := r53emu.New("AKIDEMU")
	t.Cleanup(emu.Close)
	emu.AddZone("ZEMU", "example.test")
	return emu, client(t, emu, "AKIDEMU")
}

func change(action types.ChangeAction, name string, typ types.RRType, ttl int64, values ...string) types.Change {
	s := &types.ResourceRecordSet{Name: aws.String(name), Type: typ, TTL: aws.Int64(ttl)}
	for _, v := range values {
		s.ResourceRecords = append(s.ResourceRecords, types.ResourceRecord{Value: aws.String(v)})
	}
	return types.Change{Action: action, ResourceRecordSet: s}
}

func submit(c *r53.Client, changes ...types.Change) error {
	_, err := c.ChangeResourceRecordSets(context.Background(), &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String("/hostedzone/ZEMU"), ChangeBatch: &types.ChangeBatch{Changes: changes},
	})
	return err
}

func TestBatchIsATransaction(t *testing.T) {
	emu, c := setup(t)
	if err := submit(c, change(types.ChangeActionCreate, "www.example.test", types.RRTypeA, 60, "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	err := submit(c,
		change(types.ChangeActionCreate, "new.example.test", types.RRTypeA, 60, "192.0.2.2"),
		change(types.ChangeActionCreate, "www.example.test", types.RRTypeA, 60, "192.0.2.1"),
		change(types.ChangeActionDelete, "gone.example.test", types.RRTypeA, 60, "192.0.2.3"),
		change(types.ChangeActionCreate, "www.example.test", types.RRTypeCname, 60, "x.example.test."),
	)
	var icb *types.InvalidChangeBatch
	if !errors.As(err, &icb) {
		t.Fatalf("err = %v, want InvalidChangeBatch", err)
	}
	for _, want := range []string{
		"Tried to create resource record set [name='www.example.test.', type='A'] but it already exists",
		"Tried to delete resource record set [name='gone.example.test.', type='A'] but it was not found",
		"RRSet of type CNAME with DNS name www.example.test. is not permitted as it conflicts with other records with the same DNS name in zone example.test.",
	} {
		if !slices.Contains(icb.Messages, want) {
			t.Errorf("messages %q lack %q", icb.Messages, want)
		}
	}
	for _, r := range emu.RecordSets("ZEMU") {
		if r.Name == "new.example.test." {
			t.Error("part of a refused batch was applied")
		}
	}
}

func TestLimitsAndValues(t *testing.T) {
	_, c := setup(t)
	var big []types.Change
	for i := 0; i < 501; i++ { // 1,002 ResourceRecord elements as UPSERTs
		big = append(big, change(types.ChangeActionUpsert, fmt.Sprintf("h%d.example.test", i), types.RRTypeA, 60, "192.0.2.1"))
	}
	if err := submit(c, big...); err == nil || !strings.Contains(err.Error(), "Number of records limit of 1000 exceeded") {
		t.Errorf("1,002 records: %v", err)
	}
	if err := submit(c, big[:500]...); err != nil {
		t.Errorf("1,000 records: %v", err)
	}
	if err := submit(c, change(types.ChangeActionCreate, "bad.example.test", types.RRTypeA, 60, "2001:db8::1")); err == nil || !strings.Contains(err.Error(), "ARRDATAIllegalIPv4Address") {
		t.Errorf("AAAA value in an A set: %v", err)
	}
	if err := submit(c, change(types.ChangeActionCreate, "www.elsewhere.test", types.RRTypeA, 60, "192.0.2.1")); err == nil || !strings.Contains(err.Error(), "is not permitted in zone example.test.") {
		t.Errorf("name outside the zone: %v", err)
	}
}

func TestListingOrderAndPaging(t *testing.T) {
	emu, c := setup(t)
	w := int64(1)
	for _, id := range []string{"b", "a", "c"} {
		emu.Put("ZEMU", r53emu.RRSet{Name: "www.example.test", Type: "A", TTL: 60, Values: []string{"192.0.2.1"}, SetIdentifier: id, Weight: &w})
	}
	for _, n := range []string{"a.example.test", "*.example.test", "z.a.example.test", "example.test"} {
		emu.Put("ZEMU", r53emu.RRSet{Name: n, Type: "TXT", TTL: 60, Values: []string{`"x"`}})
	}
	var got []string
	pages := 0
	p := r53.NewListResourceRecordSetsPaginator(c, &r53.ListResourceRecordSetsInput{HostedZoneId: aws.String("ZEMU"), MaxItems: aws.Int32(2)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, s := range out.ResourceRecordSets {
			got = append(got, fmt.Sprintf("%s %s %s", aws.ToString(s.Name), s.Type, aws.ToString(s.SetIdentifier)))
		}
	}
	want := []string{
		"example.test. NS ", "example.test. SOA ", "example.test. TXT ",
		`\052.example.test. TXT `, "a.example.test. TXT ", "z.a.example.test. TXT ",
		"www.example.test. A a", "www.example.test. A b", "www.example.test. A c",
	}
	if !slices.Equal(got, want) || pages != 5 {
		t.Errorf("listing in %d pages:\n%s\nwant in 5:\n%s", pages, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestZonesChangesAndFaults(t *testing.T) {
	emu, c := setup(t)
	emu.AddZone("ZOTHER", "other.test")
	zs, err := c.ListHostedZonesByName(context.Background(), &r53.ListHostedZonesByNameInput{DNSName: aws.String("other.test")})
	if err != nil || len(zs.HostedZones) != 1 || aws.ToString(zs.HostedZones[0].Name) != "other.test." || aws.ToString(zs.HostedZones[0].Id) != "/hostedzone/ZOTHER" {
		t.Errorf("ListHostedZonesByName = %+v, %v", zs, err)
	}
	res, err := c.ChangeResourceRecordSets(context.Background(), &r53.ChangeResourceRecordSetsInput{
		HostedZoneId: aws.String("ZEMU"), ChangeBatch: &types.ChangeBatch{Changes: []types.Change{change(types.ChangeActionUpsert, "x.example.test", types.RRTypeA, 5, "192.0.2.9")}},
	})
	if err != nil || res.ChangeInfo.Status != types.ChangeStatusPending {
		t.Fatalf("change: %+v, %v; want PENDING", res, err)
	}
	ch, err := c.GetChange(context.Background(), &r53.GetChangeInput{Id: res.ChangeInfo.Id})
	if err != nil || ch.ChangeInfo.Status != types.ChangeStatusInsync {
		t.Errorf("GetChange = %+v, %v; want INSYNC", ch, err)
	}
	emu.Fail(1, "Throttling")
	_, err = c.GetHostedZone(context.Background(), &r53.GetHostedZoneInput{Id: aws.String("ZEMU")})
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "Throttling" {
		t.Errorf("throttled: %v", err)
	}
	_, err = client(t, emu, "AKIDOTHER").GetHostedZone(context.Background(), &r53.GetHostedZoneInput{Id: aws.String("ZEMU")})
	if !errors.As(err, &api) || api.ErrorCode() != "InvalidClientTokenId" {
		t.Errorf("unknown key: %v", err)
	}
	if _, err = c.GetHostedZone(context.Background(), &r53.GetHostedZoneInput{Id: aws.String("ZNONE")}); !errors.As(err, new(*types.NoSuchHostedZone)) {
		t.Errorf("unknown zone: %v", err)
	}
}
