package fakelog

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"
)

// ServerLog produces Deadside.log lines as a Deadside dedicated server
// writes them (see DEADSIDE_LOG.md): mostly noise, with players asking to
// join, joining and leaving in every shape the game writes, missions,
// airdrops, helicrashes, traders, convoys and vehicles changing state, and
// server restarts. It is deterministic for a seed.
//
// It also keeps the truth the lines describe, for tests: who is online and
// queued, every player's completed sessions, and the state of the world.
// A session starts at the first join line and ends at the first leave line
// (a departure often writes two or three); a restart ends every open session
// at the time of the last event line before it (the process died then).
// Only lines already returned count.
type ServerLog struct {
	// Step is the mean time between two lines (default 2s). Players and the
	// world keep their own clock; Step only sets how much noise there is.
	Step time.Duration
	// Slots is the player limit written at each start (default 50): players
	// past it wait in the queue, and some give up.
	Slots int

	r        *rand.Rand
	t        time.Time // time of the last line returned
	opened   time.Time // when the current log file was opened
	returned bool      // a line was returned
	obj      uint32    // the next UE object number (they count down)
	driver   uint32    // the net driver's object number

	players  []gamer
	nOnline  int // players in the online state
	agenda   agenda
	pending  []pendingLine
	missions []mission
	airdrop  int // index in airdropStates, -1 when none since the start
	events   [3]gameplay
	vehicles []string

	// The truth, from the lines returned.
	lastEvent time.Time
	world     World
}

// Player is a player of a ServerLog: EOS id, current name and platform.
type Player struct {
	ID, Name, Platform string
}

// Session is one completed stay on the server.
type Session struct {
	Start, End time.Time
}

// World is what the lines returned say about the map since the last start.
type World struct {
	Missions                  map[string]string // mission id → state
	Airdrop                   string            // "" when none since the start
	Helicrash, Trader, Convoy Event             // zero when none since the start
	Vehicles                  int
}

// Event is a gameplay event's object and state.
type Event struct {
	Name, State string
}

type gamer struct {
	Player
	platformID string
	state      int // offline, queued or online
	giveUp     bool
	conn, pc   uint32
	addr       string

	// The truth.
	on, queued bool
	since      time.Time
	sessions   []Session
	shown      string // the name of the latest join request returned
}

const (
	offline = iota
	queued
	online
)

// pendingLine is a line written but not yet returned; fx applies what it
// means to the truth when it is.
type pendingLine struct {
	at    time.Time
	text  []byte
	event bool // the parser turns it into an event
	fx    func(at time.Time)
}

type mission struct {
	name  string
	state int // index in missionStates
}

type gameplay struct {
	class string
	name  string // the current object, "" when none since the start
	state int
}

var (
	missionStates = []string{"INITIAL", "READY", "IN_PROGRESS", "COMPLETED", "WAITING"}
	airdropStates = []string{"Flying", "Dropping", "Dead", "Waiting"}
	missionNames  = []string{"GA_Military_02_Mis1", "GA_Airport_01_Mis1", "GA_Bunker_01_Mis1", "GA_Village_03_Mis2",
		"GA_Sawmill_01_Mis1", "GA_Port_02_Mis1", "GA_Farm_05_Mis1", "GA_Lighthouse_01_Mis1"}
	gameplayClasses = [3]string{"BP_HelicrashEvent_C", "BP_RoamingTraderEvent_C", "BP_ConvoyEvent_C"}
	vehicleClasses  = []string{"BP_SFPSVehicle_Ural_M6736_Sidecar_C", "BP_SFPSVehicle_Niva_C", "BP_SFPSVehicle_Van_C",
		"BP_SFPSVehicle_Sedan_C", "BP_SFPSVehicle_Boat_C", "BP_SFPSVehicle_ATV_C", "BP_SFPSVehicle_Pickup_C"}
	logPlatforms = []string{"PS5", "XSX", "WIN64"}
	namePrefixes = []string{"", "OGz ", "xX_", "TTV-", "Ж", "O'", "Łukasz ", "雪"}
	nameBases    = []string{"Player", "Hunter", "wolf", "Ghost", "Sniper"}
)

// Actors after the players, in the agenda.
const (
	actAirdrop = iota
	actHelicrash
	actTrader
	actConvoy
	actVehicles
	nWorldActors
)

