package stats

import (
	"fmt"
	"sort"
	"time"
)

// Metric is what a leaderboard ranks by.
type Metric string

// The metrics.
const (
	Kills       Metric = "kills"
	Deaths      Metric = "deaths"
	KDR         Metric = "kdr"
	LongestKill Metric = "longest_kill"
	BestStreak  Metric = "best_streak"
	Suicides    Metric = "suicides"
)

// Metrics lists every metric, in the order they are offered to users.
var Metrics = []Metric{Kills, Deaths, KDR, LongestKill, BestStreak, Suicides}

// ParseMetric returns the metric named s.
func ParseMetric(s string) (Metric, error) {
	for _, m := range Metrics {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("unknown metric %q: use kills, deaths, kdr, longest_kill, best_streak or suicides", s)
}

func (m Metric) value(t *Totals) float64 {
	switch m {
	case Kills:
		return float64(t.Kills)
	case Deaths:
		return float64(t.Deaths)
	case KDR:
		return t.KDR()
	case LongestKill:
		return float64(t.LongestKill)
	case BestStreak:
		return float64(t.BestStreak)
	case Suicides:
		return float64(t.Suicides)
	}
	return 0
}

// Entry is one line of a leaderboard.
type Entry struct {
	Rank  int     `json:"rank"`
	ID    string  `json:"id"`
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Leaderboard returns the top limit players by m over the period that holds
// at. Players with a zero value are left out; ties go to the smallest EOS id.
func (x *Index) Leaderboard(m Metric, period Period, at time.Time, limit int) []Entry {
	if limit <= 0 {
		return nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	if period == Season && x.seasonTotals == nil {
		period = AllTime // no wipe yet
	}
	top := make([]Entry, 0, limit+1)
	offer := func(pi int32, t *Totals) {
		v := m.value(t)
		if v == 0 {
			return
		}
		id := x.players[pi].id
		if len(top) == limit && !ranksBefore(v, id, &top[limit-1]) {
			return
		}
		i := sort.Search(len(top), func(i int) bool { return ranksBefore(v, id, &top[i]) })
		top = append(top, Entry{})
		copy(top[i+1:], top[i:])
		top[i] = Entry{ID: id, Name: x.players[pi].name, Value: v}
		if len(top) > limit {
			top = top[:limit]
		}
	}

	switch period {
	case AllTime:
		for i := range x.players {
			offer(int32(i), &x.players[i].all)
		}
	case Season:
		for i := range x.seasonTotals {
			offer(int32(i), &x.seasonTotals[i])
		}
	default:
		start, end := period.Range(at, x.loc)
		if w := x.window(period, start, end); w != nil {
			for i, p := range w.who {
				offer(p, &w.totals[i])
			}
			break
		}
		lo := sort.Search(len(x.events), func(i int) bool { return x.events[i].unix() >= start })
		hi := sort.Search(len(x.events), func(i int) bool { return x.events[i].unix() >= end })
		totals := map[int32]*Totals{}
		get := func(p int32) *Totals {
			t := totals[p]
			if t == nil {
				t = &Totals{}
				totals[p] = t
			}
			return t
		}
		for i := lo; i < hi; i++ {
			e := &x.events[i]
			if e.killer >= 0 {
				get(e.killer).add(e, e.killer)
			}
			get(e.victim).add(e, e.victim)
		}
		for pi, t := range totals {
			offer(pi, t)
		}
	}
	for i := range top {
		top[i].Rank = i + 1
	}
	return top
}

func ranksBefore(v float64, id string, e *Entry) bool {
	return v > e.Value || v == e.Value && id < e.ID
}
