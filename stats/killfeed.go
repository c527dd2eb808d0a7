package stats

import (
	"fmt"
	"math"
	"sort"
	"time"

	"killfeed/storage"
)

// KillContext is what the killfeed says about a kill beyond its line: the
// killer's figures counting it, and the facts that make it notable. It is
// computed as of the kill, whatever came after it.
type KillContext struct {
	Streak  int     // the killer's current streak, this kill included
	KDR     float64 // the killer's all-time KDR, this kill included
	Notable []string
}

// Streak milestones worth a line.
var streakMilestones = map[int]bool{5: true, 10: true, 20: true, 30: true, 50: true}

// KillContext returns the context of the kill stored as r, and false when
// r is not a kill held by the index.
func (x *Index) KillContext(r *storage.Record) (KillContext, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	k, ok := x.byID[string(r.KillerID)]
	if !ok || len(r.KillerID) == 0 {
		return KillContext{}, false
	}
	target := event{t: uint32(r.Time - epoch2000), seq: uint32(r.Seq)}
	evs := x.players[k].events
	// The killer's events up to and including this one.
	n := sort.Search(len(evs), func(i int) bool { return target.before(&x.events[evs[i]]) })
	if n == 0 {
		return KillContext{}, false
	}
	this := &x.events[evs[n-1]]
	if this.t != target.t || this.seq != target.seq || this.killer != k {
		return KillContext{}, false
	}
	var t Totals
	killedBy := map[int32]int{}
	for _, ei := range evs[:n] {
		e := &x.events[ei]
		t.add(e, k)
		if e.killer >= 0 && e.killer != k && e.victim == k {
			killedBy[e.killer]++
		}
	}
	c := KillContext{Streak: int(t.CurrentStreak), KDR: t.KDR()}
	if streakMilestones[c.Streak] {
		c.Notable = append(c.Notable, fmt.Sprintf("%d kills in a row", c.Streak))
	}
	if nemesis := x.topRival(killedBy); nemesis != nil && nemesis.ID == x.players[this.victim].id && nemesis.Count >= 2 {
		c.Notable = append(c.Notable, fmt.Sprintf("Revenge on their nemesis, who killed them %d times", nemesis.Count))
	}
	if this.record && this.dist > 0 {
		what := "season"
		if x.season == math.MinInt64 {
			what = "server"
		}
		c.Notable = append(c.Notable, fmt.Sprintf("Longest kill of the %s so far: %d m", what, this.dist))
	}
	if x.firstKillOfDay(this) {
		c.Notable = append(c.Notable, "First blood of the day")
	}
	return c, true
}

// firstKillOfDay reports whether no kill came before e on its day, in the
// server's time zone.
func (x *Index) firstKillOfDay(e *event) bool {
	start, _ := Day.Range(time.Unix(e.unix(), 0), x.loc)
	i := sort.Search(len(x.events), func(i int) bool { return x.events[i].unix() >= start })
	for ; i < len(x.events); i++ {
		o := &x.events[i]
		if !o.before(e) {
			return true
		}
		if o.kind == kindKill || o.kind == kindRoadkill {
			return false
		}
	}
	return true
}