// NewServerLog returns a log among n players, whose first line comes at
// start (call Restart first to open the log as a server does).
func NewServerLog(seed uint64, n int, start time.Time) *ServerLog {
	r := rand.New(rand.NewPCG(seed, seed^0x51f15e))
	start = start.UTC().Truncate(time.Millisecond)
	l := &ServerLog{Step: 2 * time.Second, Slots: 50, r: r, t: start, opened: start,
		obj: 2147482400 - uint32(r.IntN(1000)), airdrop: -1, world: World{Missions: map[string]string{}}}
	l.driver = l.object()
	for i := range n {
		p := gamer{Player: Player{
			Name:     fmt.Sprintf("%s%s%d", namePrefixes[i%len(namePrefixes)], nameBases[i%len(nameBases)], i),
			ID:       fmt.Sprintf("0002%012x%016x", r.Uint64()>>16, r.Uint64()),
			Platform: logPlatforms[r.IntN(len(logPlatforms))],
		}}
		switch p.Platform {
		case "PS5":
			p.platformID = fmt.Sprintf("PS5:%d", 1e18+r.Int64N(8e18))
		case "XSX":
			p.platformID = fmt.Sprintf("XSX:%d", 2533274790000000+r.Int64N(1e10))
		default:
			p.platformID = fmt.Sprintf("WIN64:%d", 76561197960265728+r.Int64N(1e9))
		}
		l.players = append(l.players, p)
	}
	for _, m := range missionNames {
		l.missions = append(l.missions, mission{name: m})
	}
	for i, c := range gameplayClasses {
		l.events[i].class = c
	}
	l.schedule(start)
	return l
}

// Line returns the next line, ending in "\n", and advances the time.
func (l *ServerLog) Line() []byte {
	for len(l.pending) == 0 {
		l.step()
	}
	p := l.pending[0]
	l.pending = l.pending[1:]
	l.take(&p)
	return p.text
}

// Restart models a server (re)start: the process died, so the lines not
// yet returned are lost and players online get no leave line (their
// sessions end at the last event line returned); then a new log opens.
// It returns the lines the server writes as it starts: "Log file open",
// the command line with -playersmaxcount, noise, missions and vehicles.
func (l *ServerLog) Restart() []byte {
	l.pending = l.pending[:0]
	for i := range l.players {
		p := &l.players[i]
		if p.on {
			p.close(l.lastEvent)
		}
		p.queued = false
		p.state = offline
	}
	l.nOnline = 0
	// "Log file open" has whole seconds: the first start is at the first
	// whole second from the log's start, a restart after some downtime.
	at := l.t.Truncate(time.Second)
	if l.returned {
		at = l.t.Add(15*time.Second + l.dur(3*time.Minute)).Truncate(time.Second)
	} else if at.Before(l.t) {
		at = at.Add(time.Second)
	}
	l.opened = at
	l.world = World{Missions: map[string]string{}}
	l.airdrop = -1
	for i := range l.events {
		l.events[i].name = ""
	}
	l.vehicles = l.vehicles[:0]

	l.pending = append(l.pending, pendingLine{at: at, event: true,
		text: fmt.Appendf(nil, "Log file open, %s\n", at.Format("01/02/06 15:04:05"))})
	at = at.Add(time.Duration(3+l.r.IntN(20)) * time.Millisecond)
	l.emit(at, false, nil, "LogInit: Display: Running engine for game: Deadside")
	l.emit(at, false, nil, "LogInit: Build: ++UE4+Release-4.27-CL-0")
	l.emit(at, false, nil, "LogInit: Engine Version: 4.27.2-0+++UE4+Release-4.27")
	l.emit(at, true, nil, "LogInit: Command Line:  -log -port=7777 -queryport=27015 -playersmaxcount=%d -MultiHome=0.0.0.0", l.Slots)
	l.emit(at, false, nil, "LogInit: Base Directory: C:/DeadsideServer/Deadside/Binaries/Win64/")
	at = at.Add(l.dur(2 * time.Second))
	l.emit(at, false, nil, "LogStreaming: Display: Async Loading initialized: Event Driven Loader: true, Async Loading Thread: false, Async Post Load: false")
	at = at.Add(5*time.Second + l.dur(10*time.Second))
	l.emit(at, false, nil, "LogWorld: Bringing World /Game/Maps/world_0/World_0.World_0 up for play (max tick rate 30) at %s", at.Format("2006.01.02-15.04.05"))
	for i := range l.missions {
		at = at.Add(time.Duration(1+l.r.IntN(30)) * time.Millisecond)
		l.missionLine(at, i, 0)
	}
	for range 8 + l.r.IntN(12) {
		at = at.Add(time.Duration(1+l.r.IntN(40)) * time.Millisecond)
		l.addVehicle(at)
	}
	at = at.Add(l.dur(time.Second))
	l.emit(at, false, nil, "LogNet: GameNetDriver IpNetDriver_%d IpNetDriver listening on port 7777", l.driver)
	l.schedule(at)

	var out []byte
	for i := range l.pending {
		l.take(&l.pending[i])
		out = append(out, l.pending[i].text...)
	}
	l.pending = l.pending[:0]
	return out
}

