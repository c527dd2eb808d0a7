package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"killfeed/embed"
	"killfeed/ingest"
	"killfeed/storage"
	"killfeed/timing"
)

// What the running bot shows of itself: the same figures in /status, on
// the console, at /metrics (Prometheus) and, summed up, at /healthz.

// health returns the state of the configured servers and of the bot.
func (m *Main) health() embed.Health {
	h := embed.Health{Version: version(), Uptime: time.Since(m.started), At: time.Now()}
	for i := range m.Config.Servers {
		h.Sources = append(h.Sources, m.sourceState(&m.Config.Servers[i]))
	}
	if b := m.bot.Load(); b != nil {
		f := b.Figures()
		h.Bot = &f
	}
	return h
}

// statusLine sums up h in one line for the console.
func statusLine(h embed.Health) string {
	var lines, skipped int64
	var lag time.Duration
	reading := 0
	for _, s := range h.Sources {
		lines, skipped, lag = lines+s.Lines, skipped+s.Skipped, max(lag, s.Lag)
		if s.Connected {
			reading++
		}
	}
	out := fmt.Sprintf("status: %d of %d servers reading, lag %s; %d lines stored, %d skipped",
		reading, len(h.Sources), lag.Round(time.Millisecond), lines, skipped)
	if f := h.Bot; f != nil {
		state := "connected"
		if !f.Online {
			state = "not connected"
		}
		c := f.Commands
		out += fmt.Sprintf("; Discord %s; commands %d (FAST %d, OK %d, SLOW %d, CRITICAL %d; %d failed); killfeed %d sent, %d waiting, %d rate limits; command log %d stored, %d dropped",
			state, c[0]+c[1]+c[2]+c[3], c[0], c[1], c[2], c[3], f.Failed, f.Sent, f.Waiting, f.RateLimited, f.Logged, f.LogDropped)
		if f.LogFailing {
			out += " (cannot write now)"
		}
	}
	return out
}

// unhealthy returns what makes the bot unhealthy, nothing when it is well:
// a source that has not read for [http] stale_after, or the gateway down
// while the bot has a token.
func (m *Main) unhealthy() []string {
	var why []string
	stale := m.Config.HTTP.StaleAfter
	now := time.Now()
	m.srcMu.Lock()
	defer m.srcMu.Unlock()
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		srcs := m.srcs[scope(s)]
		if len(srcs) == 0 {
			why = append(why, fmt.Sprintf("server %s: its logs are not followed yet", scope(s)))
		}
		for _, src := range srcs {
			st := src.Status()
			switch {
			case st.LastRead.IsZero():
				why = append(why, fmt.Sprintf("server %s: %s not read yet", scope(s), src.Ingest.Name))
			case now.Sub(st.LastRead) > stale:
				why = append(why, fmt.Sprintf("server %s: %s not read for %s (stale_after %s)", scope(s), src.Ingest.Name, now.Sub(st.LastRead).Round(time.Second), stale))
			}
		}
	}
	if m.Config.Discord.Token != "" {
		b := m.bot.Load()
		if b == nil {
			why = append(why, "Discord: the bot is not running")
		} else if online, at := b.Online(); !online {
			since := "never connected"
			if !at.IsZero() {
				since = "since " + at.UTC().Format(time.RFC3339)
			}
			why = append(why, "Discord: gateway not connected, "+since)
		}
	}
	return why
}

