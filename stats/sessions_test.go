package stats_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"killfeed/internal/fakelog"
	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

// logServer is a game server's Deadside.log under test: its database and
// the sessions index kept up to date by Add after each commit.
type logServer struct {
	tb     testing.TB
	db     *storage.DB
	x      *stats.Sessions
	lineNo int
}

func newLogServer(tb testing.TB) *logServer {
	tb.Helper()
	return &logServer{tb: tb, db: mustOpenDB(tb), x: stats.NewSessions()}
}

// commit parses log lines as the ingester does, commits their events in one
// batch and adds what was new to the index.
func (s *logServer) commit(lines []string) *storage.Batch {
	s.tb.Helper()
	b := s.store(lines)
	s.x.Add(b.AddedServer)
	return b
}

// store commits lines without telling the index.
func (s *logServer) store(lines []string) *storage.Batch {
	s.tb.Helper()
	b := &storage.Batch{Scope: testScope, ServerLog: true, Lines: len(lines)}
	b.ServerEvents = parseLog(s.tb, lines, s.lineNo+1)
	s.lineNo += len(lines)
	if err := s.db.Commit(b); err != nil {
		s.tb.Fatal(err)
	}
	return b
}

func (s *logServer) load() *stats.Sessions {
	s.tb.Helper()
	x, err := stats.LoadSessions(s.db, testScope)
	if err != nil {
		s.tb.Fatal(err)
	}
	return x
}

// parseLog returns the events of log lines; a malformed line fails the
// test, since every line here has a real shape.
func parseLog(tb testing.TB, lines []string, firstLine int) []parser.ServerEvent {
	tb.Helper()
	var out []parser.ServerEvent
	for i, l := range lines {
		e, err := parser.ParseServerLine([]byte(l), firstLine+i, time.UTC)
		if errors.Is(err, parser.ErrEmpty) || errors.Is(err, parser.ErrNotEvent) {
			continue
		}
		if err != nil {
			tb.Fatalf("ParseServerLine(%q): %v", l, err)
		}
		out = append(out, e)
	}
	return out
}

// splitLines splits generated output into lines, each with its "\n".
func splitLines(b []byte) []string {
	var out []string
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		out = append(out, string(b[:i+1]))
		b = b[i+1:]
	}
	return out
}

// newTestLog is a busy server: 40 players for 12 slots, so the queue fills
// and some give up, and a line every 20 s on average.
func newTestLog(seed uint64) *fakelog.ServerLog {
	g := fakelog.NewServerLog(seed, 40, time.Date(2025, 5, 17, 2, 1, 30, 0, time.UTC))
	g.Step = 20 * time.Second
	g.Slots = 12
	return g
}

func ids(ps []stats.Presence) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.ID)
	}
	slices.Sort(out)
	return out
}