// Now returns the time of the last line returned.
func (l *ServerLog) Now() time.Time { return l.t }

// Players returns every player, with the name of their latest join request
// (players rename now and then), or their first name if they have none.
func (l *ServerLog) Players() []Player {
	out := make([]Player, len(l.players))
	for i := range l.players {
		out[i] = l.players[i].Player
		if l.players[i].shown != "" {
			out[i].Name = l.players[i].shown
		}
	}
	return out
}

// Online returns the EOS ids of the players online, sorted.
func (l *ServerLog) Online() []string {
	var ids []string
	for i := range l.players {
		if l.players[i].on {
			ids = append(ids, l.players[i].ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// Queued returns the EOS ids of the players who asked to join and have
// neither joined nor left since, sorted.
func (l *ServerLog) Queued() []string {
	var ids []string
	for i := range l.players {
		if l.players[i].queued {
			ids = append(ids, l.players[i].ID)
		}
	}
	slices.Sort(ids)
	return ids
}

// Sessions returns the completed sessions of the player with EOS id, in
// order.
func (l *ServerLog) Sessions(id string) []Session {
	if p := l.player(id); p != nil {
		return slices.Clone(p.sessions)
	}
	return nil
}

// Playtime returns the total time the player with EOS id spent online:
// the completed sessions, and the open one up to at.
func (l *ServerLog) Playtime(id string, at time.Time) time.Duration {
	p := l.player(id)
	if p == nil {
		return 0
	}
	var d time.Duration
	for _, s := range p.sessions {
		d += s.End.Sub(s.Start)
	}
	if p.on && at.After(p.since) {
		d += at.Sub(p.since)
	}
	return d
}

// World returns the state of the map since the last start.
func (l *ServerLog) World() World {
	w := l.world
	w.Missions = make(map[string]string, len(l.world.Missions))
	for k, v := range l.world.Missions {
		w.Missions[k] = v
	}
	return w
}

func (l *ServerLog) player(id string) *gamer {
	for i := range l.players {
		if l.players[i].ID == id {
			return &l.players[i]
		}
	}
	return nil
}

func (p *gamer) close(at time.Time) {
	p.sessions = append(p.sessions, Session{Start: p.since, End: at})
	p.on = false
}

// take makes p the last line returned.
func (l *ServerLog) take(p *pendingLine) {
	l.t = p.at
	l.returned = true
	if p.event {
		l.lastEvent = p.at
	}
	if p.fx != nil {
		p.fx(p.at)
	}
}

// emit appends a bracketed line at at to the pending lines.
func (l *ServerLog) emit(at time.Time, event bool, fx func(time.Time), format string, args ...any) {
	b := make([]byte, 0, 160)
	b = append(b, '[')
	b = at.AppendFormat(b, "2006.01.02-15.04.05")
	b = fmt.Appendf(b, ":%03d][%3d]", at.Nanosecond()/1e6, at.Sub(l.opened).Milliseconds()*30/1000%1000)
	b = fmt.Appendf(b, format, args...)
	b = append(b, '\n')
	l.pending = append(l.pending, pendingLine{at: at, text: b, event: event, fx: fx})
}

// dur returns a random duration in [0, d), to the millisecond.
func (l *ServerLog) dur(d time.Duration) time.Duration {
	return time.Duration(l.r.Int64N(d.Milliseconds())) * time.Millisecond
}

func (l *ServerLog) object() uint32 {
	l.obj -= 1 + uint32(l.r.IntN(40))
	return l.obj
}

// step writes the lines of what happens next: a player or the world when
// one is due, noise otherwise.
func (l *ServerLog) step() {
	at := l.t.Add(time.Millisecond + l.dur(2*max(l.Step, time.Millisecond)))
	if next := l.agenda[0]; !next.at.After(at) {
		if at = l.t.Add(time.Millisecond); next.at.After(at) {
			at = next.at
		}
		l.agenda[0].at = l.act(next.who, at)
		heap.Fix(&l.agenda, 0)
		return
	}
	l.noise(at)
}

// act does what actor a does at at and returns when it acts next.
func (l *ServerLog) act(a int, at time.Time) time.Time {
	if a < len(l.players) {
		return l.actPlayer(&l.players[a], at)
	}
	a -= len(l.players)
	if a < len(l.missions) {
		m := &l.missions[a]
		next := (m.state + 1) % len(missionStates)
		l.missionLine(at, a, next)
		// How long the mission stays in its new state; WAITING is the
		// 1800 s respawn.
		return at.Add([]time.Duration{time.Minute, 5 * time.Minute, 2 * time.Minute, time.Minute, 30 * time.Minute}[next] +
			l.dur([]time.Duration{4 * time.Minute, 35 * time.Minute, 13 * time.Minute, 2 * time.Minute, time.Second}[next]))
	}
	switch a -= len(l.missions); a {
	case actAirdrop:
		l.airdrop = (l.airdrop + 1) % len(airdropStates)
		state := airdropStates[l.airdrop]
		l.emit(at, true, func(time.Time) { l.world.Airdrop = state }, "LogSFPS: AirDrop switched to %s", state)
		return at.Add([]time.Duration{time.Minute, time.Minute, 10 * time.Second, 20 * time.Minute}[l.airdrop] +
			l.dur([]time.Duration{2 * time.Minute, 3 * time.Minute, time.Minute, 30 * time.Minute}[l.airdrop]))
	case actHelicrash, actTrader, actConvoy:
		i := a - actHelicrash
		e := &l.events[i]
		if e.name == "" || e.state == len(missionStates)-1 {
			e.name, e.state = fmt.Sprintf("%s_%d", e.class, l.object()), 0
		} else {
			e.state++
		}
		ev := Event{Name: e.name, State: missionStates[e.state]}
		l.emit(at, true, func(time.Time) {
			*[]*Event{&l.world.Helicrash, &l.world.Trader, &l.world.Convoy}[i] = ev
		}, "LogSFPS: GameplayEvent %s switched to %s", ev.Name, ev.State)
		return at.Add([]time.Duration{time.Minute, 5 * time.Minute, 2 * time.Minute, time.Minute, 20 * time.Minute}[e.state] +
			l.dur([]time.Duration{2 * time.Minute, 25 * time.Minute, 18 * time.Minute, time.Minute, 40 * time.Minute}[e.state]))
	case actVehicles:
		if n := len(l.vehicles); n < 5 || n < 40 && l.r.IntN(2) == 0 {
			l.addVehicle(at)
		} else {
			i := l.r.IntN(n)
			v := l.vehicles[i]
			l.vehicles = slices.Delete(l.vehicles, i, i+1)
			total := len(l.vehicles)
			l.emit(at, true, func(time.Time) { l.world.Vehicles = total },
				"LogSFPS: [ASFPSGameMode::NewVehicle_Del] Del vehicle %s Total %d", v, total)
		}
		return at.Add(2*time.Minute + l.dur(13*time.Minute))
	}
	panic("fakelog: unknown actor")
}

func (l *ServerLog) missionLine(at time.Time, i, state int) {
	m := &l.missions[i]
	m.state = state
	name, s := m.name, missionStates[state]
	l.emit(at, true, func(time.Time) { l.world.Missions[name] = s }, "LogSFPS: Mission %s switched to %s", name, s)
	if s == "WAITING" {
		// Whether or not a parser takes it for an event, it comes in the
		// same millisecond as one.
		l.emit(at, false, nil, "LogSFPS: Mission %s will respawn in 1800", name)
	}
}

func (l *ServerLog) addVehicle(at time.Time) {
	v := fmt.Sprintf("%s_%d", vehicleClasses[l.r.IntN(len(vehicleClasses))], l.object())
	l.vehicles = append(l.vehicles, v)
	total := len(l.vehicles)
	l.emit(at, true, func(time.Time) { l.world.Vehicles = total },
		"LogSFPS: [ASFPSGameMode::NewVehicle_Add] Add vehicle %s Total %d", v, total)
}

// actPlayer moves p on: offline players ask to join, queued ones join (or
// give up), online ones leave.
func (l *ServerLog) actPlayer(p *gamer, at time.Time) time.Time {
	switch p.state {
	case offline:
		if l.r.IntN(40) == 0 {
			p.Name += "_" // a rename: names stay unique
		}
		p.conn, p.pc = l.object(), l.object()
		p.addr = fmt.Sprintf("%d.%d.%d.%d:%d", 2+l.r.IntN(220), l.r.IntN(256), l.r.IntN(256), 1+l.r.IntN(254), 1024+l.r.IntN(64000))
		l.emit(at, false, nil, "LogNet: NotifyAcceptingConnection accepted from: %s", p.addr)
		at = at.Add(time.Duration(l.r.IntN(300)) * time.Millisecond)
		l.emit(at, false, nil, "LogNet: Server accepting post-challenge connection from: %s", p.addr)
		at = at.Add(time.Duration(20+l.r.IntN(300)) * time.Millisecond)
		opts := fmt.Sprintf("?logintype=eos?login=%s?password=*?eosid=|%s?ver=1.3.2.24846c?nativeplatform=%s?platformid=%s?Name=%s?SplitscreenCount=1",
			p.Name, p.ID, p.Platform, p.platformID, p.Name)
		l.emit(at, false, nil, "LogNet: Login request: %s userId: EOS:|%s platform: EOS", opts, p.ID)
		name := p.Name
		l.emit(at, true, func(time.Time) {
			p.shown = name
			if !p.on {
				p.queued = true
			}
		}, "LogNet: Join request: /Game/Maps/world_0/World_0%s", opts)
		p.state = queued
		p.giveUp = l.r.IntN(10) == 0
		if p.giveUp {
			return at.Add(2*time.Second + l.dur(time.Minute))
		}
		return at.Add(150*time.Millisecond + l.dur(3*time.Second))
	case queued:
		full := l.nOnline >= l.Slots
		if p.giveUp || full && l.r.IntN(4) == 0 {
			l.queueLeave(p, at)
			p.state = offline
			return at.Add(10*time.Minute + l.dur(6*time.Hour))
		}
		if full {
			return at.Add(20*time.Second + l.dur(70*time.Second))
		}
		l.join(p, at)
		p.state = online
		l.nOnline++
		return at.Add(3*time.Minute + l.dur(150*time.Minute))
	default:
		l.leave(p, at)
		p.state = offline
		l.nOnline--
		return at.Add(10*time.Minute + l.dur(6*time.Hour))
	}
}

func (l *ServerLog) joinFx(p *gamer) func(time.Time) {
	return func(at time.Time) {
		if !p.on {
			p.on, p.since, p.queued = true, at, false
		}
	}
}

func (l *ServerLog) leaveFx(p *gamer) func(time.Time) {
	return func(at time.Time) {
		if p.on {
			p.close(at)
		}
		p.queued = false
	}
}

// join writes a join in one of its shapes: "successfully registered" (id
// only), "Join succeeded" (name only, newer builds), or both.
func (l *ServerLog) join(p *gamer, at time.Time) {
	x := l.r.IntN(20)
	if x < 15 {
		l.emit(at, true, l.joinFx(p), "LogOnline: Warning: Player |%s successfully registered!", p.ID)
		at = at.Add(time.Duration(1+l.r.IntN(40)) * time.Millisecond)
	}
	if x >= 10 {
		l.emit(at, true, l.joinFx(p), "LogNet: Join succeeded: %s", p.Name)
	}
}

// leave writes a departure in one of its shapes, often as two or three
// lines: channel closed, unregistered, timed out, or (newer builds) logged
// out.
func (l *ServerLog) leave(p *gamer, at time.Time) {
	next := func() time.Time {
		at = at.Add(time.Duration(l.r.IntN(30)) * time.Millisecond)
		return at
	}
	switch x := l.r.IntN(20); {
	case x < 8:
		l.closeLine(p, at, true)
		l.unregistered(p, next())
	case x < 10:
		l.closeLine(p, at, true)
	case x < 12:
		l.unregistered(p, at)
	case x < 15:
		l.timedOut(p, at, true)
		l.unregistered(p, next())
	case x < 16:
		l.timedOut(p, at, true)
	case x < 18:
		l.emit(at, true, l.leaveFx(p), "LogOnline: Player ltEOS %s has logged out by reason: Quit", p.Name)
		l.closeLine(p, next(), true)
		l.unregistered(p, next())
	default:
		l.emit(at, true, l.leaveFx(p), "LogOnline: Player ltEOS %s has logged out by reason: Quit", p.Name)
	}
}

// queueLeave writes a player giving up before joining: the connection
// closes or times out, with no player controller yet.
func (l *ServerLog) queueLeave(p *gamer, at time.Time) {
	if l.r.IntN(3) == 0 {
		l.timedOut(p, at, false)
	} else {
		l.closeLine(p, at, false)
	}
}

func (l *ServerLog) conn(p *gamer, withPC bool) string {
	pc := "NULL"
	if withPC {
		pc = fmt.Sprintf("SFPSPlayerControllerBP_C_%d", p.pc)
	}
	return fmt.Sprintf("[UNetConnection] RemoteAddr: %s, Name: IpConnection_%d, Driver: GameNetDriver IpNetDriver_%d, IsServer: YES, PC: %s, Owner: %s, UniqueId: EOS:|%s",
		p.addr, p.conn, l.driver, pc, pc, p.ID)
}

func (l *ServerLog) closeLine(p *gamer, at time.Time, withPC bool) {
	l.emit(at, true, l.leaveFx(p), "LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 0. Name: [UChannel] ChIndex: 0, Closing: 0 %s", l.conn(p, withPC))
}

func (l *ServerLog) unregistered(p *gamer, at time.Time) {
	l.emit(at, true, l.leaveFx(p), "LogOnline: Warning: Player |%s successfully unregistered from the session.", p.ID)
}

func (l *ServerLog) timedOut(p *gamer, at time.Time, withPC bool) {
	drv := float64(at.Sub(l.opened).Milliseconds()) / 1000
	l.emit(at, true, l.leaveFx(p), "LogNet: Warning: UNetConnection::Tick: Connection TIMED OUT. Closing connection.. Elapsed: 30.%02d, Real: 30.%02d, Good: 30.%02d, DriverTime: %.2f, Threshold: 30.00, %s",
		l.r.IntN(100), l.r.IntN(100), l.r.IntN(100), drv, l.conn(p, withPC))
}

var noiseLines = []string{
	"LogTemp: World saved in %d ms",
	"LogTemp: Warning: Failed to find a free spawn point, %d tried",
	"LogSFPS: [USFPSSaveManager::SaveWorld] Saving world, %d objects",
	"LogSFPS: Loot respawned in %d containers",
	"LogSFPS: AI spawner SpawnZone_%d spawned 3 bots",
	"LogSFPS: Warning: [ASFPSCharacter::OnDamage] damage causer is invalid (%d)",
	"LogNet: NotifyAcceptingConnection accepted from: 10.0.%d.7:7777",
	"LogNetTraffic: Warning: UNetConnection::ReceivedPacket: Received packet with bits %d",
	"LogScript: Warning: Script Msg: A null object was passed as a world context object to UEngine::GetWorldFromContextObject() (%d).",
	"LogGarbage: Collecting garbage took %d ms",
	"LogEOSSDK: Warning: LogEOS: Updating Product SDK Config, Time: %d",
	"LogOnline: Display: EOS: Session updated (%d)",
	"LogStreaming: Warning: Failed to read file '../../../Deadside/Saved/SaveGames/%d.sav' error.",
}

func (l *ServerLog) noise(at time.Time) {
	l.emit(at, false, nil, noiseLines[l.r.IntN(len(noiseLines))], l.r.IntN(5000))
}

// schedule puts every player and world actor in the agenda from at: after a
// start, players come back within minutes, and the world starts over.
func (l *ServerLog) schedule(at time.Time) {
	l.agenda = l.agenda[:0]
	for i := range l.players {
		l.agenda = append(l.agenda, due{at: at.Add(30*time.Second + l.dur(90*time.Minute)), who: i})
	}
	for i := range l.missions {
		l.agenda = append(l.agenda, due{at: at.Add(time.Minute + l.dur(5*time.Minute)), who: len(l.players) + i})
	}
	for a := range nWorldActors {
		l.agenda = append(l.agenda, due{at: at.Add(5*time.Minute + l.dur(25*time.Minute)), who: len(l.players) + len(l.missions) + a})
	}
	heap.Init(&l.agenda)
}

// due is when an actor (a player, then missions, then the world actors)
// acts next.
type due struct {
	at  time.Time
	who int
}

// agenda is a min-heap of actors by time.
type agenda []due

func (a agenda) Len() int { return len(a) }
func (a agenda) Less(i, j int) bool {
	return a[i].at.Before(a[j].at) || a[i].at.Equal(a[j].at) && a[i].who < a[j].who
}
func (a agenda) Swap(i, j int) { a[i], a[j] = a[j], a[i] }
func (a *agenda) Push(x any)   { *a = append(*a, x.(due)) }
func (a *agenda) Pop() any {
	old := *a
	x := old[len(old)-1]
	*a = old[:len(old)-1]
	return x
}
