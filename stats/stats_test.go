package stats_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"killfeed/stats"
)

// The ids are chosen so that the smallest id is never the first player met:
// a tie broken by arrival order, or by name, gives another answer.
var (
	alice = pl{"Alice", eos(0x10)}
	bob   = pl{"Bob", eos(0x40)}
	carl  = pl{"Carl", eos(0x20)}
	dan   = pl{"Dan", eos(0x30)}
	eve   = pl{"Eve", eos(0x50)}
)

// TestStatsSemantics checks every figure of Stats on a hand-made history.
func TestStatsSemantics(t *testing.T) {
	s := newServer(t, time.UTC)
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	n := 0
	next := func() time.Time { n++; return t0.Add(time.Duration(n) * time.Minute) }

	var lines []string
	kill := func(k, v pl, w string, d int) { lines = append(lines, killLine(next(), k, v, w, d)) }
	self := func(p pl, w string) { lines = append(lines, selfLine(next(), p, w)) }
	env := func(p pl) { lines = append(lines, envLine(next(), p)) }

	// Runs of Alice's kills, each ended by a different kind of death. Any
	// death that did not end a streak would join two runs into one of 4.
	kill(alice, bob, "M99", 152) // run of 3: the best streak
	kill(alice, carl, "AK", 30)
	kill(alice, dan, "ak", 612) // the longest kill
	kill(bob, alice, "AK", 10)  // killed
	kill(carl, alice, "Mosin", 90)
	kill(alice, bob, "land_vehicle", 1) // run of 2, with a roadkill
	kill(alice, carl, "M99", 80)
	self(alice, "falling") // a fall
	kill(alice, dan, "boat", 1)
	kill(alice, bob, "ak", 40)
	self(alice, "suicide_by_relocation") // a relocation
	kill(alice, carl, "AK", 45)
	kill(alice, dan, "M99", 200)
	env(alice) // an environment death
	kill(alice, eve, "ak", 33)
	kill(alice, bob, "AK", 12)
	self(alice, "Grenade") // killed by her own grenade
	kill(carl, alice, "AK-mod", 5)
	kill(eve, alice, "SVD", 400)
	kill(bob, alice, "AK-mod", 7)
	kill(alice, eve, "land_vehicle", 1) // the current run of 2
	kill(alice, dan, "boat", 1)
	lastAlice := t0.Add(time.Duration(n) * time.Minute)
	// Renames after the fights: rivals are shown by their latest name.
	env(pl{"Carlos", carl.id})
	env(pl{"Daniel", dan.id})
	s.commit(lines...)

	// Alice: 13 kills (4 roadkills) and 5 deaths by other players (Bob 2,
	// Carl 2, Eve 1); her victims: Bob 4, Dan 4, Carl 3, Eve 2; weapons AK,
	// M99 and ak 3 kills each, land_vehicle and boat 2.
	want := stats.Stats{
		ID: alice.id, Name: "Alice",
		Kills: 13, Deaths: 5, Suicides: 2, Relocations: 1, EnvironmentDeaths: 1,
		KDR: 2.6, LongestKill: 612, BestStreak: 3, CurrentStreak: 2,
		FavouriteWeapon: "AK",
		Nemesis:         &stats.Rival{ID: carl.id, Name: "Carlos", Count: 2}, // Bob 2 too, but Carl's id is smaller
		Prey:            &stats.Rival{ID: dan.id, Name: "Daniel", Count: 4},  // Bob 4 too, but Dan's id is smaller
		LastSeen:        lastAlice,
		Platform:        "PS5",
	}
	for _, q := range []string{alice.id, "Alice", "alice", "ALICE"} {
		checkStats(t, fmt.Sprintf("Stats(%q)", q), s.stats(q, stats.AllTime, lastAlice), want)
	}
	if got := s.stats(alice.id, stats.AllTime, lastAlice).LastSeen.Location(); got != time.UTC {
		t.Errorf("LastSeen location: got %v, want UTC", got)
	}

	// Bob: killed by Alice 4 times, killed her twice (AK, AK-mod: a tie
	// that goes to "AK"), the second time after his last death.
	checkStats(t, "Stats(Bob)", s.stats("bob", stats.AllTime, lastAlice), stats.Stats{
		ID: bob.id, Name: "Bob", Kills: 2, Deaths: 4, KDR: 0.5, LongestKill: 10,
		BestStreak: 1, CurrentStreak: 1, FavouriteWeapon: "AK",
		Nemesis: &stats.Rival{ID: alice.id, Name: "Alice", Count: 4},
		Prey:    &stats.Rival{ID: alice.id, Name: "Alice", Count: 2},
	})
	// Dan only died: no weapon, no prey, streaks 0, KDR 0.
	checkStats(t, "Stats(Dan)", s.stats("Daniel", stats.AllTime, lastAlice), stats.Stats{
		ID: dan.id, Name: "Daniel", Deaths: 4, EnvironmentDeaths: 1,
		Nemesis: &stats.Rival{ID: alice.id, Name: "Alice", Count: 4},
	})

	wantSum := stats.Summary{Events: 24, Kills: 18, Roadkills: 4, Suicides: 2, Relocations: 1, Unattributed: 3, Players: 5}
	if got := s.idx.Summary(); got != wantSum {
		t.Errorf("Summary: got %+v, want %+v", got, wantSum)
	}
	if got := s.load().Summary(); got != wantSum {
		t.Errorf("Summary after Load: got %+v, want %+v", got, wantSum)
	}
}

