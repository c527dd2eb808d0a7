package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"killfeed/config"
	"killfeed/internal/fakelog"
)

// benchLines is the size of the generated log the benchmarks import:
// KILLFEED_BENCH_LINES overrides the default of 1,000,000.
func benchLines() int {
	if n, err := strconv.Atoi(os.Getenv("KILLFEED_BENCH_LINES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var (
	benchLogOnce sync.Once
	benchLog     string
)

// benchLogFile writes the generated log once per test binary: 100,000
// players, about 60 days.
func benchLogFile(b *testing.B) string {
	benchLogOnce.Do(func() {
		dir, err := os.MkdirTemp("", "killfeed-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchLog = filepath.Join(dir, "2025.05.01-00.00.00.csv")
		f, err := os.Create(benchLog)
		if err != nil {
			b.Fatal(err)
		}
		g := fakelog.New(1, 100_000, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC))
		g.Step = 3 * time.Second
		if err := g.Write(f, benchLines()); err != nil {
			b.Fatal(err)
		}
		f.Close()
	})
	return benchLog
}

func benchConfig(b *testing.B) config.Config {
	cfg := config.DefaultConfig()
	cfg.Storage.Path = filepath.Join(b.TempDir(), "killfeed.db")
	cfg.Servers = []config.Server{{GuildID: guildA, ID: "main", Name: "main", KillfeedDir: b.TempDir(), Timezone: "UTC", Location: time.UTC}}
	return cfg
}

func quietMain(cfg config.Config) *Main {
	m := NewMain(cfg)
	m.Log = slog.New(slog.DiscardHandler)
	return m
}

// BenchmarkImport imports the generated log into a new database, durably
// (one fsync per transaction), the way "killfeed import" does.
func BenchmarkImport(b *testing.B) {
	path := benchLogFile(b)
	n := benchLines()
	for b.Loop() {
		b.StopTimer()
		cfg := benchConfig(b)
		m := quietMain(cfg)
		if err := m.Open(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := m.Import(context.Background(), &m.Config.Servers[0], path, nil)
		if err != nil {
			b.Fatal(err)
		}
		if res.Added != n {
			b.Fatalf("imported %d events, want %d", res.Added, n)
		}
		b.StopTimer()
		m.Close()
		b.StartTimer()
	}
	perRun := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(n)/perRun, "lines/s")
	b.ReportMetric(perRun*1e6/float64(n), "s/1M-lines")
}

// BenchmarkStartup opens a database holding the generated log and builds
// the indexes, as the bot does at start, and reports the memory it then
// holds. The database is written by a child process so that this one's
// memory is the start-up's alone.
func BenchmarkStartup(b *testing.B) {
	path := benchLogFile(b)
	cfg := benchConfig(b)
	cfgPath := filepath.Join(b.TempDir(), "config.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("[storage]\npath = %q\n[[servers]]\nguild_id = %q\nid = \"main\"\nkillfeed_dir = %q\n",
		cfg.Storage.Path, guildA, cfg.Servers[0].KillfeedDir)), 0o600)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KILLFEED_TEST_ARGS="+strings.Join([]string{"import", "-config", cfgPath, "-guild", guildA, "-server", "main", path}, "\n"))
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("import: %v\n%s", err, out)
	}

	for b.Loop() {
		m := quietMain(cfg)
		if err := m.Open(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sum := m.Indexes[scope(&m.Config.Servers[0])].Summary()
		if sum.Events != benchLines() {
			b.Fatalf("index holds %d events, want %d", sum.Events, benchLines())
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heap-MB")
		b.ReportMetric(float64(procStatus("VmRSS"))/1024, "RSS-MB")
		b.ReportMetric(float64(procStatus("VmHWM"))/1024, "peak-RSS-MB")
		b.ReportMetric(float64(sum.Players), "players")
		m.Close()
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/start")
}

// procStatus returns a field of /proc/self/status in KiB, 0 if unknown.
func procStatus(field string) int {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}
