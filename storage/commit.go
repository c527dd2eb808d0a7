package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"killfeed/parser"
	"killfeed/tail"
)

// Batch is what one read of a source produced: its events and counts, and
// the source's cursor just past them. Commit stores it all or nothing.
type Batch struct {
	Scope  Scope
	Source string      // the cursor's name, for example "killfeed" or "import:/path/file.csv"
	Cursor tail.Cursor // position just past the lines of this batch

	Events        []parser.Event
	Lines         int    // non-empty lines read, malformed included
	Malformed     int    // lines counted and skipped
	LastMalformed string // the last malformed line's error, if any

	// Committed, if set, is called by the Writer once the batch is durable
	// and AfterCommit has seen it.
	Committed func(*Batch)

	// Set by Commit.
	Added      []Record // the events that were new, in batch order
	Duplicates int      // events already stored (a line read twice)
}

// Counts are the running totals of a scope.
type Counts struct {
	Lines         uint64 `json:"lines"`      // non-empty lines read
	Events        uint64 `json:"events"`     // events stored
	Duplicates    uint64 `json:"duplicates"` // lines whose event was already stored
	Malformed     uint64 `json:"malformed"`  // lines counted and skipped
	LastMalformed string `json:"last_malformed,omitempty"`
}

var (
	countLines         = []byte("lines")
	countEvents        = []byte("events")
	countDuplicates    = []byte("duplicates")
	countMalformed     = []byte("malformed")
	countLastMalformed = []byte("last_malformed")
)

// Commit writes batches in one durable transaction: for each, the new
// events, the counts and the cursor. It fills in Added and Duplicates.
func (db *DB) Commit(batches ...*Batch) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, b := range batches {
			if err := commit(tx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		for _, b := range batches {
			b.Added, b.Duplicates = nil, 0
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func commit(tx *bolt.Tx, b *Batch) error {
	sb, err := scopeBucket(tx, b.Scope, true)
	if err != nil {
		return err
	}
	events := sb.Bucket(bucketEvents)
	events.FillPercent = 0.9 // keys arrive mostly in time order
	b.Added, b.Duplicates = b.Added[:0], 0
	for i := range b.Events {
		e := &b.Events[i]
		k := eventKey(e)
		if events.Get(k) != nil {
			b.Duplicates++
			continue
		}
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		v := encodeEvent(e, seq)
		if err := events.Put(k, v); err != nil {
			return fmt.Errorf("put event: %w", err)
		}
		var r Record
		if err := decodeEvent(k, v, &r); err != nil {
			return err
		}
		b.Added = append(b.Added, r)
	}

	counts := sb.Bucket(bucketCounts)
	for _, c := range []struct {
		key []byte
		n   int
	}{
		{countLines, b.Lines},
		{countEvents, len(b.Added)},
		{countDuplicates, b.Duplicates},
		{countMalformed, b.Malformed},
	} {
		if err := addCount(counts, c.key, c.n); err != nil {
			return err
		}
	}
	if b.LastMalformed != "" {
		if err := counts.Put(countLastMalformed, []byte(b.LastMalformed)); err != nil {
			return err
		}
	}

	if b.Source == "" {
		return nil
	}
	cur, err := json.Marshal(b.Cursor)
	if err != nil {
		return err
	}
	return sb.Bucket(bucketCursors).Put([]byte(b.Source), cur)
}

func addCount(b *bolt.Bucket, key []byte, n int) error {
	if n == 0 {
		return nil
	}
	v := getCount(b, key) + uint64(n)
	return b.Put(key, binary.BigEndian.AppendUint64(nil, v))
}

func getCount(b *bolt.Bucket, key []byte) uint64 {
	v := b.Get(key)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Counts returns the running totals of s (zero when it has no data).
func (db *DB) Counts(s Scope) (Counts, error) {
	var c Counts
	err := db.bolt.View(func(tx *bolt.Tx) error {
		sb, err := scopeBucket(tx, s, false)
		if err != nil || sb == nil {
			return err
		}
		b := sb.Bucket(bucketCounts)
		c = Counts{
			Lines:         getCount(b, countLines),
			Events:        getCount(b, countEvents),
			Duplicates:    getCount(b, countDuplicates),
			Malformed:     getCount(b, countMalformed),
			LastMalformed: string(bytes.Clone(b.Get(countLastMalformed))),
		}
		return nil
	})
	return c, err
}

// Cursor returns the stored cursor of source in s, and whether there is one.
func (db *DB) Cursor(s Scope, source string) (tail.Cursor, bool, error) {
	var c tail.Cursor
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		sb, err := scopeBucket(tx, s, false)
		if err != nil || sb == nil {
			return err
		}
		v := sb.Bucket(bucketCursors).Get([]byte(source))
		if v == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("cursor %s of %s: %w", source, s, err)
		}
		return nil
	})
	return c, found, err
}
