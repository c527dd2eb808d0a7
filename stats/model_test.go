package stats_test

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

// This file holds a generator of random killfeed histories, the order a
// server might commit them in, and a naive model of DESIGN.md's "Stats
// semantics" to hold the index to.

// randLog is a random killfeed history, in time order.
type randLog struct {
	lines []string
	times []time.Time
	ids   []string // every player's EOS id
	names []string // every name used, by anyone
}

var (
	randNames = []string{
		"Bob", "bob", "BOB", "Bobby", "Жора", "жанна", "Ёлка", "Ölaf", "o'Neil Jr", "Fatalben0", "Rogue731",
		"MidS_Nate", "Njshh", "xX_Sniper_Xx", "Ghost", "ghost", "Dackary McDab", "HallagerTheDane", "KT93141",
		"attacker92", "OGz Shogun", "jackwatson7", "Jake KB95", "Zoë", "ÆØÅ", "李小龙", "🦀 crab",
	}
	randWeapons   = []string{"M99", "AK", "ak", "AK-mod", "MR5", "IZH-43", "BB-19", "Mosin", "Mosin-K", "Folding Knife", "land_vehicle", "boat"}
	randSelf      = []string{"falling", "Grenade", "M99"}
	randPlatforms = []string{"PS5", "XSX", "PC"}
)

// genLog makes n events among players players, starting at start in loc,
// spread over span: kills (roadkills too), suicides (falls, own weapon),
// relocations and environment deaths, 7- and 9-field lines, renames (names
// shared by players, in other cases too), many events in the same second
// and a few lines written twice.
func genLog(r *rand.Rand, n, players int, start time.Time, span time.Duration) randLog {
	type gp struct {
		id       string
		names    []string
		cur      int
		platform string
	}
	ps := make([]gp, players)
	used := map[string]bool{}
	for i := range ps {
		ps[i].id = fmt.Sprintf("0002%012x%016x", r.Uint64()>>16, r.Uint64())
		for range 1 + r.IntN(3) {
			name := randNames[r.IntN(len(randNames))]
			if r.IntN(2) == 0 {
				name += fmt.Sprint(r.IntN(10))
			}
			ps[i].names = append(ps[i].names, name)
		}
		ps[i].platform = randPlatforms[r.IntN(len(randPlatforms))]
	}
	var g randLog
	for i := range ps {
		g.ids = append(g.ids, ps[i].id)
	}
	pick := func() *gp {
		if r.IntN(3) == 0 { // a few players play a lot
			return &ps[r.IntN(max(players/5, 1))]
		}
		return &ps[r.IntN(players)]
	}
	name := func(p *gp) string {
		if r.IntN(30) == 0 {
			p.cur = (p.cur + 1) % len(p.names)
		}
		if r.IntN(40) == 0 { // cross-play: the same account on another console
			p.platform = randPlatforms[r.IntN(len(randPlatforms))]
		}
		used[p.names[p.cur]] = true
		return p.names[p.cur]
	}
	t := start
	step := int64(2 * span / time.Duration(n) / time.Second)
	for len(g.lines) < n {
		if r.IntN(3) > 0 {
			t = t.Add(time.Duration(r.Int64N(step+1)) * time.Second)
		}
		v := pick()
		vName := v.names[v.cur]
		var line string
		switch x := r.IntN(100); {
		case x < 50:
			k := pick()
			if k == v {
				continue
			}
			w := randWeapons[r.IntN(len(randWeapons))]
			d := r.IntN(900)
			if w == "land_vehicle" || w == "boat" {
				d = 1
			}
			kName := name(k)
			vName = name(v)
			line = fmt.Sprintf("%s;%s;%s;%s;%s;%s;%d;%s;%s;", ts(t), kName, k.id, vName, v.id, w, d, k.platform, v.platform)
		case x < 60:
			vName = name(v)
			line = fmt.Sprintf("%s;%s;%s;%s;%s;%s;0;%s;%s;", ts(t), vName, v.id, vName, v.id, randSelf[r.IntN(len(randSelf))], v.platform, v.platform)
		case x < 75:
			vName = name(v)
			line = fmt.Sprintf("%s;%s;%s;%s;%s;suicide_by_relocation;0;%s;%s;", ts(t), vName, v.id, vName, v.id, v.platform, v.platform)
		default:
			vName = name(v)
			line = fmt.Sprintf("%s;;;%s;%s;;1;;%s;", ts(t), vName, v.id, v.platform)
		}
		if r.IntN(4) == 0 { // the older 7-field form
			f := strings.Split(line, ";")
			line = strings.Join(f[:7], ";") + ";"
		}
		g.lines = append(g.lines, line)
		g.times = append(g.times, t)
		if r.IntN(50) == 0 && len(g.lines) < n { // written twice
			g.lines = append(g.lines, line)
			g.times = append(g.times, t)
		}
	}
	for n := range used {
		g.names = append(g.names, n)
	}
	slices.Sort(g.names)
	return g
}

