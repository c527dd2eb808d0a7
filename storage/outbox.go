package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	bolt "go.etcd.io/bbolt"

	"killfeed/parser"
)

// The outbox holds the posts that committed events cause, until the poster
// has sent them. Commit writes a post for each new event of a live
// (non-backfill) batch in the same transaction as the event and the
// source's cursor, so a crash can neither lose a post nor make one for an
// event that was not stored; the poster deletes a post only once Discord
// has accepted it.
//
// Layout: the top-level bucket "outbox" maps an 8-byte big-endian sequence
// (the bucket's NextSequence, from 1, never reused) to
//
//	version  1 byte (outboxVersion)
//	kind     1 byte (postKillfeed or postServer)
//	queued   8 bytes, big-endian Unix milliseconds (DB.Now at commit)
//	guild    uvarint length + bytes
//	server   uvarint length + bytes
//	event    uvarint length + the event's key in its scope's events or
//	         serverevents bucket
//
// The event itself is stored once, in its scope; Posts resolves the key.

var bucketOutbox = []byte("outbox")

const outboxVersion = 1

// Post kinds, as stored.
const (
	postKillfeed = 1
	postServer   = 2
)

// Post is an event waiting to be posted to Discord.
type Post struct {
	Key    uint64 // order in the outbox (bucket sequence, from 1); the poster derives the message nonce from it
	Scope  Scope
	Queued time.Time // when it was committed (the DB's clock)
	// One of:
	Record *Record       // a killfeed event (its byte slices are the Post's own: safe after the transaction)
	Server *ServerRecord // a server log event
}

// postable reports whether a live server event of kind k makes a post.
// Vehicle counts and the slot count are bookkeeping, never news; the poster
// filters the other kinds by its configuration.
func postable(k parser.ServerKind) bool {
	switch k {
	case parser.VehicleAdd, parser.VehicleDel, parser.PlayerLimit, parser.Queue:
		return false
	}
	return true
}

// errStop ends a ForEach early.
var errStop = errors.New("stop")

// outbox writes posts inside one Commit transaction. Its bucket is created
// on first use, so backfill-only transactions leave the outbox alone.
type outbox struct {
	tx      *bolt.Tx
	b       *bolt.Bucket
	queued  int64  // Unix ms
	noPosts bool   // DB.NoPosts
	last    uint64 // the key of the last post added
}

// add queues a post of kind for the event stored under key in s.
func (o *outbox) add(kind byte, s Scope, key []byte) error {
	if o.b == nil {
		b, err := o.tx.CreateBucketIfNotExists(bucketOutbox)
		if err != nil {
			return fmt.Errorf("create outbox bucket: %w", err)
		}
		b.FillPercent = 1 // keys only ever grow: pack pages full
		o.b = b
	}
	seq, err := o.b.NextSequence()
	if err != nil {
		return fmt.Errorf("outbox sequence: %w", err)
	}
	o.last = seq
	// One allocation for the key and the value, which bbolt needs intact
	// until the transaction ends.
	buf := make([]byte, 8, 8+10+3*binary.MaxVarintLen16+len(s.Guild)+len(s.Server)+len(key))
	binary.BigEndian.PutUint64(buf, seq)
	v := append(buf[8:], outboxVersion, kind)
	v = binary.BigEndian.AppendUint64(v, uint64(o.queued))
	v = binary.AppendUvarint(v, uint64(len(s.Guild)))
	v = append(v, s.Guild...)
	v = binary.AppendUvarint(v, uint64(len(s.Server)))
	v = append(v, s.Server...)
	v = binary.AppendUvarint(v, uint64(len(key)))
	v = append(v, key...)
	if err := o.b.Put(buf[:8:8], v); err != nil {
		return fmt.Errorf("put post: %w", err)
	}
	return nil
}

// outboxEntry is a decoded outbox value. Its key aliases the value.
type outboxEntry struct {
	kind   byte
	queued int64
	scope  Scope
	key    []byte
}

var errCorruptPost = errors.New("corrupt outbox record")

func decodePost(v []byte, e *outboxEntry) error {
	if len(v) < 10 || v[0] != outboxVersion {
		return errCorruptPost
	}
	e.kind = v[1]
	e.queued = int64(binary.BigEndian.Uint64(v[2:10]))
	v = v[10:]
	var fields [3][]byte
	for i := range fields {
		n, rest, ok := uvarint(v)
		if !ok || n > uint64(len(rest)) {
			return errCorruptPost
		}
		fields[i], v = rest[:n], rest[n:]
	}
	e.scope = Scope{Guild: string(fields[0]), Server: string(fields[1])}
	e.key = fields[2]
	return nil
}

