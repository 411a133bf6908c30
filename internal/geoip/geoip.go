// Package geoip places client addresses with a MaxMind DB file (City or
// Country layout), memory-mapped, and reloads it when the file changes.
//
// The file is replaced, never rewritten in place (a rename, as
// geoipupdate does): a reader keeps the old mapping until nothing uses
// it, so queries in flight during a reload are answered from the old
// database and never touch unmapped memory.
package geoip

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/seed3787e6f1/detour/dnsserver"
)

// Defaults and bounds.
const (
	// DefaultPoll is how often the file is checked for a change.
	DefaultPoll = 5 * time.Second
	// MaxSize bounds the file read and mapped: GeoLite2-City is about
	// 60 MB, GeoIP2-City about 130 MB.
	MaxSize = 1 << 30
	// cacheSlots is the size of the per-database cache of decoded
	// records, by data offset: lookups of a known network cost the tree
	// walk alone.
	cacheSlots = 1 << 14
	// netSlots is the size of the cache of places by client network
	// (IPv4 /24, IPv6 /56: what resolvers send in ECS), which spares a
	// repeated client the tree walk too.
	netSlots = 1 << netBits
	netBits  = 16
)

// ErrTooLarge means the database file is over MaxSize.
var ErrTooLarge = errors.New("geoip: database file is too large")

