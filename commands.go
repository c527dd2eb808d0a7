package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"killfeed/bot"
	"killfeed/cmdlog"
	"killfeed/config"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/tail"
)

// commonFlags are the flags every command has.
type commonFlags struct {
	config, guild, server string
}

func newFlagSet(name, usage string, c *commonFlags, withServer bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: killfeed %s\n\nFlags:\n", usage)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.config, "config", "config.toml", "configuration `file`")
	if withServer {
		fs.StringVar(&c.guild, "guild", "", "Discord guild `id` of the server (its [[servers]] guild_id)")
		fs.StringVar(&c.server, "server", "", "server `id` (its [[servers]] id)")
	}
	return fs
}

func loadConfig(path string) (config.Config, error) {
	cfg, err := config.Load(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, fmt.Errorf("%w (pass -config, or copy config.toml from the project and edit it)", err)
	}
	if err != nil {
		return cfg, err
	}
	// The names of [timing] slow_steps are the bot's commands.
	names := bot.CommandNames()
	for k := range cfg.Timing.SlowSteps {
		if k != "ingest" && k != "post" && !slices.Contains(names, k) && !slices.Contains(names, strings.TrimSuffix(k, " autocomplete")) {
			return cfg, fmt.Errorf("load config %q: config: timing.slow_steps.%s is not a command: use a command's name (%s), \"ingest\" or \"post\"", path, k, strings.Join(names, ", "))
		}
	}
	return cfg, nil
}

// runBot runs the bot: every configured server's logs, live, until ctx is
// done; with -once it reads what is there and stops.
func runBot(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("run", "run [-config config.toml] [-once]", &c, false)
	once := fs.Bool("once", false, "read what the logs hold now, print a summary and stop")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	m := NewMain(cfg)
	m.Stdout = stdout
	if err := m.Open(); err != nil {
		return err
	}
	defer m.Close()
	if *once {
		return m.RunOnce(ctx)
	}
	return m.Run(ctx)
}

// runImport backfills files in the order given.
func runImport(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("import", "import [-config F] -guild G -server S FILE...", &c, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("import: name at least one killfeed CSV file")
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	m := NewMain(cfg)
	m.Stdout = stdout
	s, err := m.server(c.guild, c.server)
	if err != nil {
		return err
	}
	if err := m.Open(); err != nil {
		return err
	}
	defer m.Close()
	for _, file := range fs.Args() {
		path, err := filepath.Abs(file)
		if err != nil {
			return err
		}
		bar := newProgress(os.Stderr, path)
		res, err := m.Import(ctx, s, path, bar.update)
		bar.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "%s: %s\n", file, res)
	}
	return m.Close()
}

// progress draws a progress bar on a terminal, and nothing elsewhere.
type progress struct {
	w    io.Writer
	name string
	size int64
	last time.Time
}

func newProgress(w *os.File, path string) *progress {
	st, err := w.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	p := &progress{w: w, name: filepath.Base(path)}
	if fi, err := os.Stat(path); err == nil {
		p.size = fi.Size()
	}
	return p
}

func (p *progress) update(c tail.Cursor) {
	if p.w == nil || p.size == 0 || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	frac := min(float64(c.Offset)/float64(p.size), 1)
	const width = 30
	fill := int(frac * width)
	fmt.Fprintf(p.w, "\r%s [%s%s] %3.0f%% %d lines", p.name, strings.Repeat("#", fill), strings.Repeat(".", width-fill), frac*100, c.Line)
}

