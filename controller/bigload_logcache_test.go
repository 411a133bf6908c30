package controller

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// TestLogStoreKeepsBigEntry: the latest big entry is read back as
// stored, from memory, and never stands for what the store no longer
// holds: after a deletion, a store over its index, or a suffix cut put
// off, the store's own entry comes back.
func TestLogStoreKeepsBigEntry(t *testing.T) {
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(t.TempDir(), "raft.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer bolt.Close()
	l := &logStore{LogStore: bolt}
	big := bytes.Repeat([]byte("x"), bigLogAbove+1)
	entry := func(i uint64, data []byte) *raft.Log {
		return &raft.Log{Index: i, Term: 1, Type: raft.LogCommand, Data: data}
	}
	read := func(i uint64) []byte {
		t.Helper()
		var got raft.Log
		if err := l.GetLog(i, &got); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		return got.Data
	}
	if err := l.StoreLogs([]*raft.Log{entry(1, []byte("a")), entry(2, big), entry(3, []byte("c"))}); err != nil {
		t.Fatal(err)
	}
	if l.big.log == nil || l.big.log.Index != 2 {
		t.Fatalf("kept %v, want entry 2", l.big.log)
	}
	if !bytes.Equal(read(2), big) || string(read(3)) != "c" || string(read(1)) != "a" {
		t.Fatal("entries read back otherwise than stored")
	}
	// A follower's conflict: the suffix from 2 goes (put off), and a
	// small entry takes index 2.
	if err := l.DeleteRange(2, 3); err != nil {
		t.Fatal(err)
	}
	if l.big.log != nil {
		t.Fatal("a deletion left the big entry kept")
	}
	if err := l.StoreLogs([]*raft.Log{entry(2, []byte("b2"))}); err != nil {
		t.Fatal(err)
	}
	if string(read(2)) != "b2" {
		t.Fatalf("entry 2 is %q, want the one stored over it", read(2))
	}
	var gone raft.Log
	if err := l.GetLog(3, &gone); err == nil {
		t.Fatalf("entry 3 still reads (%q) after the cut", gone.Data)
	}
	// A big entry stored again, then a store over its index.
	if err := l.StoreLogs([]*raft.Log{entry(3, big)}); err != nil {
		t.Fatal(err)
	}
	if err := l.StoreLogs([]*raft.Log{entry(3, []byte("c3"))}); err != nil {
		t.Fatal(err)
	}
	if string(read(3)) != "c3" {
		t.Fatalf("entry 3 is %.10q, want the one stored over it", read(3))
	}
}
