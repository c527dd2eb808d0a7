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

func TestHeadToHead(t *testing.T) {
	s := newServer(t, time.UTC)
	a, b, c := pl{"Alpha", eos(1)}, pl{"Bravo", eos(2)}, pl{"Charlie", eos(3)}
	day := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	s.commit(
		killLine(day, a, b, "M99", 100),
		killLine(day.Add(time.Minute), a, b, "land_vehicle", 1),
		killLine(day.Add(2*time.Minute), b, a, "AK-mod", 10),
		killLine(day.Add(3*time.Minute), a, c, "AK-mod", 10),
		selfLine(day.Add(4*time.Minute), a, "suicide_by_relocation"),
		killLine(day.Add(48*time.Hour), b, a, "AK-mod", 10),
	)
	for _, tt := range []struct {
		p      stats.Period
		ab, ba int
	}{{stats.AllTime, 2, 2}, {stats.Day, 2, 1}} {
		ab, ba, err := s.idx.HeadToHead("alpha", b.id, tt.p, day)
		if err != nil || ab != tt.ab || ba != tt.ba {
			t.Errorf("HeadToHead(alpha, bravo, %s) = %d, %d, %v; want %d, %d", tt.p, ab, ba, err, tt.ab, tt.ba)
		}
	}
	if _, _, err := s.idx.HeadToHead("alpha", "nobody", stats.AllTime, day); err != stats.ErrNoPlayer {
		t.Errorf("HeadToHead with an unknown player: error %v, want ErrNoPlayer", err)
	}
}

// The leaderboards of the current day, week and month come from totals kept
// as events arrive; they equal the definition's, in order and out of it.
func TestCurrentPeriodLeaderboards(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	loc := mustLoc(t, "America/New_York")
	g := genLog(r, 3000, 30, time.Date(2025, 3, 1, 0, 0, 0, 0, loc), 45*24*time.Hour)
	s := newServer(t, loc)
	for _, b := range deliveries(r, g.lines) {
		s.commit(b...)
		var newest int64
		for _, rec := range s.added {
			newest = max(newest, rec.Time)
		}
		latest := time.Unix(newest, 0)
		m := newModel(s.added, loc)
		for _, p := range []stats.Period{stats.Day, stats.Week, stats.Month} {
			for _, metric := range stats.Metrics {
				got, want := s.idx.Leaderboard(metric, p, latest, 10), m.leaderboard(metric, p, latest, 10)
				if len(got)+len(want) > 0 && !reflect.DeepEqual(got, want) {
					t.Fatalf("Leaderboard(%s, %s, %v) after %d events: got%s\nwant%s", metric, p, latest, len(s.added), entriesString(got), entriesString(want))
				}
			}
		}
	}
}