// handler serves /metrics and /healthz.
func (m *Main) handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.timing,
		collector{m},
	)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// The command log, for `killfeed commands` while the bot holds the
	// database: ?since=24h&list=1&format=json.
	mux.HandleFunc("GET /commands", func(w http.ResponseWriter, r *http.Request) {
		since := 24 * time.Hour
		if v := r.FormValue("since"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				http.Error(w, fmt.Sprintf("since=%q: use a positive duration like 24h", v), http.StatusBadRequest)
				return
			}
			since = d
		}
		asJSON := r.FormValue("format") == "json"
		if asJSON {
			w.Header().Set("Content-Type", "application/json")
		} else {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		}
		if err := writeCommands(w, m.DB, time.Now().Add(-since), r.FormValue("list") != "", asJSON); err != nil {
			m.Log.Error("GET /commands", "err", err)
		}
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if why := m.unhealthy(); len(why) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(why, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// serveHTTP serves /metrics and /healthz on ln until ctx is done.
func (m *Main) serveHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: m.handler(), ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("http.addr %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// collector gives Prometheus the figures of health.
type collector struct{ m *Main }

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	descLines     = desc("killfeed_ingest_lines_total", "Log lines read and stored, killfeed and server log, by server.", "guild", "server")
	descMalformed = desc("killfeed_ingest_malformed_total", "Malformed log lines counted and skipped, by server.", "guild", "server")
	descUp        = desc("killfeed_source_up", "1 when a log source can be read, by server and source (killfeed, log).", "guild", "server", "source")
	descLag       = desc("killfeed_source_lag_seconds", "Time since a log source's last successful read, by server and source.", "guild", "server", "source")
	descOnline    = desc("killfeed_players_online", "Players online, from the server log, by server.", "guild", "server")
	descQueue     = desc("killfeed_players_queued", "Players in the server's join queue, from the server log, by server.", "guild", "server")
	descOutbox    = desc("killfeed_outbox_depth", "Killfeed posts waiting for Discord.")
	descGateway   = desc("killfeed_gateway_up", "1 when the bot is connected to Discord's gateway.")
	descSent      = desc("killfeed_poster_messages_total", "Killfeed messages Discord accepted.")
	desc429       = desc("killfeed_poster_rate_limited_total", "Killfeed sends Discord answered with 429 Too Many Requests.")
	descStored    = desc("killfeed_command_log_stored_total", "Commands written to the command log.")
	descDropped   = desc("killfeed_command_log_dropped_total", "Commands the command log dropped: its queue was full.")
	descQueued    = desc("killfeed_command_log_queued", "Commands waiting to be written to the command log.")
	descFailures  = desc("killfeed_command_log_failures_total", "Failed writes of the command log (retried).")
)

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLines, descMalformed, descUp, descLag, descOnline, descQueue, descOutbox, descGateway, descSent, desc429, descStored, descDropped, descQueued, descFailures} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	m := c.m
	now := time.Now()
	for i := range m.Config.Servers {
		s := &m.Config.Servers[i]
		sc := scope(s)
		if n := m.counts[sc]; n != nil {
			ch <- prometheus.MustNewConstMetric(descLines, prometheus.CounterValue, float64(n.lines.Load()), sc.Guild, sc.Server)
			ch <- prometheus.MustNewConstMetric(descMalformed, prometheus.CounterValue, float64(n.skipped.Load()), sc.Guild, sc.Server)
		}
		if ss := m.Sessions[sc]; ss != nil && s.ServerLog != "" {
			online, queued := ss.Count()
			ch <- prometheus.MustNewConstMetric(descOnline, prometheus.GaugeValue, float64(online), sc.Guild, sc.Server)
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(queued), sc.Guild, sc.Server)
		}
		m.srcMu.Lock()
		srcs := m.srcs[sc]
		m.srcMu.Unlock()
		for _, src := range srcs {
			st := src.Status()
			name := "killfeed"
			if src.Ingest.Name == ingest.LogSource {
				name = "log"
			}
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, bool01(st.Connected), sc.Guild, sc.Server, name)
			if !st.LastRead.IsZero() {
				ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, now.Sub(st.LastRead).Seconds(), sc.Guild, sc.Server, name)
			}
		}
	}
	if b := m.bot.Load(); b != nil {
		f := b.Figures() // reads the outbox's depth
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(f.Waiting))
		ch <- prometheus.MustNewConstMetric(descGateway, prometheus.GaugeValue, bool01(f.Online))
		ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(f.Sent))
		ch <- prometheus.MustNewConstMetric(desc429, prometheus.CounterValue, float64(f.RateLimited))
	} else if n, err := m.DB.OutboxLen(); err == nil {
		ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n))
	}
	if l := m.commandLog; l != nil {
		f := l.Figures()
		ch <- prometheus.MustNewConstMetric(descStored, prometheus.CounterValue, float64(f.Stored))
		ch <- prometheus.MustNewConstMetric(descDropped, prometheus.CounterValue, float64(f.Dropped))
		ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(f.Queued))
		ch <- prometheus.MustNewConstMetric(descFailures, prometheus.CounterValue, float64(f.Failures))
	}
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// timeBatches times the flow of each committed batch of live lines:
// parsed, committed, indexed. History (a first start's catch-up, an
// import) is not timed: it is read as fast as the disk allows.
func (m *Main) timeBatches(batches []*storage.Batch) {
	now := time.Now()
	for _, b := range batches {
		if b.ReadAt.IsZero() || b.Backfill {
			continue
		}
		f := m.timing.Start(timing.Ingest, b.Scope.String(), b.ReadAt)
		f.Labels = []any{"source", b.Source, "lines", b.Lines}
		f.MarkAt("parsed", b.ParsedAt)
		f.MarkAt("committed", b.CommittedAt)
		f.MarkAt("indexed", now)
		f.Done("")
	}
}