func (p *progress) done() {
	if p.w != nil && !p.last.IsZero() {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// queryFlags are the flags of stats and leaderboard.
type queryFlags struct {
	commonFlags
	period, at string
	json       bool
}

func (q *queryFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&q.period, "period", "all", "all, season (since the last /wipe), day, week or month (calendar, in the server's time zone)")
	fs.StringVar(&q.at, "at", "", "a time in the period, RFC 3339 (default now)")
	fs.BoolVar(&q.json, "json", false, "print JSON")
}

// openQuery opens the database read-only and loads the index of the server
// the flags name.
func openQuery(q *queryFlags) (idx *stats.Index, period stats.Period, at time.Time, err error) {
	if period, err = stats.ParsePeriod(q.period); err != nil {
		return nil, "", at, fmt.Errorf("-period: %w", err)
	}
	at = time.Now()
	if q.at != "" {
		if at, err = time.Parse(time.RFC3339, q.at); err != nil {
			return nil, "", at, fmt.Errorf("-at %q is not an RFC 3339 time like 2025-05-01T18:00:00Z", q.at)
		}
	}
	cfg, err := loadConfig(q.config)
	if err != nil {
		return nil, "", at, err
	}
	s, err := NewMain(cfg).server(q.guild, q.server)
	if err != nil {
		return nil, "", at, err
	}
	if _, err := os.Stat(cfg.Storage.Path); errors.Is(err, os.ErrNotExist) {
		return nil, "", at, fmt.Errorf("no database at %s yet: run \"killfeed run\" or \"killfeed import\" first", cfg.Storage.Path)
	}
	db, err := storage.Open(cfg.Storage.Path, storage.Options{ReadOnly: true, MaxSize: maxMapSize})
	if err != nil {
		return nil, "", at, err
	}
	defer db.Close()
	idx, err = loadIndex(db, s)
	return idx, period, at, err
}

func runStats(_ context.Context, args []string, stdout io.Writer) error {
	var q queryFlags
	fs := newFlagSet("stats", "stats [-config F] -guild G -server S [-period P] [-at T] [-json] PLAYER", &q.commonFlags, true)
	q.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("stats: name one player, by name (any case) or EOS id; quote names with spaces")
	}
	idx, period, at, err := openQuery(&q)
	if err != nil {
		return err
	}
	st, err := idx.Stats(fs.Arg(0), period, at)
	if errors.Is(err, stats.ErrNoPlayer) {
		hint := ""
		if ms := idx.Search(fs.Arg(0), 5); len(ms) > 0 {
			var names []string
			for _, m := range ms {
				names = append(names, fmt.Sprintf("%q", m.Name))
			}
			hint = "; did you mean " + strings.Join(names, ", ") + "?"
		}
		return fmt.Errorf("no player named %q on this server%s", fs.Arg(0), hint)
	}
	if err != nil {
		return err
	}
	if q.json {
		return printJSON(stdout, st)
	}
	printStats(stdout, st, period, at)
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func periodLabel(p stats.Period, at time.Time, loc *time.Location) string {
	if p == stats.AllTime {
		return "all time"
	}
	start, end := p.Range(at, loc)
	return fmt.Sprintf("%s %s to %s", p, time.Unix(start, 0).In(loc).Format("2006-01-02"), time.Unix(end-1, 0).In(loc).Format("2006-01-02"))
}

func printStats(w io.Writer, s stats.Stats, p stats.Period, at time.Time) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rival := func(r *stats.Rival) string {
		if r == nil {
			return "-"
		}
		return fmt.Sprintf("%s (%d)", r.Name, r.Count)
	}
	weapon := s.FavouriteWeapon
	if weapon == "" {
		weapon = "-"
	}
	fmt.Fprintf(tw, "%s\t%s, %s\n", s.Name, s.ID, periodLabel(p, at, s.LastSeen.Location()))
	fmt.Fprintf(tw, "kills\t%d\tdeaths\t%d\tKDR\t%.2f\n", s.Kills, s.Deaths, s.KDR)
	fmt.Fprintf(tw, "suicides\t%d\trelocations\t%d\tenvironment deaths\t%d\n", s.Suicides, s.Relocations, s.EnvironmentDeaths)
	fmt.Fprintf(tw, "longest kill\t%d m\tbest streak\t%d\tcurrent streak\t%d\n", s.LongestKill, s.BestStreak, s.CurrentStreak)
	fmt.Fprintf(tw, "favourite weapon\t%s\tnemesis\t%s\tprey\t%s\n", weapon, rival(s.Nemesis), rival(s.Prey))
	platform := s.Platform
	if platform == "" {
		platform = "-"
	}
	fmt.Fprintf(tw, "last seen\t%s\tplatform\t%s\n", s.LastSeen.Format("2006-01-02 15:04 MST"), platform)
	tw.Flush()
}

