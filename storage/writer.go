package storage

import (
	"context"
	"errors"
)

// ErrWriterStopped is returned by Submit and Flush once the writer's Run
// has returned.
var ErrWriterStopped = errors.New("storage writer stopped")

// Writer is the database's single writer. Batches submitted while a
// transaction is being written are grouped into the next one.
type Writer struct {
	db *DB
	in chan request
	// AfterCommit, if set, is called from Run with each committed
	// transaction's batches, in order, once they are durable.
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
		in:          make(chan request, 8),
		afterCommit: afterCommit,
		maxGroup:    32,
		stopped:     make(chan struct{}),
	}
}

// Submit queues b for the next transaction. It returns once b is queued,
// not when it is durable: use Flush for that.
func (w *Writer) Submit(ctx context.Context, b *Batch) error {
	select {
	case w.in <- request{batch: b}:
		return nil
	case <-w.stopped:
		return ErrWriterStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush waits until every batch submitted before it is durable.
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
func (w *Writer) Run(ctx context.Context) error {
	defer close(w.stopped)
	for {
		select {
		case r := <-w.in:
			if err := w.group(r); err != nil {
				return err
			}
		case <-ctx.Done():
			for {
				select {
				case r := <-w.in:
					if err := w.group(r); err != nil {
						return err
					}
				default:
					return nil
				}
			}
		}
	}
}

// group commits r with the requests already waiting behind it.
func (w *Writer) group(r request) error {
	var batches []*Batch
	var flushes []chan error
	add := func(r request) {
		if r.batch != nil {
			batches = append(batches, r.batch)
		}
		if r.done != nil {
			flushes = append(flushes, r.done)
		}
	}
	add(r)
more:
	for len(batches) < w.maxGroup {
		select {
		case r := <-w.in:
			add(r)
		default:
			break more
		}
	}
	var err error
	if len(batches) > 0 {
		err = w.db.Commit(batches...)
		if err == nil && w.afterCommit != nil {
			w.afterCommit(batches)
		}
		for _, b := range batches {
			if err == nil && b.Committed != nil {
				b.Committed(b)
			}
		}
	}
	for _, done := range flushes {
		done <- err
	}
	return err
}
