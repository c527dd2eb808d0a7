package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"killfeed/bot"
	"killfeed/cmdlog"
	"killfeed/config"
	"killfeed/embed"
	"killfeed/ingest"
	"killfeed/parser"
	"killfeed/source"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/tail"
	"killfeed/timing"
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
	// Sessions holds who is online on each server, from its Deadside.log.
	Sessions map[storage.Scope]*stats.Sessions

	cancel context.CancelFunc
	done   chan error
	once   sync.Once

	bot atomic.Pointer[bot.Bot]
	// counts are each server's lines stored and skipped, for /status
	// without a database read.
	counts  map[storage.Scope]*lineCounts
	console atomic.Bool // print new events to Stdout
	// left says which players' latest printed line was a leave: one
	// departure writes several leave lines. Used by afterCommit only.
	left    map[string]bool
	outMu   sync.Mutex // one line at a time on Stdout
	servers map[storage.Scope]*config.Server
	srcMu   sync.Mutex
	srcs    map[storage.Scope][]*source.Source

	started time.Time
	// timing times commands, ingest batches and killfeed messages.
	timing *timing.Tracker
	// commandLog records the commands answered, while Run runs the bot.
	commandLog *cmdlog.Log
}

// statusEvery is how often Run prints a status line.
const statusEvery = 10 * time.Minute

// setSources records a server's running sources, for status.
func (m *Main) setSources(sc storage.Scope, srcs []*source.Source) {
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	if m.srcs == nil {
		m.srcs = make(map[storage.Scope][]*source.Source)
	}
	m.srcs[sc] = srcs
}

// printf writes to Stdout, one call at a time.
func (m *Main) printf(format string, args ...any) {
	m.outMu.Lock()
	defer m.outMu.Unlock()
	fmt.Fprintf(m.Stdout, format, args...)
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
	m.started = time.Now()
	m.timing = timing.New(m.Log, m.Config.Timing.SlowStep, m.Config.Timing.SlowNetwork, m.Config.Timing.SlowSteps)
	db, err := storage.Open(m.Config.Storage.Path, storage.Options{MaxSize: maxMapSize})
	if err != nil {
		return err
	}
	m.DB = db
	m.Indexes = make(map[storage.Scope]*stats.Index, len(m.Config.Servers))
	m.Sessions = make(map[storage.Scope]*stats.Sessions, len(m.Config.Servers))
	m.counts = make(map[storage.Scope]*lineCounts, len(m.Config.Servers))
	m.servers = make(map[storage.Scope]*config.Server, len(m.Config.Servers))
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		m.servers[scope(s)] = s
		start := time.Now()
		x, err := loadIndex(db, s)
		if err != nil {
			db.Close()
			return err
		}
		m.Indexes[scope(s)] = x
		ss, err := stats.LoadSessions(db, scope(s))
		if err != nil {
			db.Close()
			return fmt.Errorf("load sessions of %s: %w", scope(s), err)
		}
		m.Sessions[scope(s)] = ss
		c, err := db.Counts(scope(s))
		if err != nil {
			db.Close()
			return err
		}
		m.counts[scope(s)] = &lineCounts{}
		m.counts[scope(s)].lines.Store(int64(c.Lines + c.LogLines))
		m.counts[scope(s)].skipped.Store(int64(c.Malformed + c.LogMalformed))
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
	// Without Discord nothing posts: the outbox is not filled.
	db.NoPosts = m.Config.Discord.Token == ""
	debug.FreeOSMemory()

	m.Writer = storage.NewWriter(db, m.afterCommit)
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.done = make(chan error, 1)
	go func() { m.done <- m.Writer.Run(ctx) }()
	return nil
}

// loadIndex builds the index of a server from db, with its season.
func loadIndex(db *storage.DB, s *config.Server) (*stats.Index, error) {
	x, err := stats.Load(db, scope(s), s.Location)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", scope(s), err)
	}
	season, err := db.Season(scope(s))
	if err != nil {
		return nil, err
	}
	if !season.IsZero() {
		x.SetSeason(season)
	}
	return x, nil
}

