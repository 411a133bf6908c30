// Package geodb writes small MaxMind DB files for tests: a few networks
// per continent and country, with coordinates, in the layout of
// GeoLite2-City (continent.code, country.iso_code, location.latitude and
// location.longitude). Nothing is downloaded.
package geodb

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Network is one network of a test database and where it is.
type Network struct {
	CIDR      string
	Continent string
	Country   string
	Lat, Lon  float64
	// NoLocation leaves location out, as a Country database does.
	NoLocation bool
	// Postal, when set, is written as postal.code (which detour does not
	// read): networks that differ only in it are different records of
	// one place, which the writer does not merge.
	Postal string
}

// Networks are the networks Write puts in the database by default.
// Addresses outside them (10.200.0.0/16, 2001:db8:ff::/48) are unknown.
var Networks = []Network{
	{CIDR: "10.1.0.0/16", Continent: "EU", Country: "DE", Lat: 50.11, Lon: 8.68},       // Frankfurt
	{CIDR: "10.2.0.0/16", Continent: "EU", Country: "IE", Lat: 53.35, Lon: -6.26},      // Dublin
	{CIDR: "10.9.0.0/24", Continent: "EU", Country: "FR", Lat: 48.86, Lon: 2.35},       // Paris
	{CIDR: "10.9.1.0/25", Continent: "EU", Country: "GB", Lat: 51.51, Lon: -0.13},      // London
	{CIDR: "10.3.0.0/16", Continent: "NA", Country: "US", Lat: 39.04, Lon: -77.49},     // Ashburn
	{CIDR: "10.4.0.0/16", Continent: "NA", Country: "US", Lat: 37.39, Lon: -122.08},    // Mountain View
	{CIDR: "10.5.0.0/16", Continent: "NA", Country: "CA", Lat: 43.65, Lon: -79.38},     // Toronto
	{CIDR: "10.6.0.0/16", Continent: "AS", Country: "JP", Lat: 35.68, Lon: 139.69},     // Tokyo
	{CIDR: "10.7.0.0/16", Continent: "AS", Country: "SG", Lat: 1.35, Lon: 103.82},      // Singapore
	{CIDR: "10.8.0.0/16", Continent: "SA", Country: "BR", Lat: -23.55, Lon: -46.63},    // Sao Paulo
	{CIDR: "10.10.0.0/16", Continent: "OC", Country: "AU", NoLocation: true},           // no coordinates
	{CIDR: "2001:db8:1::/48", Continent: "EU", Country: "DE", Lat: 50.11, Lon: 8.68},   // Frankfurt
	{CIDR: "2001:db8:2::/48", Continent: "NA", Country: "US", Lat: 39.04, Lon: -77.49}, // Ashburn
	{CIDR: "2001:db8:3::/48", Continent: "AS", Country: "JP", Lat: 35.68, Lon: 139.69}, // Tokyo
}

// Write writes a database of nets (Networks when nil) to path.
func Write(path string, nets []Network) error {
	if nets == nil {
		nets = Networks
	}
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "detour-test-City", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		return err
	}
	for _, n := range nets {
		_, ipnet, err := net.ParseCIDR(n.CIDR)
		if err != nil {
			return fmt.Errorf("geodb: %s: %w", n.CIDR, err)
		}
		if err := tree.Insert(ipnet, record(n)); err != nil {
			return fmt.Errorf("geodb: %s: %w", n.CIDR, err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := tree.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Replace, never rewrite in place: a reader may have the old file
	// mapped.
	return os.Rename(tmp, path)
}

// WriteTemp writes the default database into dir and returns its path.
func WriteTemp(dir string) (string, error) {
	path := filepath.Join(dir, "geo.mmdb")
	return path, Write(path, nil)
}

func record(n Network) mmdbtype.Map {
	m := mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String(n.Continent)},
		"country":   mmdbtype.Map{"iso_code": mmdbtype.String(n.Country)},
	}
	if n.Postal != "" {
		m["postal"] = mmdbtype.Map{"code": mmdbtype.String(n.Postal)}
	}
	if !n.NoLocation {
		m["location"] = mmdbtype.Map{"latitude": mmdbtype.Float64(n.Lat), "longitude": mmdbtype.Float64(n.Lon)}
	}
	return m
}
