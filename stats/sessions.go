package stats

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"killfeed/parser"
	"killfeed/storage"
)

// Sessions is one game server's presence index, from its Deadside.log
// events: who is online and queued, every player's sessions and playtime,
// the player limit, and the latest state of missions, airdrop, gameplay
// events and vehicles. It is built at start (LoadSessions) and updated after
// each commit (Add), and is safe for concurrent use: Add takes a write lock,
// queries a read lock.
//
// Events are applied in (Time, Seq) order:
//
//   - Queue (a join request): the player is queued, unless online.
//   - Join (by id, or by name in newer builds: the name resolves to the
//     player of the latest line that carried it with an id, a queue line in
//     practice): the player
//     is online from then and leaves the queue; a join while online (the
//     "registered" and "Join succeeded" lines of one join) changes nothing.
//   - Leave (by id or name): ends the open session, or takes the player out
//     of the queue; a second leave line of the same departure is a no-op.
//   - ServerStart: the server had died; every open session ends at the time
//     of the last event before the start, and the queue empties.
//
// Every event is kept in memory, 24 bytes each (world events too: a start
// needs the time of the event before it), so that an event older than one
// already applied (an old log read late) makes Add replay them all in order:
// the state always equals what LoadSessions builds from the same events.
// The latest state of missions and the world needs no replay: later events
// win whatever order they arrive in.
type Sessions struct {
	mu      sync.RWMutex
	events  []sevent // in (t, seq) order once applied
	players []splayer
	byID    map[string]int32
	names   []string         // interned player names
	nameID  map[string]int32 // name → index in names
	world   worldState

	// Replay state, rebuilt by replay.
	byName []int32 // name index → player of the latest line that carried both, or -1
	online map[int32]struct{}
	queued map[int32]struct{}
	lastT  int64 // time of the last event applied, Unix ms
}

// sevent is one stored server event in memory.
type sevent struct {
	t    int64 // Unix ms
	seq  uint32
	who  int32 // player index, -1 when the line has no EOS id
	name int32 // name index, -1 when the line has no name
	kind parser.ServerKind
}

func (e *sevent) before(o *sevent) bool {
	return e.t < o.t || e.t == o.t && e.seq < o.seq
}

func compareEvents(a, b sevent) int {
	if c := cmp.Compare(a.t, b.t); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

type splayer struct {
	id, name, platform string
	nameAt, platAt     stamp // the events name and platform came from
	nameIdx            int32 // name's index in Sessions.names

	// Replay state.
	on, queued bool
	since      int64 // session start, or when queued
	played     int64 // completed sessions, ms
	last       int64 // the last completed session, ms
	sessions   int32
	lastSeen   int64
}

// stamp orders events: (time in Unix ms, Seq). No event is at the Unix
// epoch (the parser takes none before 2000), so the zero stamp means none.
type stamp struct {
	t   int64
	seq uint32
}

func (a stamp) after(b stamp) bool { return a.t > b.t || a.t == b.t && a.seq > b.seq }

// status is a state and the event it came from.
type status struct {
	at          stamp
	name, state string
}

// worldState holds, for each thing, its latest event: later events win
// whatever order they arrive in, so it needs no replay.
type worldState struct {
	missions     map[string]*status
	airdrop      status
	gameplay     [3]status // helicrash, trader, convoy
	vehicles     stamp
	vehicleCount int32
	limit        stamp
	limitCount   int32
	start        stamp
}

// Presence is a player online or in the queue.
type Presence struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Platform string    `json:"platform,omitempty"`
	Since    time.Time `json:"since"` // when the session started, or when they asked to join
}

// PlayerTime is one player's time on the server.
type PlayerTime struct {
	ID       string `json:"id"`
	Name     string `json:"name"` // from the latest line with both id and name
	Platform string `json:"platform,omitempty"`
	Online   bool   `json:"online"`
	Queued   bool   `json:"queued"`
	// Since is when the open session started (Online) or when they asked to
	// join (Queued); zero otherwise.
	Since       time.Time     `json:"since,omitzero"`
	Sessions    int           `json:"sessions"`     // completed sessions
	Played      time.Duration `json:"played"`       // total of the completed sessions
	LastSession time.Duration `json:"last_session"` // length of the last completed session
	// LastSeen is the time of the latest line naming the player, or the end
	// of a session a server restart closed, whichever is later.
	LastSeen time.Time `json:"last_seen"`
}

// Playtime returns the completed sessions' total plus the open session up
// to at.
func (p *PlayerTime) Playtime(at time.Time) time.Duration {
	d := p.Played
	if p.Online && at.After(p.Since) {
		d += at.Sub(p.Since)
	}
	return d
}

// Status is the latest state of a mission, airdrop or gameplay event.
type Status struct {
	Name  string    `json:"name"` // mission id, "AirDrop", or the event's object
	State string    `json:"state"`
	Time  time.Time `json:"time"`
}

