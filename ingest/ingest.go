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

// The cursor names of a server's live sources.
const (
	KillfeedSource = "killfeed"  // the killfeed folder
	LogSource      = "serverlog" // Deadside.log
)

// ImportSource returns the cursor name of a file imported by hand.
func ImportSource(absPath string) string { return "import:" + absPath }

// Lines is a source of complete lines: a *tail.File, *tail.Dir or *tail.Log.
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

	ServerLog bool // the lines are Deadside.log lines, not killfeed lines
	Backfill  bool // every line is history (an import), never news

	// Horizon, if set, is where history ends: lines up to it were in the
	// files before the source first started, and are stored as backfill.
	// Read clears it once it is passed. NewHorizon says it is not stored
	// yet: the first batch stores it.
	Horizon    *tail.Cursor
	NewHorizon bool

	clearHorizon bool
}

// PassHorizon forgets the horizon: what follows is news. Call it when the
// horizon's file was replaced.
func (s *Source) PassHorizon() {
	if s.Horizon != nil {
		s.Horizon, s.clearHorizon = nil, true
	}
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
func Read(ctx context.Context, src *Source, lines Lines) (Result, error) {
	var (
		mu  sync.Mutex
		res Result
	)
	committed := func(b *storage.Batch) {
		mu.Lock()
		defer mu.Unlock()
		res.Lines += b.Lines
		res.Added += len(b.Added) + len(b.AddedServer)
		res.Duplicates += b.Duplicates
		res.Malformed += b.Malformed
	}
	for {
		read := time.Now()
		l, err := lines.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("read %s: %w", src.Path, err)
		}
		for _, part := range src.split(l) {
			b := Parse(part, src.Loc, src.ServerLog)
			b.Scope, b.Source, b.Committed = src.Scope, src.Name, committed
			b.ReadAt, b.ParsedAt = read, time.Now()
			b.Backfill = src.Backfill || src.Horizon != nil && src.before(part.Cursor)
			if src.Horizon != nil && src.NewHorizon {
				b.Horizon, src.NewHorizon = src.Horizon, false
			}
			if src.Horizon != nil && src.reached(part.Cursor) {
				src.Horizon, src.clearHorizon = nil, true
			}
			if src.clearHorizon {
				b.Horizon, b.ClearHorizon, src.clearHorizon = nil, true, false
			}
			if b.Malformed > 0 && src.Log != nil {
				src.Log.Warn("skipped malformed lines", "server", src.Scope, "file", part.Cursor.File, "count", b.Malformed, "last", b.LastMalformed)
			}
			if err := src.Writer.Submit(ctx, b); err != nil {
				return res, err
			}
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

// before reports whether lines ending at c are history: c is at or before
// the horizon.
func (s *Source) before(c tail.Cursor) bool {
	h := s.Horizon
	return c.File < h.File || c.File == h.File && c.Offset <= h.Offset
}

// reached reports whether c is at or past the horizon.
func (s *Source) reached(c tail.Cursor) bool {
	h := s.Horizon
	return c.File > h.File || c.File == h.File && c.Offset >= h.Offset
}

// split cuts l at the horizon, if it falls inside l, so that history and
// news go in batches of their own.
func (s *Source) split(l tail.Lines) []tail.Lines {
	h := s.Horizon
	if h == nil || l.Cursor.File != h.File || l.Cursor.Offset <= h.Offset {
		return []tail.Lines{l}
	}
	start := l.Cursor.Offset - int64(len(l.Data))
	cut := int(h.Offset - start)
	if cut <= 0 || cut >= len(l.Data) {
		return []tail.Lines{l} // a long line cut short by tail
	}
	// The horizon may fall inside a line that was half written when the
	// source started: that line is news.
	cut = bytes.LastIndexByte(l.Data[:cut], '\n') + 1
	if cut == 0 {
		return []tail.Lines{l}
	}
	head, tailPart := l, l
	head.Data = l.Data[:cut]
	head.Cursor.Offset = start + int64(cut)
	head.Cursor.Line = l.FirstLine - 1 + bytes.Count(head.Data, []byte{'\n'})
	head.Cursor.Mtime = 0
	tailPart.Data = l.Data[cut:]
	tailPart.FirstLine = head.Cursor.Line + 1
	return []tail.Lines{head, tailPart}
}

// Parse turns complete lines into a batch: events, counts and the cursor
// after them. Malformed lines are counted and skipped. serverLog says the
// lines are Deadside.log lines.
func Parse(l tail.Lines, loc *time.Location, serverLog bool) *storage.Batch {
	if serverLog {
		return parseLog(l, loc)
	}
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

// parseLog parses Deadside.log lines. A server start is dated by the first
// stamped line after it, when the batch has one (see parser.LineTime), so
// that it sorts between the runs it separates whatever zone the game wrote
// its "Log file open" line in.
func parseLog(l tail.Lines, loc *time.Location) *storage.Batch {
	b := &storage.Batch{Cursor: l.Cursor, ServerLog: true}
	data := l.Data
	start := -1 // index in b.ServerEvents of a start still to be dated
	for n := l.FirstLine; len(data) > 0; n++ {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data) - 1
		}
		line := data[:i+1]
		data = data[i+1:]
		if start >= 0 {
			if t, ok := parser.LineTime(line, loc); ok {
				b.ServerEvents[start].Time, start = t, -1
			}
		}
		e, err := parser.ParseServerLine(line, n, loc)
		if err == nil && e.Kind == parser.ServerStart {
			start = len(b.ServerEvents)
		}
		if errors.Is(err, parser.ErrEmpty) {
			continue
		}
		b.Lines++
		if errors.Is(err, parser.ErrNotEvent) {
			continue
		}
		if err != nil {
			b.Malformed++
			b.LastMalformed = fmt.Sprintf("%s: %v", l.Cursor.File, err)
			continue
		}
		b.ServerEvents = append(b.ServerEvents, e)
	}
	return b
}
