package source_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"killfeed/internal/fakelog"
	"killfeed/storage"
	"killfeed/tail"
)

// BenchmarkAppendToCommit measures the time from a line appended to a local
// killfeed file to its event committed (fsync included) and in the
// indexes' hands, woken by file notifications. Reports p50 and p99.
func BenchmarkAppendToCommit(b *testing.B) {
	dir := b.TempDir()
	file := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	g := fakelog.New(5, 50, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	appendFile(b, file, g.Line())
	p := newPipeline(b, filepath.Join(b.TempDir(), "k.db"))
	src := p.source(dir, false, tail.OS)
	src.Watch = true
	src.Poll = 2 * time.Second // as configured by default
	stop := run(b, src)
	defer stop()
	waitCounts(b, p, "the first line", func(c storage.Counts) bool { return c.Lines == 1 })

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		line := g.Line()
		start := time.Now()
		appendFile(b, file, line)
		for {
			p.mu.Lock()
			n := len(p.added)
			var at time.Time
			if n >= i+2 {
				at = p.arrived[i+1]
			}
			p.mu.Unlock()
			if !at.IsZero() {
				lat = append(lat, at.Sub(start))
				break
			}
			select {
			case <-p.changed:
			case <-time.After(5 * time.Second):
				b.Fatalf("line %d not committed within 5s", i)
			}
		}
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1000, "p99-ms")
}