// afterCommit brings the indexes up to date with what was just stored, and
// offline prints the news.
func (m *Main) afterCommit(batches []*storage.Batch) {
	for _, b := range batches {
		if c := m.counts[b.Scope]; c != nil {
			c.lines.Add(int64(b.Lines))
			c.skipped.Add(int64(b.Malformed))
		}
		if x := m.Indexes[b.Scope]; x != nil && len(b.Added) > 0 {
			x.Add(b.Added)
		}
		if x := m.Sessions[b.Scope]; x != nil && len(b.AddedServer) > 0 {
			x.Add(b.AddedServer)
		}
	}
	m.timeBatches(batches)
	if b := m.bot.Load(); b != nil {
		b.OnCommitted(batches)
	}
	if m.console.Load() {
		m.printNews(batches)
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

// sources returns the live sources of a configured server, and the
// connection they share when the files are remote (nil otherwise).
func (m *Main) sources(s *config.Server) ([]*source.Source, *source.Shared) {
	sc := scope(s)
	connect := func(context.Context) (tail.FS, error) { return tail.OS, nil }
	poll, remote := s.PollInterval, false
	var shared *source.Shared
	if c := s.SFTP; c != nil {
		shared = &source.Shared{Dial: func(ctx context.Context) (tail.FS, error) {
			return source.DialSFTP(ctx, source.SFTPConfig{
				Host: c.Host, Port: c.Port, User: c.User, Password: c.Password,
				KeyFile: c.KeyFile, KeyPassphrase: c.KeyPassphrase, HostKey: c.HostKey,
				InsecureIgnoreHostKey: c.InsecureIgnoreHostKey, LegacyAlgorithms: c.LegacyAlgorithms,
				Timeout: c.Timeout,
			}, m.Log)
		}}
		connect, poll, remote = shared.Connect, c.PollInterval, true
	}
	var out []*source.Source
	add := func(name, path string, serverLog bool, minGap time.Duration) {
		if path == "" {
			return
		}
		src := &source.Source{
			Ingest: ingest.Source{
				Scope: sc, Name: name, Path: path, Loc: s.Location,
				Log: m.Log, Writer: m.Writer, ServerLog: serverLog,
			},
			DB: m.DB, Path: path, Connect: connect, Remote: remote,
			Poll: poll, Watch: !remote, MinGap: minGap,
		}
		out = append(out, src)
	}
	add(ingest.KillfeedSource, s.KillfeedDir, false, 0)
	// Deadside.log is written many times a second: read it at most once a
	// second, so that a Raspberry Pi's SD card is not synced all day.
	add(ingest.LogSource, s.ServerLog, true, time.Second)
	return out, shared
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
	f, reset, err := tail.Open(tail.OS, path, cur, parser.MaxLineLen)
	if err != nil {
		return ingest.Result{}, fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	if reset != nil {
		m.Log.Warn("file changed since its last import", "server", sc, "detail", reset.Error())
	}
	return ingest.Read(ctx, &ingest.Source{
		Scope: sc, Name: name, Path: path,
		Loc: s.Location, Log: m.Log, Writer: m.Writer, Progress: progress,
		Backfill: true, // an import is history: nothing of it is news
	}, f)
}

// Run follows every configured server's logs until ctx is done. Without a
// Discord token it prints each new event to Stdout as it is stored.
func (m *Main) Run(ctx context.Context) error {
	if len(m.Config.Servers) == 0 {
		fmt.Fprintln(m.Stdout, "No [[servers]] in the config: add one with its guild_id, id and killfeed_dir.")
		return nil
	}
	// Everything that can fail is made before anything starts.
	var demos []*demo
	for i := range m.Config.Servers {
		if s := &m.Config.Servers[i]; s.Demo {
			d, err := newDemo(s, time.Now())
			if err != nil {
				return fmt.Errorf("server %s: demo: %w", scope(s), err)
			}
			demos = append(demos, d)
		}
	}
	var b *bot.Bot
	if m.Config.Discord.Token != "" {
		if days := m.Config.CommandLog.KeepDays; days > 0 && m.commandLog == nil {
			m.commandLog = cmdlog.New(m.DB, cmdlog.Options{Keep: time.Duration(days) * 24 * time.Hour, Log: m.Log})
		}
		var err error
		if b, err = m.newBot(); err != nil {
			return err
		}
	}
	var ln net.Listener
	if addr := m.Config.HTTP.Addr; addr != "" {
		var err error
		if ln, err = net.Listen("tcp", addr); err != nil {
			return fmt.Errorf("http.addr: %w (is another program using the port? choose another one in [http] addr)", err)
		}
		m.Log.Info("serving /metrics and /healthz", "addr", "http://"+ln.Addr().String())
	}
	// The command log outlives the bot: it writes what the bot's last
	// answers added.
	stopLog := func() {}
	if l := m.commandLog; l != nil {
		lctx, stop := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- l.Run(lctx) }()
		stopLog = func() {
			stop()
			if err := <-done; err != nil {
				m.Log.Error("command log", "err", err)
			}
		}
	}

	g, ctx := errgroup.WithContext(ctx)
	if ln != nil {
		g.Go(func() error { return m.serveHTTP(ctx, ln) })
	}
	g.Go(func() error {
		t := time.NewTicker(statusEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				m.printf("%s\n", statusLine(m.health()))
			}
		}
	})
	for _, d := range demos {
		g.Go(func() error { return d.Run(ctx) })
	}
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		srcs, shared := m.sources(s)
		if shared != nil {
			defer shared.Close()
		}
		for _, src := range srcs {
			src.CaughtUp = func(res ingest.Result) { m.caughtUp(s, src, res) }
			g.Go(func() error { return src.Run(ctx) })
		}
		m.setSources(scope(s), srcs)
	}
	if b == nil {
		m.console.Store(true)
		fmt.Fprintf(m.Stdout, "No Discord token set ([discord] token): running offline, printing each new event here. Ctrl-C stops.\n")
	} else {
		m.bot.Store(b)
		g.Go(func() error { return b.Run(ctx) })
		fmt.Fprintf(m.Stdout, "Connecting to Discord at %s. Ctrl-C stops.\n", m.Config.Discord.APIURL)
	}
	err := g.Wait()
	m.console.Store(false)
	stopLog()
	if err == nil {
		m.printf("%s\nStopped.\n", statusLine(m.health()))
	}
	m.bot.Store(nil)
	return err
}

