package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"killfeed/config"
	"killfeed/stats"
	"killfeed/storage"
)

// TestMain lets a test run this binary as the killfeed command: with
// KILLFEED_TEST_ARGS set (arguments separated by newlines), it runs them and
// exits, as the crash test's child processes do.
func TestMain(m *testing.M) {
	if args := os.Getenv("KILLFEED_TEST_ARGS"); args != "" {
		err := run(context.Background(), strings.Split(args, "\n"), os.Stdout)
		if err != nil {
			fmt.Fprintln(os.Stderr, "killfeed:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

const (
	guildA = "100000000000000001"
	guildB = "100000000000000002"
)

// testServer is a [[servers]] entry of a test config.
type testServer struct {
	guild, id, dir, tz string
	log                string // server_log, optional
	extra              string // more lines of the entry
}

// writeConfig writes a config.toml with a database and the given servers in
// a temporary folder and returns its path.
func writeConfig(t *testing.T, servers ...testServer) string {
	t.Helper()
	return writeConfigWith(t, "", servers...)
}

// writeConfigWith is writeConfig with more tables, such as [discord],
// before the servers.
func writeConfigWith(t *testing.T, tables string, servers ...testServer) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	fmt.Fprintf(&b, "[storage]\npath = %q\n%s\n", filepath.Join(dir, "killfeed.db"), tables)
	for _, s := range servers {
		if s.dir == "" {
			s.dir = t.TempDir()
		}
		if s.tz == "" {
			s.tz = "UTC"
		}
		fmt.Fprintf(&b, "\n[[servers]]\nguild_id = %q\nid = %q\nkillfeed_dir = %q\nserver_log = %q\ntimezone = %q\n%s\n", s.guild, s.id, s.dir, s.log, s.tz, s.extra)
	}
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs the killfeed command line and returns what it printed.
func cli(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out)
	return out.String(), err
}

func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, err := cli(t, args...)
	if err != nil {
		t.Fatalf("killfeed %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func statsJSON(t *testing.T, cfg, guild, server string, extra ...string) stats.Stats {
	t.Helper()
	args := append([]string{"stats", "-config", cfg, "-guild", guild, "-server", server, "-json"}, extra...)
	var s stats.Stats
	if err := json.Unmarshal([]byte(mustCLI(t, args...)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func boardJSON(t *testing.T, cfg, guild, server string, extra ...string) []stats.Entry {
	t.Helper()
	args := append([]string{"leaderboard", "-config", cfg, "-guild", guild, "-server", server, "-json"}, extra...)
	var e []stats.Entry
	if err := json.Unmarshal([]byte(mustCLI(t, args...)), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

// openCounts opens the config's database and returns a scope's counts and
// summary.
func openCounts(t *testing.T, cfgPath, guild, server string) (storage.Counts, stats.Summary) {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(cfg.Storage.Path, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sc := storage.Scope{Guild: guild, Server: server}
	c, err := db.Counts(sc)
	if err != nil {
		t.Fatal(err)
	}
	x, err := stats.Load(db, sc, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	return c, x.Summary()
}

var sampleFiles = []string{
	"testdata/deadside/2025.03.27-00.00.00.csv",
	"testdata/deadside/2025.04.30-00.00.00.csv",
	"testdata/deadside/2025.05.15-00.00.00.csv",
}

// expectedSamples holds figures for the real sample files computed by an
// independent program (not this code) and checked by hand for a few players.
type expectedSamples struct {
	Totals struct {
		Lines, Parsed, Malformed, Kills, Roadkills, Suicides, Relocations, Unattributed, Players int
	}
	Players  []stats.Stats
	TopKills []stats.Entry `json:"top_kills"`
}

func loadExpected(t *testing.T) expectedSamples {
	t.Helper()
	data, err := os.ReadFile("testdata/expected_samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var want expectedSamples
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

func TestImportRealSamples(t *testing.T) {
	cfg := writeConfig(t, testServer{guild: guildA, id: "main"})
	out := mustCLI(t, append([]string{"import", "-config", cfg, "-guild", guildA, "-server", "main"}, sampleFiles...)...)
	if !strings.Contains(out, "1112 lines, 1112 new events, 0 duplicates, 0 malformed") {
		t.Errorf("import printed %q, want the first file's 1112 lines stored", out)
	}

	want := loadExpected(t)
	counts, sum := openCounts(t, cfg, guildA, "main")
	gotTotals := []int{int(counts.Lines), int(counts.Events), int(counts.Malformed), sum.Kills, sum.Roadkills, sum.Suicides, sum.Relocations, sum.Unattributed, sum.Players}
	w := want.Totals
	wantTotals := []int{w.Lines, w.Parsed, w.Malformed, w.Kills, w.Roadkills, w.Suicides, w.Relocations, w.Unattributed, w.Players}
	if !reflect.DeepEqual(gotTotals, wantTotals) {
		t.Errorf("totals (lines, events, malformed, kills, roadkills, suicides, relocations, unattributed, players) = %v, want %v", gotTotals, wantTotals)
	}
	for _, p := range want.Players {
		for _, q := range []string{p.Name, strings.ToUpper(p.Name), p.ID} {
			if got := statsJSON(t, cfg, guildA, "main", q); !reflect.DeepEqual(got, p) {
				t.Errorf("stats %q:\n got %+v\nwant %+v", q, got, p)
			}
		}
	}
	if got := boardJSON(t, cfg, guildA, "main", "-metric", "kills", "-limit", "10"); !reflect.DeepEqual(got, want.TopKills) {
		t.Errorf("leaderboard kills:\n got %+v\nwant %+v", got, want.TopKills)
	}

	// Importing the same files again, even from another path, changes nothing.
	again := mustCLI(t, append([]string{"import", "-config", cfg, "-guild", guildA, "-server", "main"}, sampleFiles...)...)
	if strings.Count(again, "0 lines, 0 new events") != 3 {
		t.Errorf("second import printed %q, want 0 lines read from each file", again)
	}
	copyPath := filepath.Join(t.TempDir(), "copy.csv")
	data, _ := os.ReadFile(sampleFiles[2])
	os.WriteFile(copyPath, data, 0o600)
	out = mustCLI(t, "import", "-config", cfg, "-guild", guildA, "-server", "main", copyPath)
	if !strings.Contains(out, "283 lines, 0 new events, 283 duplicates") {
		t.Errorf("import of a copy printed %q, want 283 duplicates and nothing new", out)
	}
	if got := statsJSON(t, cfg, guildA, "main", want.Players[0].Name); !reflect.DeepEqual(got, want.Players[0]) {
		t.Errorf("stats after re-import:\n got %+v\nwant %+v", got, want.Players[0])
	}
}

// Two guilds with the same server id and the same players: neither sees the
// other's numbers.
func TestGuildsAreIsolated(t *testing.T) {
	cfg := writeConfig(t, testServer{guild: guildA, id: "main"}, testServer{guild: guildB, id: "main"})
	mustCLI(t, "import", "-config", cfg, "-guild", guildA, "-server", "main", sampleFiles[2])
	mustCLI(t, "import", "-config", cfg, "-guild", guildB, "-server", "main", sampleFiles[1], sampleFiles[2])

	a := statsJSON(t, cfg, guildA, "main", "Njshh")
	b := statsJSON(t, cfg, guildB, "main", "Njshh")
	if a.Kills == 0 || b.Kills <= a.Kills {
		t.Errorf("Njshh kills: guild A %d, guild B %d; want A > 0 and B > A (B has one more file)", a.Kills, b.Kills)
	}
	ca, sa := openCounts(t, cfg, guildA, "main")
	cb, sb := openCounts(t, cfg, guildB, "main")
	if ca.Events != 283 || cb.Events != 520+283 || sa.Events != 283 || sb.Events != 803 {
		t.Errorf("events: A %d/%d, B %d/%d; want A 283, B 803", ca.Events, sa.Events, cb.Events, sb.Events)
	}
	// A player only in guild B's extra file is unknown in guild A.
	if _, err := cli(t, "stats", "-config", cfg, "-guild", guildA, "-server", "main", "cuhslice"); err == nil || !strings.Contains(err.Error(), "no player named") {
		t.Errorf("stats cuhslice in guild A: %v, want no such player", err)
	}
	statsJSON(t, cfg, guildB, "main", "cuhslice")
	// A guild that is not configured has no server to read.
	if _, err := cli(t, "stats", "-config", cfg, "-guild", "100000000000000003", "-server", "main", "Njshh"); err == nil || !strings.Contains(err.Error(), "no server") {
		t.Errorf("stats in an unconfigured guild: %v, want a no-server error", err)
	}
}

func TestHeldDatabaseFailsFast(t *testing.T) {
	cfgPath := writeConfig(t, testServer{guild: guildA, id: "main"})
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(cfg)
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	start := time.Now()
	for _, args := range [][]string{
		{"stats", "-config", cfgPath, "-guild", guildA, "-server", "main", "x"},
		{"import", "-config", cfgPath, "-guild", guildA, "-server", "main", sampleFiles[0]},
		{"run", "-config", cfgPath},
	} {
		_, err := cli(t, args...)
		if err == nil || !strings.Contains(err.Error(), "in use by another killfeed process") {
			t.Errorf("killfeed %s with the database held: %v, want an in-use error", args[0], err)
		}
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("three commands on a held database took %v, want a few seconds", d)
	}
}

func TestCommandErrors(t *testing.T) {
	cfg := writeConfig(t, testServer{guild: guildA, id: "main"})
	mustCLI(t, "import", "-config", cfg, "-guild", guildA, "-server", "main", sampleFiles[2])
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("[[servers]]\nguild_id = \"1\"\nid = \"x\"\nkillfeed_dir = \".\"\ntimezone = \"Mars/Base\"\n"), 0o600)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "-config", bad}, "servers[0].timezone"},
		{[]string{"run", "-config", filepath.Join(t.TempDir(), "none.toml")}, "no such file"},
		{[]string{"stats", "-config", cfg, "-guild", guildA, "-server", "main", "-period", "year", "Njshh"}, "unknown period"},
		{[]string{"stats", "-config", cfg, "-guild", guildA, "-server", "main", "-at", "yesterday", "Njshh"}, "RFC 3339"},
		{[]string{"stats", "-config", cfg, "-guild", guildA, "-server", "main", "njs"}, `did you mean "Njshh"`},
		{[]string{"stats", "-config", cfg, "Njshh"}, "-guild and -server are required"},
		{[]string{"leaderboard", "-config", cfg, "-guild", guildA, "-server", "main", "-metric", "wins"}, "unknown metric"},
		{[]string{"leaderboard", "-config", cfg, "-guild", guildA, "-server", "main", "-limit", "0"}, "-limit"},
		{[]string{"import", "-config", cfg, "-guild", guildA, "-server", "main", "/no/such/file.csv"}, "no such file"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		_, err := cli(t, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("killfeed %s: error %v, want it to mention %q", strings.Join(tt.args, " "), err, tt.want)
		}
	}
}

func TestPeriodsFromTheCommandLine(t *testing.T) {
	cfg := writeConfig(t, testServer{guild: guildA, id: "main"})
	mustCLI(t, append([]string{"import", "-config", cfg, "-guild", guildA, "-server", "main"}, sampleFiles...)...)
	all := statsJSON(t, cfg, guildA, "main", "Njshh")
	month := statsJSON(t, cfg, guildA, "main", "-period", "month", "-at", "2025-05-20T00:00:00Z", "Njshh")
	march := statsJSON(t, cfg, guildA, "main", "-period", "month", "-at", "2025-03-27T12:00:00Z", "Njshh")
	if month.Kills+march.Kills > all.Kills || month.Kills == 0 {
		t.Errorf("Njshh kills: all %d, May %d, March %d; want May > 0 and May+March ≤ all", all.Kills, month.Kills, march.Kills)
	}
	day := boardJSON(t, cfg, guildA, "main", "-period", "day", "-at", "2025-05-15T12:00:00Z", "-limit", "25")
	for _, e := range day {
		s := statsJSON(t, cfg, guildA, "main", "-period", "day", "-at", "2025-05-15T12:00:00Z", e.ID)
		if float64(s.Kills) != e.Value {
			t.Errorf("day leaderboard says %s has %v kills, day stats say %d", e.Name, e.Value, s.Kills)
		}
	}
	if len(day) == 0 {
		t.Error("day leaderboard for 2025-05-15 is empty, want the players of that day")
	}
}
