package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/tail"
)

// MustOpenDB opens a database in a temporary folder, closed at the end of
// the test.
func MustOpenDB(tb testing.TB) *DB {
	tb.Helper()
	db, err := Open(filepath.Join(tb.TempDir(), "killfeed.db"), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

var scopeA = Scope{Guild: "100000000000000001", Server: "main"}

func mustParse(tb testing.TB, lines ...string) []parser.Event {
	tb.Helper()
	var evs []parser.Event
	for i, l := range lines {
		e, err := parser.ParseLine([]byte(l), i+1, time.UTC)
		if err != nil {
			tb.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}

var sample = []string{
	"2025.05.15-00.11.07;Fatalben0;0002548521ba4271a497e39d5bfe5611;Rogue731;00022ac42542497589f654e6ac2c0a6f;MR5;20;XSX;XSX;",
	"2025.05.15-00.11.07;Fatalben0;0002548521ba4271a497e39d5bfe5611;MidS_Nate;000258ffecc24a53a5381fa95ee99769;MR5;15;XSX;PS5;",
	"2025.05.15-00.29.16;Njshh;0002e69a65204b669c20238266782d7b;Rogue731;00022ac42542497589f654e6ac2c0a6f;AK-mod;36;PS5;XSX;",
	"2025.05.15-00.59.45;Fatalben0;0002548521ba4271a497e39d5bfe5611;Fatalben0;0002548521ba4271a497e39d5bfe5611;suicide_by_relocation;0;XSX;XSX;",
	"2025.05.15-01.00.00;;;Njshh;0002e69a65204b669c20238266782d7b;;1;;PS5;",
}

func storedEvents(tb testing.TB, db *DB, s Scope) []string {
	tb.Helper()
	var out []string
	err := db.ForEachEvent(s, func(r *Record) error {
		out = append(out, fmt.Sprintf("%d/%d %v %s>%s %s %d %s %s",
			r.Time, r.Seq, r.Kind, r.KillerID, r.VictimID, r.Weapon, r.Distance, r.KillerPlatform, r.VictimPlatform))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestCommitStoresEventsCursorAndCounts(t *testing.T) {
	db := MustOpenDB(t)
	cur := tail.Cursor{File: "2025.05.15-00.00.00.csv", FPLen: 10, FP: 7, Offset: 500, Line: 6}
	b := &Batch{Scope: scopeA, Source: "killfeed", Cursor: cur, Events: mustParse(t, sample...), Lines: 6, Malformed: 1, LastMalformed: "x.csv: malformed killfeed line 3: bad"}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if len(b.Added) != len(sample) || b.Duplicates != 0 {
		t.Errorf("Added %d, Duplicates %d; want %d, 0", len(b.Added), b.Duplicates, len(sample))
	}
	for i, r := range b.Added {
		if r.Seq != uint64(i+1) || string(r.VictimID) != b.Events[i].VictimID {
			t.Errorf("Added[%d] = seq %d victim %s, want seq %d victim %s", i, r.Seq, r.VictimID, i+1, b.Events[i].VictimID)
		}
	}
	got, ok, err := db.Cursor(scopeA, "killfeed")
	if err != nil || !ok || got != cur {
		t.Errorf("Cursor = %+v, %v, %v; want %+v, true, nil", got, ok, err, cur)
	}
	counts, err := db.Counts(scopeA)
	want := Counts{Lines: 6, Events: 5, Malformed: 1, LastMalformed: b.LastMalformed}
	if err != nil || counts != want {
		t.Errorf("Counts = %+v, %v; want %+v", counts, err, want)
	}
	evs := storedEvents(t, db, scopeA)
	if len(evs) != 5 {
		t.Fatalf("stored %d events, want 5:\n%v", len(evs), evs)
	}
	if w := "1747267867/1 kill 0002548521ba4271a497e39d5bfe5611>00022ac42542497589f654e6ac2c0a6f MR5 20 XSX XSX"; evs[0] != w && evs[1] != w {
		t.Errorf("stored events %q, want one of the first two to be %q", evs[:2], w)
	}
}

func TestCommitIsIdempotent(t *testing.T) {
	db := MustOpenDB(t)
	first := &Batch{Scope: scopeA, Events: mustParse(t, sample...), Lines: 5}
	if err := db.Commit(first); err != nil {
		t.Fatal(err)
	}
	before := storedEvents(t, db, scopeA)
	// The same lines again (a file read twice), CRLF this time, plus one new.
	again := []string{}
	for _, l := range sample {
		again = append(again, l+"\r\n")
	}
	again = append(again, "2025.05.15-02.00.00;Njshh;0002e69a65204b669c20238266782d7b;Rogue731;00022ac42542497589f654e6ac2c0a6f;AK-mod;40;PS5;XSX;")
	second := &Batch{Scope: scopeA, Events: mustParse(t, again...), Lines: 6}
	if err := db.Commit(second); err != nil {
		t.Fatal(err)
	}
	if len(second.Added) != 1 || second.Duplicates != 5 {
		t.Errorf("second commit: Added %d, Duplicates %d; want 1, 5", len(second.Added), second.Duplicates)
	}
	after := storedEvents(t, db, scopeA)
	if len(after) != len(before)+1 {
		t.Errorf("stored %d events after re-reading, want %d", len(after), len(before)+1)
	}
	c, _ := db.Counts(scopeA)
	if c.Events != 6 || c.Duplicates != 5 || c.Lines != 11 {
		t.Errorf("Counts = %+v, want 6 events, 5 duplicates, 11 lines", c)
	}
}

// A transaction that fails leaves nothing behind: neither the events nor the
// cursor of any batch in it.
func TestCommitIsAllOrNothing(t *testing.T) {
	db := MustOpenDB(t)
	good := &Batch{Scope: scopeA, Source: "killfeed", Cursor: tail.Cursor{File: "a.csv", Offset: 99}, Events: mustParse(t, sample...), Lines: 5}
	bad := &Batch{Scope: Scope{Guild: "", Server: "x"}, Events: mustParse(t, sample[0])}
	if err := db.Commit(good, bad); err == nil {
		t.Fatal("Commit with an empty guild id succeeded, want an error")
	}
	if good.Added != nil {
		t.Errorf("Added = %d records after a failed commit, want none", len(good.Added))
	}
	if evs := storedEvents(t, db, scopeA); len(evs) != 0 {
		t.Errorf("stored %d events after a failed commit, want 0", len(evs))
	}
	if _, ok, _ := db.Cursor(scopeA, "killfeed"); ok {
		t.Error("cursor stored after a failed commit")
	}
}

func TestScopesAreSeparate(t *testing.T) {
	db := MustOpenDB(t)
	scopeB := Scope{Guild: "100000000000000002", Server: scopeA.Server}
	if err := db.Commit(&Batch{Scope: scopeA, Source: "killfeed", Cursor: tail.Cursor{Offset: 1}, Events: mustParse(t, sample...)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(&Batch{Scope: scopeB, Events: mustParse(t, sample[0])}); err != nil {
		t.Fatal(err)
	}
	if n := len(storedEvents(t, db, scopeB)); n != 1 {
		t.Errorf("guild B has %d events, want 1", n)
	}
	if _, ok, _ := db.Cursor(scopeB, "killfeed"); ok {
		t.Error("guild B sees guild A's cursor")
	}
	scopes, err := db.Scopes()
	if err != nil || len(scopes) != 2 || scopes[0] != scopeA || scopes[1] != scopeB {
		t.Errorf("Scopes() = %v, %v; want [%v %v]", scopes, err, scopeA, scopeB)
	}
	if n := len(storedEvents(t, db, Scope{Guild: "1", Server: "none"})); n != 0 {
		t.Errorf("unknown scope has %d events, want 0", n)
	}
}

func TestOpenLockedFailsFast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killfeed.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	start := time.Now()
	for _, ro := range []bool{false, true} {
		_, err = Open(path, Options{ReadOnly: ro, Timeout: 200 * time.Millisecond})
		if !errors.Is(err, ErrLocked) {
			t.Errorf("Open(ReadOnly %v) of a held database: %v, want ErrLocked", ro, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Open of a held database took %v, want well under 5s", d)
	}
}

func TestWriterGroupsAndFlushes(t *testing.T) {
	db := MustOpenDB(t)
	var mu sync.Mutex
	var seen []int
	var txs int
	w := NewWriter(db, func(bs []*Batch) {
		mu.Lock()
		defer mu.Unlock()
		txs++
		for _, b := range bs {
			seen = append(seen, len(b.Added))
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	var committed int
	for i := range sample {
		b := &Batch{Scope: scopeA, Source: "killfeed", Cursor: tail.Cursor{Offset: int64(i + 1)}, Events: mustParse(t, sample[i]), Lines: 1,
			Committed: func(b *Batch) { committed += len(b.Added) }}
		if err := w.Submit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(seen) != len(sample) || committed != len(sample) || txs < 1 || txs > len(sample) {
		t.Errorf("after Flush: AfterCommit saw %v in %d transactions, Committed counted %d; want %d batches of 1", seen, txs, committed, len(sample))
	}
	mu.Unlock()
	cur, _, _ := db.Cursor(scopeA, "killfeed")
	if cur.Offset != int64(len(sample)) {
		t.Errorf("cursor offset %d after Flush, want %d (the last batch's)", cur.Offset, len(sample))
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run returned %v, want nil", err)
	}
	if err := w.Submit(context.Background(), &Batch{Scope: scopeA}); !errors.Is(err, ErrWriterStopped) {
		t.Errorf("Submit after Run returned: %v, want ErrWriterStopped", err)
	}
}

func TestWriterStopsOnCommitError(t *testing.T) {
	db := MustOpenDB(t)
	w := NewWriter(db, nil)
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	if err := w.Submit(context.Background(), &Batch{Scope: Scope{Server: "x"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(context.Background()); err == nil {
		t.Error("Flush after a failed commit returned nil, want the error")
	}
	if err := <-done; err == nil {
		t.Error("Run after a failed commit returned nil, want the error")
	}
}

func TestDecodeRejectsCorruptRecords(t *testing.T) {
	e := mustParse(t, sample[0])[0]
	k, v := eventKey(&e), encodeEvent(&e, 3, true)
	var r Record
	if err := decodeEvent(k, v, &r); err != nil || r.Seq != 3 || string(r.Killer) != "Fatalben0" || r.Distance != 20 || !r.Backfill {
		t.Fatalf("decode(encode(%+v)) = %+v, %v", e, r, err)
	}
	// Version 1 records, from before the flags byte, still read.
	v1 := append([]byte{recordVersion1, v[1]}, v[3:]...)
	if err := decodeEvent(k, v1, &r); err != nil || r.Seq != 3 || string(r.Weapon) != e.Weapon || r.Backfill {
		t.Fatalf("decode of a version 1 record = %+v, %v", r, err)
	}
	for i := range len(v) - 1 {
		if err := decodeEvent(k, v[:i], &r); err == nil {
			t.Errorf("decode of a record cut to %d of %d bytes succeeded, want an error", i, len(v))
		}
	}
}
