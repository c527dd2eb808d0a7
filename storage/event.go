package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"

	bolt "go.etcd.io/bbolt"

	"killfeed/parser"
)

// Record is one stored killfeed event. Its byte slices alias memory owned
// by the caller that produced it: in ForEachEvent they are valid only during
// the callback; in Batch.Added they stay valid.
type Record struct {
	Time     int64  // Unix seconds
	Seq      uint64 // arrival order in its scope; orders events of the same second
	Kind     parser.Kind
	Distance int32
	Backfill bool // already in the files when the source first started, or imported

	Killer, KillerID, Victim, VictimID, Weapon, KillerPlatform, VictimPlatform []byte
}

// Relocation reports whether r is a menu respawn.
func (r *Record) Relocation() bool {
	return r.Kind == parser.SelfDeath && string(r.Weapon) == parser.WeaponRelocation
}

// Event record versions: 1 had no flags byte.
const (
	recordVersion1 = 1
	recordVersion  = 2
)

// Record flags.
const flagBackfill = 1

// eventKey is (time, victim id, hash of the fields): the same line read
// twice gives the same key.
func eventKey(e *parser.Event) []byte {
	h := uint64(fnvOffset)
	for _, s := range []string{e.Killer, e.KillerID, e.Victim, e.Weapon, e.KillerPlatform, e.VictimPlatform} {
		h = fnvAdd(h, s)
		h = fnvAdd(h, "\x00")
	}
	h = fnvAdd(h, strconv.Itoa(int(e.Distance)))

	k := make([]byte, 0, 8+len(e.VictimID)+8)
	k = binary.BigEndian.AppendUint64(k, uint64(e.Time.Unix()))
	k = append(k, e.VictimID...)
	return binary.BigEndian.AppendUint64(k, h)
}

// FNV-1a, 64 bit, inline so that hashing allocates nothing.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvAdd(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func encodeEvent(e *parser.Event, seq uint64, backfill bool) []byte {
	n := 3 + 2*binary.MaxVarintLen64 + 6*binary.MaxVarintLen16 +
		len(e.Killer) + len(e.KillerID) + len(e.Victim) + len(e.Weapon) + len(e.KillerPlatform) + len(e.VictimPlatform)
	v := make([]byte, 0, n)
	v = append(v, recordVersion, byte(e.Kind), flags(backfill))
	v = binary.AppendUvarint(v, seq)
	v = binary.AppendUvarint(v, uint64(e.Distance))
	for _, s := range []string{e.Killer, e.KillerID, e.Victim, e.Weapon, e.KillerPlatform, e.VictimPlatform} {
		v = binary.AppendUvarint(v, uint64(len(s)))
		v = append(v, s...)
	}
	return v
}

var errCorrupt = errors.New("corrupt event record")

func decodeEvent(k, v []byte, r *Record) error {
	if len(k) < 16 || len(v) < 2 {
		return errCorrupt
	}
	r.Time = int64(binary.BigEndian.Uint64(k))
	r.VictimID = k[8 : len(k)-8]
	r.Kind = parser.Kind(v[1])
	switch {
	case v[0] == recordVersion1:
		r.Backfill = false
		v = v[2:]
	case v[0] == recordVersion && len(v) >= 3:
		r.Backfill = v[2]&flagBackfill != 0
		v = v[3:]
	default:
		return errCorrupt
	}
	var ok bool
	if r.Seq, v, ok = uvarint(v); !ok {
		return errCorrupt
	}
	var d uint64
	if d, v, ok = uvarint(v); !ok {
		return errCorrupt
	}
	r.Distance = int32(d)
	for _, dst := range []*[]byte{&r.Killer, &r.KillerID, &r.Victim, &r.Weapon, &r.KillerPlatform, &r.VictimPlatform} {
		var n uint64
		if n, v, ok = uvarint(v); !ok || n > uint64(len(v)) {
			return errCorrupt
		}
		*dst, v = v[:n:n], v[n:]
	}
	return nil
}

func flags(backfill bool) byte {
	if backfill {
		return flagBackfill
	}
	return 0
}

func uvarint(b []byte) (uint64, []byte, bool) {
	x, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return x, b[n:], true
}

// ForEachEvent calls fn for every stored event of s in key order (time,
// then victim id: use Seq to order events of the same second). The
// Record's slices are valid only during the call.
func (db *DB) ForEachEvent(s Scope, fn func(*Record) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		b, err := scopeBucket(tx, s, false)
		if err != nil || b == nil {
			return err
		}
		var r Record
		c := b.Bucket(bucketEvents).Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := decodeEvent(k, v, &r); err != nil {
				return fmt.Errorf("%s: event %x: %w", s, k, err)
			}
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	})
}
