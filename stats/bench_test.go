package stats_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

// The benchmarks share one database, built once per test binary run:
// KILLFEED_BENCH_EVENTS events (default 1,000,000) among a tenth as many
// players (KILLFEED_BENCH_PLAYERS overrides), over 90 days, committed in
// batches of 10,000. It lives in a temporary folder that TestMain removes.
//
//	go test -run xxx -bench . -benchtime 20x ./stats/
//	KILLFEED_BENCH_EVENTS=100000 go test -run xxx -bench . ./stats/

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.db != nil {
		bench.db.Close()
	}
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

var bench struct {
	once   sync.Once
	err    error
	dir    string
	db     *storage.DB
	events int
	ids    []string
	names  []string // every player's latest name
	end    time.Time

	idxOnce sync.Once
	idx     *stats.Index
}

var benchScope = storage.Scope{Guild: "100000000000000001", Server: "bench"}

func benchSize() (events, players int) {
	events = 1_000_000
	if n, err := strconv.Atoi(os.Getenv("KILLFEED_BENCH_EVENTS")); err == nil && n > 0 {
		events = n
	}
	players = max(events/10, 2)
	if n, err := strconv.Atoi(os.Getenv("KILLFEED_BENCH_PLAYERS")); err == nil && n > 1 {
		players = n
	}
	return events, players
}

var benchWeapons = []string{"AK-mod", "M99", "MR5", "S85", "IZH-43", "UAG", "BB-19", "Berta M9", "Mosin",
	"Folding Knife", "VSD", "AR4-M", "Grom", "land_vehicle", "boat"}

// benchGen writes realistic killfeed lines, in time order: EOS ids of 32
// hex digits, names with spaces and Unicode and a few renames, 15 weapons,
// 55% kills with distances (roadkills at 1 m), 25% relocations, 10%
// suicides (falls and own weapons), 10% environment deaths. A twentieth of
// the players are in half of the fights.
type benchGen struct {
	r       *rand.Rand
	ids     []string
	names   []string
	plat    []string
	seen    []bool // players in a line so far
	start   time.Time
	span    time.Duration
	n, i    int
	renames int
}

func newBenchGen(seed uint64, events, players int, start time.Time, span time.Duration) *benchGen {
	g := &benchGen{r: rand.New(rand.NewPCG(seed, 0xbe4c4)), start: start, span: span, n: events}
	prefixes := []string{"", "OGz ", "xX_", "TTV-", "Жора ", "O'", "ÆØ"}
	platforms := []string{"PS5", "XSX", "PC"}
	for i := range players {
		g.ids = append(g.ids, fmt.Sprintf("0002%012x%016x", g.r.Uint64()>>16, g.r.Uint64()))
		g.names = append(g.names, fmt.Sprintf("%sPlayer%d", prefixes[i%len(prefixes)], i))
		g.plat = append(g.plat, platforms[g.r.IntN(len(platforms))])
	}
	g.seen = make([]bool, players)
	return g
}

func (g *benchGen) pick() int {
	if g.r.IntN(2) == 0 {
		return g.r.IntN(max(len(g.ids)/20, 1))
	}
	return g.r.IntN(len(g.ids))
}

func (g *benchGen) name(p int) string {
	g.seen[p] = true
	if g.r.IntN(2000) == 0 {
		g.renames++
		g.names[p] = fmt.Sprintf("%s~%d", strings.SplitN(g.names[p], "~", 2)[0], g.renames)
	}
	return g.names[p]
}