// newBot returns the Discord bot for the configured servers.
func (m *Main) newBot() (*bot.Bot, error) {
	d := m.Config.Discord
	cfg := bot.Config{Token: d.Token, APIURL: d.APIURL, LinkVerification: d.LinkVerification, OutboxKeep: d.OutboxKeep, Version: version(),
		Timing: m.timing, CommandLog: m.commandLog}
	for _, g := range d.CommandGuilds {
		cfg.CommandGuilds = append(cfg.CommandGuilds, string(g))
	}
	var servers []*bot.Server
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		srv := &bot.Server{Scope: scope(s), Name: s.Name, Index: m.Indexes[scope(s)], Posts: s.Posts,
			Status: func() embed.Source { return m.sourceState(s) }}
		if s.ServerLog != "" {
			srv.Sessions = m.Sessions[scope(s)]
		}
		servers = append(servers, srv)
	}
	return bot.New(cfg, m.DB, servers, m.Log)
}

// sourceState sums up a server's log sources for /status.
func (m *Main) sourceState(s *config.Server) embed.Source {
	m.srcMu.Lock()
	srcs := m.srcs[scope(s)]
	m.srcMu.Unlock()
	st := embed.Source{Server: s.Name, Connected: len(srcs) > 0}
	for _, src := range srcs {
		x := src.Status()
		st.Connected = st.Connected && x.Connected
		if x.LastLine.After(st.LastLine) {
			st.LastLine = x.LastLine
		}
		// What a line written now waits at most before it is read.
		if !x.LastRead.IsZero() {
			st.Lag = max(st.Lag, time.Since(x.LastRead))
		}
		if x.LastError != "" {
			// The error may name hosts and users: the log has it whole.
			st.Err = "cannot read the logs since " + x.LastErrorAt.UTC().Format(time.DateTime) + " UTC (the bot's log says why)"
		}
	}
	if c := m.counts[scope(s)]; c != nil {
		st.Lines, st.Skipped = c.lines.Load(), c.skipped.Load()
	}
	return st
}

