package cmdlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"killfeed/storage"
)

// mustOpenDB opens a database in a temporary folder, closed at the end of
// the test.
func mustOpenDB(tb testing.TB) *storage.DB {
	tb.Helper()
	db, err := storage.Open(filepath.Join(tb.TempDir(), "killfeed.db"), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// logBuffer collects a logger's output; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger() (*slog.Logger, *logBuffer) {
	b := new(logBuffer)
	return slog.New(slog.NewTextHandler(b, nil)), b
}

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// entry returns the ith test entry: its Options are i, so it can be told
// apart on disk.
func entry(i int) storage.CommandEntry {
	return storage.CommandEntry{
		Time:     t0.Add(time.Duration(i) * time.Millisecond),
		Guild:    "100000000000000001",
		Channel:  "200000000000000002",
		UserID:   "300000000000000003",
		UserName: "Bob",
		Command:  "stats",
		Options:  strconv.Itoa(i),
		Outcome:  storage.OutcomeOK,
		Handler:  time.Millisecond,
	}
}

// running is a Log whose Run runs in a goroutine.
type running struct {
	*Log
	cancel context.CancelFunc
	done   chan error
}

// start runs l until stop is called, or the test ends.
func start(tb testing.TB, l *Log) *running {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Log: l, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- l.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			tb.Error("Run did not return within 10s of the test's end")
		}
	})
	return r
}

// stop cancels Run and returns what it returned.
func (r *running) stop(tb testing.TB) error {
	tb.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		tb.Fatal("Run did not return within 10s of its context's end")
		return nil
	}
}

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after 5s waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// onDisk returns how many times each entry (by Options) is stored.
func onDisk(tb testing.TB, db *storage.DB) map[string]int {
	tb.Helper()
	seen := map[string]int{}
	err := db.Commands(time.Time{}, func(e storage.CommandEntry) error {
		seen[e.Options]++
		return nil
	})
	if err != nil {
		tb.Fatalf("Commands: %v", err)
	}
	return seen
}

// checkExactlyOnce fails unless the entries on disk are want, each once.
func checkExactlyOnce(tb testing.TB, db *storage.DB, want []string) {
	tb.Helper()
	seen := onDisk(tb, db)
	for _, k := range want {
		switch n := seen[k]; n {
		case 1:
		case 0:
			tb.Errorf("entry %s is not on disk", k)
		default:
			tb.Errorf("entry %s is on disk %d times, want once", k, n)
		}
		delete(seen, k)
	}
	for k, n := range seen {
		tb.Errorf("entry %s is on disk %d times, want none (never accepted)", k, n)
	}
}

func names(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strconv.Itoa(i))
	}
	return out
}

func mustAdd(tb testing.TB, l *Log, from, to int) {
	tb.Helper()
	for i := from; i < to; i++ {
		if !l.Add(entry(i)) {
			tb.Fatalf("Add(entry %d) = false, want true (figures %+v)", i, l.Figures())
		}
	}
}

// A command is on disk within a couple of seconds, with the default Every.
func TestWritesWhileRunning(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	r := start(t, New(db, Options{Log: log}))
	mustAdd(t, r.Log, 0, 3)
	waitFor(t, "3 entries on disk", func() bool { return len(onDisk(t, db)) == 3 })
	waitFor(t, "3 entries counted", func() bool { return r.Figures().Stored == 3 }) // counted once the write returned
	checkExactlyOnce(t, db, names(0, 3))
	if f := r.Figures(); f.Stored != 3 || f.Queued != 0 || f.Dropped != 0 || f.Failures != 0 || f.Failing {
		t.Errorf("Figures() = %+v, want 3 stored and nothing else", f)
	}
}

// A burst is written a batch at a time, without waiting for Every.
func TestBatchWrittenWhenFull(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	st := &recordStore{Store: db}
	r := start(t, New(st, Options{Log: log, Batch: 10, Every: time.Hour}))
	mustAdd(t, r.Log, 0, 25)
	waitFor(t, "two batches written", func() bool { return r.Figures().Stored == 20 })
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, names(0, 25))
	if got, want := st.sizes(), []int{10, 10, 5}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("batch sizes %v, want %v (full batches, then the rest at shutdown)", got, want)
	}
}

