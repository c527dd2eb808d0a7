package stats

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"killfeed/parser"
	"killfeed/storage"
)

// kind is an event's meaning for the figures.
type kind uint8

const (
	kindKill kind = iota + 1
	kindRoadkill
	kindSuicide
	kindRelocation
	kindEnvironment
)

// event is one killfeed event in memory: 24 bytes, since a server holds
// millions of them.
type event struct {
	t      uint32 // seconds since epoch2000
	seq    uint32 // arrival order in storage, for events of the same second
	killer int32  // player index, -1 for environment deaths and self-deaths
	victim int32  // player index
	dist   int32
	weapon uint16 // index in Index.weapons
	kind   kind
	record bool // the longest kill of the season so far when it happened
}

// epoch2000 is 2000-01-01 UTC in Unix seconds: the parser takes no earlier
// time and none after 2100, so event times fit in 32 bits from it.
const epoch2000 = 946684800

func (e *event) unix() int64 { return int64(e.t) + epoch2000 }

func (e *event) before(o *event) bool {
	return e.t < o.t || e.t == o.t && e.seq < o.seq
}

type player struct {
	id       string
	name     string   // from the latest event
	lower    string   // name in lower case
	ref      *nameRef // byName[lower], once looked up
	platform string   // from the latest event that had one
	lastT    int64
	platT    int64
	lastSeq  uint32
	platSeq  uint32
	events   []int32 // indices into Index.events, in order
	all      Totals
}

// nameRef records who used a name last.
type nameRef struct {
	player int32
	t      int64
	seq    uint32
}

// Index holds one server's events and the figures derived from them. It is
// safe for concurrent use: Add takes a write lock, queries a read lock.
type Index struct {
	loc *time.Location

	mu       sync.RWMutex
	events   []event
	players  []player
	byID     map[string]int32
	byName   map[string]*nameRef // lower-case name → its latest user
	names    []string            // keys of byName, sorted, for prefix search
	weapons  []string
	weaponID map[string]uint16
	summary  Summary
	season   int64 // Unix seconds the season began; math.MinInt64 for none
	// seasonTotals are every player's totals since season, by player
	// index; nil without a season, which is then all time.
	seasonTotals []Totals
	longest      int32 // the longest kill of the season so far, in apply order
	// windows hold the totals of the calendar day, week and month of the
	// latest event, so that their leaderboards cost what all time's does.
	windows [3]window
}

// window is every player's totals over one calendar period: the one that
// holds the latest event applied.
type window struct {
	period     Period
	start, end int64   // Unix seconds; end 0: empty
	pos        []int32 // player → 1 + index in totals; 0: no event in the window
	who        []int32 // totals[i] are player who[i]'s
	totals     []Totals
}

// add counts e for its player p, moving the window on when e is past it.
// Events come in order.
func (w *window) add(e *event, p int32, loc *time.Location) {
	t := e.unix()
	if t >= w.end {
		w.reset()
		w.start, w.end = w.period.Range(time.Unix(t, 0), loc)
	}
	if t < w.start {
		return
	}
	if int(p) >= len(w.pos) {
		w.pos = append(w.pos, make([]int32, int(p)+1-len(w.pos))...)
	}
	if w.pos[p] == 0 {
		w.who = append(w.who, p)
		w.totals = append(w.totals, Totals{})
		w.pos[p] = int32(len(w.totals))
	}
	w.totals[w.pos[p]-1].add(e, p)
}

func (w *window) reset() {
	for _, p := range w.who {
		w.pos[p] = 0
	}
	w.who, w.totals = w.who[:0], w.totals[:0]
	w.start, w.end = 0, 0
}

// window returns the held window of period that is [start, end), or nil.
func (x *Index) window(period Period, start, end int64) *window {
	for i := range x.windows {
		if w := &x.windows[i]; w.period == period && w.start == start && w.end == end && w.end != 0 {
			return w
		}
	}
	return nil
}

// Summary counts a server's events by kind.
type Summary struct {
	Events       int `json:"events"`
	Kills        int `json:"kills"` // roadkills included
	Roadkills    int `json:"roadkills"`
	Suicides     int `json:"suicides"`
	Relocations  int `json:"relocations"`
	Unattributed int `json:"unattributed"`
	Players      int `json:"players"`
}

// New returns an empty index whose periods are calendar periods in loc.
func New(loc *time.Location) *Index {
	if loc == nil {
		loc = time.UTC
	}
	return &Index{
		loc:      loc,
		byID:     make(map[string]int32),
		byName:   make(map[string]*nameRef),
		weaponID: make(map[string]uint16),
		season:   math.MinInt64,
		windows:  [3]window{{period: Day}, {period: Week}, {period: Month}},
	}
}

