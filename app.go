package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"killfeed/config"
	"killfeed/ingest"
	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/tail"
)

// Main is the program with its parts wired together: tests build one from a
// temporary config and drive it as the commands do.
type Main struct {
	Config config.Config
	Log    *slog.Logger
	Stdout io.Writer

	DB      *storage.DB
	Writer  *storage.Writer
	Indexes map[storage.Scope]*stats.Index

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// NewMain returns a Main for cfg that logs to stderr and prints to stdout.
func NewMain(cfg config.Config) *Main {
	return &Main{
		Config: cfg,
		Log:    slog.New(slog.NewTextHandler(os.Stderr, nil)),
		Stdout: os.Stdout,
	}
}

// scope returns the storage scope of a configured server.
func scope(s *config.Server) storage.Scope {
	return storage.Scope{Guild: string(s.GuildID), Server: string(s.ID)}
}

// Open opens the database, builds the index of every configured server and
// starts the writer.
func (m *Main) Open() error {
	db, err := storage.Open(m.Config.Storage.Path, storage.Options{MaxSize: maxMapSize})
	if err != nil {
		return err
	}
	m.DB = db
	m.Indexes = make(map[storage.Scope]*stats.Index, len(m.Config.Servers))
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		start := time.Now()
		x, err := stats.Load(db, scope(s), s.Location)
		if err != nil {
			db.Close()
			return fmt.Errorf("load %s: %w", scope(s), err)
		}
		m.Indexes[scope(s)] = x
		m.Log.Info("index loaded", "server", scope(s), "events", x.Summary().Events, "took", time.Since(start).Round(time.Millisecond))
	}
	// Loading touched every page of the database's memory map. Reopening it
	// drops those pages from the resident set (they stay in the kernel's
	// page cache), and the garbage of loading goes back to the system: on a
	// Raspberry Pi that is most of the bot's memory.
	if err := db.Close(); err != nil {
		return err
	}
	if db, err = storage.Open(m.Config.Storage.Path, storage.Options{MaxSize: maxMapSize}); err != nil {
		return err
	}
	m.DB = db
	debug.FreeOSMemory()

	m.Writer = storage.NewWriter(db, m.afterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan error, 1)
	go func() { m.done <- m.Writer.Run(ctx) }()
	return nil
}

// afterCommit brings the indexes up to date with what was just stored.
func (m *Main) afterCommit(batches []*storage.Batch) {
	for _, b := range batches {
		if x := m.Indexes[b.Scope]; x != nil {
			x.Add(b.Added)
		}
	}
}

// Close stops the writer, once what was submitted is committed, and closes
// the database.
func (m *Main) Close() error {
	var err error
	m.once.Do(func() {
		if m.cancel != nil {
			m.cancel()
			err = <-m.done
		}
		if m.DB != nil {
			err = errors.Join(err, m.DB.Close())
		}
	})
	return err
}

// server returns the configured server with the guild and id given on the
// command line, or an error that lists the configured ones.
func (m *Main) server(guild, id string) (*config.Server, error) {
	if s, ok := m.Config.Server(config.GuildID(guild), config.ServerID(id)); ok {
		return s, nil
	}
	if guild == "" || id == "" {
		return nil, fmt.Errorf("-guild and -server are required: %s", m.serverList())
	}
	return nil, fmt.Errorf("no server with guild_id %q and id %q in the config: %s", guild, id, m.serverList())
}

func (m *Main) serverList() string {
	if len(m.Config.Servers) == 0 {
		return "config.toml has no [[servers]] yet"
	}
	s := "configured servers are"
	for i, c := range m.Config.Servers {
		if i > 0 {
			s += ","
		}
		s += fmt.Sprintf(" -guild %s -server %s", c.GuildID, c.ID)
	}
	return s
}

// ReadKillfeed reads a server's killfeed folder from its cursor to the end.
func (m *Main) ReadKillfeed(ctx context.Context, s *config.Server) (ingest.Result, error) {
	sc := scope(s)
	cur, _, err := m.DB.Cursor(sc, ingest.KillfeedSource)
	if err != nil {
		return ingest.Result{}, err
	}
	dir := tail.OpenDir(s.KillfeedDir, cur, parser.MaxLineLen)
	defer dir.Close()
	dir.OnReset = func(r *tail.Reset) {
		m.Log.Warn("killfeed file changed under the cursor", "server", sc, "detail", r.Error())
	}
	return ingest.Read(ctx, ingest.Source{
		Scope: sc, Name: ingest.KillfeedSource, Path: s.KillfeedDir,
		Loc: s.Location, Log: m.Log, Writer: m.Writer,
	}, dir)
}

// Import reads one file from its own cursor to its end, the way live lines
// are read. progress may be nil.
func (m *Main) Import(ctx context.Context, s *config.Server, path string, progress func(tail.Cursor)) (ingest.Result, error) {
	sc := scope(s)
	name := ingest.ImportSource(path)
	cur, _, err := m.DB.Cursor(sc, name)
	if err != nil {
		return ingest.Result{}, err
	}
	f, reset, err := tail.Open(path, cur, parser.MaxLineLen)
	if err != nil {
		return ingest.Result{}, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if reset != nil {
		m.Log.Warn("file changed since its last import", "server", sc, "detail", reset.Error())
	}
	return ingest.Read(ctx, ingest.Source{
		Scope: sc, Name: name, Path: path,
		Loc: s.Location, Log: m.Log, Writer: m.Writer, Progress: progress,
	}, f)
}