// resolve fills p with the event e refers to, copied out of the
// transaction's memory. It returns false when the event is not stored.
func resolve(tx *bolt.Tx, e *outboxEntry, p *Post) (bool, error) {
	sb, err := scopeBucket(tx, e.scope, false)
	if err != nil || sb == nil {
		return false, nil // no such scope: nothing to post
	}
	switch e.kind {
	case postKillfeed:
		b := sb.Bucket(bucketEvents)
		if b == nil {
			return false, nil
		}
		v := b.Get(e.key)
		if v == nil {
			return false, nil
		}
		// One allocation holds the key and the value: the Record's slices
		// point into it and belong to the Post.
		buf := make([]byte, len(e.key)+len(v))
		copy(buf, e.key)
		copy(buf[len(e.key):], v)
		p.Record = new(Record)
		if err := decodeEvent(buf[:len(e.key)], buf[len(e.key):], p.Record); err != nil {
			return false, err
		}
	case postServer:
		b := sb.Bucket(bucketServerEvents)
		if b == nil {
			return false, nil
		}
		v := b.Get(e.key)
		if v == nil {
			return false, nil
		}
		p.Server = new(ServerRecord) // decodeServerEvent copies into strings
		if err := decodeServerEvent(e.key, v, p.Server); err != nil {
			return false, err
		}
	default:
		return false, errCorruptPost
	}
	p.Scope = e.scope
	p.Queued = time.UnixMilli(e.queued).UTC()
	return true, nil
}

// Posts returns up to limit posts with Key > after, in key order (none when
// limit <= 0).
//
// A post whose event cannot be read (it is not stored, or a record is
// corrupt) could never be sent: Posts skips it and deletes it.
func (db *DB) Posts(after uint64, limit int) ([]Post, error) {
	if limit <= 0 || after == math.MaxUint64 {
		return nil, nil
	}
	var out []Post
	var dead []uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		var e outboxEntry
		for k, v := c.Seek(binary.BigEndian.AppendUint64(nil, after+1)); k != nil && len(out) < limit; k, v = c.Next() {
			if len(k) != 8 {
				continue // not a post: leave it alone
			}
			key := binary.BigEndian.Uint64(k)
			p := Post{Key: key}
			ok := decodePost(v, &e) == nil
			if ok {
				var err error
				ok, err = resolve(tx, &e, &p)
				ok = ok && err == nil
			}
			if !ok {
				dead = append(dead, key)
				continue
			}
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read outbox: %w", err)
	}
	if len(dead) > 0 {
		if err := db.DeletePosts(dead...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DeletePosts removes posts (already sent, or with no destination). Unknown
// keys are ignored.
func (db *DB) DeletePosts(keys ...uint64) error {
	if len(keys) == 0 {
		return nil
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		for _, k := range keys {
			if err := b.Delete(binary.BigEndian.AppendUint64(nil, k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete posts: %w", err)
	}
	return nil
}

// DropPosts removes the posts queued before t (the age policy) and returns
// how many.
func (db *DB) DropPosts(before time.Time) (int, error) {
	// Most sweeps find nothing: look first, without the writer's lock.
	var any bool
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		var e outboxEntry
		return b.ForEach(func(k, v []byte) error {
			if decodePost(v, &e) == nil && time.UnixMilli(e.queued).Before(before) {
				any = true
				return errStop
			}
			return nil
		})
	})
	if err != nil && !errors.Is(err, errStop) || !any {
		return 0, err
	}
	var n int
	err = db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketOutbox)
		if b == nil {
			return nil
		}
		// Collect, then delete: a bbolt cursor may skip keys when the
		// bucket changes under it. The whole outbox is read, not just
		// its head, since the wall clock may have stepped back.
		var old [][]byte
		var e outboxEntry
		err := b.ForEach(func(k, v []byte) error {
			if decodePost(v, &e) == nil && time.UnixMilli(e.queued).Before(before) {
				old = append(old, append([]byte(nil), k...))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("drop posts: %w", err)
	}
	return n, nil
}

// LastPostKey returns the key of the last post ever queued (0 for none).
func (db *DB) LastPostKey() (uint64, error) {
	var seq uint64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketOutbox); b != nil {
			seq = b.Sequence()
		}
		return nil
	})
	return seq, err
}

// OutboxLen returns how many posts wait.
func (db *DB) OutboxLen() (int, error) {
	var n int
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketOutbox); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
