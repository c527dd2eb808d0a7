package cmdlog

import (
	"context"
	"log/slog"
	"testing"
	"time"
)

// benchLog returns a log writing to a real database, its writer running
// until the benchmark ends.
func benchLog(b *testing.B, queue int) (*Log, func()) {
	b.Helper()
	db := mustOpenDB(b)
	l := New(db, Options{Log: slog.New(slog.DiscardHandler), Queue: queue})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
	return l, stop
}

// BenchmarkAdd measures Add, on the command path, with the writer running
// against a real bbolt file. The queue holds a million entries: run it
// with -benchtime=1000000x to time Adds that are accepted; beyond that the
// queue fills (the writer stores about half a million entries a second)
// and dropped/op says how many Adds found it full.
func BenchmarkAdd(b *testing.B) {
	e := entry(1)
	b.Run("serial", func(b *testing.B) {
		l, stop := benchLog(b, 1<<20)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			l.Add(e)
		}
		b.StopTimer()
		b.ReportMetric(float64(l.Figures().Dropped)/float64(b.N), "dropped/op")
		stop()
	})
	b.Run("parallel", func(b *testing.B) {
		l, stop := benchLog(b, 1<<20)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Add(e)
			}
		})
		b.StopTimer()
		b.ReportMetric(float64(l.Figures().Dropped)/float64(b.N), "dropped/op")
		stop()
	})
}

// BenchmarkWriterThroughput adds 100,000 entries as fast as it can to a log
// on a new database and measures the time until all are durable, with the
// default batch of 500.
func BenchmarkWriterThroughput(b *testing.B) {
	const n = 100_000
	entries := make([]int, n)
	for i := range entries {
		entries[i] = i
	}
	var total time.Duration
	for range b.N {
		b.StopTimer()
		l, stop := benchLog(b, n)
		b.StartTimer()
		t := time.Now()
		for _, i := range entries {
			if !l.Add(entry(i)) {
				b.Fatalf("entry %d dropped", i)
			}
		}
		for l.Figures().Stored < n {
			time.Sleep(100 * time.Microsecond)
		}
		total += time.Since(t)
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "entries/s")
}