// TestStreakEndsOnEveryKindOfDeath: two kills, a death, two kills: the best
// streak is 2 whatever the death was.
func TestStreakEndsOnEveryKindOfDeath(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	deaths := map[string]func(time.Time) string{
		"killed":       func(at time.Time) string { return killLine(at, bob, alice, "AK", 10) },
		"fall":         func(at time.Time) string { return selfLine(at, alice, "falling") },
		"own weapon":   func(at time.Time) string { return selfLine(at, alice, "Grenade") },
		"relocation":   func(at time.Time) string { return selfLine(at, alice, "suicide_by_relocation") },
		"environment":  func(at time.Time) string { return envLine(at, alice) },
		"roadkilled":   func(at time.Time) string { return killLine(at, bob, alice, "land_vehicle", 1) },
		"same second":  func(at time.Time) string { return killLine(at.Add(-time.Minute), bob, alice, "AK", 10) },
		"7-field line": func(at time.Time) string { return strings.TrimSuffix(killLine(at, bob, alice, "AK", 10), "PS5;XSX;") },
	}
	for name, death := range deaths {
		t.Run(name, func(t *testing.T) {
			s := newServer(t, time.UTC)
			at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Minute) }
			s.commit(
				killLine(at(0), alice, carl, "AK", 1),
				killLine(at(1), alice, dan, "AK", 1),
				death(at(2)), // "same second" puts it at at(1), after the kill
				killLine(at(3), alice, carl, "AK", 1),
			)
			st := s.stats(alice.id, stats.AllTime, at(9))
			if st.BestStreak != 2 || st.CurrentStreak != 1 {
				t.Errorf("before the last kill: best %d, current %d; want 2, 1", st.BestStreak, st.CurrentStreak)
			}
			s.commit(killLine(at(4), alice, dan, "AK", 1))
			st = s.stats(alice.id, stats.AllTime, at(9))
			if st.BestStreak != 2 || st.CurrentStreak != 2 {
				t.Errorf("best %d, current %d; want 2, 2", st.BestStreak, st.CurrentStreak)
			}
			s.commit(death(at(5) /* a second death */))
			if st := s.stats(alice.id, stats.AllTime, at(9)); st.CurrentStreak != 0 || st.BestStreak != 2 {
				t.Errorf("after dying: best %d, current %d; want 2, 0", st.BestStreak, st.CurrentStreak)
			}
		})
	}
}

func TestKDR(t *testing.T) {
	for _, c := range []struct {
		kills, deaths int32
		want          float64
	}{
		{0, 0, 0}, {5, 0, 5}, {1, 1, 1}, {2, 3, 0.67}, {1, 3, 0.33}, {13, 5, 2.6},
		{1, 8, 0.13}, {3, 8, 0.38}, // exact halves (0.125, 0.375) round up
		{23, 40, 0.58}, {41, 40, 1.03}, {29, 200, 0.15}, // 0.575, 1.025, 0.145 too
	} {
		tot := stats.Totals{Kills: c.kills, Deaths: c.deaths}
		if got := tot.KDR(); got != c.want {
			t.Errorf("KDR of %d kills, %d deaths: got %v, want %v", c.kills, c.deaths, got, c.want)
		}
	}

	// The same through Stats: 2 kills / 3 deaths, 5 kills / 0 deaths.
	s := newServer(t, time.UTC)
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	var lines []string
	add := func(k, v pl) {
		lines = append(lines, killLine(t0.Add(time.Duration(len(lines))*time.Second), k, v, "AK", 5))
	}
	add(alice, bob)
	add(alice, bob)
	add(bob, alice)
	add(bob, alice)
	add(carl, alice)
	for range 5 {
		add(dan, eve)
	}
	lines = append(lines, selfLine(t0.Add(time.Hour), dan, "falling")) // a suicide is no death for KDR
	s.commit(lines...)
	for _, c := range []struct {
		q    string
		want float64
	}{{alice.id, 0.67}, {bob.id, 1}, {carl.id, 1}, {dan.id, 5}, {eve.id, 0}} {
		if got := s.stats(c.q, stats.AllTime, t0).KDR; got != c.want {
			t.Errorf("KDR of %s: got %v, want %v", c.q, got, c.want)
		}
	}
}

