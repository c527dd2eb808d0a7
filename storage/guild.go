package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Guild settings live under guild/<id>/ beside the servers: links of
// Discord users to characters, link requests waiting for their proof, and
// settings such as the channel each kind of post goes to. Nothing here is
// written by the log pipeline; the bot writes it when a command asks.

var (
	bucketLinks    = []byte("links")    // character EOS id → Link
	bucketPending  = []byte("pending")  // character EOS id → Pending
	bucketSettings = []byte("settings") // "channel/<server>/<kind>" → channel id; "season/<server>" → Unix seconds
	bucketMeta     = []byte("meta")     // top level: "commands/<where>" → hash
)

// ErrLinked is returned by PutLink when the character is linked to another
// Discord user of the guild.
var ErrLinked = errors.New("character is linked to another user")

// Link ties a Discord user to a character (an EOS id) in one guild. A
// character has at most one user; a user may have several characters.
type Link struct {
	CharacterID string    `json:"character_id"`
	Name        string    `json:"name"`   // the character's name when linked
	Server      string    `json:"server"` // the server id it was linked on
	UserID      string    `json:"user_id"`
	At          time.Time `json:"at"`
	ByAdmin     string    `json:"by_admin,omitempty"` // the admin who linked it, if not the user
}

// Pending is a link request waiting for its proof: the character
// relocating on the server between Requested and Expires.
type Pending struct {
	CharacterID string    `json:"character_id"`
	Name        string    `json:"name"`
	UserID      string    `json:"user_id"`
	Server      string    `json:"server"`
	Requested   time.Time `json:"requested"`
	Expires     time.Time `json:"expires"`
	// Token and AppID let the bot edit the reply to /link when the proof
	// comes (an interaction's token lives 15 minutes).
	Token string `json:"token,omitempty"`
	AppID string `json:"app_id,omitempty"`
}

// guildBucket returns guild/<id>/<name>, creating it when create is set; it
// returns nil when it does not exist and create is false.
func guildBucket(tx *bolt.Tx, guild string, name []byte, create bool) (*bolt.Bucket, error) {
	if guild == "" {
		return nil, errors.New("empty guild id")
	}
	if !create {
		b := tx.Bucket(bucketGuild)
		for _, n := range [][]byte{[]byte(guild), name} {
			if b == nil {
				return nil, nil
			}
			b = b.Bucket(n)
		}
		return b, nil
	}
	b, err := tx.CreateBucketIfNotExists(bucketGuild)
	for _, n := range [][]byte{[]byte(guild), name} {
		if err != nil {
			break
		}
		b, err = b.CreateBucketIfNotExists(n)
	}
	if err != nil {
		return nil, fmt.Errorf("create %s bucket of guild %s: %w", name, guild, err)
	}
	return b, nil
}

// PutLink links l.UserID to l.CharacterID in guild, or returns ErrLinked
// when the character is another user's, unless replace is set (an admin's
// decision). Linking it to the same user again updates the link. It also
// ends any request pending for the character.
func (db *DB) PutLink(guild string, l Link, replace bool) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketLinks, true)
		if err != nil {
			return err
		}
		if v := b.Get([]byte(l.CharacterID)); v != nil {
			var old Link
			if err := json.Unmarshal(v, &old); err == nil && old.UserID != l.UserID && !replace {
				return ErrLinked
			}
		}
		v, err := json.Marshal(l)
		if err != nil {
			return err
		}
		if err := b.Put([]byte(l.CharacterID), v); err != nil {
			return err
		}
		if p, err := guildBucket(tx, guild, bucketPending, false); err != nil || p == nil {
			return err
		} else {
			return p.Delete([]byte(l.CharacterID))
		}
	})
}

// DeleteLink removes the link of character in guild, if there is one, and
// returns it.
func (db *DB) DeleteLink(guild, character string) (Link, bool, error) {
	var l Link
	var found bool
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketLinks, false)
		if err != nil || b == nil {
			return err
		}
		v := b.Get([]byte(character))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &l); err != nil {
			return err
		}
		found = true
		return b.Delete([]byte(character))
	})
	return l, found, err
}

// Links returns every link of guild.
func (db *DB) Links(guild string) ([]Link, error) {
	return getAll[Link](db, guild, bucketLinks)
}

// PutPending stores a link request, replacing any other for the character.
func (db *DB) PutPending(guild string, p Pending) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketPending, true)
		if err != nil {
			return err
		}
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return b.Put([]byte(p.CharacterID), v)
	})
}

// DeletePending removes the link request for character, if any.
func (db *DB) DeletePending(guild, character string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketPending, false)
		if err != nil || b == nil {
			return err
		}
		return b.Delete([]byte(character))
	})
}

// Pendings returns every link request of guild, expired ones included.
func (db *DB) Pendings(guild string) ([]Pending, error) {
	return getAll[Pending](db, guild, bucketPending)
}

func getAll[T any](db *DB, guild string, name []byte) ([]T, error) {
	var out []T
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, name, false)
		if err != nil || b == nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var x T
			if err := json.Unmarshal(v, &x); err != nil {
				return fmt.Errorf("%s %q of guild %s: %w", name, k, guild, err)
			}
			out = append(out, x)
			return nil
		})
	})
	return out, err
}

// SetSetting stores a guild setting; an empty value deletes it.
func (db *DB) SetSetting(guild, key, value string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketSettings, true)
		if err != nil {
			return err
		}
		if value == "" {
			return b.Delete([]byte(key))
		}
		return b.Put([]byte(key), []byte(value))
	})
}

// Settings returns every setting of guild.
func (db *DB) Settings(guild string) (map[string]string, error) {
	out := map[string]string{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		b, err := guildBucket(tx, guild, bucketSettings, false)
		if err != nil || b == nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = string(v)
			return nil
		})
	})
	return out, err
}

// Meta returns a value stored by SetMeta, or "".
func (db *DB) Meta(key string) (string, error) {
	var v string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bucketMeta); b != nil {
			v = string(b.Get([]byte(key)))
		}
		return nil
	})
	return v, err
}

// SetMeta stores a value of the bot's own, such as the hash of the slash
// commands last registered.
func (db *DB) SetMeta(key, value string) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), []byte(value))
	})
}

// Season returns when the season of s began (its last wipe), or the zero
// time if it never had one.
func (db *DB) Season(s Scope) (time.Time, error) {
	settings, err := db.Settings(s.Guild)
	if err != nil || settings[seasonKey(s)] == "" {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, settings[seasonKey(s)])
	if err != nil {
		return time.Time{}, fmt.Errorf("season of %s: %w", s, err)
	}
	return t, nil
}

// SetSeason starts a new season of s at t (a wipe).
func (db *DB) SetSeason(s Scope, t time.Time) error {
	return db.SetSetting(s.Guild, seasonKey(s), t.UTC().Format(time.RFC3339))
}

func seasonKey(s Scope) string { return "season/" + s.Server }
