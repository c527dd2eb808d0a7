package cmdlog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"killfeed/storage"
)

// Store is where the log writes: *storage.DB.
type Store interface {
	// AppendCommands stores entries in one transaction: all of them or,
	// on error, none. It must not keep the slice.
	AppendCommands([]storage.CommandEntry) error
	// PruneCommands deletes up to max entries older than before, oldest
	// first, and returns how many it deleted.
	PruneCommands(before time.Time, max int) (int, error)
}

// Options tune a Log. A zero or negative value takes the default.
type Options struct {
	Queue int           // entries waiting in memory at most, besides the batch being written (default 10000)
	Batch int           // entries per transaction at most (default 500)
	Every time.Duration // a batch is written at least this often when entries wait (default 1s)
	Keep  time.Duration // entries older than this are deleted, at start and then hourly (default 90 days)
	Log   *slog.Logger  // required
	Now   func() time.Time
}

// Defaults and fixed timings.
const (
	defaultQueue = 10000
	defaultBatch = 500
	defaultEvery = time.Second
	defaultKeep  = 90 * 24 * time.Hour

	maxBackoff   = 30 * time.Second // between retries of a failing write
	pruneEvery   = time.Hour
	pruneChunk   = 5000            // entries deleted per transaction
	giveUpAfter  = 5 * time.Second // retrying the last writes at shutdown
	closeBackoff = 100 * time.Millisecond
)

// Log is the command log. Add queues entries; Run writes them.
type Log struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	batch int
	every time.Duration
	keep  time.Duration
	// Fixed in production; tests shorten them.
	pruneChunk int
	giveUp     time.Duration

	// mu guards closed. Add holds it for reading while it sends, so once
	// Run has set closed under the write lock no Add can still be sending
	// and Run's final drain sees every accepted entry.
	mu     sync.RWMutex
	closed bool
	q      chan storage.CommandEntry

	held     atomic.Int64 // entries the writer holds: its batch
	stored   atomic.Int64
	dropped  atomic.Int64
	failures atomic.Int64
	failing  atomic.Bool
}

// New returns a log that writes to store once Run runs. It panics if
// opt.Log is nil.
func New(store Store, opt Options) *Log {
	if opt.Log == nil {
		panic("cmdlog.New: Options.Log is nil")
	}
	if opt.Queue <= 0 {
		opt.Queue = defaultQueue
	}
	if opt.Batch <= 0 {
		opt.Batch = defaultBatch
	}
	if opt.Every <= 0 {
		opt.Every = defaultEvery
	}
	if opt.Keep <= 0 {
		opt.Keep = defaultKeep
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Log{
		store:      store,
		log:        opt.Log,
		now:        opt.Now,
		batch:      opt.Batch,
		every:      opt.Every,
		keep:       opt.Keep,
		pruneChunk: pruneChunk,
		giveUp:     giveUpAfter,
		q:          make(chan storage.CommandEntry, opt.Queue),
	}
}

// Add queues e and reports whether it was accepted. It never blocks: when
// the queue is full, or once Run has returned, e is dropped and counted.
// It is safe for concurrent use.
func (l *Log) Add(e storage.CommandEntry) bool {
	l.mu.RLock()
	if !l.closed {
		select {
		case l.q <- e:
			l.mu.RUnlock()
			return true
		default:
		}
	}
	l.mu.RUnlock()
	l.dropped.Add(1)
	return false
}

// Figures are a Log's counters.
type Figures struct {
	Stored   int64 // entries written since start
	Queued   int64 // entries waiting now (including a batch being retried)
	Dropped  int64 // entries dropped: queue full, added after shutdown, or lost when Run gave up
	Failures int64 // failed writes since start
	Failing  bool  // the last write failed
}

// Figures returns the log's counters. Queued is a snapshot: it may miss an
// entry for the instant the writer takes it from the queue.
func (l *Log) Figures() Figures {
	return Figures{
		Stored:   l.stored.Load(),
		Queued:   int64(len(l.q)) + l.held.Load(),
		Dropped:  l.dropped.Load(),
		Failures: l.failures.Load(),
		Failing:  l.failing.Load(),
	}
}

// Run writes queued entries until ctx is done, then writes what is queued
// and returns; Add accepts nothing more. Every entry Add accepted is on
// disk when Run returns nil. When the store keeps failing at shutdown, Run
// gives up after about 5 s, logs how many entries were lost and returns an
// error. Run also deletes old entries, at start and then hourly. Call it
// once.
func (l *Log) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { l.pruneLoop(ctx) })
	defer wg.Wait()
	return l.write(ctx)
}

