package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"killfeed/cmdlog"
	"killfeed/internal/discordtest"
	"killfeed/storage"
)

// flakyStore is the database, with writes of the command log failing
// while broken is set.
type flakyStore struct {
	*storage.DB
	mu     sync.Mutex
	broken bool
	fails  int
}

func (s *flakyStore) AppendCommands(e []storage.CommandEntry) error {
	s.mu.Lock()
	if s.broken {
		s.fails++
		s.mu.Unlock()
		return errors.New("write commandlog: input/output error (injected)")
	}
	s.mu.Unlock()
	return s.DB.AppendCommands(e)
}

func (s *flakyStore) set(broken bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.broken = broken
}

// startMain opens and runs the bot of cfg in the background, logging to
// logs; the returned function stops it and waits.
func startMain(t *testing.T, cfg string, logs io.Writer, before func(*Main)) (*Main, *syncBuffer, func()) {
	t.Helper()
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMain(c)
	out := &syncBuffer{}
	m.Stdout, m.Log = out, slog.New(slog.NewTextHandler(logs, nil))
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(m)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(15 * time.Second):
				t.Error("the bot did not stop within 15s")
			}
			if err := m.Close(); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return m, out, stop
}

var servingAt = regexp.MustCompile(`serving /metrics and /healthz"? addr=(http://\S+)`)

// metricsURL waits for the bot to serve HTTP and returns its base URL.
func metricsURL(t *testing.T, logs *syncBuffer) string {
	t.Helper()
	waitFor(t, logs, "serving /metrics")
	return servingAt.FindStringSubmatch(logs.String())[1]
}

// scrape gets /metrics and parses it as Prometheus does.
func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not in the Prometheus text format: %v", err)
	}
	return families
}

