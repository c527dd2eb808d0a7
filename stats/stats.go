package stats

import (
	"errors"
	"sort"
	"strings"
	"time"
)

// Totals are the counting figures of one player over some events. add is
// the one definition of them.
type Totals struct {
	Kills         int32
	Deaths        int32
	Suicides      int32
	Relocations   int32
	EnvDeaths     int32
	LongestKill   int32
	BestStreak    int32
	CurrentStreak int32
}

// add counts e, an event of player p, in t. Events must come in order.
func (t *Totals) add(e *event, p int32) {
	switch e.kind {
	case kindKill, kindRoadkill:
		if e.killer == p {
			t.Kills++
			t.LongestKill = max(t.LongestKill, e.dist)
			t.CurrentStreak++
			t.BestStreak = max(t.BestStreak, t.CurrentStreak)
			return
		}
		t.Deaths++
	case kindSuicide:
		t.Suicides++
	case kindRelocation:
		t.Relocations++
	case kindEnvironment:
		t.EnvDeaths++
	}
	t.CurrentStreak = 0 // every death ends a streak
}

// KDR returns kills / max(deaths, 1), rounded half up to 2 decimals in
// integer arithmetic, so 1/8 is 0.13 and not a float's 0.12.
func (t *Totals) KDR() float64 {
	d := int64(max(t.Deaths, 1))
	return float64((200*int64(t.Kills)+d)/(2*d)) / 100
}

// Rival is a player met in a fight, with how often.
type Rival struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Stats are one player's figures over one period.
type Stats struct {
	ID                string  `json:"id"`
	Name              string  `json:"name"`
	Kills             int     `json:"kills"`
	Deaths            int     `json:"deaths"`
	Suicides          int     `json:"suicides"`
	Relocations       int     `json:"relocations"`
	EnvironmentDeaths int     `json:"environment_deaths"`
	KDR               float64 `json:"kdr"`
	LongestKill       int     `json:"longest_kill"`
	BestStreak        int     `json:"best_streak"`
	CurrentStreak     int     `json:"current_streak"`
	FavouriteWeapon   string  `json:"favourite_weapon"`
	Nemesis           *Rival  `json:"nemesis"`
	Prey              *Rival  `json:"prey"`

	LastSeen time.Time `json:"-"` // time of the player's latest event, any period
	Platform string    `json:"-"` // latest platform seen, "" in older logs
}

// ErrNoPlayer is returned when a name or id matches no player.
var ErrNoPlayer = errors.New("no such player")

// Lookup returns the EOS id of the player with id or name q (any case); a
// name resolves to the player who used it last.
func (x *Index) Lookup(q string) (string, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.find(q)
	if !ok {
		return "", ErrNoPlayer
	}
	return x.players[i].id, nil
}

func (x *Index) find(q string) (int32, bool) {
	if i, ok := x.byID[q]; ok {
		return i, true
	}
	if ref := x.byName[strings.ToLower(q)]; ref != nil {
		return ref.player, true
	}
	return 0, false
}

// Stats returns the figures of player q (name or EOS id) for the period
// that holds at.
func (x *Index) Stats(q string, period Period, at time.Time) (Stats, error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	pi, ok := x.find(q)
	if !ok {
		return Stats{}, ErrNoPlayer
	}
	p := &x.players[pi]
	start, end := period.Range(at, x.loc)
	if period == Season {
		start = x.season
	}

	evs := p.events
	lo := sort.Search(len(evs), func(i int) bool { return x.events[evs[i]].unix() >= start })
	hi := sort.Search(len(evs), func(i int) bool { return x.events[evs[i]].unix() >= end })

	var t Totals
	weapons := map[uint16]int{}
	killedBy := map[int32]int{}
	killed := map[int32]int{}
	for _, ei := range evs[lo:hi] {
		e := &x.events[ei]
		t.add(e, pi)
		if e.kind != kindKill && e.kind != kindRoadkill {
			continue
		}
		if e.killer == pi {
			weapons[e.weapon]++
			killed[e.victim]++
		} else {
			killedBy[e.killer]++
		}
	}

	s := Stats{
		ID:                p.id,
		Name:              p.name,
		Kills:             int(t.Kills),
		Deaths:            int(t.Deaths),
		Suicides:          int(t.Suicides),
		Relocations:       int(t.Relocations),
		EnvironmentDeaths: int(t.EnvDeaths),
		KDR:               t.KDR(),
		LongestKill:       int(t.LongestKill),
		BestStreak:        int(t.BestStreak),
		CurrentStreak:     int(t.CurrentStreak),
		Nemesis:           x.topRival(killedBy),
		Prey:              x.topRival(killed),
		LastSeen:          time.Unix(p.lastT, 0).In(x.loc),
		Platform:          p.platform,
	}
	best := 0
	for w, n := range weapons {
		if name := x.weapons[w]; n > best || n == best && name < s.FavouriteWeapon {
			s.FavouriteWeapon, best = name, n
		}
	}
	return s, nil
}

// topRival returns the player with the highest count; ties go to the
// smallest EOS id.
func (x *Index) topRival(counts map[int32]int) *Rival {
	var r *Rival
	for pi, n := range counts {
		p := &x.players[pi]
		if r == nil || n > r.Count || n == r.Count && p.id < r.ID {
			r = &Rival{ID: p.id, Name: p.name, Count: n}
		}
	}
	return r
}

// Match is a player found by name.
type Match struct {
	ID   string `json:"id"`
	Name string `json:"name"` // current display name
}

// Search returns up to limit players with a name (any they used) that
// starts with prefix, in any case, in name order.
func (x *Index) Search(prefix string, limit int) []Match {
	x.mu.RLock()
	defer x.mu.RUnlock()
	prefix = strings.ToLower(prefix)
	i := sort.SearchStrings(x.names, prefix)
	var out []Match
	seen := map[int32]bool{}
	for ; i < len(x.names) && len(out) < limit && strings.HasPrefix(x.names[i], prefix); i++ {
		pi := x.byName[x.names[i]].player
		if seen[pi] {
			continue
		}
		seen[pi] = true
		out = append(out, Match{ID: x.players[pi].id, Name: x.players[pi].name})
	}
	return out
}

// HeadToHead returns how many times a killed b and b killed a (names or
// EOS ids) in the period that holds at.
func (x *Index) HeadToHead(a, b string, period Period, at time.Time) (aKilledB, bKilledA int, err error) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	pa, ok := x.find(a)
	if !ok {
		return 0, 0, ErrNoPlayer
	}
	pb, ok := x.find(b)
	if !ok {
		return 0, 0, ErrNoPlayer
	}
	start, end := period.Range(at, x.loc)
	if period == Season {
		start = x.season
	}
	for _, ei := range x.players[pa].events {
		e := &x.events[ei]
		if t := e.unix(); t < start || t >= end || (e.kind != kindKill && e.kind != kindRoadkill) {
			continue
		}
		switch {
		case e.killer == pa && e.victim == pb:
			aKilledB++
		case e.killer == pb && e.victim == pa:
			bKilledA++
		}
	}
	return aKilledB, bKilledA, nil
}
