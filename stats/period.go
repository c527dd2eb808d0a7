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
)

// Periods lists every period, in the order they are offered to users.
var Periods = []Period{AllTime, Day, Week, Month}

// ParsePeriod returns the period named s.
func ParsePeriod(s string) (Period, error) {
	for _, p := range Periods {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown period %q: use all, day, week or month", s)
}

// Range returns the Unix seconds [start, end) of the period that holds at,
// in loc.
func (p Period) Range(at time.Time, loc *time.Location) (start, end int64) {
	if loc == nil {
		loc = time.UTC
	}
	t := at.In(loc)
	y, m, d := t.Date()
	var s, e time.Time
	switch p {
	case Day:
		s = time.Date(y, m, d, 0, 0, 0, 0, loc)
		e = time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case Week:
		back := (int(t.Weekday()) + 6) % 7 // days since Monday
		s = time.Date(y, m, d-back, 0, 0, 0, 0, loc)
		e = time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case Month:
		s = time.Date(y, m, 1, 0, 0, 0, 0, loc)
		e = time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	default:
		return math.MinInt64, math.MaxInt64
	}
	return s.Unix(), e.Unix()
}
