package storage

import (
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// ErrLocked is returned by Open when another process holds the database.
var ErrLocked = errors.New("database is in use by another killfeed process (is the bot running? stop it, or point -config at another [storage] path)")

// Scope names one game server of one guild. All data lives under it and no
// read crosses from one Scope to another.
type Scope struct {
	Guild  string // Discord guild id
	Server string // server id from config.toml
}

func (s Scope) String() string { return s.Guild + "/" + s.Server }

// DB is the killfeed database.
type DB struct {
	bolt *bolt.DB
	path string

	// Now is the clock that dates outbox posts (Post.Queued); Open sets
	// it to time.Now.
	Now func() time.Time
	// NoPosts stops commits from queueing posts: set it when nothing will
	// post them (the bot runs without Discord), so the outbox does not
	// grow for nothing.
	NoPosts bool
}

func (db *DB) now() time.Time {
	if db.Now == nil {
		return time.Now()
	}
	return db.Now()
}

// Options tune Open.
type Options struct {
	ReadOnly bool
	// Timeout bounds the wait for the file lock (default 2s).
	Timeout time.Duration
	// MaxSize caps the memory map on 32-bit systems; 0 means bbolt's default.
	MaxSize int
}

// Open opens or creates the database at path.
func Open(path string, opt Options) (*DB, error) {
	if opt.Timeout == 0 {
		opt.Timeout = 2 * time.Second
	}
	bo := &bolt.Options{
		Timeout:      opt.Timeout,
		ReadOnly:     opt.ReadOnly,
		FreelistType: bolt.FreelistMapType,
		MaxSize:      opt.MaxSize,
	}
	b, err := bolt.Open(path, 0o600, bo)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("open database %q: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %q: %w", path, err)
	}
	return &DB{bolt: b, path: path, Now: time.Now}, nil
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database.
func (db *DB) Close() error { return db.bolt.Close() }

var (
	bucketGuild   = []byte("guild")
	bucketServer  = []byte("server")
	bucketEvents  = []byte("events")
	bucketCursors = []byte("cursors")
	bucketCounts  = []byte("counts")

	bucketServerEvents = []byte("serverevents")
	bucketHorizons     = []byte("horizons")
)

// scopeBucket returns the bucket of s, creating it when create is set. It
// returns nil when it does not exist and create is false.
func scopeBucket(tx *bolt.Tx, s Scope, create bool) (*bolt.Bucket, error) {
	if s.Guild == "" || s.Server == "" {
		return nil, fmt.Errorf("scope %q: empty guild or server id", s)
	}
	path := [][]byte{bucketGuild, []byte(s.Guild), bucketServer, []byte(s.Server)}
	if !create {
		b := tx.Bucket(path[0])
		for _, name := range path[1:] {
			if b == nil {
				return nil, nil
			}
			b = b.Bucket(name)
		}
		return b, nil
	}
	b, err := tx.CreateBucketIfNotExists(path[0])
	for _, name := range path[1:] {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists(name)
	}
	if err != nil {
		return nil, fmt.Errorf("create bucket for %s: %w", s, err)
	}
	for _, name := range [][]byte{bucketEvents, bucketCursors, bucketCounts, bucketServerEvents, bucketHorizons} {
		if _, err := b.CreateBucketIfNotExists(name); err != nil {
			return nil, fmt.Errorf("create bucket for %s: %w", s, err)
		}
	}
	return b, nil
}

// Scopes returns every scope that has data, in key order.
func (db *DB) Scopes() ([]Scope, error) {
	var out []Scope
	err := db.bolt.View(func(tx *bolt.Tx) error {
		g := tx.Bucket(bucketGuild)
		if g == nil {
			return nil
		}
		return g.ForEachBucket(func(guild []byte) error {
			srv := g.Bucket(guild).Bucket(bucketServer)
			if srv == nil {
				return nil
			}
			return srv.ForEachBucket(func(server []byte) error {
				out = append(out, Scope{Guild: string(guild), Server: string(server)})
				return nil
			})
		})
	})
	return out, err
}
