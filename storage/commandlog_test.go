package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// cmd returns an entry at t0+d whose Options name it.
func cmd(d time.Duration, name string) CommandEntry {
	return CommandEntry{
		Time:     t0.Add(d),
		Guild:    "100000000000000001",
		Channel:  "200000000000000002",
		UserID:   "300000000000000003",
		UserName: "Bob",
		Command:  "stats",
		Options:  name,
		Outcome:  OutcomeOK,
		Handler:  1500 * time.Microsecond,
	}
}

func mustAppendCommands(tb testing.TB, db *DB, entries ...CommandEntry) {
	tb.Helper()
	if err := db.AppendCommands(entries); err != nil {
		tb.Fatalf("AppendCommands(%d entries): %v", len(entries), err)
	}
}

// commandNames returns the Options of the entries at or after since.
func commandNames(tb testing.TB, db *DB, since time.Time) []string {
	tb.Helper()
	names := []string{}
	err := db.Commands(since, func(e CommandEntry) error {
		names = append(names, e.Options)
		return nil
	})
	if err != nil {
		tb.Fatalf("Commands(%v): %v", since, err)
	}
	return names
}

func TestCommandsEmpty(t *testing.T) {
	db := MustOpenDB(t)
	if got := commandNames(t, db, time.Time{}); len(got) != 0 {
		t.Errorf("Commands on a new database = %q, want none", got)
	}
	if n, err := db.PruneCommands(t0.Add(time.Hour), 10); n != 0 || err != nil {
		t.Errorf("PruneCommands on a new database = %d, %v; want 0, nil", n, err)
	}
	if err := db.AppendCommands(nil); err != nil {
		t.Errorf("AppendCommands(nil) = %v, want nil", err)
	}
}

func TestCommandsRoundTrip(t *testing.T) {
	db := MustOpenDB(t)
	in := cmd(0, "player=Bob period=month")
	in.Outcome = OutcomeFailed
	in.Handler = 1234567 * time.Nanosecond
	mustAppendCommands(t, db, in)
	var got []CommandEntry
	err := db.Commands(time.Time{}, func(e CommandEntry) error {
		got = append(got, e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("Commands returned %d entries, want 1", len(got))
	}
	if !got[0].Time.Equal(in.Time) {
		t.Errorf("Time = %v, want %v", got[0].Time, in.Time)
	}
	got[0].Time = in.Time
	if !reflect.DeepEqual(got[0], in) {
		t.Errorf("Commands returned %+v, want %+v", got[0], in)
	}
}

// Entries come back in time order, whatever the order of the appends; at
// one time, in the order appended. since is inclusive.
func TestCommandsOrderAndSince(t *testing.T) {
	db := MustOpenDB(t)
	mustAppendCommands(t, db, cmd(3*time.Second, "c"), cmd(time.Second, "a"))
	mustAppendCommands(t, db, cmd(2*time.Second, "b1"), cmd(2*time.Second, "b2"), cmd(4*time.Second, "d"))
	mustAppendCommands(t, db, cmd(2*time.Second, "b3"))

	for _, tc := range []struct {
		since time.Time
		want  []string
	}{
		{time.Time{}, []string{"a", "b1", "b2", "b3", "c", "d"}},
		{t0.Add(2 * time.Second), []string{"b1", "b2", "b3", "c", "d"}},
		{t0.Add(2*time.Second + 1), []string{"c", "d"}},
		{t0.Add(4 * time.Second), []string{"d"}},
		{t0.Add(5 * time.Second), []string{}},
	} {
		if got := commandNames(t, db, tc.since); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Commands(t0%+v) = %q, want %q", tc.since.Sub(t0), got, tc.want)
		}
	}
}

// Times outside what Unix nanoseconds hold sort at the ends rather than
// wrapping around.
func TestCommandsExtremeTimes(t *testing.T) {
	db := MustOpenDB(t)
	mustAppendCommands(t, db,
		CommandEntry{Time: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), Options: "future"},
		CommandEntry{Options: "zero"},
		cmd(0, "now"),
	)
	if got, want := commandNames(t, db, time.Time{}), []string{"zero", "now", "future"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Commands(zero time) = %q, want %q", got, want)
	}
	if got, want := commandNames(t, db, t0), []string{"now", "future"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Commands(t0) = %q, want %q", got, want)
	}
}

