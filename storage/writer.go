package storage

import (
	"context"
	"errors"
	"time"
)

// ErrWriterStopped is returned by Submit and Flush once the writer's Run
// has returned.
var ErrWriterStopped = errors.New("storage writer stopped")

// Writer is the database's single writer. Batches submitted while a
// transaction is being written are grouped into the next one.
type Writer struct {
	db *DB
	in chan request
	// afterCommit, if set, is called with each committed transaction's
	// batches, in order, once they are durable.
	afterCommit func([]*Batch)
	// MaxGroup bounds the batches grouped into one transaction.
	maxGroup int
	stopped  chan struct{}
}

type request struct {
	batch *Batch
	done  chan error // for Flush
}

// NewWriter returns a writer for db. afterCommit may be nil.
func NewWriter(db *DB, afterCommit func([]*Batch)) *Writer {
	return &Writer{
		db:          db,
		in:          make(chan request, 4),
		afterCommit: afterCommit,
		maxGroup:    8,
		stopped:     make(chan struct{}),
	}
}

// Submit queues b for the next transaction. It returns once b is queued,
// not when it is durable: use Flush for that.
func (w *Writer) Submit(ctx context.Context, b *Batch) error {
	select {
	case <-w.stopped:
		return ErrWriterStopped
	default:
	}
	select {
	case w.in <- request{batch: b}:
		return nil
	case <-w.stopped:
		return ErrWriterStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush waits until every batch submitted before it is durable and
// AfterCommit has seen it.
func (w *Writer) Flush(ctx context.Context) error {
	done := make(chan error, 1)
	select {
	case w.in <- request{done: done}:
	case <-w.stopped:
		return ErrWriterStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-done:
		return err
	case <-w.stopped:
		return ErrWriterStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run writes submitted batches until ctx is done, then commits what was
// already queued and returns. A failed commit stops it with the error.
//
// AfterCommit and the batches' Committed callbacks run in a second
// goroutine, in commit order, while the next transaction is written; Flush
// waits for them too.
func (w *Writer) Run(ctx context.Context) error {
	after := make(chan txn, 1)
	afterDone := make(chan struct{})
	go func() {
		defer close(afterDone)
		for t := range after {
			w.finish(t)
		}
	}()
	defer func() {
		close(after)
		<-afterDone
		close(w.stopped)
	}()
	for {
		select {
		case r := <-w.in:
			if err := w.group(r, after); err != nil {
				return err
			}
		case <-ctx.Done():
			for {
				select {
				case r := <-w.in:
					if err := w.group(r, after); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		}
	}
}

// txn is one transaction's batches and the flushes waiting on it.
type txn struct {
	batches []*Batch
	flushes []chan error
	err     error
}

// group commits r with the requests already waiting behind it and hands the
// result to after.
func (w *Writer) group(r request, after chan<- txn) error {
	var t txn
	add := func(r request) {
		if r.batch != nil {
			t.batches = append(t.batches, r.batch)
		}
		if r.done != nil {
			t.flushes = append(t.flushes, r.done)
		}
	}
	add(r)
more:
	for len(t.batches) < w.maxGroup {
		select {
		case r := <-w.in:
			add(r)
		default:
			break more
		}
	}
	if len(t.batches) > 0 {
		t.err = w.db.Commit(t.batches...)
		now := time.Now()
		for _, b := range t.batches {
			b.CommittedAt = now
		}
	}
	after <- t
	return t.err
}

// finish tells the rest of the program about a transaction.
func (w *Writer) finish(t txn) {
	if t.err == nil && len(t.batches) > 0 {
		if w.afterCommit != nil {
			w.afterCommit(t.batches)
		}
		for _, b := range t.batches {
			if b.Committed != nil {
				b.Committed(b)
			}
		}
	}
	for _, done := range t.flushes {
		done <- t.err
	}
}
