package cloudflare

import (
	cfdns "github.com/cloudflare/cloudflare-go/v6/dns"
)

// The SDK's parameter fields are of an internal generic type that can be
// set but not named outside the SDK; these helpers fill them without
// importing the SDK's root package, which would link every Cloudflare
// service into detour.

// wire is one Cloudflare record as detour writes it.
type wire struct {
	name, typ, content string
	ttl                uint32
	proxied            bool
}

func postParam(w wire) cfdns.RecordBatchParamsPostUnion {
	switch w.typ {
	case "A":
		return aParam(w)
	case "AAAA":
		return aaaaParam(w)
	}
	return cnameParam(w)
}

func patchParam(id string, w wire) cfdns.BatchPatchUnionParam {
	switch w.typ {
	case "A":
		p := cfdns.BatchPatchARecordParam{ARecordParam: aParam(w)}
		p.ID.Value, p.ID.Present = id, true
		return p
	case "AAAA":
		p := cfdns.BatchPatchAAAARecordParam{AAAARecordParam: aaaaParam(w)}
		p.ID.Value, p.ID.Present = id, true
		return p
	}
	p := cfdns.BatchPatchCNAMERecordParam{CNAMERecordParam: cnameParam(w)}
	p.ID.Value, p.ID.Present = id, true
	return p
}

func deleteParam(id string) cfdns.RecordBatchParamsDelete {
	var p cfdns.RecordBatchParamsDelete
	p.ID.Value, p.ID.Present = id, true
	return p
}

func aParam(w wire) cfdns.ARecordParam {
	var p cfdns.ARecordParam
	p.Name.Value, p.Name.Present = w.name, true
	p.Type.Value, p.Type.Present = cfdns.ARecordTypeA, true
	p.Content.Value, p.Content.Present = w.content, true
	p.TTL.Value, p.TTL.Present = cfdns.TTL(w.ttl), true
	p.Proxied.Value, p.Proxied.Present = w.proxied, true
	p.Comment.Value, p.Comment.Present = Marker, true
	return p
}

func aaaaParam(w wire) cfdns.AAAARecordParam {
	var p cfdns.AAAARecordParam
	p.Name.Value, p.Name.Present = w.name, true
	p.Type.Value, p.Type.Present = cfdns.AAAARecordTypeAAAA, true
	p.Content.Value, p.Content.Present = w.content, true
	p.TTL.Value, p.TTL.Present = cfdns.TTL(w.ttl), true
	p.Proxied.Value, p.Proxied.Present = w.proxied, true
	p.Comment.Value, p.Comment.Present = Marker, true
	return p
}

func cnameParam(w wire) cfdns.CNAMERecordParam {
	var p cfdns.CNAMERecordParam
	p.Name.Value, p.Name.Present = w.name, true
	p.Type.Value, p.Type.Present = cfdns.CNAMERecordTypeCNAME, true
	p.Content.Value, p.Content.Present = w.content, true
	p.TTL.Value, p.TTL.Present = cfdns.TTL(w.ttl), true
	p.Proxied.Value, p.Proxied.Present = w.proxied, true
	p.Comment.Value, p.Comment.Present = Marker, true
	return p
}