// checkTruth holds x to what the generator's lines say, at the generator's
// last line: who is online and queued, every player's sessions, playtime,
// name and platform, the player limit and the world.
func checkTruth(tb testing.TB, what string, x *stats.Sessions, g *fakelog.ServerLog) {
	tb.Helper()
	fails := 0
	fail := func(format string, args ...any) {
		tb.Helper()
		tb.Errorf(what+": "+format, args...)
		if fails++; fails == 10 {
			tb.FailNow()
		}
	}
	now := g.Now()
	online, queued := x.Online(), x.Queued()
	if got, want := ids(online), g.Online(); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		fail("Online() = %v, want %v", got, want)
	}
	if got, want := ids(queued), g.Queued(); !slices.Equal(got, want) && len(got)+len(want) > 0 {
		fail("Queued() = %v, want %v", got, want)
	}
	if on, q := x.Count(); on != len(g.Online()) || q != len(g.Queued()) {
		fail("Count() = %d, %d; want %d, %d", on, q, len(g.Online()), len(g.Queued()))
	}
	for i := 1; i < len(online); i++ {
		if online[i].Since.Before(online[i-1].Since) {
			fail("Online() not sorted by Since: %v before %v", online[i-1], online[i])
		}
	}
	for _, p := range g.Players() {
		pt, ok := x.Player(p.ID)
		sessions := g.Sessions(p.ID)
		for _, at := range []time.Time{now, now.Add(time.Hour)} {
			if got, want := x.Playtime(p.ID, at), g.Playtime(p.ID, at); got != want {
				fail("Playtime(%s %q, %v) = %v, want %v (%d sessions, want %d)", p.ID, p.Name, at, got, want, pt.Sessions, len(sessions))
			}
		}
		if !ok {
			if len(sessions) > 0 || g.Playtime(p.ID, now.Add(time.Hour)) > 0 {
				fail("Player(%s) unknown, want %d sessions", p.ID, len(sessions))
			}
			continue
		}
		if pt.Sessions != len(sessions) {
			fail("Player(%s).Sessions = %d, want %d", p.ID, pt.Sessions, len(sessions))
		} else if n := len(sessions); n > 0 {
			if want := sessions[n-1].End.Sub(sessions[n-1].Start); pt.LastSession != want {
				fail("Player(%s).LastSession = %v, want %v", p.ID, pt.LastSession, want)
			}
		}
		if pt.Name != p.Name || pt.Platform != p.Platform {
			fail("Player(%s) name and platform = %q, %q; want %q, %q", p.ID, pt.Name, pt.Platform, p.Name, p.Platform)
		}
	}
	if got := x.PlayerLimit(); got != g.Slots {
		fail("PlayerLimit() = %d, want %d", got, g.Slots)
	}
	w, tw := x.World(), g.World()
	missions := map[string]string{}
	for _, m := range w.Missions {
		missions[m.Name] = m.State
	}
	if !reflect.DeepEqual(missions, tw.Missions) {
		fail("World().Missions = %v, want %v", missions, tw.Missions)
	}
	if w.Airdrop.State != tw.Airdrop || w.Vehicles != tw.Vehicles {
		fail("World() airdrop %q, vehicles %d; want %q, %d", w.Airdrop.State, w.Vehicles, tw.Airdrop, tw.Vehicles)
	}
	for _, c := range []struct {
		got  stats.Status
		want fakelog.Event
	}{{w.Helicrash, tw.Helicrash}, {w.Trader, tw.Trader}, {w.Convoy, tw.Convoy}} {
		if c.got.Name != c.want.Name || c.got.State != c.want.State {
			fail("World() gameplay event %q %q, want %q %q", c.got.Name, c.got.State, c.want.Name, c.want.State)
		}
	}
}

// sessionsView is everything a Sessions answers, for comparing two.
type sessionsView struct {
	Online, Queued []stats.Presence
	Count          [2]int
	Players        []stats.PlayerTime
	World          stats.World
	Limit          int
	Start          time.Time
}

func viewOf(x *stats.Sessions, ids []string) sessionsView {
	v := sessionsView{Online: x.Online(), Queued: x.Queued(), World: x.World(), Limit: x.PlayerLimit(), Start: x.LastStart()}
	v.Count[0], v.Count[1] = x.Count()
	for _, id := range ids {
		p, _ := x.Player(id)
		v.Players = append(v.Players, p)
	}
	return v
}

// diffViews lists the fields where got and want differ.
func diffViews(got, want sessionsView) string {
	var b strings.Builder
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gv.NumField() {
		name := gv.Type().Field(i).Name
		if name == "Players" {
			n := 0
			for j := range max(len(got.Players), len(want.Players)) {
				if j >= len(got.Players) || j >= len(want.Players) || got.Players[j] != want.Players[j] {
					if n++; n <= 5 {
						fmt.Fprintf(&b, "\n\tPlayers[%d]: got %+v\n\t            want %+v", j, elem(got.Players, j), elem(want.Players, j))
					}
				}
			}
			continue
		}
		if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
			fmt.Fprintf(&b, "\n\t%s: got %+v\n\t    want %+v", name, gv.Field(i).Interface(), wv.Field(i).Interface())
		}
	}
	return b.String()
}

func elem[T any](s []T, i int) any {
	if i < len(s) {
		return s[i]
	}
	return "(none)"
}

func playerIDs(g *fakelog.ServerLog) []string {
	var out []string
	for _, p := range g.Players() {
		out = append(out, p.ID)
	}
	return out
}

// shapes counts the kinds of line a history went through, to show the
// test exercised them.
type shapes struct {
	counts map[string]int
	queued map[string]bool // ids asked to join and not yet in
}

