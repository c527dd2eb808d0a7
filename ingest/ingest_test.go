package ingest

import (
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/tail"
)

// A server start is dated by the first stamped line after it: the game may
// write "Log file open" in the host's local time and the rest in UTC.
func TestServerStartDatedByTheNextLine(t *testing.T) {
	data := "Log file open, 05/17/25 04:01:30\n" +
		"LogInit: a line without a time\n" +
		"[2025.05.17-02.01.30:500][  0]LogInit: Command Line: -log -playersmaxcount=40\n" +
		"[2025.05.17-02.05.00:000][ 10]LogSFPS: AirDrop switched to Flying\n" +
		"Log file open, 05/17/25 09:00:00\n"
	b := Parse(tail.Lines{Data: []byte(data), FirstLine: 1}, time.UTC, true)
	if len(b.ServerEvents) != 4 || b.Lines != 5 || b.Malformed != 0 {
		t.Fatalf("Parse: %d events, %d lines, %d malformed; want 4, 5, 0: %+v", len(b.ServerEvents), b.Lines, b.Malformed, b.ServerEvents)
	}
	want := []struct {
		kind parser.ServerKind
		at   time.Time
	}{
		{parser.ServerStart, time.Date(2025, 5, 17, 2, 1, 30, 500e6, time.UTC)},
		{parser.PlayerLimit, time.Date(2025, 5, 17, 2, 1, 30, 500e6, time.UTC)},
		{parser.Airdrop, time.Date(2025, 5, 17, 2, 5, 0, 0, time.UTC)},
		// No stamped line follows in this batch: its own time stands.
		{parser.ServerStart, time.Date(2025, 5, 17, 9, 0, 0, 0, time.UTC)},
	}
	for i, w := range want {
		if e := b.ServerEvents[i]; e.Kind != w.kind || !e.Time.Equal(w.at) {
			t.Errorf("event %d: %v at %v, want %v at %v", i, e.Kind, e.Time, w.kind, w.at)
		}
	}
}
