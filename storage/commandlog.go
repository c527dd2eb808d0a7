package storage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The command log keeps one record per Discord interaction, for the
// operator's analytics; package cmdlog writes it in batches and prunes it.
//
// Layout: the top-level bucket "commandlog" maps a 16-byte key
//
//	time      8 bytes, big-endian Unix nanoseconds of CommandEntry.Time
//	          (clamped to 1970..2262)
//	sequence  8 bytes, big-endian: the bucket's NextSequence
//
// to the entry's JSON. Keys are unique and in time order, so a scan from a
// time is a Cursor.Seek.

var bucketCommandLog = []byte("commandlog")

// CommandEntry is one interaction, as the command log keeps it.
type CommandEntry struct {
	Time     time.Time     `json:"time"` // when the interaction was received
	Guild    string        `json:"guild"`
	Channel  string        `json:"channel"`
	UserID   string        `json:"user_id"`
	UserName string        `json:"user"`
	Command  string        `json:"command"`           // "stats", "admin link", "stats autocomplete"
	Options  string        `json:"options,omitempty"` // "player=Bob period=month"
	Outcome  string        `json:"outcome"`           // see the Outcome constants
	Handler  time.Duration `json:"handler_ns"`        // received → answer sent
}

// Outcomes of a command.
const (
	OutcomeOK      = "ok"      // answered
	OutcomeInvalid = "invalid" // the user's input was refused with an explanation (a bad option, no permission)
	OutcomeError   = "error"   // the bot failed (an internal error, a panic): "something went wrong"
	OutcomeFailed  = "failed"  // the answer could not be sent to Discord
)

// commandScanChunk bounds the entries Commands reads per read transaction.
const commandScanChunk = 1000

// commandNanos returns t as the Unix nanoseconds of a key, clamped to what
// an int64 of nanoseconds since 1970 holds (UnixNano is undefined outside
// it, and a negative value would sort last).
func commandNanos(t time.Time) uint64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// AppendCommands stores entries in one transaction: all of them or, on
// error, none.
func (db *DB) AppendCommands(entries []CommandEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketCommandLog)
		if err != nil {
			return fmt.Errorf("create bucket: %w", err)
		}
		b.FillPercent = 1 // keys (nearly) only ever grow: pack pages full
		for i := range entries {
			v, err := json.Marshal(&entries[i])
			if err != nil {
				return fmt.Errorf("encode %s entry: %w", entries[i].Command, err)
			}
			seq, err := b.NextSequence()
			if err != nil {
				return fmt.Errorf("sequence: %w", err)
			}
			k := make([]byte, 16) // bbolt needs it intact until the commit
			binary.BigEndian.PutUint64(k, commandNanos(entries[i].Time))
			binary.BigEndian.PutUint64(k[8:], seq)
			if err := b.Put(k, v); err != nil {
				return fmt.Errorf("put: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("append %d commands: %w", len(entries), err)
	}
	return nil
}

// Commands calls fn for every entry at or after since, oldest first; an
// error from fn stops the scan and is returned.
//
// Entries are read a thousand at a time and fn is called between read
// transactions, so a slow fn does not keep one open (a long read
// transaction would stall the writer when the file grows). Entries appended
// during the scan are seen if they sort after the point reached. An entry
// that cannot be decoded is skipped.
func (db *DB) Commands(since time.Time, fn func(CommandEntry) error) error {
	from := binary.BigEndian.AppendUint64(make([]byte, 0, 16), commandNanos(since))
	from = append(from, 0, 0, 0, 0, 0, 0, 0, 0)
	var last []byte // the last key read: the next chunk starts after it
	chunk := make([]CommandEntry, 0, commandScanChunk)
	for {
		chunk = chunk[:0]
		err := db.bolt.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketCommandLog)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			k, v := c.Seek(from)
			if last != nil && bytes.Equal(k, last) {
				k, v = c.Next()
			}
			for ; k != nil && len(chunk) < commandScanChunk; k, v = c.Next() {
				last = append(last[:0], k...)
				var e CommandEntry
				if len(k) != 16 || json.Unmarshal(v, &e) != nil {
					continue // not an entry, or a corrupt one
				}
				chunk = append(chunk, e)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read commands: %w", err)
		}
		for _, e := range chunk {
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(chunk) < commandScanChunk {
			return nil
		}
		from = last
	}
}

// PruneCommands deletes up to max entries older than before, oldest first,
// and returns how many it deleted. It is one transaction: callers loop until
// it returns fewer than max, so the writer's lock is never held long.
func (db *DB) PruneCommands(before time.Time, max int) (int, error) {
	if max <= 0 {
		return 0, nil
	}
	limit := commandNanos(before)
	old := func(k []byte) bool { return len(k) >= 8 && binary.BigEndian.Uint64(k) < limit }
	// Most sweeps find nothing: look first, without the writer's lock.
	var found bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketCommandLog); b != nil {
			k, _ := b.Cursor().First()
			found = k != nil && old(k)
		}
		return nil
	})
	if err != nil || !found {
		return 0, err
	}
	var n int
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCommandLog)
		if b == nil {
			return nil
		}
		// Collect, then delete: a bbolt cursor may skip keys when the
		// bucket changes under it.
		var keys [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && old(k) && len(keys) < max; k, _ = c.Next() {
			keys = append(keys, append([]byte(nil), k...))
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune commands: %w", err)
	}
	return n, nil
}
