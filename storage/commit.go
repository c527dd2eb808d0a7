package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

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

	// A batch holds the lines of one kind of source: killfeed Events, or
	// (with ServerLog set) ServerEvents read from a Deadside.log.
	Events        []parser.Event
	ServerEvents  []parser.ServerEvent
	ServerLog     bool
	Backfill      bool   // the events are history, not news: see Record.Backfill
	Lines         int    // non-empty lines read, malformed included
	Malformed     int    // lines counted and skipped
	LastMalformed string // the last malformed line's error, if any

	// Horizon, if set, is stored as the source's backfill horizon unless
	// one is stored already; ClearHorizon deletes it (see DB.Horizon).
	Horizon      *tail.Cursor
	ClearHorizon bool

	// Committed, if set, is called by the Writer once the batch is durable
	// and AfterCommit has seen it.
	Committed func(*Batch)
	// ReadAt is when the reading of the batch's lines began and ParsedAt
	// when they were parsed; the Writer sets CommittedAt once they are
	// durable. They time the batch's flow.
	ReadAt, ParsedAt, CommittedAt time.Time

	// Set by Commit.
	Added       []Record       // the killfeed events that were new, in batch order
	AddedServer []ServerRecord // the server events that were new, in batch order
	Duplicates  int            // events already stored (a line read twice)
	// LastPost is the key of the last post its transaction queued, 0 for
	// none: once AfterCommit has seen the batch, the posts up to it may be
	// rendered from the indexes.
	LastPost uint64
}

// Counts are the running totals of a scope: killfeed lines, and apart from
// them the server log's.
type Counts struct {
	Lines         uint64 `json:"lines"`      // non-empty killfeed lines read
	Events        uint64 `json:"events"`     // killfeed events stored
	Duplicates    uint64 `json:"duplicates"` // lines whose event was already stored
	Malformed     uint64 `json:"malformed"`  // lines counted and skipped
	LastMalformed string `json:"last_malformed,omitempty"`

	LogLines         uint64 `json:"log_lines"`  // non-empty server log lines read
	LogEvents        uint64 `json:"log_events"` // server events stored
	LogDuplicates    uint64 `json:"log_duplicates"`
	LogMalformed     uint64 `json:"log_malformed"`
	LogLastMalformed string `json:"log_last_malformed,omitempty"`
}

// countKeys names a kind of source's counters.
type countKeys struct {
	lines, events, duplicates, malformed, lastMalformed []byte
}

var (
	killfeedCounts = countKeys{[]byte("lines"), []byte("events"), []byte("duplicates"), []byte("malformed"), []byte("last_malformed")}
	logCounts      = countKeys{[]byte("log_lines"), []byte("log_events"), []byte("log_duplicates"), []byte("log_malformed"), []byte("log_last_malformed")}
)