// value returns the value of the metric of name whose labels include
// labels (name=value pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func healthz(t *testing.T, base string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// The command log, the flow timing and the metrics of a bot on Discord:
// commands are answered while the command log cannot write (the error is
// logged, the entries retried, the overflow dropped and counted), /metrics
// and /status show the same figures, /healthz follows the gateway, and
// after a stop every entry accepted is on disk, where `killfeed commands`
// finds it.
func TestCommandLogAndMetrics(t *testing.T) {
	fake := discordtest.New(t, discordtest.WithGuild(guildA, "Guild A", channelA))
	dir := t.TempDir()
	cfg := writeConfigWith(t, fmt.Sprintf("[discord]\ntoken = \"test-token\"\napi_url = %q\n[http]\naddr = \"127.0.0.1:0\"\n", fake.URL),
		testServer{guild: guildA, id: "main", dir: dir, extra: `poll_interval = "50ms"`})
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	appendFile(t, csv, kill("2025.05.01-00.01.00", "Alpha", "Bravo", 150)+"\n"+
		kill("2025.05.01-00.02.00", "Alpha", "Charlie", 250)+"\n"+"not a killfeed line\n")

	logs := &syncBuffer{}
	var store *flakyStore
	m, _, stop := startMain(t, cfg, logs, func(m *Main) {
		store = &flakyStore{DB: m.DB, broken: true}
		m.commandLog = cmdlog.New(store, cmdlog.Options{Queue: 2, Batch: 2, Log: m.Log})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitReady(ctx, 1); err != nil {
		t.Fatal(err)
	}
	base := metricsURL(t, logs)

	asked := 0
	ask := func(command string, opts ...*discordgo.ApplicationCommandInteractionDataOption) discordtest.Callback {
		t.Helper()
		asked++
		id := fake.Interact(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, UserID: userA, Command: command, Options: opts})
		cb, err := fake.WaitCallback(ctx, id)
		if err != nil {
			t.Fatalf("/%s: %v", command, err)
		}
		return cb
	}
	// Once the history is read, /stats answers; every answer counts.
	for ephemeral(ask("stats", discordtest.Opt("player", "alpha"))) {
		time.Sleep(20 * time.Millisecond)
	}
	for range 8 {
		if cb := ask("stats", discordtest.Opt("player", "alpha")); ephemeral(cb) || !strings.Contains(callbackText(t, cb), "Alpha") {
			t.Fatalf("/stats alpha while the command log fails: %s", cb.Raw)
		}
	}
	if cb := ask("leaderboard", discordtest.Opt("metric", "nonsense")); !ephemeral(cb) {
		t.Errorf("/leaderboard metric:nonsense: %s, want an ephemeral explanation", cb.Raw)
	}
	waitFor(t, logs, "injected")
	// A command is counted once its answer is sent; the fake has it a
	// moment before.
	settled := func() {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for f := m.commandLog.Figures(); int(f.Stored+f.Dropped+f.Queued) != asked; f = m.commandLog.Figures() {
			if time.Now().After(deadline) {
				t.Fatalf("command log %+v, want the %d commands asked", f, asked)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	settled()

	// A live kill: its batch is timed.
	appendFile(t, csv, kill("2025.05.01-00.03.00", "Bravo", "Alpha", 50)+"\n")
	deadline := time.Now().Add(20 * time.Second)
	for n, _ := value(scrape(t, base), "killfeed_ingest_lines_total"); n != 4; n, _ = value(scrape(t, base), "killfeed_ingest_lines_total") {
		if time.Now().After(deadline) {
			t.Fatalf("killfeed_ingest_lines_total = %v, want 4 once the live kill is read", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fams := scrape(t, base)
	stats, _ := value(fams, "killfeed_commands_total", "command", "stats", "outcome", "ok")
	if stats < 9 {
		t.Errorf("killfeed_commands_total{stats,ok} = %v, want at least 9", stats)
	}
	if n, _ := value(fams, "killfeed_commands_total", "command", "leaderboard", "outcome", "invalid"); n != 1 {
		t.Errorf("killfeed_commands_total{leaderboard,invalid} = %v, want 1", n)
	}
	// Collected after the counter: a command done in between counts.
	if n, _ := value(fams, "killfeed_command_duration_seconds", "command", "stats"); n < stats {
		t.Errorf("killfeed_command_duration_seconds{stats} counts %v, want at least %v", n, stats)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"killfeed_ingest_lines_total", []string{"guild", guildA, "server", "main"}, 4},
		{"killfeed_ingest_batch_duration_seconds", []string{"guild", guildA, "server", "main"}, 1},
		{"killfeed_ingest_malformed_total", []string{"guild", guildA, "server", "main"}, 1},
		{"killfeed_source_up", []string{"server", "main", "source", "killfeed"}, 1},
		{"killfeed_gateway_up", nil, 1},
		{"killfeed_outbox_depth", nil, 0},
		{"killfeed_poster_rate_limited_total", nil, 0},
	} {
		if got, ok := value(fams, c.name, c.labels...); !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	dropped, _ := value(fams, "killfeed_command_log_dropped_total")
	if fails, _ := value(fams, "killfeed_command_log_failures_total"); fails < 1 || dropped < 1 {
		t.Errorf("command log: %v failures, %v dropped; want both (the store fails, the queue holds 2)", fails, dropped)
	}
	for _, name := range []string{"killfeed_source_lag_seconds", "killfeed_flows_total", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := value(fams, name); !ok {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	if code, body := healthz(t, base); code != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q, want 200 ok", code, body)
	}

	// /status shows the same figures.
	text := callbackText(t, ask("status"))
	settled()
	if !strings.Contains(text, "This bot") || !strings.Contains(text, fmt.Sprintf("%d dropped", int(dropped))) || !strings.Contains(text, "Discord connected") {
		t.Errorf("/status: %q, want the bot's figures with %v dropped", text, dropped)
	}

	// The store heals: the entries held are written, once.
	store.set(false)
	deadline = time.Now().Add(40 * time.Second)
	for f := m.commandLog.Figures(); f.Queued > 0 || f.Failing; f = m.commandLog.Figures() {
		if time.Now().After(deadline) {
			t.Fatalf("the command log did not catch up: %+v", f)
		}
		time.Sleep(50 * time.Millisecond)
	}

	ask("stats", discordtest.Opt("player", "\x1b[2J\x1b[31mred")) // a terminal escape, stored
	settled()

	// While the bot holds the database, `killfeed commands` asks it.
	running := filepath.Join(t.TempDir(), "config.toml")
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text = strings.Replace(string(raw), `addr = "127.0.0.1:0"`, fmt.Sprintf("addr = %q", strings.TrimPrefix(base, "http://")), 1)
	if err := os.WriteFile(running, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := mustCLI(t, "commands", "-config", running, "-since", "1h"); !strings.Contains(out, "stats") || !strings.Contains(out, "p99") {
		t.Errorf("commands while the bot runs: %q, want the summary", out)
	}

	// Discord down: /healthz fails and says why.
	fake.SetDown(true)
	deadline = time.Now().Add(20 * time.Second)
	for {
		code, body := healthz(t, base)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "gateway not connected") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz with Discord down = %d %q, want 503 naming the gateway", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	fake.SetDown(false)

	stop()
	f := m.commandLog.Figures()
	if int(f.Stored+f.Dropped) != asked {
		t.Errorf("%d stored + %d dropped, want the %d commands asked", f.Stored, f.Dropped, asked)
	}
	// Every entry accepted is on disk, once; the CLI sums them up.
	out := mustCLI(t, "commands", "-config", cfg, "-json")
	var sum struct {
		Calls    int `json:"calls"`
		Invalid  int `json:"invalid"`
		Commands []struct {
			Name  string  `json:"name"`
			Calls int     `json:"calls"`
			P99   float64 `json:"p99_ms"`
		} `json:"commands"`
		Guilds []struct {
			Name  string `json:"name"`
			Calls int    `json:"calls"`
		} `json:"guilds"`
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("commands -json: %v\n%s", err, out)
	}
	if sum.Calls != int(f.Stored) || len(sum.Guilds) != 1 || sum.Guilds[0].Name != guildA || sum.Guilds[0].Calls != sum.Calls {
		t.Errorf("commands -json: %d calls in %+v, want the %d stored, all in guild A", sum.Calls, sum.Guilds, f.Stored)
	}
	if len(sum.Commands) == 0 || sum.Commands[0].Name != "stats" || sum.Commands[0].P99 <= 0 {
		t.Errorf("commands -json: %+v, want stats first with its p99", sum.Commands)
	}
	text = mustCLI(t, "commands", "-config", cfg, "-since", "1h")

	for _, want := range []string{"stats", guildA, "p99"} {
		if !strings.Contains(text, want) {
			t.Errorf("commands: %q lacks %q", text, want)
		}
	}
	list := mustCLI(t, "commands", "-config", cfg, "-list")
	if strings.Contains(list, "\x1b") || !strings.Contains(list, "[2J [31mred") {
		t.Errorf("commands -list prints a terminal escape a member typed:\n%q", list)
	}
	if n := strings.Count(list, "/stats player=alpha"); n < 1 || strings.Count(list, "\n") != int(f.Stored) {
		t.Errorf("commands -list: %d lines, %d of /stats; want %d lines:\n%s", strings.Count(list, "\n"), n, f.Stored, list)
	}
}

// Offline, /metrics has the sources' figures and /healthz fails when a
// source has not read for stale_after: here its folder is gone.
func TestHealthzStale(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	appendFile(t, csv, kill("2025.05.01-00.01.00", "Alpha", "Bravo", 150)+"\n")
	cfg := writeConfigWith(t, "[http]\naddr = \"127.0.0.1:0\"\nstale_after = \"300ms\"\n",
		testServer{guild: guildA, id: "main", dir: dir, extra: `poll_interval = "50ms"`})
	logs := &syncBuffer{}
	_, out, stop := startMain(t, cfg, logs, nil)
	base := metricsURL(t, logs)
	waitFor(t, out, "caught up")
	if n, ok := value(scrape(t, base), "killfeed_ingest_lines_total", "server", "main"); n != 1 || !ok {
		t.Errorf("killfeed_ingest_lines_total = %v, want 1", n)
	}
	if code, body := healthz(t, base); code != http.StatusOK {
		t.Errorf("/healthz while reading = %d %q, want 200", code, body)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := healthz(t, base)
		if code == http.StatusServiceUnavailable && strings.Contains(body, "server "+guildA+"/main: killfeed not read for") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz = %d %q, want 503 naming the stale killfeed", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if s := out.String(); !strings.Contains(s, "status: 1 of 1 servers reading") {
		t.Errorf("no status line at the stop:\n%s", s)
	}
}

// A [timing] limit for a command that does not exist stops start-up with
// the key and the commands there are.
func TestSlowStepsNames(t *testing.T) {
	cfg := writeConfigWith(t, "[timing]\nslow_steps = { leaderbord = \"1s\", \"admin link\" = \"2s\", post = \"3s\" }\n", testServer{guild: guildA, id: "main"})
	_, err := cli(t, "run", "-config", cfg, "-once")
	if err == nil || !strings.Contains(err.Error(), "timing.slow_steps.leaderbord is not a command") || !strings.Contains(err.Error(), "leaderboard, ") {
		t.Errorf("run with slow_steps.leaderbord: %v, want the key named and the commands listed", err)
	}
}