// deliveries cuts lines into files and commits them in an order a server
// might: mostly in time order, with some files imported late (older events
// after newer ones), some read twice, some committed together and some in
// several batches.
func deliveries(r *rand.Rand, lines []string) [][]string {
	var chunks [][]string
	for len(lines) > 0 {
		n := min(1+r.IntN(120), len(lines))
		chunks = append(chunks, lines[:n])
		lines = lines[n:]
	}
	var order, pending [][]string
	for _, c := range chunks {
		if r.IntN(3) == 0 {
			pending = append(pending, c)
		} else {
			order = append(order, c)
		}
		for i := 0; i < len(pending); i++ {
			if r.IntN(6) == 0 {
				order = append(order, pending[i])
				pending = slices.Delete(pending, i, i+1)
				i--
			}
		}
		if r.IntN(20) == 0 && len(order) > 0 { // a file read again
			order = append(order, order[r.IntN(len(order))])
		}
	}
	r.Shuffle(len(pending), func(i, j int) { pending[i], pending[j] = pending[j], pending[i] })
	order = append(order, pending...)

	var batches [][]string
	for i := 0; i < len(order); i++ {
		c := slices.Clone(order[i])
		switch r.IntN(10) {
		case 0: // committed with the next file, in one batch
			if i+1 < len(order) {
				i++
				c = append(c, order[i]...)
			}
			batches = append(batches, c)
		case 1, 2: // in several batches
			for len(c) > 0 {
				n := min(1+r.IntN(20), len(c))
				batches = append(batches, c[:n])
				c = c[n:]
			}
		default:
			batches = append(batches, c)
		}
	}
	return batches
}

// model computes the figures from the committed records the slow, obvious
// way, following DESIGN.md's "Stats semantics".
type model struct {
	loc *time.Location
	evs []mev // in (time, seq) order
	ids []string
}

type mev struct {
	t                                              int64
	seq                                            uint64
	kind                                           parser.Kind
	killer, killerID, victim, victimID, weapon, kp string
	vp                                             string
	dist                                           int
}

func newModel(recs []storage.Record, loc *time.Location) *model {
	m := &model{loc: loc}
	seen := map[string]bool{}
	for _, r := range recs {
		e := mev{t: r.Time, seq: r.Seq, kind: r.Kind, killer: string(r.Killer), killerID: string(r.KillerID),
			victim: string(r.Victim), victimID: string(r.VictimID), weapon: string(r.Weapon),
			kp: string(r.KillerPlatform), vp: string(r.VictimPlatform), dist: int(r.Distance)}
		m.evs = append(m.evs, e)
		for _, id := range []string{e.killerID, e.victimID} {
			if id != "" && !seen[id] {
				seen[id] = true
				m.ids = append(m.ids, id)
			}
		}
	}
	slices.SortFunc(m.evs, func(a, b mev) int { return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.seq, b.seq)) })
	slices.Sort(m.ids)
	return m
}

// sides returns the name and platform id used in e, and whether they took
// part in it.
func (e *mev) side(id string) (name, platform string, ok bool) {
	if e.kind == parser.Kill && e.killerID == id {
		return e.killer, e.kp, true
	}
	if e.victimID == id {
		return e.victim, e.vp, true
	}
	return "", "", false
}

func (m *model) name(id string) string {
	for i := len(m.evs) - 1; i >= 0; i-- {
		if n, _, ok := m.evs[i].side(id); ok {
			return n
		}
	}
	return ""
}

// kdr rounds kills / max(deaths, 1) to 2 decimals, halves up, in exact
// arithmetic.
func kdr(kills, deaths int) float64 {
	d := max(deaths, 1)
	return float64((200*kills+d)/(2*d)) / 100
}