func runLeaderboard(_ context.Context, args []string, stdout io.Writer) error {
	var q queryFlags
	var metric string
	var limit int
	fs := newFlagSet("leaderboard", "leaderboard [-config F] -guild G -server S [-metric M] [-period P] [-at T] [-limit N] [-json]", &q.commonFlags, true)
	q.register(fs)
	fs.StringVar(&metric, "metric", "kills", "kills, deaths, kdr, longest_kill, best_streak or suicides")
	fs.IntVar(&limit, "limit", 10, "number of players, 1 to 1000")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("leaderboard: unexpected argument %q", fs.Arg(0))
	}
	m, err := stats.ParseMetric(metric)
	if err != nil {
		return fmt.Errorf("-metric: %w", err)
	}
	if limit < 1 || limit > 1000 {
		return fmt.Errorf("-limit %d: use a number from 1 to 1000", limit)
	}
	idx, period, at, err := openQuery(&q)
	if err != nil {
		return err
	}
	board := idx.Leaderboard(m, period, at, limit)
	if q.json {
		if board == nil {
			board = []stats.Entry{}
		}
		return printJSON(stdout, board)
	}
	fmt.Fprintf(stdout, "%s, %s\n", m, periodLabel(period, at, idx.Location()))
	if len(board) == 0 {
		fmt.Fprintln(stdout, "no players yet")
		return nil
	}
	for _, e := range board {
		v := fmt.Sprintf("%.0f", e.Value)
		if m == stats.KDR {
			v = fmt.Sprintf("%.2f", e.Value)
		}
		fmt.Fprintf(stdout, "%4d. %8s  %s\n", e.Rank, v, e.Name)
	}
	return nil
}

// runCommands lists or sums up the command log. While the bot runs it
// holds the database: the command log is then asked of the bot, at its
// [http] addr.
func runCommands(ctx context.Context, args []string, stdout io.Writer) error {
	var c commonFlags
	fs := newFlagSet("commands", "commands [-config F] [-since 24h] [-list] [-json]", &c, false)
	since := fs.Duration("since", 24*time.Hour, "how far back, like 1h, 24h or 720h (30 days)")
	list := fs.Bool("list", false, "list each command instead of the summary")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("commands: unexpected argument %q", fs.Arg(0))
	}
	if *since <= 0 {
		return fmt.Errorf("-since %s: use a positive duration like 24h", *since)
	}
	cfg, err := loadConfig(c.config)
	if err != nil {
		return err
	}
	if _, err := os.Stat(cfg.Storage.Path); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("no database at %s yet: run \"killfeed run\" first", cfg.Storage.Path)
	}
	db, err := storage.Open(cfg.Storage.Path, storage.Options{ReadOnly: true, MaxSize: maxMapSize})
	if errors.Is(err, storage.ErrLocked) {
		if cfg.HTTP.Addr == "" {
			return errors.New("the bot is running and holds the database: stop it, or set [http] addr so that this command can ask the bot")
		}
		return askCommands(ctx, cfg.HTTP.Addr, *since, *list, *asJSON, stdout)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	return writeCommands(stdout, db, time.Now().Add(-*since), *list, *asJSON)
}

// askCommands gets the command log from the running bot at addr.
func askCommands(ctx context.Context, addr string, since time.Duration, list, asJSON bool, stdout io.Writer) error {
	if host, port, err := net.SplitHostPort(addr); err == nil && (host == "0.0.0.0" || host == "::") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	q := url.Values{"since": {since.String()}}
	if list {
		q.Set("list", "1")
	}
	if asJSON {
		q.Set("format", "json")
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/commands?"+q.Encode(), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("the bot holds the database, and cannot be asked at [http] addr %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the bot at %s answered %s: %s", addr, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = io.Copy(stdout, resp.Body)
	return err
}

// writeCommands writes the command log since from to w: a summary, or each
// command (a line each, or a JSON object a line).
func writeCommands(w io.Writer, db *storage.DB, from time.Time, list, asJSON bool) error {
	bw := bufio.NewWriter(w)
	if !list {
		sum := cmdlog.NewBuilder(from)
		if err := db.Commands(from, func(e storage.CommandEntry) error {
			sum.Add(e)
			return nil
		}); err != nil {
			return err
		}
		write := sum.Summary().WriteText
		if asJSON {
			write = sum.Summary().WriteJSON
		}
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	enc := json.NewEncoder(bw)
	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	n := 0
	err := db.Commands(from, func(e storage.CommandEntry) error {
		n++
		if asJSON {
			return enc.Encode(e)
		}
		cmd := "/" + e.Command
		if e.Options != "" {
			cmd += " " + e.Options
		}
		// What members typed is shown, never run by the terminal.
		_, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s (%s)\t%s\t%s\t%s\n", e.Time.UTC().Format(time.DateTime), e.Guild, e.Channel,
			clean(e.UserName), e.UserID, clean(cmd), e.Outcome, e.Handler.Round(time.Microsecond))
		return err
	})
	if err != nil {
		return err
	}
	if !asJSON {
		if n == 0 {
			fmt.Fprintf(tw, "No commands since %s UTC.\n", from.UTC().Format(time.DateTime))
		}
		tw.Flush()
	}
	return bw.Flush()
}