// World is what the log said about the map since the server's last start:
// states from before it are left out (zero), as the start reset them.
type World struct {
	Missions  []Status `json:"missions"` // sorted by mission id
	Airdrop   Status   `json:"airdrop"`
	Helicrash Status   `json:"helicrash"`
	Trader    Status   `json:"trader"`
	Convoy    Status   `json:"convoy"`
	Vehicles  int      `json:"vehicles"` // the total of the latest add or del line
}

// NewSessions returns an empty index.
func NewSessions() *Sessions {
	return &Sessions{
		byID:   make(map[string]int32),
		nameID: make(map[string]int32),
		online: make(map[int32]struct{}),
		queued: make(map[int32]struct{}),
		world:  worldState{missions: make(map[string]*status)},
	}
}

// LoadSessions builds the index of scope s from db.
func LoadSessions(db *storage.DB, s storage.Scope) (*Sessions, error) {
	x := NewSessions()
	counts, err := db.Counts(s)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.events = make([]sevent, 0, counts.LogEvents)
	err = db.ForEachServerEvent(s, func(r *storage.ServerRecord) error {
		x.insert(r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	x.replay()
	return x, nil
}

// Add adds server events just committed to storage. An event older than
// one already applied makes it replay every event in order.
func (x *Sessions) Add(recs []storage.ServerRecord) {
	if len(recs) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	first := len(x.events)
	ordered := true
	for i := range recs {
		if !x.insert(&recs[i]) {
			ordered = false
		}
	}
	if !ordered {
		x.replay()
		return
	}
	for i := first; i < len(x.events); i++ {
		x.apply(&x.events[i])
	}
}

// insert records r: its player's name and platform, the world state, and
// the event itself. It reports whether r sorts after every event held.
func (x *Sessions) insert(r *storage.ServerRecord) bool {
	e := sevent{t: r.Time.UnixMilli(), seq: uint32(r.Seq), who: -1, name: -1, kind: r.Kind}
	at := stamp{e.t, e.seq}
	switch r.Kind {
	case parser.Queue, parser.Join, parser.Leave:
		if r.PlayerID != "" {
			e.who = x.player(r.PlayerID)
		}
		if r.Player != "" {
			if e.who >= 0 && x.players[e.who].name == r.Player {
				e.name = x.players[e.who].nameIdx // most lines: no map lookup
			} else {
				e.name = x.intern(r.Player)
			}
		}
		if e.who >= 0 {
			p := &x.players[e.who]
			if r.Player != "" && (p.name == "" || at.after(p.nameAt)) {
				p.name, p.nameAt, p.nameIdx = x.names[e.name], at, e.name
			}
			if r.Platform != "" && (p.platform == "" || at.after(p.platAt)) {
				p.platform, p.platAt = r.Platform, at
			}
		}
	default:
		x.world.add(r, at)
	}
	ordered := len(x.events) == 0 || x.events[len(x.events)-1].before(&e)
	x.events = append(x.events, e)
	return ordered
}

func (x *Sessions) player(id string) int32 {
	i, ok := x.byID[id]
	if !ok {
		i = int32(len(x.players))
		x.players = append(x.players, splayer{id: id})
		x.byID[id] = i
	}
	return i
}

func (x *Sessions) intern(name string) int32 {
	i, ok := x.nameID[name]
	if !ok {
		i = int32(len(x.names))
		x.names = append(x.names, name)
		x.nameID[name] = i
		x.byName = append(x.byName, -1)
	}
	return i
}

// add keeps r if it is the latest of its kind.
func (w *worldState) add(r *storage.ServerRecord, at stamp) {
	set := func(s *status) {
		if at.after(s.at) {
			*s = status{at: at, name: r.Name, state: r.State}
		}
	}
	switch r.Kind {
	case parser.ServerStart:
		if at.after(w.start) {
			w.start = at
		}
	case parser.PlayerLimit:
		if at.after(w.limit) {
			w.limit, w.limitCount = at, r.Count
		}
	case parser.Mission:
		s := w.missions[r.Name]
		if s == nil {
			s = &status{}
			w.missions[r.Name] = s
		}
		set(s)
	case parser.Airdrop:
		set(&w.airdrop)
	case parser.Helicrash:
		set(&w.gameplay[0])
	case parser.Trader:
		set(&w.gameplay[1])
	case parser.Convoy:
		set(&w.gameplay[2])
	case parser.VehicleAdd, parser.VehicleDel:
		if at.after(w.vehicles) {
			w.vehicles, w.vehicleCount = at, r.Count
		}
	}
}

// replay sorts the events and applies them all from an empty state.
func (x *Sessions) replay() {
	slices.SortFunc(x.events, compareEvents)
	for i := range x.players {
		p := &x.players[i]
		p.on, p.queued, p.since, p.played, p.last, p.sessions, p.lastSeen = false, false, 0, 0, 0, 0, 0
	}
	for i := range x.byName {
		x.byName[i] = -1
	}
	clear(x.online)
	clear(x.queued)
	x.lastT = 0
	for i := range x.events {
		x.apply(&x.events[i])
	}
}

// apply moves the replay state on by e, the event after every one applied.
func (x *Sessions) apply(e *sevent) {
	switch e.kind {
	case parser.Queue, parser.Join, parser.Leave:
		who := e.who
		switch {
		case who >= 0 && e.name >= 0:
			x.byName[e.name] = who
		case who < 0 && e.name >= 0:
			who = x.byName[e.name]
		}
		if who >= 0 {
			x.step(who, e)
		}
	case parser.ServerStart:
		for i := range x.online {
			x.end(i, x.lastT)
		}
		for i := range x.queued {
			x.players[i].queued = false
			x.players[i].since = 0
		}
		clear(x.queued)
	}
	x.lastT = e.t
}

// step applies a queue, join or leave line of player i.
func (x *Sessions) step(i int32, e *sevent) {
	p := &x.players[i]
	p.lastSeen = max(p.lastSeen, e.t)
	switch e.kind {
	case parser.Queue:
		if !p.on && !p.queued {
			p.queued, p.since = true, e.t
			x.queued[i] = struct{}{}
		}
	case parser.Join:
		if !p.on {
			if p.queued {
				p.queued = false
				delete(x.queued, i)
			}
			p.on, p.since = true, e.t
			x.online[i] = struct{}{}
		}
	case parser.Leave:
		switch {
		case p.on:
			x.end(i, e.t)
		case p.queued:
			p.queued, p.since = false, 0
			delete(x.queued, i)
		}
	}
}

// end closes player i's open session at t.
func (x *Sessions) end(i int32, t int64) {
	p := &x.players[i]
	d := max(t-p.since, 0)
	p.played += d
	p.last = d
	p.sessions++
	p.lastSeen = max(p.lastSeen, t)
	p.on, p.since = false, 0
	delete(x.online, i)
}

func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Online returns the players online, longest there first (then by name and
// id).
func (x *Sessions) Online() []Presence {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.presence(x.online)
}

// Queued returns the players who asked to join and have neither joined nor
// left since, longest waiting first.
func (x *Sessions) Queued() []Presence {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.presence(x.queued)
}

func (x *Sessions) presence(set map[int32]struct{}) []Presence {
	out := make([]Presence, 0, len(set))
	for i := range set {
		p := &x.players[i]
		out = append(out, Presence{ID: p.id, Name: p.name, Platform: p.platform, Since: unixMilli(p.since)})
	}
	slices.SortFunc(out, func(a, b Presence) int {
		return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Count returns how many players are online and queued.
func (x *Sessions) Count() (online, queued int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.online), len(x.queued)
}

// Player returns the time on the server of the player with EOS id, and
// whether any queue, join or leave line named them.
func (x *Sessions) Player(id string) (PlayerTime, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i, ok := x.byID[id]
	if !ok {
		return PlayerTime{}, false
	}
	p := &x.players[i]
	return PlayerTime{
		ID:          p.id,
		Name:        p.name,
		Platform:    p.platform,
		Online:      p.on,
		Queued:      p.queued,
		Since:       unixMilli(p.since),
		Sessions:    int(p.sessions),
		Played:      time.Duration(p.played) * time.Millisecond,
		LastSession: time.Duration(p.last) * time.Millisecond,
		LastSeen:    unixMilli(p.lastSeen),
	}, true
}

// Playtime returns the total time the player with EOS id spent online:
// their completed sessions and the open one up to at.
func (x *Sessions) Playtime(id string, at time.Time) time.Duration {
	p, _ := x.Player(id)
	return p.Playtime(at)
}

// LastSeen returns PlayerTime.LastSeen of the player with EOS id (zero
// when unknown).
func (x *Sessions) LastSeen(id string) time.Time {
	p, _ := x.Player(id)
	return p.LastSeen
}

// PlayerLimit returns the slot count of the latest start's command line, 0
// when none was seen.
func (x *Sessions) PlayerLimit() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return int(x.world.limitCount)
}

// LastStart returns the time of the latest server start, zero when none was
// seen.
func (x *Sessions) LastStart() time.Time {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return unixMilli(x.world.start.t)
}

// World returns the state of the map since the last start.
func (x *Sessions) World() World {
	x.mu.RLock()
	defer x.mu.RUnlock()
	w := &x.world
	// Since the start: a state from before it is stale.
	fresh := func(at stamp) bool { return at != (stamp{}) && !w.start.after(at) }
	current := func(s *status) Status {
		if !fresh(s.at) {
			return Status{}
		}
		return Status{Name: s.name, State: s.state, Time: unixMilli(s.at.t)}
	}
	var out World
	for _, s := range w.missions {
		if fresh(s.at) {
			out.Missions = append(out.Missions, current(s))
		}
	}
	slices.SortFunc(out.Missions, func(a, b Status) int { return cmp.Compare(a.Name, b.Name) })
	out.Airdrop = current(&w.airdrop)
	out.Helicrash = current(&w.gameplay[0])
	out.Trader = current(&w.gameplay[1])
	out.Convoy = current(&w.gameplay[2])
	if fresh(w.vehicles) {
		out.Vehicles = int(w.vehicleCount)
	}
	return out
}