func (m *model) stats(id string, p stats.Period, at time.Time) stats.Stats {
	s := stats.Stats{ID: id, Name: m.name(id)}
	weapons := map[string]int{}
	killedBy := map[string]int{}
	killed := map[string]int{}
	for i := range m.evs {
		e := &m.evs[i]
		_, platform, ok := e.side(id)
		if !ok {
			continue
		}
		s.LastSeen = time.Unix(e.t, 0).In(m.loc)
		if platform != "" {
			s.Platform = platform
		}
		if !samePeriod(p, time.Unix(e.t, 0), at, m.loc) {
			continue
		}
		switch {
		case e.kind == parser.Kill && e.killerID == id:
			s.Kills++
			s.LongestKill = max(s.LongestKill, e.dist)
			s.CurrentStreak++
			s.BestStreak = max(s.BestStreak, s.CurrentStreak)
			weapons[e.weapon]++
			killed[e.victimID]++
			continue
		case e.kind == parser.Kill:
			s.Deaths++
			killedBy[e.killerID]++
		case e.kind == parser.SelfDeath && e.weapon == parser.WeaponRelocation:
			s.Relocations++
		case e.kind == parser.SelfDeath:
			s.Suicides++
		default:
			s.EnvironmentDeaths++
		}
		s.CurrentStreak = 0
	}
	s.KDR = kdr(s.Kills, s.Deaths)
	best := 0
	for w, n := range weapons {
		if n > best || n == best && w < s.FavouriteWeapon {
			s.FavouriteWeapon, best = w, n
		}
	}
	rival := func(counts map[string]int) *stats.Rival {
		var r *stats.Rival
		for id, n := range counts {
			if r == nil || n > r.Count || n == r.Count && id < r.ID {
				r = &stats.Rival{ID: id, Count: n}
			}
		}
		if r != nil {
			r.Name = m.name(r.ID)
		}
		return r
	}
	s.Nemesis, s.Prey = rival(killedBy), rival(killed)
	return s
}

func metricValue(m stats.Metric, s *stats.Stats) float64 {
	switch m {
	case stats.Kills:
		return float64(s.Kills)
	case stats.Deaths:
		return float64(s.Deaths)
	case stats.KDR:
		return s.KDR
	case stats.LongestKill:
		return float64(s.LongestKill)
	case stats.BestStreak:
		return float64(s.BestStreak)
	case stats.Suicides:
		return float64(s.Suicides)
	}
	panic("unknown metric " + m)
}

