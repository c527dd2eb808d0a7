package stats_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/stats"
)

// samePeriod reports whether a and b fall in the same calendar period in
// loc: the definition the tests hold Range to, by way of the calendar.
func samePeriod(p stats.Period, a, b time.Time, loc *time.Location) bool {
	a, b = a.In(loc), b.In(loc)
	switch p {
	case stats.Day:
		y1, m1, d1 := a.Date()
		y2, m2, d2 := b.Date()
		return y1 == y2 && m1 == m2 && d1 == d2
	case stats.Week:
		y1, w1 := a.ISOWeek()
		y2, w2 := b.ISOWeek()
		return y1 == y2 && w1 == w2
	case stats.Month:
		y1, m1, _ := a.Date()
		y2, m2, _ := b.Date()
		return y1 == y2 && m1 == m2
	}
	return true
}

func TestPeriodRange(t *testing.T) {
	utc := time.UTC
	ny := mustLoc(t, "America/New_York")
	berlin := mustLoc(t, "Europe/Berlin")
	d := func(loc *time.Location, y int, m time.Month, day, h, min, s int) time.Time {
		return time.Date(y, m, day, h, min, s, 0, loc)
	}
	for _, c := range []struct {
		loc        *time.Location
		p          stats.Period
		at         time.Time
		start, end time.Time
		hours      float64 // the period's length, when it is not a whole number of days
	}{
		{utc, stats.Day, d(utc, 2025, 5, 14, 12, 0, 0), d(utc, 2025, 5, 14, 0, 0, 0), d(utc, 2025, 5, 15, 0, 0, 0), 24},
		{utc, stats.Day, d(utc, 2025, 5, 14, 0, 0, 0), d(utc, 2025, 5, 14, 0, 0, 0), d(utc, 2025, 5, 15, 0, 0, 0), 24},
		{utc, stats.Day, d(utc, 2025, 5, 14, 23, 59, 59), d(utc, 2025, 5, 14, 0, 0, 0), d(utc, 2025, 5, 15, 0, 0, 0), 24},
		{utc, stats.Week, d(utc, 2025, 5, 14, 12, 0, 0), d(utc, 2025, 5, 12, 0, 0, 0), d(utc, 2025, 5, 19, 0, 0, 0), 168},
		{utc, stats.Week, d(utc, 2025, 5, 18, 23, 59, 59), d(utc, 2025, 5, 12, 0, 0, 0), d(utc, 2025, 5, 19, 0, 0, 0), 168}, // Sunday
		{utc, stats.Week, d(utc, 2025, 5, 19, 0, 0, 0), d(utc, 2025, 5, 19, 0, 0, 0), d(utc, 2025, 5, 26, 0, 0, 0), 168},    // Monday
		{utc, stats.Week, d(utc, 2025, 12, 31, 9, 0, 0), d(utc, 2025, 12, 29, 0, 0, 0), d(utc, 2026, 1, 5, 0, 0, 0), 168},   // across new year
		{utc, stats.Week, d(utc, 2026, 1, 4, 9, 0, 0), d(utc, 2025, 12, 29, 0, 0, 0), d(utc, 2026, 1, 5, 0, 0, 0), 168},     // Sunday
		{utc, stats.Week, d(utc, 2024, 3, 1, 9, 0, 0), d(utc, 2024, 2, 26, 0, 0, 0), d(utc, 2024, 3, 4, 0, 0, 0), 168},      // across 29 February
		{utc, stats.Month, d(utc, 2025, 5, 31, 23, 59, 59), d(utc, 2025, 5, 1, 0, 0, 0), d(utc, 2025, 6, 1, 0, 0, 0), 31 * 24},
		{utc, stats.Month, d(utc, 2025, 12, 1, 0, 0, 0), d(utc, 2025, 12, 1, 0, 0, 0), d(utc, 2026, 1, 1, 0, 0, 0), 31 * 24},
		{utc, stats.Month, d(utc, 2024, 2, 29, 12, 0, 0), d(utc, 2024, 2, 1, 0, 0, 0), d(utc, 2024, 3, 1, 0, 0, 0), 29 * 24},
		// New York: DST starts Sunday 9 March 2025, ends Sunday 2 November.
		{ny, stats.Day, d(ny, 2025, 3, 9, 12, 0, 0), d(ny, 2025, 3, 9, 0, 0, 0), d(ny, 2025, 3, 10, 0, 0, 0), 23},
		{ny, stats.Week, d(ny, 2025, 3, 9, 12, 0, 0), d(ny, 2025, 3, 3, 0, 0, 0), d(ny, 2025, 3, 10, 0, 0, 0), 167},
		{ny, stats.Week, d(ny, 2025, 3, 3, 0, 0, 0), d(ny, 2025, 3, 3, 0, 0, 0), d(ny, 2025, 3, 10, 0, 0, 0), 167},
		{ny, stats.Day, d(ny, 2025, 11, 2, 1, 30, 0), d(ny, 2025, 11, 2, 0, 0, 0), d(ny, 2025, 11, 3, 0, 0, 0), 25},
		{ny, stats.Month, d(ny, 2025, 3, 20, 0, 0, 0), d(ny, 2025, 3, 1, 0, 0, 0), d(ny, 2025, 4, 1, 0, 0, 0), 31*24 - 1},
		// at given in UTC: 03:30 UTC on 2 May is 23:30 on 1 May in New York.
		{ny, stats.Day, d(utc, 2025, 5, 2, 3, 30, 0), d(ny, 2025, 5, 1, 0, 0, 0), d(ny, 2025, 5, 2, 0, 0, 0), 24},
		{ny, stats.Month, d(utc, 2025, 5, 1, 3, 30, 0), d(ny, 2025, 4, 1, 0, 0, 0), d(ny, 2025, 5, 1, 0, 0, 0), 30 * 24},
		// Berlin: DST ends Sunday 26 October 2025.
		{berlin, stats.Week, d(berlin, 2025, 10, 26, 12, 0, 0), d(berlin, 2025, 10, 20, 0, 0, 0), d(berlin, 2025, 10, 27, 0, 0, 0), 169},
		{berlin, stats.Month, d(berlin, 2025, 10, 31, 23, 30, 0), d(berlin, 2025, 10, 1, 0, 0, 0), d(berlin, 2025, 11, 1, 0, 0, 0), 31*24 + 1},
		{berlin, stats.Month, d(utc, 2025, 3, 31, 22, 30, 0), d(berlin, 2025, 4, 1, 0, 0, 0), d(berlin, 2025, 5, 1, 0, 0, 0), 30 * 24}, // 00:30 on 1 April
		{berlin, stats.Day, d(utc, 2025, 3, 31, 21, 59, 59), d(berlin, 2025, 3, 31, 0, 0, 0), d(berlin, 2025, 4, 1, 0, 0, 0), 24},
	} {
		s, e := c.p.Range(c.at, c.loc)
		if s != c.start.Unix() || e != c.end.Unix() {
			t.Errorf("%s.Range(%v, %v): got [%v, %v), want [%v, %v)", c.p, c.at, c.loc,
				time.Unix(s, 0).In(c.loc), time.Unix(e, 0).In(c.loc), c.start, c.end)
		}
		if h := float64(e-s) / 3600; h != c.hours {
			t.Errorf("%s.Range(%v, %v) lasts %v hours, want %v", c.p, c.at, c.loc, h, c.hours)
		}
	}
	if s, e := stats.AllTime.Range(time.Now(), nil); s != math.MinInt64 || e != math.MaxInt64 {
		t.Errorf("AllTime.Range: got [%d, %d), want [MinInt64, MaxInt64)", s, e)
	}
	at := time.Date(2025, 5, 1, 23, 30, 0, 0, ny)
	s1, e1 := stats.Day.Range(at, nil)
	s2, e2 := stats.Day.Range(at, time.UTC)
	if s1 != s2 || e1 != e2 {
		t.Errorf("Range with a nil location: got [%d, %d), want UTC's [%d, %d)", s1, e1, s2, e2)
	}
}