// lineCounts are a server's lines stored and skipped, killfeed and server
// log together.
type lineCounts struct{ lines, skipped atomic.Int64 }

// version is the module version the binary was built from.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v := bi.Main.Version
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" && len(kv.Value) >= 12 {
				v += " " + kv.Value[:12]
			}
		}
		return v
	}
	return "dev"
}

// caughtUp reports a source's first read.
func (m *Main) caughtUp(s *config.Server, src *source.Source, res ingest.Result) {
	what := "killfeed"
	if src.Ingest.ServerLog {
		what = "server log"
	}
	m.printf("%s: %s %s caught up: %s\n", s.Name, what, src.Path, res)
}

// RunOnce reads each configured server's logs up to their end and prints
// what it stored and the server's totals.
func (m *Main) RunOnce(ctx context.Context) error {
	if len(m.Config.Servers) == 0 {
		fmt.Fprintln(m.Stdout, "No [[servers]] in the config: add one with its guild_id, id and killfeed_dir.")
		return nil
	}
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		srcs, shared := m.sources(s)
		var total ingest.Result
		for _, src := range srcs {
			res, err := src.ReadOnce(ctx)
			if err != nil {
				if shared != nil {
					shared.Close()
				}
				return fmt.Errorf("server %s: %s: %w", scope(s), src.Ingest.Name, err)
			}
			if !src.Ingest.ServerLog {
				total = res
			}
		}
		if shared != nil {
			shared.Close()
		}
		x := m.Indexes[scope(s)]
		sum := x.Summary()
		fmt.Fprintf(m.Stdout, "%s (guild %s, server %s) from %s\n", s.Name, s.GuildID, s.ID, s.KillfeedDir)
		fmt.Fprintf(m.Stdout, "  read now:  %s\n", total)
		fmt.Fprintf(m.Stdout, "  stored:    %d events: %d kills (%d roadkills), %d suicides, %d relocations, %d unattributed; %d players\n",
			sum.Events, sum.Kills, sum.Roadkills, sum.Suicides, sum.Relocations, sum.Unattributed, sum.Players)
		top := x.Leaderboard(stats.Kills, stats.AllTime, time.Now(), 3)
		if len(top) > 0 {
			var parts []string
			for _, e := range top {
				parts = append(parts, fmt.Sprintf("%d. %s %.0f", e.Rank, e.Name, e.Value))
			}
			fmt.Fprintf(m.Stdout, "  top kills: %s\n", strings.Join(parts, "  "))
		}
		if s.ServerLog != "" {
			ss := m.Sessions[scope(s)]
			online, queued := ss.Count()
			c, err := m.DB.Counts(scope(s))
			if err != nil {
				return err
			}
			fmt.Fprintf(m.Stdout, "  server log: %d events (%d malformed lines); %d online, %d in the queue", c.LogEvents, c.LogMalformed, online, queued)
			if start := ss.LastStart(); !start.IsZero() {
				fmt.Fprintf(m.Stdout, "; last start %s", start.In(s.Location).Format(time.DateTime))
			}
			fmt.Fprintln(m.Stdout)
		}
	}
	return nil
}
