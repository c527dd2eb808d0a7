package tail

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// logLine returns a Deadside.log-like line.
func logLine(run string, i int) string {
	return "[2025.05.17-02.01.30:164][" + run + "]LogTemp: line " + strings.Repeat("x", i%50) + "\n"
}

func logRun(run string, from, to int) string {
	var b strings.Builder
	if from == 0 {
		b.WriteString("Log file open, run " + run + "\n")
	}
	for i := max(from, 1); i < to; i++ {
		b.WriteString(logLine(run, i))
	}
	return b.String()
}

// restart does what the game does at a server start: the log becomes a
// backup copy and a new log begins.
func restart(t *testing.T, path, backup, first string) {
	t.Helper()
	if backup != "" {
		if err := os.Rename(path, filepath.Join(filepath.Dir(path), backup)); err != nil {
			t.Fatal(err)
		}
	} else if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, first)
}

func TestLogFinishesTheBackupAfterARestart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Deadside.log")
	writeFile(t, path, logRun("A", 0, 40))
	l := OpenLog(OS, path, Cursor{}, testMaxLine)
	got := joined(drain(t, l))
	l.Close()

	// More lines of run A that the bot has not read yet, then a restart;
	// an older, unrelated backup lies beside it.
	appendFile(t, path, logRun("A", 40, 80))
	writeFile(t, filepath.Join(dir, "Deadside-backup-2025.05.16-00.00.00.log"), logRun("Z", 0, 90))
	time.Sleep(10 * time.Millisecond) // distinct modification times
	restart(t, path, "Deadside-backup-2025.05.17-02.01.30.log", logRun("B", 0, 30))

	var resets []*Reset
	l = OpenLog(OS, path, viaJSON(t, l.Cursor()), testMaxLine)
	l.OnReset = func(r *Reset) { resets = append(resets, r) }
	got += joined(drain(t, l))
	if want := logRun("A", 0, 80) + logRun("B", 0, 30); got != want {
		t.Fatalf("lines read across the restart:\n%s", diff(got, want))
	}
	if len(resets) != 0 {
		t.Errorf("resets: got %+v, want none (the backup held the rest)", resets)
	}
	if c := l.Cursor(); c.File != "Deadside.log" || c.Offset != int64(len(logRun("B", 0, 30))) {
		t.Errorf("cursor after the backup: got %+v, want the end of Deadside.log", c)
	}

	// The new log grows; nothing is read twice.
	appendFile(t, path, logRun("B", 30, 35))
	if got, want := joined(drain(t, l)), logRun("B", 30, 35); got != want {
		t.Errorf("lines after the restart:\n%s", diff(got, want))
	}
}

func TestLogStopsInTheBackupAndGoesOn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Deadside.log")
	writeFile(t, path, logRun("A", 0, 20))
	l := OpenLog(OS, path, Cursor{}, testMaxLine)
	drain(t, l)
	appendFile(t, path, logRun("A", 20, 5000))
	restart(t, path, "Deadside-backup-1.log", logRun("B", 0, 10))

	// Read one batch of the backup only, then "crash" and start again.
	l = OpenLog(OS, path, viaJSON(t, l.Cursor()), testMaxLine)
	l.file = nil
	first, err := l.Next()
	if err != nil {
		t.Fatal(err)
	}
	got := string(first.Data)
	if first.Cursor.File != "Deadside-backup-1.log" {
		t.Fatalf("cursor: got %+v, want it in the backup", first.Cursor)
	}
	l.Close()
	l = OpenLog(OS, path, viaJSON(t, first.Cursor), testMaxLine)
	got += joined(drain(t, l))
	if want := logRun("A", 20, 5000) + logRun("B", 0, 10); got != want {
		t.Fatalf("lines:\n%s", diff(got, want))
	}
}

func TestLogRestartWithoutBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Deadside.log")
	writeFile(t, path, logRun("A", 0, 20))
	l := OpenLog(OS, path, Cursor{}, testMaxLine)
	drain(t, l)
	restart(t, path, "", logRun("B", 0, 5))

	var resets []*Reset
	l = OpenLog(OS, path, viaJSON(t, l.Cursor()), testMaxLine)
	l.OnReset = func(r *Reset) { resets = append(resets, r) }
	if got, want := joined(drain(t, l)), logRun("B", 0, 5); got != want {
		t.Errorf("lines:\n%s", diff(got, want))
	}
	if len(resets) != 1 || resets[0].Reason != "truncated" {
		t.Errorf("resets: got %+v, want one (the new log is shorter)", resets)
	}
}

func TestLogMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Deadside.log")
	l := OpenLog(OS, path, Cursor{}, testMaxLine)
	if got := drain(t, l); len(got) != 0 {
		t.Errorf("a missing log gave %d batches, want none", len(got))
	}
	writeFile(t, path, logRun("A", 0, 3))
	if got, want := joined(drain(t, l)), logRun("A", 0, 3); got != want {
		t.Errorf("lines once the log appears:\n%s", diff(got, want))
	}
}