// Commit writes batches in one durable transaction: for each, the new
// events, the counts and the cursor, and unless the batch is backfill the
// posts its new events cause (see Posts). It fills in Added and Duplicates.
func (db *DB) Commit(batches ...*Batch) error {
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		ob := &outbox{tx: tx, queued: db.now().UnixMilli(), noPosts: db.NoPosts}
		for _, b := range batches {
			if err := commit(tx, b, ob); err != nil {
				return err
			}
		}
		for _, b := range batches {
			b.LastPost = ob.last
		}
		return nil
	})
	if err != nil {
		for _, b := range batches {
			b.Added, b.AddedServer, b.Duplicates = nil, nil, 0
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// commit writes one batch; ob receives its posts unless it is backfill.
func commit(tx *bolt.Tx, b *Batch, ob *outbox) error {
	sb, err := scopeBucket(tx, b.Scope, true)
	if err != nil {
		return err
	}
	if b.Backfill || ob.noPosts {
		ob = nil
	}
	b.Added, b.AddedServer, b.Duplicates = b.Added[:0], b.AddedServer[:0], 0
	if cap(b.Added) < len(b.Events) {
		b.Added = make([]Record, 0, len(b.Events))
	}
	keys, added := killfeedCounts, 0
	if b.ServerLog {
		keys = logCounts
		if err := commitServerEvents(sb, b, ob); err != nil {
			return err
		}
		added = len(b.AddedServer)
	} else {
		if err := commitEvents(sb, b, ob); err != nil {
			return err
		}
		added = len(b.Added)
	}

	counts := sb.Bucket(bucketCounts)
	for _, c := range []struct {
		key []byte
		n   int
	}{
		{keys.lines, b.Lines},
		{keys.events, added},
		{keys.duplicates, b.Duplicates},
		{keys.malformed, b.Malformed},
	} {
		if err := addCount(counts, c.key, c.n); err != nil {
			return err
		}
	}
	if b.LastMalformed != "" {
		if err := counts.Put(keys.lastMalformed, []byte(b.LastMalformed)); err != nil {
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
	if err := sb.Bucket(bucketCursors).Put([]byte(b.Source), cur); err != nil {
		return err
	}
	return commitHorizon(sb.Bucket(bucketHorizons), b)
}

func commitEvents(sb *bolt.Bucket, b *Batch, ob *outbox) error {
	events := sb.Bucket(bucketEvents)
	events.FillPercent = 0.9 // keys arrive mostly in time order
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
		v := encodeEvent(e, seq, b.Backfill)
		if err := events.Put(k, v); err != nil {
			return fmt.Errorf("put event: %w", err)
		}
		if ob != nil {
			if err := ob.add(postKillfeed, b.Scope, k); err != nil {
				return err
			}
		}
		var r Record
		if err := decodeEvent(k, v, &r); err != nil {
			return err
		}
		b.Added = append(b.Added, r)
	}
	return nil
}

func commitHorizon(hb *bolt.Bucket, b *Batch) error {
	key := []byte(b.Source)
	if b.ClearHorizon {
		return hb.Delete(key)
	}
	if b.Horizon == nil || hb.Get(key) != nil {
		return nil
	}
	v, err := json.Marshal(b.Horizon)
	if err != nil {
		return err
	}
	return hb.Put(key, v)
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
		k, l := killfeedCounts, logCounts
		c = Counts{
			Lines:         getCount(b, k.lines),
			Events:        getCount(b, k.events),
			Duplicates:    getCount(b, k.duplicates),
			Malformed:     getCount(b, k.malformed),
			LastMalformed: string(bytes.Clone(b.Get(k.lastMalformed))),

			LogLines:         getCount(b, l.lines),
			LogEvents:        getCount(b, l.events),
			LogDuplicates:    getCount(b, l.duplicates),
			LogMalformed:     getCount(b, l.malformed),
			LogLastMalformed: string(bytes.Clone(b.Get(l.lastMalformed))),
		}
		return nil
	})
	return c, err
}

// Cursor returns the stored cursor of source in s, and whether there is one.
func (db *DB) Cursor(s Scope, source string) (tail.Cursor, bool, error) {
	return db.cursorIn(s, bucketCursors, source)
}

// Horizon returns the backfill horizon stored for source in s, and whether
// there is one: the end of the source's files when it first started. Lines
// before it were history when the bot arrived, and are stored as backfill.
func (db *DB) Horizon(s Scope, source string) (tail.Cursor, bool, error) {
	return db.cursorIn(s, bucketHorizons, source)
}

// cursorIn reads the cursor stored under source in a bucket of s.
func (db *DB) cursorIn(s Scope, bucket []byte, source string) (tail.Cursor, bool, error) {
	var c tail.Cursor
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		sb, err := scopeBucket(tx, s, false)
		if err != nil || sb == nil {
			return err
		}
		b := sb.Bucket(bucket)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(source))
		if v == nil {
			return nil
		}
		found = true
		if err := json.Unmarshal(v, &c); err != nil {
			return fmt.Errorf("%s %s of %s: %w", bucket, source, s, err)
		}
		return nil
	})
	return c, found, err
}
