package storage

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"killfeed/parser"
)

// ServerRecord is one stored server log event. Its Time is in UTC, to the
// millisecond.
type ServerRecord struct {
	parser.ServerEvent
	Seq      uint64 // arrival order in its scope
	Backfill bool   // see Record.Backfill
}

const serverRecordVersion = 1

// serverEventKey is (time in ms, hash of the fields): the same line read
// twice gives the same key.
func serverEventKey(e *parser.ServerEvent) []byte {
	h := fnvAdd(uint64(fnvOffset), string(rune(e.Kind)))
	for _, s := range []string{e.PlayerID, e.Player, e.Platform, e.Name, e.State} {
		h = fnvAdd(h, s)
		h = fnvAdd(h, "\x00")
	}
	h = fnvAdd(h, strconv.Itoa(int(e.Count)))
	k := make([]byte, 0, 16)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time.UnixMilli()))
	return binary.BigEndian.AppendUint64(k, h)
}

func encodeServerEvent(e *parser.ServerEvent, seq uint64, backfill bool) []byte {
	v := make([]byte, 0, 3+2*binary.MaxVarintLen64+len(e.PlayerID)+len(e.Player)+len(e.Platform)+len(e.Name)+len(e.State)+5)
	v = append(v, serverRecordVersion, byte(e.Kind), flags(backfill))
	v = binary.AppendUvarint(v, seq)
	v = binary.AppendUvarint(v, uint64(uint32(e.Count)))
	for _, s := range []string{e.PlayerID, e.Player, e.Platform, e.Name, e.State} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	return v
}

func decodeServerEvent(k, v []byte, r *ServerRecord) error {
	if len(k) != 16 || len(v) < 3 || v[0] != serverRecordVersion {
		return errCorrupt
	}
	r.Time = time.UnixMilli(int64(binary.BigEndian.Uint64(k))).UTC()
	r.Kind = parser.ServerKind(v[1])
	r.Backfill = v[2]&flagBackfill != 0
	v = v[3:]
	var ok bool
	if r.Seq, v, ok = uvarint(v); !ok {
		return errCorrupt
	}
	var c uint64
	if c, v, ok = uvarint(v); !ok {
		return errCorrupt
	}
	r.Count = int32(uint32(c))
	for _, dst := range []*string{&r.PlayerID, &r.Player, &r.Platform, &r.Name, &r.State} {
		var n uint64
		if n, v, ok = uvarint(v); !ok || n > uint64(len(v)) {
			return errCorrupt
		}
		*dst, v = string(v[:n]), v[n:]
	}
	return nil
}

func commitServerEvents(sb *bolt.Bucket, b *Batch, ob *outbox) error {
	events := sb.Bucket(bucketServerEvents)
	events.FillPercent = 0.9
	for i := range b.ServerEvents {
		e := &b.ServerEvents[i]
		k := serverEventKey(e)
		if events.Get(k) != nil {
			b.Duplicates++
			continue
		}
		seq, err := events.NextSequence()
		if err != nil {
			return err
		}
		if err := events.Put(k, encodeServerEvent(e, seq, b.Backfill)); err != nil {
			return fmt.Errorf("put server event: %w", err)
		}
		if ob != nil && postable(e.Kind) {
			if err := ob.add(postServer, b.Scope, k); err != nil {
				return err
			}
		}
		r := ServerRecord{ServerEvent: *e, Seq: seq, Backfill: b.Backfill}
		r.Time = time.UnixMilli(e.Time.UnixMilli()).UTC()
		b.AddedServer = append(b.AddedServer, r)
	}
	return nil
}

// ForEachServerEvent calls fn for every stored server event of s in time
// order (Seq orders events of the same millisecond).
func (db *DB) ForEachServerEvent(s Scope, fn func(*ServerRecord) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		sb, err := scopeBucket(tx, s, false)
		if err != nil || sb == nil {
			return err
		}
		b := sb.Bucket(bucketServerEvents)
		if b == nil {
			return nil
		}
		var r ServerRecord
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := decodeServerEvent(k, v, &r); err != nil {
				return fmt.Errorf("%s: server event %x: %w", s, k, err)
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	})
}