// rank orders the players by value (highest first, ties to the smallest
// id), leaves out zeros and keeps limit.
func rank(all []stats.Stats, m stats.Metric, limit int) []stats.Entry {
	var out []stats.Entry
	for i := range all {
		if v := metricValue(m, &all[i]); v != 0 {
			out = append(out, stats.Entry{ID: all[i].ID, Name: all[i].Name, Value: v})
		}
	}
	slices.SortFunc(out, func(a, b stats.Entry) int { return cmp.Or(cmp.Compare(b.Value, a.Value), cmp.Compare(a.ID, b.ID)) })
	out = out[:min(len(out), max(limit, 0))]
	for i := range out {
		out[i].Rank = i + 1
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (m *model) leaderboard(metric stats.Metric, p stats.Period, at time.Time, limit int) []stats.Entry {
	var all []stats.Stats
	for _, id := range m.ids {
		all = append(all, m.stats(id, p, at))
	}
	return rank(all, metric, limit)
}

// boardFromStats ranks ids by what x.Stats says of them.
func boardFromStats(tb testing.TB, x *stats.Index, ids []string, metric stats.Metric, p stats.Period, at time.Time, limit int) []stats.Entry {
	tb.Helper()
	var all []stats.Stats
	for _, id := range ids {
		s, err := x.Stats(id, p, at)
		if err != nil {
			tb.Fatalf("Stats(%s): %v", id, err)
		}
		all = append(all, s)
	}
	return rank(all, metric, limit)
}

// nameUsers maps each lower-case name to the player who used it last.
func (m *model) nameUsers() map[string]string {
	users := map[string]string{}
	for i := range m.evs {
		e := &m.evs[i]
		if e.victim != "" {
			users[strings.ToLower(e.victim)] = e.victimID
		}
		if e.kind == parser.Kill && e.killer != "" {
			users[strings.ToLower(e.killer)] = e.killerID
		}
	}
	return users
}

func (m *model) lookup(q string) (string, bool) {
	if _, ok := slices.BinarySearch(m.ids, q); ok {
		return q, true
	}
	id, ok := m.nameUsers()[strings.ToLower(q)]
	return id, ok
}

func (m *model) search(prefix string, limit int) []stats.Match {
	users := m.nameUsers()
	var names []string
	for n := range users {
		if strings.HasPrefix(n, strings.ToLower(prefix)) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []stats.Match
	seen := map[string]bool{}
	for _, n := range names {
		if len(out) >= limit {
			break
		}
		if id := users[n]; !seen[id] {
			seen[id] = true
			out = append(out, stats.Match{ID: id, Name: m.name(id)})
		}
	}
	return out
}

func (m *model) summary() stats.Summary {
	s := stats.Summary{Events: len(m.evs), Players: len(m.ids)}
	for _, e := range m.evs {
		switch {
		case e.kind == parser.Kill:
			s.Kills++
			if e.weapon == parser.WeaponCar || e.weapon == parser.WeaponBoat {
				s.Roadkills++
			}
		case e.kind == parser.SelfDeath && e.weapon == parser.WeaponRelocation:
			s.Relocations++
		case e.kind == parser.SelfDeath:
			s.Suicides++
		default:
			s.Unattributed++
		}
	}
	return s
}

// queries lists what compareIndexes asks: ats and search prefixes.
type queries struct {
	ids      []string
	names    []string
	ats      []time.Time
	prefixes []string
}

func newQueries(g randLog, r *rand.Rand) queries {
	q := queries{ids: g.ids, names: g.names}
	for range 3 {
		q.ats = append(q.ats, g.times[r.IntN(len(g.times))])
	}
	q.ats = append(q.ats, g.times[len(g.times)-1])
	q.prefixes = []string{"", "b", "BO", "bob", "Ж", "ж", "ö", "Ö", "zoë", "李", "🦀", "gh", "x", "nothing"}
	for _, n := range g.names {
		rs := []rune(n)
		q.prefixes = append(q.prefixes, string(rs[:1]), strings.ToUpper(string(rs[:min(3, len(rs))])))
	}
	return q
}

// compareIndexes reports where got and want answer a query differently,
// up to max differences.
func compareIndexes(got, want *stats.Index, q queries, max int) []string {
	var diffs []string
	add := func(format string, args ...any) bool {
		diffs = append(diffs, fmt.Sprintf(format, args...))
		return len(diffs) >= max
	}
	if g, w := got.Summary(), want.Summary(); g != w {
		if add("Summary: got %+v, want %+v", g, w) {
			return diffs
		}
	}
	type pa struct {
		p  stats.Period
		at time.Time
	}
	pas := []pa{{stats.AllTime, q.ats[0]}}
	for _, at := range q.ats {
		for _, p := range []stats.Period{stats.Day, stats.Week, stats.Month} {
			pas = append(pas, pa{p, at})
		}
	}
	for _, id := range q.ids {
		for _, x := range pas {
			g, gerr := got.Stats(id, x.p, x.at)
			w, werr := want.Stats(id, x.p, x.at)
			if gerr != werr {
				if add("Stats(%s, %s, %v): got error %v, want %v", id, x.p, x.at, gerr, werr) {
					return diffs
				}
			} else if !reflect.DeepEqual(g, w) {
				if add("Stats(%s, %s, %v):\n\t%s", id, x.p, x.at, strings.Join(statsDiff(g, w), "\n\t")) {
					return diffs
				}
			}
		}
	}
	for _, m := range stats.Metrics {
		for _, x := range pas {
			for _, limit := range []int{3, 1000} {
				g, w := got.Leaderboard(m, x.p, x.at, limit), want.Leaderboard(m, x.p, x.at, limit)
				if !reflect.DeepEqual(g, w) {
					if add("Leaderboard(%s, %s, %v, %d): got%s\nwant%s", m, x.p, x.at, limit, entriesString(g), entriesString(w)) {
						return diffs
					}
				}
			}
		}
	}
	for _, n := range q.names {
		for _, v := range []string{n, strings.ToLower(n), strings.ToUpper(n)} {
			g, gerr := got.Lookup(v)
			w, werr := want.Lookup(v)
			if g != w || gerr != werr {
				if add("Lookup(%q): got %q, %v; want %q, %v", v, g, gerr, w, werr) {
					return diffs
				}
			}
		}
	}
	for _, p := range q.prefixes {
		for _, limit := range []int{5, 1000} {
			g, w := got.Search(p, limit), want.Search(p, limit)
			if !reflect.DeepEqual(g, w) {
				if add("Search(%q, %d): got %s, want %s", p, limit, matchesString(g), matchesString(w)) {
					return diffs
				}
			}
		}
	}
	return diffs
}
