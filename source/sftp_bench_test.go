package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"killfeed/internal/fakelog"
)

// BenchmarkSFTPIdlePoll measures one poll over SFTP of a killfeed folder
// that has not changed: three files of about 150 KB, the newest followed.
// Reports the bytes the bot reads from the network per poll (bytes/poll,
// SSH framing included) and the bytes it sends (sent-bytes/poll).
func BenchmarkSFTPIdlePoll(b *testing.B) {
	srv := startSFTP(b)
	dir := srv.local(killfeedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	g := fakelog.New(6, 40, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	for _, name := range []string{"2025.05.01-00.00.00.csv", "2025.05.02-00.00.00.csv", "2025.05.03-00.00.00.csv"} {
		appendFile(b, filepath.Join(dir, name), lines(g, 1000))
	}
	p := newPipeline(b, filepath.Join(b.TempDir(), "k.db"))
	src := sftpSource(b, p, srv.config())
	ctx := context.Background()
	if _, err := src.ReadOnce(ctx); err != nil { // connect and read the history
		b.Fatal(err)
	}

	sent, recv, polls := srv.sent.Load(), srv.recv.Load(), 0
	for b.Loop() {
		polls++
		res, err := src.ReadOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if res.Lines != 0 {
			b.Fatalf("an idle poll read %d lines", res.Lines)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(srv.sent.Load()-sent)/float64(polls), "bytes/poll")
	b.ReportMetric(float64(srv.recv.Load()-recv)/float64(polls), "sent-bytes/poll")
}