// SetSeason starts the season at start (a wipe): the Season period counts
// from it. The zero time means no wipe yet: the season is all time.
func (x *Index) SetSeason(start time.Time) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.season, x.seasonTotals, x.longest = math.MinInt64, nil, 0
	if !start.IsZero() {
		x.season = start.Unix()
		x.seasonTotals = make([]Totals, len(x.players))
	}
	for i := range x.events {
		e := &x.events[i]
		e.record = false
		if e.unix() >= x.season {
			if x.seasonTotals != nil {
				x.addSeason(e)
			}
			x.markRecord(e)
		}
	}
}

// markRecord flags e if it is a kill longer than every kill of the season
// before it (the season's first kill is no record yet).
func (x *Index) markRecord(e *event) {
	if (e.kind == kindKill || e.kind == kindRoadkill) && e.dist > x.longest {
		e.record, x.longest = x.longest > 0, e.dist
	}
}

// Season returns when the season began, or the zero time for none.
func (x *Index) Season() time.Time {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.season == math.MinInt64 {
		return time.Time{}
	}
	return time.Unix(x.season, 0).In(x.loc)
}

// addSeason counts e in the season's totals.
func (x *Index) addSeason(e *event) {
	if n := len(x.players); len(x.seasonTotals) < n {
		x.seasonTotals = append(x.seasonTotals, make([]Totals, n-len(x.seasonTotals))...)
	}
	if e.killer >= 0 {
		x.seasonTotals[e.killer].add(e, e.killer)
	}
	x.seasonTotals[e.victim].add(e, e.victim)
}