// TestFavouriteWeaponTies: ties go to the first weapon in byte order, so
// upper case before lower case.
func TestFavouriteWeaponTies(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	for _, c := range []struct {
		weapons []string
		want    string
	}{
		{[]string{"M99", "ak", "AK"}, "AK"},
		{[]string{"ak", "M99"}, "M99"},
		{[]string{"ak", "ak", "M99", "AK", "M99", "AK"}, "AK"},
		{[]string{"ak", "M99", "ak"}, "ak"},
		{[]string{"boat", "land_vehicle", "AK-mod", "AK"}, "AK"},
		{[]string{"Mosin-K", "Mosin"}, "Mosin"},
	} {
		s := newServer(t, time.UTC)
		var lines []string
		for i, w := range c.weapons {
			lines = append(lines, killLine(t0.Add(time.Duration(i)*time.Second), alice, bob, w, 10))
		}
		s.commit(lines...)
		if got := s.stats(alice.id, stats.AllTime, t0).FavouriteWeapon; got != c.want {
			t.Errorf("favourite weapon of kills with %q: got %q, want %q", c.weapons, got, c.want)
		}
		st, err := s.load().Stats(alice.id, stats.AllTime, t0)
		if err != nil || st.FavouriteWeapon != c.want {
			t.Errorf("after Load, favourite weapon of kills with %q: got %q (%v), want %q", c.weapons, st.FavouriteWeapon, err, c.want)
		}
	}
}

// TestRivalTies: nemesis and prey ties go to the smallest EOS id, whoever
// came first, whatever their names.
func TestRivalTies(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 0, 7, 23, 0, time.UTC)
	// Ids: zed < yan < xia, names the other way round, met in the order
	// xia, yan, zed.
	zed, yan, xia := pl{"zed", eos(1)}, pl{"yan", eos(2)}, pl{"xia", eos(3)}
	s := newServer(t, time.UTC)
	var lines []string
	for i, p := range []pl{xia, yan, zed, xia, yan, zed} {
		lines = append(lines,
			killLine(t0.Add(time.Duration(2*i)*time.Second), alice, p, "AK", 5),
			killLine(t0.Add(time.Duration(2*i+1)*time.Second), p, alice, "AK", 5))
	}
	lines = append(lines, killLine(t0.Add(time.Minute), xia, alice, "AK", 5), killLine(t0.Add(time.Minute+time.Second), alice, xia, "AK", 5))
	s.commit(lines...)
	st := s.stats(alice.id, stats.AllTime, t0)
	if want := (&stats.Rival{ID: xia.id, Name: "xia", Count: 3}); !equalRival(st.Nemesis, want) {
		t.Errorf("nemesis: got %s, want %s", rivalString(st.Nemesis), rivalString(want))
	}
	if want := (&stats.Rival{ID: xia.id, Name: "xia", Count: 3}); !equalRival(st.Prey, want) {
		t.Errorf("prey: got %s, want %s", rivalString(st.Prey), rivalString(want))
	}
	// Without the last two lines xia, yan and zed tie at 2: zed wins.
	st = s.stats(alice.id, stats.Day, t0) // all on the same day: the same
	if st.Nemesis == nil || st.Nemesis.ID != xia.id {
		t.Errorf("day nemesis: got %s, want xia", rivalString(st.Nemesis))
	}
	s2 := newServer(t, time.UTC)
	s2.commit(lines[:12]...)
	st = s2.stats(alice.id, stats.AllTime, t0)
	if want := (&stats.Rival{ID: zed.id, Name: "zed", Count: 2}); !equalRival(st.Nemesis, want) {
		t.Errorf("nemesis among a 3-way tie: got %s, want %s", rivalString(st.Nemesis), rivalString(want))
	}
	if want := (&stats.Rival{ID: zed.id, Name: "zed", Count: 2}); !equalRival(st.Prey, want) {
		t.Errorf("prey among a 3-way tie: got %s, want %s", rivalString(st.Prey), rivalString(want))
	}
}

