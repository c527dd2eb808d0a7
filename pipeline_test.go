package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"killfeed/storage"
)

func kill(ts, killer, victim string, dist int) string {
	id := func(name string) string { return fmt.Sprintf("0002%028x", len(name)*7919+int(name[0])) }
	return fmt.Sprintf("%s;%s;%s;%s;%s;M99;%d;PS5;XSX;", ts, killer, id(killer), victim, id(victim), dist)
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

// The bot reads a killfeed folder as Deadside writes it: a half-written
// line waits, the old file is finished before the new one, junk is counted
// and skipped, and a truncated file is read again without counting twice.
func TestKillfeedFolderAcrossRuns(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, testServer{guild: guildA, id: "main", dir: dir})
	a := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	b := filepath.Join(dir, "2025.05.01-06.00.00.csv")
	step := func(name string, want storage.Counts) {
		t.Helper()
		out := mustCLI(t, "run", "-once", "-config", cfg)
		got, _ := openCounts(t, cfg, guildA, "main")
		got.LastMalformed = ""
		if got != want {
			t.Fatalf("%s: counts %+v, want %+v\n%s", name, got, want, out)
		}
	}

	// A BOM, CRLF endings and a half-written last line.
	appendFile(t, a, "\xef\xbb\xbf"+kill("2025.05.01-00.01.00", "Alpha", "Bravo", 10)+"\r\n"+
		kill("2025.05.01-00.02.00", "Alpha", "Charlie", 20)+"\r\n"+
		kill("2025.05.01-00.03.00", "Bravo", "Alpha", 30)[:25])
	step("half-written line", storage.Counts{Lines: 2, Events: 2})

	// The line is finished, one more is written, and a new file appears
	// with a 1 MB junk line in it.
	appendFile(t, a, kill("2025.05.01-00.03.00", "Bravo", "Alpha", 30)[25:]+"\r\n"+kill("2025.05.01-00.04.00", "Alpha", "Delta", 40)+"\r\n")
	appendFile(t, b, kill("2025.05.01-06.01.00", "Alpha", "Echo", 50)+"\n"+strings.Repeat("\x01junk", 200_000)+"\n"+kill("2025.05.01-06.02.00", "Alpha", "Foxtrot", 60)+"\n")
	step("rotation", storage.Counts{Lines: 7, Events: 6, Malformed: 1})

	st := statsJSON(t, cfg, guildA, "main", "alpha")
	if st.Kills != 5 || st.Deaths != 1 || st.LongestKill != 60 || st.BestStreak != 3 || st.CurrentStreak != 3 {
		t.Errorf("Alpha after rotation: %+v, want 5 kills, 1 death, longest 60, best streak 3, current 3", st)
	}

	// Nothing new: nothing read.
	step("no change", storage.Counts{Lines: 7, Events: 6, Malformed: 1})

	// The new file is truncated and written again with its first line and a
	// new one: read from the start, the old line is a duplicate.
	if err := os.WriteFile(b, []byte(kill("2025.05.01-06.01.00", "Alpha", "Echo", 50)+"\n"+kill("2025.05.01-06.03.00", "Golf", "Alpha", 70)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("truncation", storage.Counts{Lines: 9, Events: 7, Duplicates: 1, Malformed: 1})

	// Truncated and regrown past the old offset with other content.
	var long strings.Builder
	for i := range 30 {
		long.WriteString(kill(fmt.Sprintf("2025.05.01-07.%02d.00", i), "Hotel", "India", i) + "\n")
	}
	if err := os.WriteFile(b, []byte(long.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	step("truncate and regrow", storage.Counts{Lines: 39, Events: 37, Duplicates: 1, Malformed: 1})

	st = statsJSON(t, cfg, guildA, "main", "Alpha")
	if st.Kills != 5 || st.Deaths != 2 || st.CurrentStreak != 0 {
		t.Errorf("Alpha at the end: %+v, want 5 kills, 2 deaths, current streak 0", st)
	}
	if h := statsJSON(t, cfg, guildA, "main", "hotel"); h.Kills != 30 || h.Prey == nil || h.Prey.Name != "India" {
		t.Errorf("Hotel: %+v, want 30 kills, prey India", h)
	}
}
