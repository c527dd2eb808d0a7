package source_test

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"killfeed/ingest"
	"killfeed/internal/fakelog"
	"killfeed/source"
	"killfeed/storage"
	"killfeed/tail"
)

var scope = storage.Scope{Guild: "100000000000000001", Server: "main"}

// pipeline is a database and its writer, as the bot runs them.
type pipeline struct {
	db *storage.DB
	w  *storage.Writer

	mu      sync.Mutex
	added   []storage.Record
	arrived []time.Time // when each added event was committed
	changed chan struct{}
}

func newPipeline(t testing.TB, path string) *pipeline {
	t.Helper()
	db, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{db: db, changed: make(chan struct{}, 1)}
	p.w = storage.NewWriter(db, func(bs []*storage.Batch) {
		now := time.Now()
		p.mu.Lock()
		for _, b := range bs {
			for _, r := range b.Added {
				p.added = append(p.added, r)
				p.arrived = append(p.arrived, now)
			}
		}
		p.mu.Unlock()
		select {
		case p.changed <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("writer: %v", err)
		}
		db.Close()
	})
	return p
}

func (p *pipeline) source(path string, serverLog bool, fsys tail.FS) *source.Source {
	name := ingest.KillfeedSource
	if serverLog {
		name = ingest.LogSource
	}
	return &source.Source{
		Ingest:  ingest.Source{Scope: scope, Name: name, Path: path, Loc: time.UTC, Writer: p.w, ServerLog: serverLog},
		DB:      p.db,
		Path:    path,
		Connect: func(context.Context) (tail.FS, error) { return fsys, nil },
		Poll:    time.Hour,
	}
}

// run runs src until the returned stop is called.
func run(t testing.TB, src *source.Source) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return within 10s of its context ending")
		}
	}
}

// waitCounts waits until the scope's counts satisfy ok.
func waitCounts(t testing.TB, p *pipeline, what string, ok func(storage.Counts) bool) storage.Counts {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := p.db.Counts(scope)
		if err != nil {
			t.Fatal(err)
		}
		if ok(c) {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: counts are %+v", what, c)
		}
		select {
		case <-p.changed:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func appendFile(t testing.TB, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeInChunks appends s to path in random pieces, cut anywhere (mid-line
// too), with short pauses, as a game server's buffered writes do.
func writeInChunks(t testing.TB, r *rand.Rand, path, s string) {
	for len(s) > 0 {
		n := min(1+r.IntN(300), len(s))
		appendFile(t, path, s[:n])
		s = s[n:]
		if r.IntN(4) == 0 {
			time.Sleep(time.Duration(r.IntN(3)) * time.Millisecond)
		}
	}
}

func lines(g *fakelog.Generator, n int) string {
	var b strings.Builder
	for range n {
		b.WriteString(g.Line())
	}
	return b.String()
}

// backfillSplit counts the stored events flagged as backfill and not.
func backfillSplit(t testing.TB, db *storage.DB) (history, news int) {
	t.Helper()
	err := db.ForEachEvent(scope, func(r *storage.Record) error {
		if r.Backfill {
			history++
		} else {
			news++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return history, news
}

// A folder followed live, with notifications and with polling only (as on a
// network share): lines appended in pieces, a rotation while the old file
// still has unread lines, a truncated-and-rewritten file. Every line is
// counted once, history is flagged, and a restart reads nothing again.
func TestLocalFolderLive(t *testing.T) {
	for _, mode := range []string{"notify", "poll"} {
		t.Run(mode, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			dir := t.TempDir()
			g := fakelog.New(3, 40, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
			a := filepath.Join(dir, "2025.05.01-00.00.00.csv")
			b := filepath.Join(dir, "2025.05.02-00.00.00.csv")
			c := filepath.Join(dir, "2025.05.03-00.00.00.csv")
			appendFile(t, a, lines(g, 50))  // history
			appendFile(t, a, g.Line()[:20]) // and a line half written when the bot starts

			p := newPipeline(t, filepath.Join(t.TempDir(), "k.db"))
			src := p.source(dir, false, tail.OS)
			if mode == "notify" {
				src.Watch = true // only notifications wake it: the poll is an hour
			} else {
				src.Poll = 30 * time.Millisecond
			}
			stop := run(t, src)
			waitCounts(t, p, "history", func(c storage.Counts) bool { return c.Lines == 50 })

			// More lines come in pieces; the first one ends the half line
			// (the two make one malformed line).
			want := 50
			writeInChunks(t, r, a, lines(g, 300))
			want += 300
			// The game moves to a new file while the old one still has
			// lines the bot has not read.
			appendFile(t, a, lines(g, 40))
			appendFile(t, b, lines(g, 40))
			want += 80
			// A file truncated and written again with other lines.
			appendFile(t, c, lines(g, 30))
			waitCounts(t, p, "before truncation", func(c storage.Counts) bool { return c.Events >= uint64(want+30-1) })
			if err := os.Truncate(c, 0); err != nil {
				t.Fatal(err)
			}
			writeInChunks(t, r, c, lines(g, 25))
			want += 30 + 25

			got := waitCounts(t, p, "every line", func(c storage.Counts) bool { return c.Events+c.Malformed >= uint64(want) })
			stop()
			if got.Duplicates != 0 {
				t.Errorf("duplicates: got %d, want 0 (no line read twice)", got.Duplicates)
			}
			if got.Events+got.Malformed != uint64(want) {
				t.Errorf("events+malformed: got %d+%d, want %d", got.Events, got.Malformed, want)
			}
			history, news := backfillSplit(t, p.db)
			if history != 50 || news != int(got.Events)-50 {
				t.Errorf("backfill: got %d history and %d news, want 50 and %d", history, news, got.Events-50)
			}

			// A restart reads nothing again, and nothing is history now.
			appendFile(t, c, lines(g, 5))
			stop = run(t, p.source(dir, false, tail.OS))
			after := waitCounts(t, p, "after restart", func(c storage.Counts) bool { return c.Events+c.Malformed >= uint64(want+5) })
			stop()
			if after.Events+after.Malformed != uint64(want+5) || after.Duplicates != 0 {
				t.Errorf("after a restart: %+v, want %d events+malformed and no duplicates", after, want+5)
			}
			if h, _ := backfillSplit(t, p.db); h != 50 {
				t.Errorf("history after a restart: got %d, want 50", h)
			}
		})
	}
}