func equalRival(a, b *stats.Rival) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// TestRenames: the display name is the latest seen, whatever order the
// events arrive in; every name used, in any case, finds the same player;
// stats are not split.
func TestRenames(t *testing.T) {
	loc := time.UTC
	t0 := time.Date(2025, 5, 1, 12, 0, 0, 0, loc)
	id := eos(0x77)
	old, mid, cur := pl{"Old Name", id}, pl{"Жора Middle", id}, pl{"NewName", id}
	s := newServer(t, loc)
	// The newest file first, then an older one, then the one in between.
	s.commit(killLine(t0.Add(2*time.Hour), cur, bob, "AK", 10), killLine(t0.Add(2*time.Hour+time.Second), bob, cur, "AK", 10))
	s.commit(killLine(t0, old, bob, "AK", 10), envLine(t0.Add(time.Second), old))
	s.commit(killLine(t0.Add(time.Hour), mid, carl, "M99", 300), selfLine(t0.Add(time.Hour+time.Second), mid, "falling"))

	want := stats.Stats{
		ID: id, Name: "NewName", Kills: 3, Deaths: 1, Suicides: 1, EnvironmentDeaths: 1,
		KDR: 3, LongestKill: 300, BestStreak: 1, FavouriteWeapon: "AK",
		Nemesis: &stats.Rival{ID: bob.id, Name: "Bob", Count: 1},
		Prey:    &stats.Rival{ID: bob.id, Name: "Bob", Count: 2},
	}
	for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": s.load()} {
		for _, q := range []string{id, "NewName", "newname", "NEWNAME", "Old Name", "old name", "OLD NAME", "Жора Middle", "жора middle", "ЖОРА MIDDLE"} {
			got, err := x.Lookup(q)
			if err != nil || got != id {
				t.Errorf("%s: Lookup(%q): got %q, %v; want %q", name, q, got, err, id)
			}
			st, err := x.Stats(q, stats.AllTime, t0)
			if err != nil {
				t.Errorf("%s: Stats(%q): %v", name, q, err)
				continue
			}
			checkStats(t, fmt.Sprintf("%s: Stats(%q)", name, q), st, want)
		}
		for _, q := range []string{"", "Old", "NewName ", eos(0x78), id[:31], id + " "} {
			if got, err := x.Lookup(q); !errors.Is(err, stats.ErrNoPlayer) {
				t.Errorf("%s: Lookup(%q): got %q, %v; want ErrNoPlayer", name, q, got, err)
			}
			if _, err := x.Stats(q, stats.AllTime, t0); !errors.Is(err, stats.ErrNoPlayer) {
				t.Errorf("%s: Stats(%q): got %v, want ErrNoPlayer", name, q, err)
			}
		}
		if got := x.Summary().Players; got != 3 {
			t.Errorf("%s: Summary().Players: got %d, want 3", name, got)
		}
		// Leaderboards show the current name.
		if b := x.Leaderboard(stats.Kills, stats.AllTime, t0, 1); len(b) != 1 || b[0].ID != id || b[0].Name != "NewName" {
			t.Errorf("%s: Leaderboard(kills): got%s, want 1. %s \"NewName\"", name, entriesString(b), id)
		}
	}

	// A change of case only is a rename too.
	s.commit(envLine(t0.Add(3*time.Hour), pl{"NEWNAME", id}))
	if st := s.stats("newname", stats.AllTime, t0); st.Name != "NEWNAME" {
		t.Errorf("after a change of case: Name got %q, want %q", st.Name, "NEWNAME")
	}
}

// TestSharedName: a name used by two players resolves to whoever used it
// last; each keeps their own stats under their id.
func TestSharedName(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	a, b := pl{"Ghost", eos(0x91)}, pl{"ghost", eos(0x90)}
	s := newServer(t, time.UTC)
	s.commit(killLine(t0.Add(time.Hour), b, carl, "AK", 1)) // b used it last
	s.commit(killLine(t0, a, carl, "AK", 1), killLine(t0.Add(time.Second), a, carl, "AK", 1))
	for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": s.load()} {
		if got, _ := x.Lookup("GHOST"); got != b.id {
			t.Errorf("%s: Lookup(GHOST): got %q, want %q (the latest user)", name, got, b.id)
		}
		if st, _ := x.Stats(a.id, stats.AllTime, t0); st.Kills != 2 || st.Name != "Ghost" {
			t.Errorf("%s: Stats(a): got kills %d name %q, want 2 \"Ghost\"", name, st.Kills, st.Name)
		}
		if st, _ := x.Stats(b.id, stats.AllTime, t0); st.Kills != 1 || st.Name != "ghost" {
			t.Errorf("%s: Stats(b): got kills %d name %q, want 1 \"ghost\"", name, st.Kills, st.Name)
		}
	}
}