// line returns the next line.
func (g *benchGen) line() string {
	t := g.start.Add(time.Duration(int64(g.span) / int64(g.n) * int64(g.i)))
	g.i++
	v := g.pick()
	ts := t.Format(parser.TimeLayout)
	switch x := g.r.IntN(100); {
	case x < 55:
		k := g.pick()
		for k == v {
			k = g.pick()
		}
		w := benchWeapons[g.r.IntN(len(benchWeapons))]
		d := 1 + int(g.r.ExpFloat64()*60)
		if w == parser.WeaponCar || w == parser.WeaponBoat {
			d = 1
		}
		return fmt.Sprintf("%s;%s;%s;%s;%s;%s;%d;%s;%s;", ts, g.name(k), g.ids[k], g.name(v), g.ids[v], w, d, g.plat[k], g.plat[v])
	case x < 80:
		n := g.name(v)
		return fmt.Sprintf("%s;%s;%s;%s;%s;suicide_by_relocation;0;%s;%s;", ts, n, g.ids[v], n, g.ids[v], g.plat[v], g.plat[v])
	case x < 90:
		w := parser.WeaponFalling
		if g.r.IntN(3) == 0 {
			w = "Dynamite"
		}
		n := g.name(v)
		return fmt.Sprintf("%s;%s;%s;%s;%s;%s;0;%s;%s;", ts, n, g.ids[v], n, g.ids[v], w, g.plat[v], g.plat[v])
	default:
		return fmt.Sprintf("%s;;;%s;%s;;1;;%s;", ts, g.name(v), g.ids[v], g.plat[v])
	}
}

// benchDB builds the shared database, once.
func benchDB(tb testing.TB) {
	tb.Helper()
	bench.once.Do(func() {
		events, players := benchSize()
		start := time.Now()
		bench.dir, bench.err = os.MkdirTemp("", "killfeed-stats-bench")
		if bench.err != nil {
			return
		}
		bench.db, bench.err = storage.Open(filepath.Join(bench.dir, "killfeed.db"), storage.Options{})
		if bench.err != nil {
			return
		}
		g := newBenchGen(1, events, players, time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), 90*24*time.Hour)
		for done := 0; done < events; {
			b := &storage.Batch{Scope: benchScope}
			for ; done < events && len(b.Events) < 10_000; done++ {
				e, err := parser.ParseLine([]byte(g.line()), done+1, time.UTC)
				if err != nil {
					bench.err = err
					return
				}
				b.Events = append(b.Events, e)
				b.Lines++
				bench.end = e.Time
			}
			if bench.err = bench.db.Commit(b); bench.err != nil {
				return
			}
			bench.events += len(b.Added)
		}
		for i := range g.ids { // the players who took part
			if g.seen[i] {
				bench.ids = append(bench.ids, g.ids[i])
				bench.names = append(bench.names, g.names[i])
			}
		}
		fmt.Fprintf(os.Stderr, "stats bench: %d events among %d players committed in %v\n", bench.events, len(bench.ids), time.Since(start).Round(time.Millisecond))
	})
	if bench.err != nil {
		tb.Fatal(bench.err)
	}
}