// Status is what a node says of its database: which file, its content
// hash (so nodes answering differently can be spotted), when it was
// loaded, and the last error.
type Status struct {
	Path   string    `json:"path,omitempty"`
	SHA256 string    `json:"sha256,omitempty"`
	Size   int64     `json:"size,omitempty"`
	Type   string    `json:"type,omitempty"`
	Loaded time.Time `json:"loaded,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// DB places addresses with the database at the path Path returns (which
// may change, with the spec), reloading it when the file changes.
type DB struct {
	path    func() string
	poll    time.Duration
	logger  *slog.Logger
	cur     atomic.Pointer[current]
	mu      sync.Mutex // serialises Check
	status  atomic.Pointer[Status]
	lastErr string
}

// current is one loaded database and its cache.
type current struct {
	r     *maxminddb.Reader
	path  string
	size  int64
	mtime time.Time
	// cache holds decoded records by their offset in the file, nets
	// places by client network: kept only when the database network
	// holding it is no longer than the client network, so that every
	// address in it is placed alike. Both are fixed size and allocation
	// free (see slot): a flood of new client networks evicts, never
	// grows them.
	cache [cacheSlots]slot
	nets  [netSlots]slot
}

// Options configure a DB.
type Options struct {
	// Path returns the database's path; empty means none (nothing is
	// placed).
	Path func() string
	// Poll is how often the file is checked; 0 means DefaultPoll.
	Poll   time.Duration
	Logger *slog.Logger
}

// New returns a DB; Run (or Check) loads the database.
func New(o Options) *DB {
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Path == nil {
		o.Path = func() string { return "" }
	}
	d := &DB{path: o.Path, poll: o.Poll, logger: o.Logger}
	d.status.Store(&Status{})
	return d
}

// Run checks the file every poll interval until ctx ends.
func (d *DB) Run(ctx context.Context) {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		d.Check()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Status returns what the node says of its database.
func (d *DB) Status() Status { return *d.status.Load() }

// Check loads the database when its path, size or modification time
// changed since the last load. A file that cannot be read or parsed
// leaves the previous database in use and is reported in Status.
func (d *DB) Check() {
	d.mu.Lock()
	defer d.mu.Unlock()
	path := d.path()
	cur := d.cur.Load()
	if path == "" {
		if cur != nil || d.Status().Path != "" {
			d.cur.Store(nil)
			d.setStatus(Status{})
		}
		return
	}
	fi, err := os.Stat(path)
	if err == nil && cur != nil && cur.path == path && cur.size == fi.Size() && cur.mtime.Equal(fi.ModTime()) {
		return
	}
	if err == nil {
		err = d.load(path, fi)
	}
	if err != nil {
		st := d.Status()
		if cur == nil || cur.path != path {
			st = Status{Path: path}
		}
		st.Error = err.Error()
		if st.Error != d.lastErr {
			d.logger.Error("geoip database", "path", path, "err", err)
		}
		d.lastErr = st.Error
		d.setStatus(st)
	}
}

// load maps the file and hashes it, then swaps it in.
func (d *DB) load(path string, fi os.FileInfo) error {
	if fi.Size() > MaxSize {
		return fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, fi.Size(), MaxSize)
	}
	r, err := maxminddb.Open(path)
	if err != nil {
		return fmt.Errorf("geoip: %w", err)
	}
	sum, err := hashFile(path)
	if err != nil {
		return err
	}
	d.cur.Store(&current{r: r, path: path, size: fi.Size(), mtime: fi.ModTime()})
	// The old reader is not closed: queries may still use it; the
	// runtime unmaps it when nothing refers to it.
	d.lastErr = ""
	st := Status{Path: path, SHA256: sum, Size: fi.Size(), Type: r.Metadata.DatabaseType, Loaded: time.Now()}
	d.logger.Info("geoip database loaded", "path", path, "sha256", sum, "type", st.Type, "size", st.Size)
	d.setStatus(st)
	return nil
}

func (d *DB) setStatus(st Status) { d.status.Store(&st) }

func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("geoip: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, MaxSize+1)); err != nil {
		return "", fmt.Errorf("geoip: reading %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// record is what is read of a database entry: the City layout's fields
// (a Country database has no location).
type record struct {
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

// Locate places addr: its continent, country, location and the prefix
// length of the database network holding it. Without a database, or for
// an address it does not hold, the place is unknown (Known false); Bits
// is then the length of the empty network, or 0 without a database.
func (d *DB) Locate(addr netip.Addr) dnsserver.Place {
	var pl dnsserver.Place
	d.LocateInto(addr, &pl)
	return pl
}

// LocateInto is Locate setting *pl, the dnsserver.Locator interface.
func (d *DB) LocateInto(addr netip.Addr, pl *dnsserver.Place) {
	c := d.cur.Load()
	if c == nil {
		*pl = dnsserver.Place{}
		return
	}
	addr = addr.Unmap()
	key, width := netKey(addr)
	s := &c.nets[(key*0x9E3779B97F4A7C15)>>(64-netBits)]
	if sub, ok := s.load(key, pl); ok && (pl.Bits <= width || addr.Is4() && subOf(addr, pl.Bits) == sub) {
		return
	}
	c.locate(addr, pl)
	switch {
	case pl.Bits <= width:
		s.store(key, 0, pl)
	case addr.Is4():
		// A network inside the /24 (a /25 to /32): kept with its last
		// octet, and answers only the addresses inside it.
		s.store(key, subOf(addr, pl.Bits), pl)
	}
}

// subOf is the last octet of the IPv4 network of addr that is bits long
// (bits over 24).
func subOf(addr netip.Addr, bits int) uint8 {
	return addr.As4()[3] & ^uint8(0xFF>>(bits-24))
}

// netKey is the client network of addr (IPv4 /24, IPv6 /56) as a cache
// key, and its prefix length.
func netKey(addr netip.Addr) (uint64, int) {
	if addr.Is4() {
		a := addr.As4()
		return 1<<63 | uint64(a[0])<<16 | uint64(a[1])<<8 | uint64(a[2]), 24
	}
	a := addr.As16()
	var k uint64
	for _, b := range a[:7] {
		k = k<<8 | uint64(b)
	}
	return k, 56
}

// locate places addr with the database (the record cache aside).
func (c *current) locate(addr netip.Addr, pl *dnsserver.Place) {
	res := c.r.Lookup(addr)
	if res.Err() != nil {
		*pl = dnsserver.Place{}
		return
	}
	bits := res.Prefix().Bits()
	if !res.Found() {
		*pl = dnsserver.Place{Bits: max(bits, 0)}
		return
	}
	if !c.placeOf(res, pl) {
		*pl = dnsserver.Place{Bits: bits}
		return
	}
	pl.Bits = c.widen(addr, bits, pl)
}

// placeOf sets *pl (Bits aside) to the place of a found result, from the
// record cache or decoded, and reports false if it cannot be decoded.
func (c *current) placeOf(res maxminddb.Result, pl *dnsserver.Place) bool {
	off := uint64(res.Offset())
	s := &c.cache[(off*0x9E3779B1)>>7%cacheSlots]
	if _, ok := s.load(off, pl); ok {
		return true
	}
	var rec record
	if err := res.Decode(&rec); err != nil {
		return false
	}
	*pl = placeOf(&rec)
	s.store(off, 0, pl)
	return true
}

// maxWiden bounds how many levels widen climbs: a tree walk each, on a
// cache miss only.
const maxWiden = 8

// widen returns the length of the widest network around addr's (bits
// long, placed at pl) whose addresses are all placed alike: while the
// sibling of the network so far is a single database network placed as
// pl is (another record, such as another postal code of the same city),
// their parent is. Any geo record then answers all of it alike, health
// whatever, so a reply's scope may be the wider network (RFC 7871 7.2.1)
// and resolvers cache fewer copies. A sibling split in the file stops
// the climb: the scope is then narrower than it could be, never wrong.
// (Siblings of one record are merged by the writer already.)
func (c *current) widen(addr netip.Addr, bits int, pl *dnsserver.Place) int {
	var sib dnsserver.Place
	for range maxWiden {
		if bits == 0 {
			break
		}
		res := c.r.Lookup(flipBit(addr, bits-1))
		if res.Err() != nil || !res.Found() || res.Prefix().Bits() != bits || !c.placeOf(res, &sib) || !samePlace(&sib, pl) {
			break
		}
		bits--
	}
	return bits
}

// samePlace reports whether a and b are one place, their networks aside.
func samePlace(a, b *dnsserver.Place) bool {
	return a.Known == b.Known && a.Continent == b.Continent && a.Country == b.Country && a.HasLocation == b.HasLocation && a.Vec == b.Vec
}

// flipBit is addr with bit i (from the left) flipped: an address in the
// sibling of its network that is i+1 bits long.
func flipBit(addr netip.Addr, i int) netip.Addr {
	if addr.Is4() {
		a := addr.As4()
		a[i/8] ^= 0x80 >> (i % 8)
		return netip.AddrFrom4(a)
	}
	a := addr.As16()
	a[i/8] ^= 0x80 >> (i % 8)
	return netip.AddrFrom16(a)
}

func placeOf(rec *record) dnsserver.Place {
	country := rec.Country.ISOCode
	if country == "" {
		country = rec.RegisteredCountry.ISOCode
	}
	pl := dnsserver.Place{Known: true, Continent: dnsserver.Code2(rec.Continent.Code), Country: dnsserver.Code2(country)}
	if la, lo := rec.Location.Latitude, rec.Location.Longitude; la != nil && lo != nil {
		pl.HasLocation, pl.Vec = true, dnsserver.UnitVector(*la, *lo)
	}
	return pl
}