// TestRangeHoldsAt sweeps years of hours in zones with and without DST
// (Santiago, Havana and, until 2019, São Paulo move their clocks at
// midnight): the period Range returns holds at, is at's calendar period in
// the zone, and starts and ends exactly at its first and last second.
func TestRangeHoldsAt(t *testing.T) {
	step := time.Hour
	if testing.Short() {
		step = 5 * time.Hour
	}
	for _, zone := range []string{"UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe",
		"America/Santiago", "America/Havana", "America/Sao_Paulo", "Asia/Beirut"} {
		loc := mustLoc(t, zone)
		for _, p := range []stats.Period{stats.Day, stats.Week, stats.Month} {
			t.Run(zone+"/"+string(p), func(t *testing.T) {
				fails := 0
				for at := time.Date(2017, 12, 25, 0, 30, 0, 0, time.UTC); at.Year() < 2026; at = at.Add(step) {
					s, e := p.Range(at, loc)
					start, end := time.Unix(s, 0), time.Unix(e, 0)
					var what string
					switch {
					case at.Unix() < s || at.Unix() >= e:
						what = "does not hold at"
					case !samePeriod(p, start, at, loc) || !samePeriod(p, time.Unix(e-1, 0), at, loc):
						what = "is not at's calendar " + string(p)
					case samePeriod(p, time.Unix(s-1, 0), at, loc):
						what = "starts late"
					case samePeriod(p, end, at, loc):
						what = "ends early"
					default:
						continue
					}
					t.Errorf("%s.Range(%v) = [%v, %v) %s", p, at.In(loc), start.In(loc), end.In(loc), what)
					if fails++; fails == 3 {
						t.FailNow()
					}
				}
			})
		}
	}
}

