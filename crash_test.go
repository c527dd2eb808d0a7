package main

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"killfeed/internal/fakelog"
	"killfeed/stats"
)

// writeLog writes n generated lines to path, with a malformed line every
// 10,000 lines, and returns the number of malformed lines.
func writeLog(t *testing.T, path string, g *fakelog.Generator, n int) int {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bad := 0
	for i := 0; i < n; i += 10000 {
		if err := g.Write(f, min(10000, n-i)); err != nil {
			t.Fatal(err)
		}
		f.WriteString("2025.13.45-99.99.99;not;a;valid;line;x;y;\n")
		bad++
	}
	return bad
}

// A child process importing a large log is killed with SIGKILL at random
// points and restarted each time; the final state equals a clean import.
func TestCrashDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	lines := 150_000
	if raceEnabled {
		lines = 40_000
	}
	dir := t.TempDir()
	g := fakelog.New(7, 3000, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	files := []string{filepath.Join(dir, "2025.05.01-00.00.00.csv"), filepath.Join(dir, "2025.05.20-00.00.00.csv")}
	bad := writeLog(t, files[0], g, lines/2) + writeLog(t, files[1], g, lines/2)

	importArgs := func(cfg string) []string {
		return append([]string{"import", "-config", cfg, "-guild", guildA, "-server", "main"}, files...)
	}
	child := func(cfg string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KILLFEED_TEST_ARGS="+strings.Join(importArgs(cfg), "\n"))
		return cmd
	}

	// The reference: one clean import in a child process, timed to choose
	// where the kills land.
	clean := writeConfig(t, testServer{guild: guildA, id: "main"})
	start := time.Now()
	if out, err := child(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean import: %v\n%s", err, out)
	}
	took := time.Since(start)

	crashed := writeConfig(t, testServer{guild: guildA, id: "main"})
	r := rand.New(rand.NewPCG(1, 2))
	partial := 0
	for i := range 12 {
		cmd := child(crashed)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Each run gets through a part of what is left, so the kills land
		// at many points of the import, mid-transaction among them.
		time.Sleep(took/20 + time.Duration(r.Int64N(int64(took/5))))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		counts, _ := openCounts(t, crashed, guildA, "main")
		if err != nil && counts.Lines > 0 && counts.Lines < uint64(lines+bad) {
			partial++
		}
		t.Logf("kill %d: %v; %d of %d lines stored", i, err, counts.Lines, lines+bad)
	}
	if out, err := child(crashed).CombinedOutput(); err != nil {
		t.Fatalf("final import: %v\n%s", err, out)
	}
	if partial < 3 {
		t.Fatalf("only %d kills landed in the middle of the import (a clean one took %v): the test proved little", partial, took)
	}

	wantCounts, wantSum := openCounts(t, clean, guildA, "main")
	gotCounts, gotSum := openCounts(t, crashed, guildA, "main")
	if wantCounts.Lines != uint64(lines+bad) || wantCounts.Malformed != uint64(bad) || wantCounts.Duplicates != 0 {
		t.Errorf("clean import counts %+v, want %d lines, %d malformed, 0 duplicates", wantCounts, lines+bad, bad)
	}
	// Duplicates must stay 0 as well: the cursor, not the idempotent keys,
	// is what prevents re-reading.
	if gotCounts != wantCounts {
		t.Errorf("after %d kills: counts %+v, want %+v", partial, gotCounts, wantCounts)
	}
	if gotSum != wantSum {
		t.Errorf("after kills: summary %+v, want %+v", gotSum, wantSum)
	}
	for _, m := range stats.Metrics {
		got := boardJSON(t, crashed, guildA, "main", "-metric", string(m), "-limit", "25")
		want := boardJSON(t, clean, guildA, "main", "-metric", string(m), "-limit", "25")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("leaderboard %s after kills:\n got %v\nwant %v", m, got, want)
		}
		for _, e := range want[:3] {
			if got, want := statsJSON(t, crashed, guildA, "main", e.ID), statsJSON(t, clean, guildA, "main", e.ID); !reflect.DeepEqual(got, want) {
				t.Errorf("stats %s after kills:\n got %+v\nwant %+v", e.ID, got, want)
			}
		}
	}
}