func (s *shapes) add(recs []storage.ServerRecord) {
	if s.counts == nil {
		s.counts, s.queued = map[string]int{}, map[string]bool{}
	}
	for _, r := range recs {
		switch r.Kind {
		case parser.Queue:
			s.counts["queue"]++
			s.queued[r.PlayerID] = true
		case parser.Join:
			if r.PlayerID == "" {
				s.counts["join by name"]++
			} else {
				s.counts["join by id"]++
				delete(s.queued, r.PlayerID)
			}
		case parser.Leave:
			s.counts["leave "+r.State]++
			if r.PlayerID != "" && s.queued[r.PlayerID] {
				s.counts["left the queue"]++
				delete(s.queued, r.PlayerID)
			}
		case parser.ServerStart:
			s.counts["start"]++
			clear(s.queued)
		default:
			s.counts[r.Kind.String()]++
		}
	}
}

func (s *shapes) check(tb testing.TB, min int) {
	tb.Helper()
	for _, k := range []string{"queue", "join by id", "join by name", "leave closed", "leave unregistered",
		"leave timed_out", "leave quit", "left the queue", "start", "player_limit", "mission", "airdrop",
		"helicrash", "trader", "convoy", "vehicle_add", "vehicle_del"} {
		if s.counts[k] < min {
			tb.Errorf("%d lines of %q, want %d or more: the test is too weak (%v)", s.counts[k], k, min, s.counts)
		}
	}
}

// TestSessionsMatchGenerator plays a generated week of a busy server's
// Deadside.log (joins and leaves in every shape, timeouts, players giving
// up in the queue, restarts with players online, missions, airdrops,
// gameplay events, vehicles) through the parser and storage in random
// batches. After every batch the index kept by Add says exactly what the
// lines say: who is online and queued, each player's sessions and playtime;
// at the end a fresh Load says the same as Add.
func TestSessionsMatchGenerator(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			n := 30000
			if testing.Short() {
				n = 8000
			}
			r := rand.New(rand.NewPCG(seed, 0x5e55))
			g := newTestLog(seed)
			s := newLogServer(t)
			var sh shapes
			sh.add(s.commit(splitLines(g.Restart())).AddedServer)
			restartsOnline := 0
			for lines, batch := 0, 0; lines < n; batch++ {
				if r.IntN(25) == 0 {
					if len(g.Online()) > 0 {
						restartsOnline++
					}
					sh.add(s.commit(splitLines(g.Restart())).AddedServer)
					checkTruth(t, fmt.Sprintf("after a restart at %v", g.Now()), s.x, g)
					continue
				}
				k := 1 + r.IntN(400)
				b := make([]string, k)
				for i := range b {
					b[i] = string(g.Line())
				}
				lines += k
				sh.add(s.commit(b).AddedServer)
				checkTruth(t, fmt.Sprintf("after batch %d (%d lines, up to %v)", batch, lines, g.Now()), s.x, g)
			}
			ids := playerIDs(g)
			if d := diffViews(viewOf(s.load(), ids), viewOf(s.x, ids)); d != "" {
				t.Errorf("Load and Add differ:%s", d)
			}
			checkTruth(t, "Load", s.load(), g)
			sh.check(t, 3)
			if restartsOnline < 2 {
				t.Errorf("%d restarts with players online, want 2 or more: the test is too weak", restartsOnline)
			}
			t.Logf("%d lines, %d restarts with players online, %v", n, restartsOnline, sh.counts)
		})
	}
}

// TestServerLogIsDeterministic: the same seed gives the same bytes, so a
// failing test can be replayed.
func TestServerLogIsDeterministic(t *testing.T) {
	var logs [2]bytes.Buffer
	for i := range logs {
		g := newTestLog(42)
		logs[i].Write(g.Restart())
		for j := range 3000 {
			if j == 1500 {
				logs[i].Write(g.Restart())
			}
			logs[i].Write(g.Line())
		}
	}
	if !bytes.Equal(logs[0].Bytes(), logs[1].Bytes()) {
		t.Error("two ServerLogs with seed 42 wrote different lines")
	}
}

