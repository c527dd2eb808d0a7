package stats_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/stats"
)

// After a wipe, the Season period of a server equals all time on a server
// that only saw the events since the wipe, whether the season was set
// before or after the events arrived, and all time is kept.
func TestSeason(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	loc := mustLoc(t, "Europe/London")
	g := genLog(r, 2000, 25, time.Date(2025, 4, 1, 0, 0, 0, 0, loc), 30*24*time.Hour)
	wipe := time.Date(2025, 4, 11, 12, 0, 0, 0, loc)
	var before, since []string
	for _, l := range g.lines {
		at, err := time.ParseInLocation(parser.TimeLayout, l[:len(parser.TimeLayout)], loc)
		if err != nil {
			t.Fatal(err)
		}
		if at.Before(wipe) {
			before = append(before, l)
		} else {
			since = append(since, l)
		}
	}
	if len(before) < 500 || len(since) < 500 {
		t.Fatalf("%d lines before the wipe and %d since: the test is too weak", len(before), len(since))
	}

	full := newServer(t, loc)
	full.commit(before...)
	full.idx.SetSeason(wipe) // wiped, then the season's events arrive
	full.commit(since[:len(since)/2]...)
	full.commit(since[len(since)/2:]...)
	loaded := full.load()
	loaded.SetSeason(wipe) // as at start-up: loaded, then the stored wipe applied
	fresh := newServer(t, loc)
	fresh.commit(since...)
	want := fresh.idx

	at := wipe.Add(24 * time.Hour)
	for name, x := range map[string]*stats.Index{"Add": full.idx, "Load": loaded} {
		if got := x.Season(); !got.Equal(wipe) {
			t.Errorf("%s: Season() = %v, want %v", name, got, wipe)
		}
		for _, m := range stats.Metrics {
			got, w := x.Leaderboard(m, stats.Season, at, 10), want.Leaderboard(m, stats.AllTime, at, 10)
			if !reflect.DeepEqual(got, w) {
				t.Errorf("%s: season leaderboard %s: got%s\nwant%s", name, m, entriesString(got), entriesString(w))
			}
		}
		players := 0
		for _, id := range g.ids {
			w, err := want.Stats(id, stats.AllTime, at)
			if err != nil {
				continue // no event this season
			}
			players++
			got, err := x.Stats(id, stats.Season, at)
			if err != nil {
				t.Fatalf("%s: Stats(%s, season): %v", name, id, err)
			}
			if d := statsDiff(got, w); len(d) > 0 {
				t.Errorf("%s: Stats(%s, season):\n\t%s", name, id, strings.Join(d, "\n\t"))
			}
		}
		if players < 10 {
			t.Errorf("%s: only %d players this season: the test is too weak", name, players)
		}
		// All time is kept.
		if got, w := x.Leaderboard(stats.Kills, stats.AllTime, at, 5), full.load().Leaderboard(stats.Kills, stats.AllTime, at, 5); !reflect.DeepEqual(got, w) || len(got) == 0 {
			t.Errorf("%s: all-time kills after the wipe: got%s\nwant%s", name, entriesString(got), entriesString(w))
		}
	}

	// No wipe: the season is all time.
	full.idx.SetSeason(time.Time{})
	if got, w := full.idx.Leaderboard(stats.Kills, stats.Season, at, 10), full.idx.Leaderboard(stats.Kills, stats.AllTime, at, 10); !reflect.DeepEqual(got, w) {
		t.Errorf("without a wipe, season kills: got%s\nwant%s", entriesString(got), entriesString(w))
	}
}
