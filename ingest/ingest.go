package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"killfeed/parser"
	"killfeed/storage"
	"killfeed/tail"
)

// KillfeedSource is the cursor name of a server's killfeed folder.
const KillfeedSource = "killfeed"

// ImportSource returns the cursor name of a file imported by hand.
func ImportSource(absPath string) string { return "import:" + absPath }

// Lines is a source of complete lines: a *tail.File or a *tail.Dir.
type Lines interface {
	Next() (tail.Lines, error)
}

// Source is where lines come from and where their events go.
type Source struct {
	Scope  storage.Scope
	Name   string         // cursor name
	Path   string         // for messages
	Loc    *time.Location // the server's time zone
	Log    *slog.Logger
	Writer *storage.Writer
	// Progress, if set, is called with each batch's cursor as it is read.
	Progress func(tail.Cursor)
}

// Result counts what a Read stored.
type Result struct {
	Lines      int // non-empty lines read
	Added      int // new events stored
	Duplicates int // events that were already stored
	Malformed  int // lines skipped
}

func (r Result) String() string {
	return fmt.Sprintf("%d lines, %d new events, %d duplicates, %d malformed", r.Lines, r.Added, r.Duplicates, r.Malformed)
}

// Read submits every complete line of lines to the writer, batch by batch,
// and waits until they are durable.
func Read(ctx context.Context, src Source, lines Lines) (Result, error) {
	var (
		mu  sync.Mutex
		res Result
	)
	committed := func(b *storage.Batch) {
		mu.Lock()
		defer mu.Unlock()
		res.Lines += b.Lines
		res.Added += len(b.Added)
		res.Duplicates += b.Duplicates
		res.Malformed += b.Malformed
	}
	for {
		l, err := lines.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("read %s: %w", src.Path, err)
		}
		b := Parse(l, src.Loc)
		b.Scope, b.Source, b.Committed = src.Scope, src.Name, committed
		if b.Malformed > 0 && src.Log != nil {
			src.Log.Warn("skipped malformed lines", "server", src.Scope, "file", l.Cursor.File, "count", b.Malformed, "last", b.LastMalformed)
		}
		if err := src.Writer.Submit(ctx, b); err != nil {
			return res, err
		}
		if src.Progress != nil {
			src.Progress(l.Cursor)
		}
	}
	err := src.Writer.Flush(ctx)
	mu.Lock()
	defer mu.Unlock()
	return res, err
}

// Parse turns complete lines into a batch: events, counts and the cursor
// after them. Malformed lines are counted and skipped.
func Parse(l tail.Lines, loc *time.Location) *storage.Batch {
	b := &storage.Batch{Cursor: l.Cursor, Events: make([]parser.Event, 0, bytes.Count(l.Data, []byte{'\n'}))}
	data := l.Data
	for n := l.FirstLine; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		}
		line := data[:i+1]
		data = data[i+1:]
		e, err := parser.ParseLine(line, n, loc)
		if errors.Is(err, parser.ErrEmpty) {
			continue
		}
		b.Lines++
		if err != nil {
			b.Malformed++
			b.LastMalformed = fmt.Sprintf("%s: %v", l.Cursor.File, err)
			continue
		}
		b.Events = append(b.Events, e)
	}
	return b
}
