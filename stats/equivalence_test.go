package stats_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"killfeed/stats"
)

// TestAddEqualsLoad: a few thousand random events among 30 players,
// committed in random batches and partly out of time order (old files
// imported after newer ones, files read twice). After every batch the
// index kept by Add answers every query exactly as a fresh Load does.
func TestAddEqualsLoad(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			loc := mustLoc(t, "Europe/Berlin")
			n := 3000
			if testing.Short() {
				n = 600
			}
			g := genLog(r, n, 30, time.Date(2025, 3, 15, 0, 0, 0, 0, loc), 60*24*time.Hour)
			q := newQueries(g, r)
			s := newServer(t, loc)
			batches := deliveries(r, g.lines)
			late := 0
			var newest int64
			for i, b := range batches {
				added := s.commit(b...).Added
				for _, rec := range added {
					if rec.Time < newest {
						late++ // an event older than one already held
						break
					}
				}
				for _, rec := range added {
					newest = max(newest, rec.Time)
				}
				if d := compareIndexes(s.idx, s.load(), q, 10); len(d) > 0 {
					t.Fatalf("after batch %d of %d (%d lines, %d new), Add and Load differ:\n%s", i+1, len(batches), len(b), len(added), strings.Join(d, "\n"))
				}
			}
			t.Logf("%d events in %d batches, %d of them out of order", s.idx.Summary().Events, len(batches), late)
			if late < 5 && !testing.Short() {
				t.Errorf("only %d batches arrived out of order: the test is too weak", late)
			}
			if got := s.idx.Summary().Events; got < n*9/10 {
				t.Errorf("%d events held, want about %d", got, n)
			}
		})
	}
}

// TestLoadMatchesDefinition holds the index of a random history to a
// naive model of DESIGN.md's "Stats semantics": every player, period,
// leaderboard, lookup and search.
func TestLoadMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	loc := mustLoc(t, "America/New_York")
	g := genLog(r, 2500, 30, time.Date(2025, 2, 20, 0, 0, 0, 0, loc), 50*24*time.Hour)
	q := newQueries(g, r)
	s := newServer(t, loc)
	for _, b := range deliveries(r, g.lines) {
		s.commit(b...)
	}
	m := newModel(s.added, loc)
	for name, x := range map[string]*stats.Index{"Load": s.load(), "Add": s.idx} {
		fails := 0
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf(name+": "+format, args...)
			if fails++; fails == 15 {
				t.FailNow()
			}
		}
		if got, want := x.Summary(), m.summary(); got != want {
			fail("Summary: got %+v, want %+v", got, want)
		}
		for _, id := range g.ids {
			for _, at := range q.ats {
				for _, p := range stats.Periods {
					got, err := x.Stats(id, p, at)
					if err != nil {
						fail("Stats(%s): %v", id, err)
						continue
					}
					if d := statsDiff(got, m.stats(id, p, at)); len(d) > 0 {
						fail("Stats(%s, %s, %v):\n\t%s", id, p, at, strings.Join(d, "\n\t"))
					}
				}
			}
		}
		for _, at := range q.ats[:2] {
			for _, p := range stats.Periods {
				for _, metric := range stats.Metrics {
					got, want := x.Leaderboard(metric, p, at, 10), m.leaderboard(metric, p, at, 10)
					if !reflect.DeepEqual(got, want) {
						fail("Leaderboard(%s, %s, %v): got%s\nwant%s", metric, p, at, entriesString(got), entriesString(want))
					}
				}
			}
		}
		for _, n := range g.names {
			for _, v := range []string{n, strings.ToUpper(n), strings.ToLower(n)} {
				got, err := x.Lookup(v)
				want, ok := m.lookup(v)
				if got != want || (err == nil) != ok {
					fail("Lookup(%q): got %q, %v; want %q", v, got, err, want)
				}
			}
		}
		for _, p := range q.prefixes {
			for _, limit := range []int{1, 5, 1000} {
				got, want := x.Search(p, limit), m.search(p, limit)
				if !reflect.DeepEqual(got, want) {
					fail("Search(%q, %d): got %s, want %s", p, limit, matchesString(got), matchesString(want))
				}
			}
		}
	}
}