// TestSessionsOldLogReadLate: the history is split into its log files (one
// per server run); a middle file is read after the newer ones, as an old
// backup copy found late, and the batches interleave. After every batch the
// index kept by Add equals a fresh Load, and at the end both equal the
// generator's truth.
func TestSessionsOldLogReadLate(t *testing.T) {
	for _, seed := range []uint64{4, 5} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x1a7e))
			g := newTestLog(seed)
			var files [][]string
			for range 4 {
				f := splitLines(g.Restart())
				for range 2000 + r.IntN(2000) {
					f = append(f, string(g.Line()))
				}
				files = append(files, f)
			}
			// Read order: file 0, then file 2 and file 3 (the old file 1
			// missed), then file 1, its batches mixed with the last ones of
			// file 3; then everything once more, which storage drops.
			var batches [][]string
			cut := func(f []string) [][]string {
				var out [][]string
				for len(f) > 0 {
					k := min(1+r.IntN(600), len(f))
					out = append(out, f[:k])
					f = f[k:]
				}
				return out
			}
			batches = append(batches, cut(files[0])...)
			batches = append(batches, cut(files[2])...)
			tail3 := cut(files[3])
			old := cut(files[1])
			batches = append(batches, tail3[:len(tail3)/2]...)
			for i, j := len(tail3)/2, 0; i < len(tail3) || j < len(old); {
				if j < len(old) && (i == len(tail3) || r.IntN(2) == 0) {
					batches = append(batches, old[j])
					j++
				} else {
					batches = append(batches, tail3[i])
					i++
				}
			}
			for _, f := range files {
				batches = append(batches, cut(f)...)
			}

			s := newLogServer(t)
			ids := playerIDs(g)
			late, dups := 0, 0
			var newest time.Time
			for i, b := range batches {
				added := s.commit(b).AddedServer
				for _, rec := range added {
					if rec.Time.Before(newest) {
						late++
						break
					}
				}
				for _, rec := range added {
					newest = maxTime(newest, rec.Time)
				}
				if len(added) == 0 {
					dups++
				}
				if d := diffViews(viewOf(s.x, ids), viewOf(s.load(), ids)); d != "" {
					t.Fatalf("after batch %d of %d (%d lines, %d new), Add and Load differ:%s", i+1, len(batches), len(b), len(added), d)
				}
			}
			if late < 3 {
				t.Errorf("only %d batches arrived out of order: the test is too weak", late)
			}
			checkTruth(t, "Add", s.x, g)
			checkTruth(t, "Load", s.load(), g)
			t.Logf("%d batches, %d out of order, %d all duplicates", len(batches), late, dups)
		})
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// A handwritten history in the real shapes, with times that make the
// expected figures easy to check.
const (
	eosA = "000240ecc1ba45d59962bc2d34e0177e"
	eosB = "00022ba2d4c1e87a3f0b6d5e9c8a7f61"
	eosC = "0002aaaabbbbccccddddeeeeffff0000"
	eosD = "00020000111122223333444455556666"
)

func logLine(ts, text string) string { return "[" + ts + "][ 42]" + text + "\n" }

func joinRequest(ts, id, name, platform string) string {
	return logLine(ts, "LogNet: Join request: /Game/Maps/world_0/World_0?logintype=eos?login="+name+"?password=*?eosid=|"+id+
		"?ver=1.3.2.24846c?nativeplatform="+platform+"?platformid="+platform+":3566759921101398874?Name="+name+"?SplitscreenCount=1")
}

func registered(ts, id string) string {
	return logLine(ts, "LogOnline: Warning: Player |"+id+" successfully registered!")
}

func channelClose(ts, id string) string {
	return logLine(ts, "LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 0. Name: [UChannel] ChIndex: 0, Closing: 0 [UNetConnection] RemoteAddr: 86.170.123.32:60819, Name: IpConnection_2147428157, Driver: GameNetDriver IpNetDriver_2147482385, IsServer: YES, PC: SFPSPlayerControllerBP_C_2147428149, Owner: SFPSPlayerControllerBP_C_2147428149, UniqueId: EOS:|"+id)
}

func unregistered(ts, id string) string {
	return logLine(ts, "LogOnline: Warning: Player |"+id+" successfully unregistered from the session.")
}

func timedOut(ts, id string) string {
	return logLine(ts, "LogNet: Warning: UNetConnection::Tick: Connection TIMED OUT. Closing connection.. Elapsed: 30.01, Real: 30.01, Good: 30.01, DriverTime: 512.30, Threshold: 30.00, [UNetConnection] RemoteAddr: 1.2.3.4:5678, Name: IpConnection_2147428100, Driver: GameNetDriver IpNetDriver_2147482385, IsServer: YES, PC: NULL, Owner: NULL, UniqueId: EOS:|"+id)
}

