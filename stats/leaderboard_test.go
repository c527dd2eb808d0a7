package stats_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"killfeed/stats"
)

func TestLeaderboard(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	// Ids in the order x1 < x2 < ... ; names the other way round, and x3
	// is met before x2: a tie broken by arrival or by name would show.
	x1, x2, x3, x4, x5 := pl{"Xe", eos(1)}, pl{"Xd", eos(2)}, pl{"Xc", eos(3)}, pl{"Xb", eos(4)}, pl{"Xa", eos(5)}
	s := newServer(t, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
	s.commit(
		killLine(at(1), x3, x1, "M99", 300),
		killLine(at(2), x3, x2, "AK", 20),
		killLine(at(3), x2, x1, "AK", 300),
		killLine(at(4), x2, x3, "AK", 10),
		selfLine(at(5), x5, "falling"),
		selfLine(at(6), x4, "Grenade"),
		selfLine(at(7), x4, "suicide_by_relocation"), // not a suicide
		envLine(at(8), x1),
		killLine(at(9), x1, x4, "boat", 1),
	)
	// x1: 1 kill (1 m), 2 deaths; x2 and x3: 2 kills (300 m), 1 death,
	// best streak 2; x4: 1 death, 1 suicide; x5: 1 suicide.
	e := func(rank int, p pl, v float64) stats.Entry {
		return stats.Entry{Rank: rank, ID: p.id, Name: p.name, Value: v}
	}
	for _, c := range []struct {
		m     stats.Metric
		limit int
		want  []stats.Entry
	}{
		{stats.Kills, 10, []stats.Entry{e(1, x2, 2), e(2, x3, 2), e(3, x1, 1)}},
		{stats.Kills, 3, []stats.Entry{e(1, x2, 2), e(2, x3, 2), e(3, x1, 1)}},
		{stats.Kills, 2, []stats.Entry{e(1, x2, 2), e(2, x3, 2)}},
		{stats.Kills, 1, []stats.Entry{e(1, x2, 2)}},
		{stats.Kills, 0, nil},
		{stats.Kills, -1, nil},
		{stats.Deaths, 10, []stats.Entry{e(1, x1, 2), e(2, x2, 1), e(3, x3, 1), e(4, x4, 1)}},
		{stats.Deaths, 2, []stats.Entry{e(1, x1, 2), e(2, x2, 1)}},
		{stats.KDR, 10, []stats.Entry{e(1, x2, 2), e(2, x3, 2), e(3, x1, 0.5)}},
		{stats.LongestKill, 10, []stats.Entry{e(1, x2, 300), e(2, x3, 300), e(3, x1, 1)}},
		{stats.BestStreak, 10, []stats.Entry{e(1, x2, 2), e(2, x3, 2), e(3, x1, 1)}},
		{stats.Suicides, 10, []stats.Entry{e(1, x4, 1), e(2, x5, 1)}},
		{stats.Suicides, 1, []stats.Entry{e(1, x4, 1)}},
	} {
		for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": s.load()} {
			for _, p := range stats.Periods { // all in one day
				got := x.Leaderboard(c.m, p, t0, c.limit)
				if !reflect.DeepEqual(got, c.want) {
					t.Errorf("%s: Leaderboard(%s, %s, limit %d): got%s\nwant%s", name, c.m, p, c.limit, entriesString(got), entriesString(c.want))
				}
			}
		}
	}
	// Nothing the next day.
	for _, m := range stats.Metrics {
		if got := s.idx.Leaderboard(m, stats.Day, t0.Add(24*time.Hour), 10); len(got) != 0 {
			t.Errorf("Leaderboard(%s, day after): got%s, want none", m, entriesString(got))
		}
	}
	for _, name := range []string{"kills", "deaths", "kdr", "longest_kill", "best_streak", "suicides"} {
		if m, err := stats.ParseMetric(name); err != nil || string(m) != name {
			t.Errorf("ParseMetric(%q): got %q, %v", name, m, err)
		}
	}
	if _, err := stats.ParseMetric("Kills"); err == nil {
		t.Errorf("ParseMetric(%q): got no error", "Kills")
	}
	if p, err := stats.ParsePeriod("week"); err != nil || p != stats.Week {
		t.Errorf("ParsePeriod(week): got %q, %v", p, err)
	}
}

// TestLeaderboardAgreesWithStats: on a random history, every leaderboard,
// of every period, is what the players' Stats for that period say, and
// what the definition says.
func TestLeaderboardAgreesWithStats(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	loc := mustLoc(t, "Europe/Berlin")
	g := genLog(r, 1500, 40, time.Date(2025, 3, 20, 0, 0, 0, 0, loc), 45*24*time.Hour)
	s := newServer(t, loc)
	for _, b := range deliveries(r, g.lines) {
		s.commit(b...)
	}
	m := newModel(s.added, loc)
	ats := []time.Time{g.times[0], g.times[len(g.times)/3], g.times[len(g.times)/2], g.times[len(g.times)-1]}
	for _, at := range ats {
		for _, p := range stats.Periods {
			for _, metric := range stats.Metrics {
				for _, limit := range []int{1, 5, 10, 1000} {
					got := s.idx.Leaderboard(metric, p, at, limit)
					what := fmt.Sprintf("Leaderboard(%s, %s, %v, %d)", metric, p, at, limit)
					if want := boardFromStats(t, s.idx, g.ids, metric, p, at, limit); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: got%s\nwant (from Stats)%s", what, entriesString(got), entriesString(want))
					}
					if want := m.leaderboard(metric, p, at, limit); !reflect.DeepEqual(got, want) {
						t.Errorf("%s: got%s\nwant (by definition)%s", what, entriesString(got), entriesString(want))
					}
					if len(got) > limit {
						t.Errorf("%s: %d entries", what, len(got))
					}
				}
			}
		}
	}
}