// write is the writer's loop: it collects a batch, writes it (retrying
// until it succeeds), and starts again.
func (l *Log) write(ctx context.Context) error {
	batch := make([]storage.CommandEntry, 0, l.batch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		// Wait for a first entry, then for a full batch or Every.
		select {
		case e := <-l.q:
			batch = append(batch, e)
			l.held.Store(1)
		case <-ctx.Done():
			return l.close(batch)
		}
		timer.Reset(l.every)
	fill:
		for len(batch) < l.batch {
			select {
			case e := <-l.q:
				batch = append(batch, e)
				l.held.Store(int64(len(batch)))
			case <-timer.C:
				break fill
			case <-ctx.Done():
				timer.Stop()
				return l.close(batch)
			}
		}
		timer.Stop()

		// Write it; while the store fails, keep the batch and take no
		// more than fills it up: the queue fills and Add drops.
		for wait := l.every; ; wait = min(2*wait, maxBackoff) {
			err := l.store.AppendCommands(batch)
			if err == nil {
				break
			}
			l.failed(err, len(batch), wait)
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
				return l.close(batch)
			}
			batch = l.topUp(batch)
		}
		l.wrote(len(batch))
		batch = batch[:0]
	}
}

// close stops Add and writes what is held and queued. It retries a failing
// store for up to l.giveUp, then drops what is left and returns an error.
func (l *Log) close(batch []storage.CommandEntry) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	// From here on nothing enters the queue.
	deadline := time.Now().Add(l.giveUp)
	wait := closeBackoff
	for {
		batch = l.topUp(batch)
		if len(batch) == 0 {
			return nil
		}
		err := l.store.AppendCommands(batch)
		if err == nil {
			l.wrote(len(batch))
			batch = batch[:0]
			continue
		}
		left := time.Until(deadline)
		if left <= 0 {
			lost := int64(len(batch))
			for len(l.q) > 0 {
				<-l.q
				lost++
			}
			l.held.Store(0)
			l.failures.Add(1)
			l.failing.Store(true)
			l.dropped.Add(lost)
			l.log.Error("cannot write the command log at shutdown: entries lost", "err", err, "lost", lost)
			return fmt.Errorf("command log: %d entries lost at shutdown: %w", lost, err)
		}
		wait = min(wait, left)
		l.failed(err, len(batch), wait)
		time.Sleep(wait)
		wait *= 2
	}
}

// topUp fills batch up to l.batch with what is queued, without waiting.
func (l *Log) topUp(batch []storage.CommandEntry) []storage.CommandEntry {
	l.held.Store(int64(len(batch)))
	for len(batch) < l.batch {
		select {
		case e := <-l.q:
			batch = append(batch, e)
			l.held.Store(int64(len(batch)))
		default:
			return batch
		}
	}
	return batch
}

// failed counts and logs a failed write of n entries, retried after wait.
func (l *Log) failed(err error, n int, wait time.Duration) {
	l.failures.Add(1)
	l.failing.Store(true)
	l.log.Error("cannot write the command log: retrying", "err", err, "waiting", n+len(l.q), "retry in", wait)
}

// wrote counts a successful write of n entries.
func (l *Log) wrote(n int) {
	l.stored.Add(int64(n))
	l.held.Store(0)
	if l.failing.Swap(false) {
		l.log.Info("command log written again", "failed writes", l.failures.Load())
	}
}

// pruneLoop deletes old entries now and then hourly until ctx is done.
func (l *Log) pruneLoop(ctx context.Context) {
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		l.prune(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// prune deletes the entries older than Keep, l.pruneChunk per transaction
// so the database's writer lock is never held long.
func (l *Log) prune(ctx context.Context) {
	before := l.now().Add(-l.keep)
	var total int
	for ctx.Err() == nil {
		n, err := l.store.PruneCommands(before, l.pruneChunk)
		total += n
		if err != nil {
			l.log.Error("cannot delete old command log entries: retrying in an hour", "err", err)
			break
		}
		if n < l.pruneChunk {
			break
		}
	}
	if total > 0 {
		l.log.Info("old command log entries deleted", "entries", total, "older than", before)
	}
}