func mustTime(tb testing.TB, ts string) time.Time {
	tb.Helper()
	t, err := time.Parse("2006.01.02-15.04.05.000", strings.Replace(ts, ":", ".", 1))
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// TestSessionsLines plays a handwritten history and checks every figure:
// a join written twice (registered, then "Join succeeded"), a join and a
// quit known by name only, a rename, a player giving up in the queue, a
// departure written three times, a join request while online, and a restart
// that closes sessions at the last event before it, not at the restart, and
// empties the queue.
func TestSessionsLines(t *testing.T) {
	s := newLogServer(t)
	const (
		nameA  = "O'Brien Ж"
		nameB  = "xX Killer 99"
		nameB2 = "xX Killer 99 ✓"
	)
	s.commit([]string{
		"Log file open, 05/17/25 02:01:30\n",
		logLine("2025.05.17-02.01.30:013", "LogInit: Command Line:  -log -port=7777 -queryport=27015 -playersmaxcount=50"),
		logLine("2025.05.17-02.01.31:000", "LogTemp: World saved in 12 ms"),
		joinRequest("2025.05.17-02.05.00:000", eosA, nameA, "PS5"),
		registered("2025.05.17-02.05.01:000", eosA),
		logLine("2025.05.17-02.05.01:020", "LogNet: Join succeeded: "+nameA),
		joinRequest("2025.05.17-02.06.00:000", eosB, nameB, "XSX"),
		logLine("2025.05.17-02.06.02:000", "LogNet: Join succeeded: "+nameB),
		joinRequest("2025.05.17-02.07.00:000", eosC, "Quitter", "WIN64"),
		timedOut("2025.05.17-02.07.30:000", eosC),
		joinRequest("2025.05.17-02.08.00:000", eosD, "Patient", "PS5"),
		logLine("2025.05.17-02.09.00:000", "LogNet: Join succeeded: Nobody Known"),
		logLine("2025.05.17-02.36.02:000", "LogOnline: Player ltEOS "+nameB+" has logged out by reason: Quit"),
		channelClose("2025.05.17-03.05.01:000", eosA),
		unregistered("2025.05.17-03.05.01:010", eosA),
		timedOut("2025.05.17-03.05.05:000", eosA),
		joinRequest("2025.05.17-03.10.00:000", eosB, nameB2, "XSX"),
		logLine("2025.05.17-03.10.01:000", "LogNet: Join succeeded: "+nameB2),
		joinRequest("2025.05.17-04.00.00:000", eosA, nameA, "PS5"),
		registered("2025.05.17-04.00.01:000", eosA),
		logLine("2025.05.17-04.10.00:000", "LogSFPS: AirDrop switched to Flying"),
		// A's game crashed and reconnects before the server noticed: still
		// online, in the same session, not queued.
		joinRequest("2025.05.17-04.15.00:000", eosA, nameA, "PS5"),
		logLine("2025.05.17-04.20.00:000", "LogSFPS: Mission GA_Military_02_Mis1 switched to READY"),
		logLine("2025.05.17-04.20.00:000", "LogSFPS: Mission GA_Military_02_Mis1 will respawn in 1800"),
		logLine("2025.05.17-04.25.00:000", "LogSFPS: GameplayEvent BP_HelicrashEvent_C_2147466791 switched to INITIAL"),
		logLine("2025.05.17-04.30.00:000", "LogSFPS: [ASFPSGameMode::NewVehicle_Add] Add vehicle BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394 Total 3"),
		logLine("2025.05.17-04.45.00:000", "LogTemp: World saved in 15 ms"),
	})
	tm := func(ts string) time.Time { return mustTime(t, ts) }
	check := func(when string, want sessionsView) {
		t.Helper()
		for name, x := range map[string]*stats.Sessions{"Add": s.x, "Load": s.load()} {
			if d := diffViews(viewOf(x, []string{eosA, eosB, eosC, eosD}), want); d != "" {
				t.Errorf("%s, %s:%s", when, name, d)
			}
		}
	}
	a := stats.PlayerTime{ID: eosA, Name: nameA, Platform: "PS5", Online: true, Since: tm("2025.05.17-04.00.01:000"),
		Sessions: 1, Played: time.Hour, LastSession: time.Hour, LastSeen: tm("2025.05.17-04.15.00:000")}
	b := stats.PlayerTime{ID: eosB, Name: nameB2, Platform: "XSX", Online: true, Since: tm("2025.05.17-03.10.01:000"),
		Sessions: 1, Played: 30 * time.Minute, LastSession: 30 * time.Minute, LastSeen: tm("2025.05.17-03.10.01:000")}
	c := stats.PlayerTime{ID: eosC, Name: "Quitter", Platform: "WIN64", LastSeen: tm("2025.05.17-02.07.30:000")}
	d := stats.PlayerTime{ID: eosD, Name: "Patient", Platform: "PS5", Queued: true, Since: tm("2025.05.17-02.08.00:000"), LastSeen: tm("2025.05.17-02.08.00:000")}
	world := stats.World{
		Missions:  []stats.Status{{Name: "GA_Military_02_Mis1", State: "READY", Time: tm("2025.05.17-04.20.00:000")}},
		Airdrop:   stats.Status{Name: "AirDrop", State: "Flying", Time: tm("2025.05.17-04.10.00:000")},
		Helicrash: stats.Status{Name: "BP_HelicrashEvent_C_2147466791", State: "INITIAL", Time: tm("2025.05.17-04.25.00:000")},
		Vehicles:  3,
	}
	start := tm("2025.05.17-02.01.30:000")
	check("before the restart", sessionsView{
		Online:  []stats.Presence{{ID: eosB, Name: nameB2, Platform: "XSX", Since: b.Since}, {ID: eosA, Name: nameA, Platform: "PS5", Since: a.Since}},
		Queued:  []stats.Presence{{ID: eosD, Name: "Patient", Platform: "PS5", Since: d.Since}},
		Count:   [2]int{2, 1},
		Players: []stats.PlayerTime{a, b, c, d},
		World:   world, Limit: 50, Start: start,
	})
	if got, want := s.x.Playtime(eosA, tm("2025.05.17-04.30.01:000")), time.Hour+30*time.Minute; got != want {
		t.Errorf("Playtime(A, 04:30:01) = %v, want %v", got, want)
	}
	if got := s.x.LastSeen(eosC); !got.Equal(c.LastSeen) {
		t.Errorf("LastSeen(C) = %v, want %v", got, c.LastSeen)
	}

	// The server died after 04:45 (the last line, noise) and restarted at
	// 05:00; the last event before was the vehicle at 04:30.
	s.commit([]string{
		"Log file open, 05/17/25 05:00:00\n",
		logLine("2025.05.17-05.00.00:010", "LogInit: Command Line:  -log -port=7777 -queryport=27015 -playersmaxcount=60"),
	})
	end := tm("2025.05.17-04.30.00:000")
	a.Online, a.Since, a.Sessions, a.Played, a.LastSession, a.LastSeen = false, time.Time{}, 2, a.Played+end.Sub(a.Since), end.Sub(a.Since), end
	b.Online, b.Since, b.Sessions, b.Played, b.LastSession, b.LastSeen = false, time.Time{}, 2, b.Played+end.Sub(b.Since), end.Sub(b.Since), end
	d.Queued, d.Since = false, time.Time{}
	check("after the restart", sessionsView{
		Online: []stats.Presence{}, Queued: []stats.Presence{},
		Players: []stats.PlayerTime{a, b, c, d},
		Limit:   60, Start: tm("2025.05.17-05.00.00:000"),
	})

	// Reading the same lines again stores nothing and changes nothing.
	before := viewOf(s.x, []string{eosA, eosB, eosC, eosD})
	batch := s.commit([]string{
		channelClose("2025.05.17-03.05.01:000", eosA),
		unregistered("2025.05.17-03.05.01:010", eosA),
		registered("2025.05.17-04.00.01:000", eosA),
	})
	if len(batch.AddedServer) != 0 || batch.Duplicates != 3 {
		t.Errorf("re-read: %d added, %d duplicates; want 0, 3", len(batch.AddedServer), batch.Duplicates)
	}
	if d := diffViews(viewOf(s.x, []string{eosA, eosB, eosC, eosD}), before); d != "" {
		t.Errorf("re-reading lines changed the index:%s", d)
	}
	if _, ok := s.x.Player("0002ffffffffffffffffffffffffffff"); ok {
		t.Error("Player(unknown id) found")
	}
}

// TestSessionsLoadAfterRestartEqualsAdd runs the writer as the app does
// (Add after each commit) while readers query, then closes the database and
// loads it again as after a bot restart: the loaded index equals the one
// built by Add.
func TestSessionsLoadAfterRestartEqualsAdd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "killfeed.db")
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := stats.NewSessions()
	w := storage.NewWriter(db, func(bs []*storage.Batch) {
		for _, b := range bs {
			x.Add(b.AddedServer)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()

	g := newTestLog(8)
	var stop atomic.Bool
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop.Store(true)
	errs := make(chan string, 10)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				on, _ := x.Count()
				if on > g.Slots {
					select {
					case errs <- fmt.Sprintf("Count() = %d online, more than %d slots", on, g.Slots):
					default:
					}
				}
				for _, p := range x.Online() {
					if pt, ok := x.Player(p.ID); !ok || pt.Name == "" {
						select {
						case errs <- fmt.Sprintf("Player(%s) of Online() = %+v, %v", p.ID, pt, ok):
						default:
						}
					}
				}
				x.Queued()
				x.World()
			}
		}()
	}
	lineNo := 0
	submit := func(lines []string) {
		b := &storage.Batch{Scope: testScope, ServerLog: true, Lines: len(lines), ServerEvents: parseLog(t, lines, lineNo+1)}
		lineNo += len(lines)
		if err := w.Submit(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	submit(splitLines(g.Restart()))
	for i := range 60 {
		if i%20 == 19 {
			submit(splitLines(g.Restart()))
		}
		lines := make([]string, 200)
		for j := range lines {
			lines[j] = string(g.Line())
		}
		submit(lines)
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	stop.Store(true)
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	loaded, err := stats.LoadSessions(db, testScope)
	if err != nil {
		t.Fatal(err)
	}
	ids := playerIDs(g)
	if d := diffViews(viewOf(loaded, ids), viewOf(x, ids)); d != "" {
		t.Errorf("Load after restart and Add differ:%s", d)
	}
	checkTruth(t, "Load after restart", loaded, g)
	if on, _ := loaded.Count(); on == 0 {
		t.Error("nobody online at the end: the test is too weak")
	}
}

// benchServer holds the server events the benchmarks share, built once.
var benchServer struct {
	once    sync.Once
	batches [][]storage.ServerRecord
	events  int
}

// benchServerEvents returns KILLFEED_BENCH_SERVER_EVENTS (default
// 1,000,000) server events of a generated log among a tenth as many
// players, as committed records in batches of 10,000.
//
//	go test -run xxx -bench Sessions ./stats/
func benchServerEvents() [][]storage.ServerRecord {
	benchServer.once.Do(func() {
		n := 1_000_000
		if v, err := strconv.Atoi(os.Getenv("KILLFEED_BENCH_SERVER_EVENTS")); err == nil && v > 0 {
			n = v
		}
		g := fakelog.NewServerLog(1, max(n/10, 10), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
		g.Step = time.Hour // as little noise as the players leave room for
		g.Slots = max(n/500, 10)
		var seq uint64
		var batch []storage.ServerRecord
		add := func(line []byte) {
			e, err := parser.ParseServerLine(line, 0, time.UTC)
			if err != nil {
				return
			}
			seq++
			batch = append(batch, storage.ServerRecord{ServerEvent: e, Seq: seq})
			if len(batch) == 10_000 {
				benchServer.batches = append(benchServer.batches, batch)
				batch = nil
			}
		}
		for _, l := range splitLines(g.Restart()) {
			add([]byte(l))
		}
		for seq < uint64(n) {
			add(g.Line())
		}
		if len(batch) > 0 {
			benchServer.batches = append(benchServer.batches, batch)
		}
		benchServer.events = int(seq)
	})
	return benchServer.batches
}

// BenchmarkSessionsAdd adds a million server events in commit-sized
// batches to an empty index.
func BenchmarkSessionsAdd(b *testing.B) {
	batches := benchServerEvents()
	for b.Loop() {
		x := stats.NewSessions()
		for _, recs := range batches {
			x.Add(recs)
		}
	}
	b.ReportMetric(float64(benchServer.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkSessionsLoad builds the index of a million stored server events
// at start.
func BenchmarkSessionsLoad(b *testing.B) {
	batches := benchServerEvents()
	db := mustOpenDB(b)
	for _, recs := range batches {
		sb := &storage.Batch{Scope: testScope, ServerLog: true}
		for _, r := range recs {
			sb.ServerEvents = append(sb.ServerEvents, r.ServerEvent)
		}
		if err := db.Commit(sb); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		if _, err := stats.LoadSessions(db, testScope); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchServer.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
