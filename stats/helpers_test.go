package stats_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones the tests use, whatever the host has

	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

var testScope = storage.Scope{Guild: "100000000000000001", Server: "main"}

// mustOpenDB opens a database in a temporary folder, closed at the end of
// the test.
func mustOpenDB(tb testing.TB) *storage.DB {
	tb.Helper()
	db, err := storage.Open(filepath.Join(tb.TempDir(), "killfeed.db"), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func mustLoc(tb testing.TB, name string) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// server is one game server under test: its database, the index kept up to
// date by Add after each commit (as the writer does), and the zone its logs
// are written in.
type server struct {
	tb    testing.TB
	db    *storage.DB
	idx   *stats.Index
	loc   *time.Location
	added []storage.Record // every record committed so far, in commit order
}

func newServer(tb testing.TB, loc *time.Location) *server {
	tb.Helper()
	if loc == nil {
		loc = time.UTC
	}
	return &server{tb: tb, db: mustOpenDB(tb), idx: stats.New(loc), loc: loc}
}

// commit parses killfeed lines (times in the server's zone), commits them
// in one batch and adds what was new to the index.
func (s *server) commit(lines ...string) *storage.Batch {
	s.tb.Helper()
	b := s.store(lines...)
	s.idx.Add(b.Added)
	return b
}

// store commits lines in one batch without telling the index.
func (s *server) store(lines ...string) *storage.Batch {
	s.tb.Helper()
	b := &storage.Batch{Scope: testScope, Lines: len(lines)}
	for i, l := range lines {
		e, err := parser.ParseLine([]byte(l), i+1, s.loc)
		if err != nil {
			s.tb.Fatalf("line %q: %v", l, err)
		}
		b.Events = append(b.Events, e)
	}
	if err := s.db.Commit(b); err != nil {
		s.tb.Fatal(err)
	}
	s.added = append(s.added, b.Added...)
	return b
}

// load builds a fresh index from the database.
func (s *server) load() *stats.Index {
	s.tb.Helper()
	x, err := stats.Load(s.db, testScope, s.loc)
	if err != nil {
		s.tb.Fatal(err)
	}
	return x
}

func (s *server) stats(q string, p stats.Period, at time.Time) stats.Stats {
	s.tb.Helper()
	st, err := s.idx.Stats(q, p, at)
	if err != nil {
		s.tb.Fatalf("Stats(%q, %s, %v): %v", q, p, at, err)
	}
	return st
}

// pl is a player as a killfeed line names them.
type pl struct{ name, id string }

// eos returns a 32-hex-digit EOS id; ids sort as n does.
func eos(n int) string { return fmt.Sprintf("0002%028x", n) }

// ts formats t as a killfeed time, in t's own location.
func ts(t time.Time) string { return t.Format(parser.TimeLayout) }

// killLine is a 9-field kill (self-deaths too when k == v).
func killLine(t time.Time, k, v pl, weapon string, dist int) string {
	return fmt.Sprintf("%s;%s;%s;%s;%s;%s;%d;PS5;XSX;", ts(t), k.name, k.id, v.name, v.id, weapon, dist)
}

func selfLine(t time.Time, p pl, weapon string) string { return killLine(t, p, p, weapon, 0) }

// envLine is an unattributed death, in the 7-field form.
func envLine(t time.Time, p pl) string {
	return fmt.Sprintf("%s;;;%s;%s;;1;", ts(t), p.name, p.id)
}

func rivalString(r *stats.Rival) string {
	if r == nil {
		return "<nil>"
	}
	return fmt.Sprintf("{%s %q %d}", r.ID, r.Name, r.Count)
}

// statsDiff lists the fields of got that differ from want, as "got X, want Y".
func statsDiff(got, want stats.Stats) []string {
	var out []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		f := gv.Type().Field(i)
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		switch g := g.(type) {
		case *stats.Rival:
			if !reflect.DeepEqual(g, w) {
				out = append(out, fmt.Sprintf("%s: got %s, want %s", f.Name, rivalString(g), rivalString(w.(*stats.Rival))))
			}
		case time.Time:
			if !g.Equal(w.(time.Time)) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", f.Name, g, w))
			}
		default:
			if !reflect.DeepEqual(g, w) {
				out = append(out, fmt.Sprintf("%s: got %v, want %v", f.Name, g, w))
			}
		}
	}
	return out
}

// checkStats compares every field of got with want, ignoring LastSeen and
// Platform when want leaves them zero.
func checkStats(tb testing.TB, what string, got, want stats.Stats) {
	tb.Helper()
	if want.LastSeen.IsZero() {
		got.LastSeen = time.Time{}
	}
	if want.Platform == "" {
		got.Platform = ""
	}
	if d := statsDiff(got, want); len(d) > 0 {
		tb.Errorf("%s:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

func entriesString(es []stats.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "\n\t%d. %s %q %v", e.Rank, e.ID, e.Name, e.Value)
	}
	if b.Len() == 0 {
		return " (none)"
	}
	return b.String()
}

func matchesString(ms []stats.Match) string {
	var parts []string
	for _, m := range ms {
		parts = append(parts, fmt.Sprintf("%s %q", m.ID, m.Name))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
