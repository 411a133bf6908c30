package spec

import (
	"regexp"
	"strings"
)

// Route53BaseURL is Route 53's official API endpoint: the one base_url a
// node allows for a route53 provider without being told
// (provider_base_urls).
const Route53BaseURL = "https://route53.amazonaws.com/"

// Route53DefaultOwner is the owner a route53 provider writes in its
// ownership records when the spec names none.
const Route53DefaultOwner = "detour"

var (
	route53ZoneID = regexp.MustCompile(`^[A-Z0-9]{1,32}$`)
	route53Region = regexp.MustCompile(`^[a-z]{2}(-[a-z0-9]+)+$`)
	route53Owner  = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,64}$`)
)

// validateRoute53 checks a route53 provider's fields. The hosted zone ID
// may be given as Route 53 prints it ("/hostedzone/Z…"); it is stored
// bare.
func validateRoute53(p *Provider, path string, e *Error) {
	p.ZoneID = strings.TrimPrefix(p.ZoneID, "/hostedzone/")
	switch {
	case p.ZoneID == "":
		e.add(path+".zone_id", "is required for route53 (the hosted zone ID, e.g. Z0123456789ABCDEFGHIJ)")
	case !route53ZoneID.MatchString(p.ZoneID):
		e.add(path+".zone_id", "%q is not a Route 53 hosted zone ID (upper-case letters and digits, e.g. Z0123456789ABCDEFGHIJ)", p.ZoneID)
	}
	if p.Region != "" && !route53Region.MatchString(p.Region) {
		e.add(path+".region", "%q is not an AWS region name (e.g. us-east-1)", p.Region)
	}
	if p.OwnerID != "" && !route53Owner.MatchString(p.OwnerID) {
		e.add(path+".owner_id", "%q: want 1 to 64 letters, digits or . _ : / -", p.OwnerID)
	}
	if p.BaseURL != "" && !isHTTPURL(p.BaseURL) {
		e.add(path+".base_url", "%q is not an http(s) URL", p.BaseURL)
	}
	for _, f := range []struct{ name, v string }{
		{"api_token_env", p.APITokenEnv}, {"server", p.Server}, {"tsig_key", p.TSIGKey}, {"tsig_secret_env", p.TSIGSecretEnv},
	} {
		if f.v != "" {
			e.add(path+"."+f.name, "does not apply to route53: credentials come from the AWS SDK's default chain on each node (environment, shared config, instance role)")
		}
	}
	if p.Enterprise {
		e.add(path+".enterprise", "applies to cloudflare providers only")
	}
}