// Commands reads in chunks: the scan goes on across them, and an entry
// deleted between two chunks does not stop it.
func TestCommandsAcrossChunks(t *testing.T) {
	db := MustOpenDB(t)
	n := 2*commandScanChunk + 500
	var all []CommandEntry
	for i := range n {
		all = append(all, cmd(time.Duration(i)*time.Millisecond, fmt.Sprint(i)))
	}
	mustAppendCommands(t, db, all...)

	i := 0
	err := db.Commands(time.Time{}, func(e CommandEntry) error {
		if want := fmt.Sprint(i); e.Options != want {
			return fmt.Errorf("entry %d is %q, want %q", i, e.Options, want)
		}
		if i == commandScanChunk-1 {
			// The last entry of the first chunk, where the next one starts.
			if n, err := db.PruneCommands(e.Time.Add(time.Nanosecond), commandScanChunk); err != nil || n != commandScanChunk {
				return fmt.Errorf("PruneCommands during the scan = %d, %v; want %d, nil", n, err, commandScanChunk)
			}
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Errorf("Commands called fn %d times, want %d", i, n)
	}
}

func TestCommandsStopsOnError(t *testing.T) {
	db := MustOpenDB(t)
	mustAppendCommands(t, db, cmd(0, "a"), cmd(time.Second, "b"), cmd(2*time.Second, "c"))
	stop := errors.New("stop here")
	var seen []string
	err := db.Commands(time.Time{}, func(e CommandEntry) error {
		seen = append(seen, e.Options)
		if e.Options == "b" {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Commands = %v, want the error fn returned", err)
	}
	if want := []string{"a", "b"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("fn saw %q, want %q", seen, want)
	}
}

// A corrupt record is skipped, not the end of the scan.
func TestCommandsSkipsCorrupt(t *testing.T) {
	db := MustOpenDB(t)
	mustAppendCommands(t, db, cmd(0, "a"), cmd(2*time.Second, "c"))
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCommandLog)
		k := binary.BigEndian.AppendUint64(nil, commandNanos(t0.Add(time.Second)))
		k = binary.BigEndian.AppendUint64(k, 99)
		if err := b.Put(k, []byte(`{"time": not json`)); err != nil {
			return err
		}
		return b.Put([]byte("stray"), []byte(`{}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := commandNames(t, db, time.Time{}), []string{"a", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Commands = %q, want %q", got, want)
	}
}

func TestPruneCommands(t *testing.T) {
	db := MustOpenDB(t)
	var all []CommandEntry
	for i := range 10 {
		all = append(all, cmd(time.Duration(i)*time.Second, fmt.Sprint(i)))
	}
	all = append(all, cmd(5*time.Second, "5b")) // a second entry at 5s
	mustAppendCommands(t, db, all...)

	steps := []struct {
		before time.Time
		max    int
		n      int
		left   []string
	}{
		{t0, 10, 0, []string{"0", "1", "2", "3", "4", "5", "5b", "6", "7", "8", "9"}}, // before is exclusive
		{t0.Add(5 * time.Second), 0, 0, []string{"0", "1", "2", "3", "4", "5", "5b", "6", "7", "8", "9"}},
		{t0.Add(5 * time.Second), 2, 2, []string{"2", "3", "4", "5", "5b", "6", "7", "8", "9"}}, // oldest first
		{t0.Add(5 * time.Second), 10, 3, []string{"5", "5b", "6", "7", "8", "9"}},
		{t0.Add(5*time.Second + 1), 10, 2, []string{"6", "7", "8", "9"}},
		{t0.Add(time.Hour), 10, 4, []string{}},
		{t0.Add(time.Hour), 10, 0, []string{}},
	}
	for _, s := range steps {
		n, err := db.PruneCommands(s.before, s.max)
		if err != nil || n != s.n {
			t.Errorf("PruneCommands(t0%+v, %d) = %d, %v; want %d, nil", s.before.Sub(t0), s.max, n, err, s.n)
		}
		if got := commandNames(t, db, time.Time{}); !reflect.DeepEqual(got, s.left) {
			t.Errorf("after PruneCommands(t0%+v, %d): %q left, want %q", s.before.Sub(t0), s.max, got, s.left)
		}
	}
}

func TestCommandsSurviveReopen(t *testing.T) {
	db := MustOpenDB(t)
	mustAppendCommands(t, db, cmd(0, "a"), cmd(time.Second, "b"))
	db = reopen(t, db)
	mustAppendCommands(t, db, cmd(time.Second, "c"))
	if got, want := commandNames(t, db, time.Time{}), []string{"a", "b", "c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Commands after reopening = %q, want %q", got, want)
	}
}
