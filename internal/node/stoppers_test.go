package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// Stoppers run last started first, every one even when some fail, and
// once.
func TestStoppersRunInReverse(t *testing.T) {
	var s stoppers
	var order []string
	for _, name := range []string{"a", "b", "c"} {
		s.add(name, func(context.Context) error {
			order = append(order, name)
			if name == "b" {
				return errors.New("b broke")
			}
			return nil
		})
	}
	err := s.stop(context.Background())
	if !reflect.DeepEqual(order, []string{"c", "b", "a"}) {
		t.Errorf("stopped in order %v, want c b a", order)
	}
	if err == nil || err.Error() != "stopping b: b broke" {
		t.Errorf("err = %v, want b's failure", err)
	}
	if err := s.stop(context.Background()); err != nil || len(order) != 3 {
		t.Errorf("a second stop ran again: %v %v", order, err)
	}
}

// A start that fails part-way stops what it had started: the DNS port is
// free again and the data dir's Raft store is closed, so the same node
// starts at once when the problem is fixed.
func TestFailedStartStopsWhatStarted(t *testing.T) {
	dir := t.TempDir()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dnsAddr := freeUDPAndTCP(t)
	cfg := Config{Dev: true, DNSAddr: dnsAddr, APIAddr: busy.Addr().String(), DataDir: filepath.Join(dir, "data"), Spec: "../../examples/dev/spec.yaml"}
	if _, err := Start(cfg, slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("the node started on a busy API address")
	}
	// The DNS server the failed start had bound is gone.
	for _, network := range []string{"tcp", "udp"} {
		if network == "tcp" {
			ln, err := net.Listen("tcp", dnsAddr)
			if err != nil {
				t.Fatalf("the failed start left DNS/TCP bound: %v", err)
			}
			ln.Close()
			continue
		}
		pc, err := net.ListenPacket("udp", dnsAddr)
		if err != nil {
			t.Fatalf("the failed start left DNS/UDP bound: %v", err)
		}
		pc.Close()
	}
	// The Raft store was closed: its data dir opens again (bolt's lock
	// would block a second open for ever).
	cfg.APIAddr = "127.0.0.1:0"
	started := make(chan error, 1)
	go func() {
		n, err := Start(cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			err = n.Close(context.Background())
		}
		started <- err
	}()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("the node did not start after the fix: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the data dir stayed locked after the failed start")
	}
}

// freeUDPAndTCP returns a loopback address whose port is free for both.
func freeUDPAndTCP(t *testing.T) string {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			ln.Close()
			return addr
		}
	}
	t.Fatal("no port free for both UDP and TCP")
	return ""
}