// TestPlatformIsTheLatestSeen: the platform is the one of the latest event
// that had one, whether the lines arrive in order or not (7-field lines
// have none).
func TestPlatformIsTheLatestSeen(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	withPlatform := killLine(t0, alice, bob, "AK", 1)                                              // Alice on PS5
	noPlatform := strings.TrimSuffix(killLine(t0.Add(time.Hour), alice, bob, "AK", 1), "PS5;XSX;") // later, 7 fields
	for _, order := range [][]string{{withPlatform, noPlatform}, {noPlatform, withPlatform}} {
		s := newServer(t, time.UTC)
		for _, l := range order {
			s.commit(l)
		}
		for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": s.load()} {
			st, _ := x.Stats(alice.id, stats.AllTime, t0)
			if st.Platform != "PS5" {
				t.Errorf("%s, lines committed as %q: Platform got %q, want %q", name, order, st.Platform, "PS5")
			}
			if want := t0.Add(time.Hour); !st.LastSeen.Equal(want) {
				t.Errorf("%s: LastSeen got %v, want %v", name, st.LastSeen, want)
			}
		}
	}
}

// TestSearch: names starting with a prefix, in any case, each player once,
// in name order, old names too, at most limit.
func TestSearch(t *testing.T) {
	t0 := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	s := newServer(t, time.UTC)
	ps := []pl{
		{"Alpha", eos(1)}, {"alphabet", eos(2)}, {"ALPINE", eos(3)}, {"Beta", eos(4)},
		{"Жора", eos(5)}, {"жанна", eos(6)}, {"Ёж", eos(7)}, {"Ölaf", eos(8)},
		{"zed1", eos(9)}, {"zed4", eos(10)},
	}
	var lines []string
	for i, p := range ps {
		lines = append(lines, envLine(t0.Add(time.Duration(i)*time.Second), p))
	}
	// eos(9) also went by zed2 and zed3 before, and eos(1) by "Gamma".
	lines = append(lines,
		envLine(t0.Add(-3*time.Hour), pl{"zed2", eos(9)}),
		envLine(t0.Add(-2*time.Hour), pl{"zed3", eos(9)}),
		envLine(t0.Add(-time.Hour), pl{"Gamma", eos(1)}))
	s.commit(lines...)
	m := func(p pl) stats.Match { return stats.Match{ID: p.id, Name: p.name} }
	zed1 := stats.Match{ID: eos(9), Name: "zed1"}
	for _, c := range []struct {
		prefix string
		limit  int
		want   []stats.Match
	}{
		{"al", 10, []stats.Match{m(ps[0]), m(ps[1]), m(ps[2])}},
		{"AL", 10, []stats.Match{m(ps[0]), m(ps[1]), m(ps[2])}},
		{"aLpHa", 10, []stats.Match{m(ps[0]), m(ps[1])}},
		{"al", 2, []stats.Match{m(ps[0]), m(ps[1])}},
		{"al", 1, []stats.Match{m(ps[0])}},
		{"al", 0, nil},
		{"alphabets", 10, nil},
		{"ж", 10, []stats.Match{m(ps[5]), m(ps[4])}}, // "жанна" < "жора"
		{"Ж", 10, []stats.Match{m(ps[5]), m(ps[4])}},
		{"ЖО", 10, []stats.Match{m(ps[4])}},
		{"ё", 10, []stats.Match{m(ps[6])}},
		{"ö", 10, []stats.Match{m(ps[7])}},
		{"Ö", 10, []stats.Match{m(ps[7])}},
		{"gam", 10, []stats.Match{m(ps[0])}}, // an old name finds the current one
		{"zed", 10, []stats.Match{zed1, m(ps[9])}},
		{"zed", 2, []stats.Match{zed1, m(ps[9])}}, // zed1..3 are one player: the limit counts players
		{"ZED3", 5, []stats.Match{zed1}},
		{"x", 5, nil},
	} {
		for name, x := range map[string]*stats.Index{"Add": s.idx, "Load": s.load()} {
			got := x.Search(c.prefix, c.limit)
			if len(got) != len(c.want) || (len(got) > 0 && fmt.Sprint(got) != fmt.Sprint(c.want)) {
				t.Errorf("%s: Search(%q, %d): got %s, want %s", name, c.prefix, c.limit, matchesString(got), matchesString(c.want))
			}
		}
	}
	if got := s.idx.Search("", 100); len(got) != len(ps) {
		t.Errorf("Search(\"\", 100): got %d players %s, want %d", len(got), matchesString(got), len(ps))
	}
}
