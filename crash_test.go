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
	// where the kills land; and a run with nothing left to import, timed to
	// know what starting costs.
	clean := writeConfig(t, testServer{guild: guildA, id: "main"})
	start := time.Now()
	if out, err := child(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean import: %v\n%s", err, out)
	}
	took := time.Since(start)
	start = time.Now()
	if out, err := child(clean).CombinedOutput(); err != nil {
		t.Fatalf("second clean import: %v\n%s", err, out)
	}
	overhead := time.Since(start)

	// Each run gets through a part of what is left, so the kills land at
	// many points of the import, mid-transaction among them. The wait
	// before a kill adapts to this machine's speed: longer after a run
	// killed before it stored anything, shorter (and a fresh database)
	// when a run finished before its kill.
	total := uint64(lines + bad)
	r := rand.New(rand.NewPCG(1, 2))
	delay := overhead + max(took-overhead, 0)/10
	var crashed string
	partial := 0
	for round := 0; round < 8 && partial < 3; round++ {
		crashed = writeConfig(t, testServer{guild: guildA, id: "main"})
		partial = 0
		var stored uint64
		for i := 0; i < 20 && partial < 6 && stored < total; i++ {
			cmd := child(crashed)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay*3/4 + time.Duration(r.Int64N(int64(delay/2)+1)))
			cmd.Process.Signal(syscall.SIGKILL)
			err := cmd.Wait()
			counts, _ := openCounts(t, crashed, guildA, "main")
			switch {
			case counts.Lines == total:
				delay /= 2
			case counts.Lines == stored:
				delay = delay * 3 / 2
			case err != nil:
				partial++
				delay = delay * 9 / 10 // creep towards the end of start-up
			}
			t.Logf("round %d, kill %d after %v: %v; %d of %d lines stored", round, i, delay, err, counts.Lines, total)
			stored = counts.Lines
		}
	}
	if out, err := child(crashed).CombinedOutput(); err != nil {
		t.Fatalf("final import: %v\n%s", err, out)
	}
	if partial < 3 {
		t.Fatalf("only %d kills landed in the middle of the import (a clean one took %v, starting %v): the test proved little", partial, took, overhead)
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