// TestPeriodStatsAndLeaderboard: with events just before and after local
// midnight, Monday 00:00, the 1st of the month and DST changes, Stats and
// Leaderboard for a period count exactly the events of that calendar
// period, whatever order the events were committed in.
func TestPeriodStatsAndLeaderboard(t *testing.T) {
	for _, c := range []struct {
		zone  string
		times []string
	}{
		{"America/New_York", []string{
			"2025.03.02-23.59.59", "2025.03.03-00.00.00", // Sunday / Monday, DST week
			"2025.03.09-01.59.59", "2025.03.09-03.00.00", // around the DST gap
			"2025.03.09-23.59.59", "2025.03.10-00.00.00",
			"2025.04.30-23.59.59", "2025.05.01-00.00.00", "2025.05.01-23.59.59", "2025.05.02-00.00.00",
			"2025.11.01-23.59.59", "2025.11.02-01.30.00", "2025.11.02-23.59.59", "2025.11.03-00.00.00",
			"2025.12.31-23.59.59", "2026.01.01-00.00.00",
		}},
		{"Europe/Berlin", []string{
			"2025.03.29-23.59.59", "2025.03.30-00.00.00", "2025.03.30-03.00.00",
			"2025.03.30-23.59.59", "2025.03.31-00.00.00", "2025.03.31-23.59.59", "2025.04.01-00.00.00",
			"2025.10.25-23.59.59", "2025.10.26-02.30.00", "2025.10.26-23.59.59", "2025.10.27-00.00.00",
			"2025.10.31-23.59.59", "2025.11.01-00.00.00",
		}},
		{"UTC", []string{"2025.05.11-23.59.59", "2025.05.12-00.00.00", "2025.05.31-23.59.59", "2025.06.01-00.00.00"}},
		// Santiago skips midnight when DST starts (Sunday 7 September 2025).
		{"America/Santiago", []string{
			"2025.09.06-22.59.59", "2025.09.06-23.30.00", "2025.09.06-23.59.59",
			"2025.09.07-01.00.00", "2025.09.07-12.00.00", "2025.09.08-00.00.00",
		}},
	} {
		t.Run(c.zone, func(t *testing.T) {
			loc := mustLoc(t, c.zone)
			victim := pl{"Victim", eos(0xffff)}
			killers := make([]pl, len(c.times))
			lines := make([]string, len(c.times))
			times := make([]time.Time, len(c.times))
			for i, ts := range c.times {
				killers[i] = pl{fmt.Sprintf("K%02d", i), eos(0x100 + i)}
				lines[i] = fmt.Sprintf("%s;%s;%s;%s;%s;M99;%d;PS5;XSX;", ts, killers[i].name, killers[i].id, victim.name, victim.id, 10+i)
				e, err := parser.ParseLine([]byte(lines[i]), i+1, loc)
				if err != nil {
					t.Fatal(err)
				}
				times[i] = e.Time
			}
			s := newServer(t, loc)
			r := rand.New(rand.NewPCG(1, 2))
			for _, i := range r.Perm(len(lines)) {
				s.commit(lines[i])
			}
			loaded := s.load()
			fails := 0
			errorf := func(format string, args ...any) {
				t.Helper()
				t.Errorf(format, args...)
				if fails++; fails == 12 {
					t.FailNow()
				}
			}

			var ats []time.Time
			for _, tm := range times {
				ats = append(ats, tm.Add(-time.Second), tm, tm.Add(time.Second))
			}
			for _, at := range ats {
				for _, p := range stats.Periods {
					var want []stats.Entry
					for i, tm := range times {
						if samePeriod(p, tm, at, loc) {
							want = append(want, stats.Entry{Rank: len(want) + 1, ID: killers[i].id, Name: killers[i].name, Value: 1})
						}
					}
					what := fmt.Sprintf("%s at %v", p, at.In(loc))
					for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": loaded} {
						st, err := x.Stats(victim.id, p, at)
						if err != nil {
							t.Fatal(err)
						}
						if st.Deaths != len(want) {
							errorf("%s: %s: victim's deaths: got %d, want %d", name, what, st.Deaths, len(want))
						}
						if got := x.Leaderboard(stats.Kills, p, at, 100); !slices.Equal(got, want) {
							errorf("%s: %s: kills leaderboard: got%s\nwant%s", name, what, entriesString(got), entriesString(want))
						}
						wantDeaths := []stats.Entry{{Rank: 1, ID: victim.id, Name: victim.name, Value: float64(len(want))}}
						if len(want) == 0 {
							wantDeaths = nil
						}
						if got := x.Leaderboard(stats.Deaths, p, at, 100); !slices.Equal(got, wantDeaths) {
							errorf("%s: %s: deaths leaderboard: got%s\nwant%s", name, what, entriesString(got), entriesString(wantDeaths))
						}
						for i, k := range killers {
							st, _ := x.Stats(k.id, p, at)
							wantKills := 0
							if samePeriod(p, times[i], at, loc) {
								wantKills = 1
							}
							if st.Kills != wantKills {
								errorf("%s: %s: kills of %s (killed at %v): got %d, want %d", name, what, k.name, times[i].In(loc), st.Kills, wantKills)
							}
						}
					}
				}
			}
		})
	}
}