// benchIndex is the shared database's index, loaded once.
func benchIndex(tb testing.TB) *stats.Index {
	tb.Helper()
	benchDB(tb)
	bench.idxOnce.Do(func() {
		bench.idx, bench.err = stats.Load(bench.db, benchScope, time.UTC)
	})
	if bench.err != nil {
		tb.Fatal(bench.err)
	}
	return bench.idx
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkLoad rebuilds the index from the database, as at start-up.
// heap-MB is the heap in use, after a GC, with the index loaded (the
// database's memory map is not heap); index-MB is what the index adds.
func BenchmarkLoad(b *testing.B) {
	benchDB(b)
	base := heapInUse()
	var x *stats.Index
	for b.Loop() {
		x = nil
		var err error
		if x, err = stats.Load(bench.db, benchScope, time.UTC); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bench.events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	inUse := heapInUse()
	b.ReportMetric(float64(inUse)/1e6, "heap-MB")
	b.ReportMetric((float64(inUse)-float64(base))/1e6, "index-MB")
	if got := x.Summary().Events; got != bench.events {
		b.Fatalf("Load holds %d events, want %d", got, bench.events)
	}
	// The first Add after Load grows the events array.
	x.Add([]storage.Record{benchRecord(bench.end.Unix()+1, 1<<31)})
	b.ReportMetric(float64(heapInUse())/1e6, "heap-after-1-add-MB")
	runtime.KeepAlive(x)
}

// sampled runs op once per iteration, timing each, and reports the 99th
// percentile. When -benchtime gives too few iterations for a percentile,
// more untimed samples are taken (up to 10,000 or 3 s).
func sampled(b *testing.B, op func(r *rand.Rand)) {
	r := rand.New(rand.NewPCG(1, 2))
	samples := make([]time.Duration, 0, 10_000)
	for b.Loop() {
		t0 := time.Now()
		op(r)
		samples = append(samples, time.Since(t0))
	}
	for deadline := time.Now().Add(3 * time.Second); len(samples) < 10_000 && time.Now().Before(deadline); {
		t0 := time.Now()
		op(r)
		samples = append(samples, time.Since(t0))
	}
	slices.Sort(samples)
	p99 := samples[(len(samples)*99+99)/100-1]
	b.ReportMetric(float64(p99.Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkStats asks a random player's figures, by EOS id, for all time
// and for the month of the latest events.
func BenchmarkStats(b *testing.B) {
	x := benchIndex(b)
	for _, p := range []stats.Period{stats.AllTime, stats.Month} {
		b.Run(string(p), func(b *testing.B) {
			sampled(b, func(r *rand.Rand) {
				if _, err := x.Stats(bench.ids[r.IntN(len(bench.ids))], p, bench.end); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
	b.Run("byname", func(b *testing.B) {
		sampled(b, func(r *rand.Rand) {
			if _, err := x.Stats(strings.ToUpper(bench.names[r.IntN(len(bench.names))]), stats.AllTime, bench.end); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkLeaderboard ranks the top 10 by each metric in turn, for all time
// and for the month of the latest events.
func BenchmarkLeaderboard(b *testing.B) {
	x := benchIndex(b)
	for _, p := range []stats.Period{stats.AllTime, stats.Month} {
		b.Run(string(p), func(b *testing.B) {
			sampled(b, func(r *rand.Rand) {
				if len(x.Leaderboard(stats.Metrics[r.IntN(len(stats.Metrics))], p, bench.end, 10)) == 0 {
					b.Fatal("empty leaderboard")
				}
			})
		})
	}
}

// BenchmarkSearch completes 1 to 3 typed characters of a random name, in
// any case, 25 results (Discord's autocomplete limit).
func BenchmarkSearch(b *testing.B) {
	x := benchIndex(b)
	sampled(b, func(r *rand.Rand) {
		name := []rune(bench.names[r.IntN(len(bench.names))])
		prefix := string(name[:min(len(name), 1+r.IntN(3))])
		if r.IntN(2) == 0 {
			prefix = strings.ToUpper(prefix)
		}
		if len(x.Search(prefix, 25)) == 0 {
			b.Fatalf("Search(%q): nothing", prefix)
		}
	})
}

// BenchmarkAdd adds one event to the loaded index: after the newest one
// (the common case), or before it (an old file imported late, which makes
// the index recompute everything).
func BenchmarkAdd(b *testing.B) {
	benchDB(b)
	for _, late := range []bool{false, true} {
		name := "in-order"
		if late {
			name = "out-of-order"
		}
		b.Run(name, func(b *testing.B) {
			x, err := stats.Load(bench.db, benchScope, time.UTC)
			if err != nil {
				b.Fatal(err)
			}
			t := bench.end.Unix() + 1
			if late {
				t = bench.end.Unix() - 30*24*3600
			}
			seq := uint64(1 << 31)
			for b.Loop() {
				seq++
				x.Add([]storage.Record{benchRecord(t, seq)})
				if !late {
					t++
				}
			}
		})
	}
}

// benchRecord is a kill between two of the benchmark's players, as Commit
// would return it.
func benchRecord(t int64, seq uint64) storage.Record {
	return storage.Record{
		Time: t, Seq: seq, Kind: parser.Kill, Distance: 42,
		Killer: []byte(bench.names[0]), KillerID: []byte(bench.ids[0]),
		Victim: []byte(bench.names[1]), VictimID: []byte(bench.ids[1]),
		Weapon: []byte("M99"), KillerPlatform: []byte("PS5"), VictimPlatform: []byte("XSX"),
	}
}