// Load builds the index of scope s from db.
func Load(db *storage.DB, s storage.Scope, loc *time.Location) (*Index, error) {
	x := New(loc)
	x.mu.Lock()
	defer x.mu.Unlock()
	counts, err := db.Counts(s)
	if err != nil {
		return nil, err
	}
	x.events = make([]event, 0, counts.Events)
	err = db.ForEachEvent(s, func(r *storage.Record) error {
		x.insert(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(x.names)
	x.recompute()
	return x, nil
}

// Add adds events just committed to storage. Events that sort before ones
// already held (an old file imported late) make it recompute every figure
// from memory, so the result is the same as a rebuild's.
func (x *Index) Add(recs []storage.Record) {
	if len(recs) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	first := len(x.events)
	ordered := true
	newNames := len(x.names)
	for i := range recs {
		if !x.insert(&recs[i]) {
			ordered = false
		}
	}
	x.sortNewNames(newNames)
	if !ordered {
		x.recompute()
		return
	}
	for i := first; i < len(x.events); i++ {
		x.apply(int32(i))
	}
}

// insert interns r's players and weapon and appends it to x.events. It
// reports whether r sorts after the event before it.
func (x *Index) insert(r *storage.Record) bool {
	e := event{
		t:      uint32(r.Time - epoch2000),
		seq:    uint32(r.Seq),
		killer: -1,
		weapon: x.weapon(r.Weapon),
		dist:   r.Distance,
	}
	e.victim = x.player(r.VictimID, r.Victim, r.VictimPlatform, r.Time, e.seq)
	switch r.Kind {
	case parser.Kill:
		e.killer = x.player(r.KillerID, r.Killer, r.KillerPlatform, r.Time, e.seq)
		e.kind = kindKill
		if w := string(r.Weapon); w == parser.WeaponCar || w == parser.WeaponBoat {
			e.kind = kindRoadkill
		}
	case parser.SelfDeath:
		e.kind = kindSuicide
		if r.Relocation() {
			e.kind = kindRelocation
		}
	default:
		e.kind = kindEnvironment
	}
	ordered := len(x.events) == 0 || x.events[len(x.events)-1].before(&e)
	x.events = append(x.events, e)
	return ordered
}

// player returns the index of the player with EOS id, creating it, and
// records the name and platform if this event is their latest.
func (x *Index) player(id, name, platform []byte, t int64, seq uint32) int32 {
	i, ok := x.byID[string(id)]
	if !ok {
		i = int32(len(x.players))
		x.players = append(x.players, player{id: string(id), lastT: t - 1})
		x.byID[x.players[i].id] = i
	}
	p := &x.players[i]
	if t > p.lastT || t == p.lastT && seq >= p.lastSeq {
		p.lastT, p.lastSeq = t, seq
		if string(name) != p.name {
			p.name = string(name)
			p.lower = strings.ToLower(p.name)
			p.ref = nil
		}
	}
	if len(platform) > 0 && (p.platform == "" || t > p.platT || t == p.platT && seq >= p.platSeq) {
		p.platT, p.platSeq = t, seq
		if string(platform) != p.platform {
			p.platform = string(platform)
		}
	}
	if len(name) == 0 {
		return i
	}
	lower, ref := p.lower, p.ref
	if string(name) != p.name || ref == nil {
		lower = strings.ToLower(string(name))
		ref = x.byName[lower]
	}
	if ref == nil {
		ref = &nameRef{player: i, t: t, seq: seq}
		x.byName[lower] = ref
		x.names = append(x.names, lower)
	} else if t > ref.t || t == ref.t && seq >= ref.seq {
		*ref = nameRef{player: i, t: t, seq: seq}
	}
	if lower == p.lower {
		p.ref = ref
	}
	return i
}

// weapon returns the index of weapon w. Past 65,535 distinct weapon names,
// which no real server has, further names share the last index.
func (x *Index) weapon(w []byte) uint16 {
	i, ok := x.weaponID[string(w)]
	if !ok {
		if len(x.weapons) == math.MaxUint16 {
			return math.MaxUint16 - 1
		}
		i = uint16(len(x.weapons))
		x.weapons = append(x.weapons, string(w))
		x.weaponID[x.weapons[i]] = i
	}
	return i
}

// sortNewNames puts the names appended since x.names[:from] in order,
// merging them into the sorted ones.
func (x *Index) sortNewNames(from int) {
	added := slices.Clone(x.names[from:])
	if len(added) == 0 {
		return
	}
	slices.Sort(added)
	old := x.names[:from]
	merged := make([]string, 0, len(x.names))
	i, j := 0, 0
	for i < len(old) && j < len(added) {
		if old[i] <= added[j] {
			merged = append(merged, old[i])
			i++
		} else {
			merged = append(merged, added[j])
			j++
		}
	}
	merged = append(merged, old[i:]...)
	x.names = append(merged, added[j:]...)
}

// recompute sorts the events and derives every player's list and totals
// from them again.
func (x *Index) recompute() {
	slices.SortFunc(x.events, func(a, b event) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	// Size every player's list exactly: at a million events the slack of
	// growing them by appending would cost megabytes.
	n := make([]int32, len(x.players))
	for i := range x.events {
		e := &x.events[i]
		if e.killer >= 0 {
			n[e.killer]++
		}
		n[e.victim]++
	}
	for i := range x.players {
		p := &x.players[i]
		if cap(p.events) < int(n[i]) || cap(p.events) > 2*int(n[i])+8 {
			p.events = make([]int32, 0, n[i])
		}
		p.events = p.events[:0]
		p.all = Totals{}
	}
	x.summary, x.longest = Summary{}, 0
	if x.seasonTotals != nil {
		x.seasonTotals = make([]Totals, len(x.players))
	}
	for i := range x.windows {
		x.windows[i].reset()
	}
	for i := range x.events {
		x.apply(int32(i))
	}
}

// apply adds event i to its players' lists and all-time totals.
func (x *Index) apply(i int32) {
	e := &x.events[i]
	e.record = false
	if e.killer >= 0 {
		k := &x.players[e.killer]
		k.events = append(k.events, i)
		k.all.add(e, e.killer)
	}
	v := &x.players[e.victim]
	v.events = append(v.events, i)
	v.all.add(e, e.victim)
	if e.unix() >= x.season {
		if x.seasonTotals != nil {
			x.addSeason(e)
		}
		x.markRecord(e)
	}
	for w := range x.windows {
		if e.killer >= 0 {
			x.windows[w].add(e, e.killer, x.loc)
		}
		x.windows[w].add(e, e.victim, x.loc)
	}

	s := &x.summary
	s.Events++
	switch e.kind {
	case kindKill:
		s.Kills++
	case kindRoadkill:
		s.Kills++
		s.Roadkills++
	case kindSuicide:
		s.Suicides++
	case kindRelocation:
		s.Relocations++
	case kindEnvironment:
		s.Unattributed++
	}
}

// Summary returns the server's event counts.
func (x *Index) Summary() Summary {
	x.mu.RLock()
	defer x.mu.RUnlock()
	s := x.summary
	s.Players = len(x.players)
	return s
}

// Location returns the time zone the index's periods are in.
func (x *Index) Location() *time.Location { return x.loc }
