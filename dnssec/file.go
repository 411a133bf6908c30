package dnssec

import (
	"bufio"
	"crypto"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// timeLayout is BIND's timing metadata format (dnssec-settime).
const timeLayout = "20060102150405"

// BaseName is the key's file name without extension, as BIND names it:
// K<zone>+<alg>+<tag>.
func (k *Key) BaseName() string {
	return fmt.Sprintf("K%s+%03d+%05d", k.Zone, k.DNSKEY.Algorithm, k.Tag())
}

// WriteFiles writes the key's .key (public, 0644) and .private (0600)
// files into dir and returns the .private file's path. An existing
// key's files are overwritten (that is how its timing changes).
func (k *Key) WriteFiles(dir string) (string, error) {
	base := filepath.Join(dir, k.BaseName())
	kind := "key-signing"
	if !k.SEP() {
		kind = "zone-signing"
	}
	pub := fmt.Sprintf("; This is a %s key, keyid %d, for %s\n%s\n", kind, k.Tag(), k.Zone, k.DNSKEY.String())
	if err := writeFile(base+".key", []byte(pub), 0o644); err != nil {
		return "", err
	}
	priv := k.DNSKEY.PrivateKeyString(k.Signer) + k.Timing.text()
	if err := writeFile(base+".private", []byte(priv), 0o600); err != nil {
		return "", err
	}
	return base + ".private", nil
}

// writeFile writes data to path through a temporary file and a rename,
// so that a node reading the directory never sees half a key.
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("dnssec: %w", err)
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fmt.Errorf("dnssec: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("dnssec: %w", err)
	}
	return nil
}

// text is the timing as BIND writes it in a .private file.
func (t Timing) text() string {
	var b strings.Builder
	for _, f := range []struct {
		name string
		at   time.Time
	}{{"Created", t.Created}, {"Publish", t.Publish}, {"Activate", t.Activate}, {"Inactive", t.Inactive}, {"Delete", t.Delete}} {
		if !f.at.IsZero() {
			fmt.Fprintf(&b, "%s: %s\n", f.name, f.at.UTC().Format(timeLayout))
		}
	}
	return b.String()
}

// ReadKey reads the key whose .private file is path (its .key file
// beside it). The private file must not be readable by group or others.
func ReadKey(path string) (*Key, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dnssec: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("dnssec: %s (mode %04o, want 0600 or 0400): %w", path, st.Mode().Perm(), ErrPermissions)
	}
	pubText, err := os.ReadFile(strings.TrimSuffix(path, ".private") + ".key")
	if err != nil {
		return nil, fmt.Errorf("dnssec: %w", err)
	}
	dk, err := parseDNSKEY(string(pubText))
	if err != nil {
		return nil, fmt.Errorf("dnssec: %s: %w", path, err)
	}
	privText, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dnssec: %w", err)
	}
	priv, err := dk.NewPrivateKey(string(privText))
	if err != nil {
		return nil, fmt.Errorf("dnssec: %s: %v: %w", path, err, ErrKeyFile)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok || (dk.Algorithm != dns.ECDSAP256SHA256 && dk.Algorithm != dns.ED25519) {
		return nil, fmt.Errorf("dnssec: %s: algorithm %d: %w", path, dk.Algorithm, ErrAlgorithm)
	}
	timing, err := parseTiming(string(privText))
	if err != nil {
		return nil, fmt.Errorf("dnssec: %s: %w", path, err)
	}
	return &Key{Zone: dns.CanonicalName(dk.Hdr.Name), DNSKEY: dk, Signer: signer, Timing: timing, File: path}, nil
}

// parseDNSKEY reads the one DNSKEY record of a .key file.
func parseDNSKEY(text string) (*dns.DNSKEY, error) {
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if k, isKey := rr.(*dns.DNSKEY); isKey {
			k.Hdr.Name = dns.CanonicalName(k.Hdr.Name)
			return k, nil
		}
	}
	if err := zp.Err(); err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrKeyFile)
	}
	return nil, fmt.Errorf("no DNSKEY record: %w", ErrKeyFile)
}

// parseTiming reads BIND's timing lines (Created:, Publish:, ...).
func parseTiming(text string) (Timing, error) {
	var t Timing
	fields := map[string]*time.Time{"created": &t.Created, "publish": &t.Publish, "activate": &t.Activate, "inactive": &t.Inactive, "delete": &t.Delete}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		dst := fields[strings.ToLower(strings.TrimSpace(name))]
		if !ok || dst == nil {
			continue
		}
		at, err := time.Parse(timeLayout, strings.TrimSpace(value))
		if err != nil {
			return t, fmt.Errorf("%s: %v: %w", name, err, ErrKeyFile)
		}
		*dst = at
	}
	return t, nil
}

// Keyring is the keys a node holds, by zone.
type Keyring map[string][]*Key

// Keys returns the keys of zone, by key tag.
func (r Keyring) Keys(zone string) []*Key { return r[dns.CanonicalName(zone)] }

// LoadDir reads every key in dir (K*.private files). A missing dir is an
// empty keyring.
func LoadDir(dir string) (Keyring, error) {
	r := Keyring{}
	if dir == "" {
		return r, nil
	}
	paths, err := filepath.Glob(filepath.Join(dir, "K*.private"))
	if err != nil {
		return nil, fmt.Errorf("dnssec: %w", err)
	}
	if _, err := os.Stat(dir); err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("dnssec: %w", err)
	} else if err != nil {
		return r, nil
	}
	for _, p := range paths {
		k, err := ReadKey(p)
		if err != nil {
			return nil, err
		}
		r[k.Zone] = append(r[k.Zone], k)
	}
	for _, keys := range r {
		sort.Slice(keys, func(i, j int) bool { return keys[i].Tag() < keys[j].Tag() })
	}
	return r, nil
}

// CheckDir reports whether dir is fit to hold private keys: owned by
// this user and closed to group and others (0700).
func CheckDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("dnssec: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("dnssec: %s: %w", dir, fs.ErrInvalid)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("dnssec: key directory %s (mode %04o, want 0700): %w", dir, st.Mode().Perm(), ErrPermissions)
	}
	return nil
}