// What is queued when Run's context ends is written before Run returns.
func TestRunWritesQueuedOnShutdown(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	r := start(t, New(db, Options{Log: log, Every: time.Hour}))
	mustAdd(t, r.Log, 0, 10)
	// Queued may lag for an instant while the writer takes an entry.
	waitFor(t, "10 entries queued", func() bool { return r.Figures().Queued == 10 })
	if f := r.Figures(); f.Stored != 0 {
		t.Errorf("before shutdown, with Every an hour: Figures() = %+v, want 0 stored", f)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, names(0, 10))
	if f := r.Figures(); f.Stored != 10 || f.Queued != 0 {
		t.Errorf("after shutdown: Figures() = %+v, want 10 stored, none queued", f)
	}
	if r.Add(entry(10)) {
		t.Error("Add after Run returned = true, want false")
	}
	if f := r.Figures(); f.Dropped != 1 {
		t.Errorf("after a late Add: Dropped = %d, want 1", f.Dropped)
	}
}

// recordStore passes writes to a Store and records the batch sizes.
type recordStore struct {
	Store
	mu    sync.Mutex
	batch []int
}

func (s *recordStore) AppendCommands(entries []storage.CommandEntry) error {
	s.mu.Lock()
	s.batch = append(s.batch, len(entries))
	s.mu.Unlock()
	return s.Store.AppendCommands(entries)
}

func (s *recordStore) sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batch...)
}

var errDisk = errors.New("disk on fire")

// flakyStore fails writes while broken, and the first failFirst of them.
type flakyStore struct {
	Store
	broken    atomic.Bool
	failFirst int64
	calls     atomic.Int64
}

func (s *flakyStore) AppendCommands(entries []storage.CommandEntry) error {
	if n := s.calls.Add(1); n <= s.failFirst || s.broken.Load() {
		return fmt.Errorf("write %d entries: %w", len(entries), errDisk)
	}
	return s.Store.AppendCommands(entries)
}

// While the store fails, Add goes on accepting without blocking, the
// writer logs and counts the failures and holds its batch; once the store
// recovers, every entry is on disk exactly once.
func TestStoreFailure(t *testing.T) {
	db := mustOpenDB(t)
	log, logs := newLogger()
	st := &flakyStore{Store: db}
	st.broken.Store(true)
	r := start(t, New(st, Options{Log: log, Batch: 8, Every: 5 * time.Millisecond}))

	addWithin(t, r.Log, 0, 20)
	waitFor(t, "three failed writes", func() bool { return r.Figures().Failures >= 3 })
	f := r.Figures()
	if !f.Failing || f.Stored != 0 || f.Queued != 20 || f.Dropped != 0 {
		t.Errorf("while the store fails: Figures() = %+v, want failing, 0 stored, 20 queued, 0 dropped", f)
	}
	addWithin(t, r.Log, 20, 40)
	out := logs.String()
	if !strings.Contains(out, "level=ERROR") || !strings.Contains(out, errDisk.Error()) || !strings.Contains(out, "waiting=") {
		t.Errorf("log = %q, want an error naming %q and the entries waiting", out, errDisk)
	}

	st.broken.Store(false)
	waitFor(t, "40 entries stored", func() bool { return r.Figures().Stored == 40 })
	if f := r.Figures(); f.Failing || f.Queued != 0 || f.Dropped != 0 {
		t.Errorf("after the store recovered: Figures() = %+v, want not failing, none queued or dropped", f)
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, names(0, 40))
	if !strings.Contains(logs.String(), "command log written again") {
		t.Errorf("log = %q, want the recovery said", logs.String())
	}
}

