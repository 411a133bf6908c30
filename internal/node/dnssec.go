package node

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/seed3787e6f1/detour/dnssec"
	"github.com/seed3787e6f1/detour/dnsserver"
)

// dnssecKeyDir is where the node reads its DNSSEC keys.
func (c *Config) dnssecKeyDir() string {
	if c.DNSSECKeyDir != "" {
		return c.DNSSECKeyDir
	}
	return filepath.Join(c.DataDir, "dnssec")
}

// dnssecKeys gives the DNS server the node's DNSSEC keys: the key
// directory, checked and read now (a directory others may read, or a key
// that cannot be read, stops the start), and read again whenever it
// changes. A node without the directory signs nothing.
func (n *Node) dnssecKeys(cfg *dnsserver.Config) error {
	dir := n.cfg.dnssecKeyDir()
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	if err := dnssec.CheckDir(dir); err != nil {
		return err
	}
	kd := &keyDir{dir: dir, logger: n.logger.With("component", "dnssec")}
	if err := kd.load(); err != nil {
		return err
	}
	cfg.DNSSECKeys = kd.keys
	return nil
}

// keyDir is a key directory and the keys last read from it.
type keyDir struct {
	dir    string
	logger *slog.Logger
	mu     sync.Mutex
	mtime  time.Time
	ring   dnssec.Keyring
}

// load reads the directory.
func (k *keyDir) load() error {
	st, err := os.Stat(k.dir)
	if err != nil {
		return fmt.Errorf("dnssec: %w", err)
	}
	ring, err := dnssec.LoadDir(k.dir)
	if err != nil {
		return err
	}
	k.mtime, k.ring = st.ModTime(), ring
	count := 0
	for _, keys := range ring {
		count += len(keys)
	}
	k.logger.Info("dnssec keys loaded", "dir", k.dir, "zones", len(ring), "keys", count)
	return nil
}

// keys returns the keys, reading the directory again first when it
// changed (a key added, rewritten or removed). A directory that no
// longer reads keeps the keys read before, and says why in the log.
func (k *keyDir) keys() dnssec.Keyring {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, err := os.Stat(k.dir)
	if err == nil && !st.ModTime().Equal(k.mtime) {
		if err = dnssec.CheckDir(k.dir); err == nil {
			err = k.load()
		}
	}
	if err != nil {
		k.logger.Error("dnssec key directory not read again: keeping the keys read before", "dir", k.dir, "err", err)
	}
	return k.ring
}
