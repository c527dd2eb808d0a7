package stats

import (
	"fmt"
	"math"
	"time"
)

// Period is a span of time that figures are computed over.
type Period string

// The periods.
const (
	AllTime Period = "all"
	Day     Period = "day"
	Week    Period = "week"
	Month   Period = "month"
	// Season is the time since the server's last wipe (Index.SetSeason);
	// all time when it never had one.
	Season Period = "season"
)

// Periods lists every period, in the order they are offered to users.
var Periods = []Period{AllTime, Season, Day, Week, Month}

// ParsePeriod returns the period named s.
func ParsePeriod(s string) (Period, error) {
	for _, p := range Periods {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown period %q: use all, season, day, week or month", s)
}

// Range returns the Unix seconds [start, end) of the calendar period that
// holds at, in loc; all time for AllTime and Season (which only an Index
// knows the start of).
func (p Period) Range(at time.Time, loc *time.Location) (start, end int64) {
	if loc == nil {
		loc = time.UTC
	}
	t := at.In(loc)
	y, m, d := t.Date()
	var s, e time.Time
	switch p {
	case Day:
		s = midnight(y, m, d, loc)
		e = midnight(y, m, d+1, loc)
	case Week:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		s = midnight(y, m, d-back, loc)
		e = midnight(y, m, d-back+7, loc)
	case Month:
		s = midnight(y, m, 1, loc)
		e = midnight(y, m+1, 1, loc)
	default:
		return math.MinInt64, math.MaxInt64
	}
	return s.Unix(), e.Unix()
}

// midnight returns the first instant of the day y-m-d in loc. Where a clock
// change skips midnight (as in Santiago or Beirut), the day begins at the
// change, not at the 23:00 of the day before that time.Date may give.
func midnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if noon := time.Date(y, m, d, 12, 0, 0, 0, loc); t.Day() != noon.Day() {
		_, end := t.ZoneBounds()
		return end
	}
	return t
}