// addWithin adds entries from to to, failing the test if an Add refuses
// one or they take more than 5 s (Add must never wait for the writer).
func addWithin(tb testing.TB, l *Log, from, to int) {
	tb.Helper()
	done := make(chan int, 1)
	go func() {
		for i := from; i < to; i++ {
			if !l.Add(entry(i)) {
				done <- i
				return
			}
		}
		done <- -1
	}()
	select {
	case i := <-done:
		if i >= 0 {
			tb.Fatalf("Add(entry %d) = false, want true (figures %+v)", i, l.Figures())
		}
	case <-time.After(5 * time.Second):
		tb.Fatal("Add blocked")
	}
}

// A store that fails the first writes at shutdown is retried.
func TestShutdownRetries(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	st := &flakyStore{Store: db, failFirst: 2}
	r := start(t, New(st, Options{Log: log, Every: time.Hour}))
	mustAdd(t, r.Log, 0, 10)
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, names(0, 10))
	if f := r.Figures(); f.Failures != 2 || f.Failing || f.Stored != 10 {
		t.Errorf("Figures() = %+v, want 2 failures, not failing, 10 stored", f)
	}
}

// A store that keeps failing at shutdown: Run gives up, says how many
// entries were lost, and returns an error.
func TestShutdownGivesUp(t *testing.T) {
	db := mustOpenDB(t)
	log, logs := newLogger()
	st := &flakyStore{Store: db}
	st.broken.Store(true)
	l := New(st, Options{Log: log, Batch: 4, Every: time.Hour})
	l.giveUp = 50 * time.Millisecond
	r := start(t, l)
	mustAdd(t, r.Log, 0, 10)
	err := r.stop(t)
	if !errors.Is(err, errDisk) || !strings.Contains(fmt.Sprint(err), "10 entries lost") {
		t.Errorf("Run = %v, want an error saying 10 entries were lost to %v", err, errDisk)
	}
	if !strings.Contains(logs.String(), "lost=10") {
		t.Errorf("log = %q, want lost=10", logs.String())
	}
	if f := r.Figures(); f.Dropped != 10 || f.Queued != 0 || f.Stored != 0 || !f.Failing {
		t.Errorf("Figures() = %+v, want 10 dropped, none queued or stored, failing", f)
	}
	if n := len(onDisk(t, db)); n != 0 {
		t.Errorf("%d entries on disk, want none", n)
	}
}

// Adds racing the shutdown: every Add that returned true is on disk when
// Run returns, and no other.
func TestShutdownUnderLoad(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	r := start(t, New(db, Options{Log: log, Queue: 2000, Batch: 100, Every: 10 * time.Millisecond}))

	const workers = 8
	var (
		wg       sync.WaitGroup
		stop     atomic.Bool
		accepted [workers][]string
		attempts atomic.Int64
	)
	t.Cleanup(func() { stop.Store(true) }) // before Run's cleanup, if the test fails early
	for w := range workers {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				e := entry(i)
				e.Options = fmt.Sprintf("%d/%d", w, i)
				attempts.Add(1)
				if r.Add(e) {
					accepted[w] = append(accepted[w], e.Options)
				}
			}
		})
	}
	waitFor(t, "some entries stored", func() bool { return r.Figures().Stored > 2000 })
	err := r.stop(t)
	time.Sleep(5 * time.Millisecond) // Adds after Run returned, refused
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}

	var want []string
	for _, a := range accepted {
		want = append(want, a...)
	}
	checkExactlyOnce(t, db, want)
	f := r.Figures()
	if f.Stored != int64(len(want)) || f.Dropped != attempts.Load()-int64(len(want)) || f.Queued != 0 {
		t.Errorf("Figures() = %+v after %d attempts, %d accepted; want them stored and the rest dropped", f, attempts.Load(), len(want))
	}
	t.Logf("%d attempts, %d accepted and stored", attempts.Load(), len(want))
}

// blockStore blocks writes until release is closed; entered gets a value
// when a write starts.
type blockStore struct {
	Store
	entered chan struct{}
	release chan struct{}
}

func (s *blockStore) AppendCommands(entries []storage.CommandEntry) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.Store.AppendCommands(entries)
}

// With the writer stuck in the store, Add fills the queue, then refuses
// without blocking and counts what it drops.
func TestQueueFull(t *testing.T) {
	db := mustOpenDB(t)
	log, _ := newLogger()
	st := &blockStore{Store: db, entered: make(chan struct{}, 1), release: make(chan struct{})}
	const queue, batch = 4, 2
	r := start(t, New(st, Options{Log: log, Queue: queue, Batch: batch, Every: time.Hour}))

	mustAdd(t, r.Log, 0, batch) // a full batch: written at once
	select {
	case <-st.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the writer did not start writing a full batch")
	}
	mustAdd(t, r.Log, batch, batch+queue)
	done := make(chan [2]bool)
	go func() {
		done <- [2]bool{r.Add(entry(100)), r.Add(entry(101))}
	}()
	select {
	case got := <-done:
		if got[0] || got[1] {
			t.Errorf("Add to a full queue = %v, want false", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Add to a full queue blocked")
	}
	if f := r.Figures(); f.Dropped != 2 || f.Queued != batch+queue {
		t.Errorf("Figures() = %+v, want 2 dropped, %d queued", f, batch+queue)
	}

	close(st.release)
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, names(0, batch+queue))
}

// pruneStore records the chunks PruneCommands was asked for.
type pruneStore struct {
	Store
	mu   sync.Mutex
	max  []int
	once sync.Once
	done chan struct{} // closed when a call first deletes fewer than max
}

func (s *pruneStore) PruneCommands(before time.Time, max int) (int, error) {
	n, err := s.Store.PruneCommands(before, max)
	s.mu.Lock()
	s.max = append(s.max, max)
	s.mu.Unlock()
	if n < max {
		s.once.Do(func() { close(s.done) })
	}
	return n, err
}

// Entries older than Keep are deleted at start, a chunk at a time; the
// others are kept.
func TestRetention(t *testing.T) {
	db := mustOpenDB(t)
	now := t0.Add(100 * 24 * time.Hour)
	keep := 30 * 24 * time.Hour
	var old []storage.CommandEntry
	for i := range 10 {
		e := entry(i)
		e.Time = now.Add(-keep - time.Duration(10-i)*time.Hour)
		old = append(old, e)
	}
	edge := entry(10)
	edge.Time = now.Add(-keep) // exactly Keep old: kept
	recent := entry(11)
	recent.Time = now.Add(-time.Minute)
	if err := db.AppendCommands(append(old, edge, recent)); err != nil {
		t.Fatal(err)
	}

	log, logs := newLogger()
	st := &pruneStore{Store: db, done: make(chan struct{})}
	l := New(st, Options{Log: log, Keep: keep, Now: func() time.Time { return now }})
	l.pruneChunk = 3
	r := start(t, l)
	select {
	case <-st.done:
	case <-time.After(5 * time.Second):
		t.Fatal("no pruning at start")
	}
	if err := r.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	checkExactlyOnce(t, db, []string{"10", "11"})
	st.mu.Lock()
	if got, want := fmt.Sprint(st.max), "[3 3 3 3]"; got != want {
		t.Errorf("PruneCommands asked for chunks %s, want %s (10 entries, 3 at a time)", got, want)
	}
	st.mu.Unlock()
	if !strings.Contains(logs.String(), "entries=10") {
		t.Errorf("log = %q, want the 10 deleted entries said", logs.String())
	}
}

func TestNewDefaults(t *testing.T) {
	log, _ := newLogger()
	l := New(nil, Options{Log: log})
	if cap(l.q) != defaultQueue || l.batch != defaultBatch || l.every != defaultEvery || l.keep != defaultKeep || l.now == nil {
		t.Errorf("New with zero Options: queue %d, batch %d, every %v, keep %v; want %d, %d, %v, %v",
			cap(l.q), l.batch, l.every, l.keep, defaultQueue, defaultBatch, defaultEvery, defaultKeep)
	}
	defer func() {
		if recover() == nil {
			t.Error("New without a logger did not panic")
		}
	}()
	New(nil, Options{})
}
