package timing

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want Class
	}{
		{0, Fast}, {499 * time.Millisecond, Fast}, {500 * time.Millisecond, OK},
		{999 * time.Millisecond, OK}, {time.Second, Slow}, {2999 * time.Millisecond, Slow},
		{3 * time.Second, Critical}, {time.Hour, Critical},
	} {
		if got := Classify(c.d); got != c.want {
			t.Errorf("Classify(%v) = %v, want %v", c.d, got, c.want)
		}
	}
}

func newTracker(steps map[string]time.Duration) (*Tracker, *bytes.Buffer) {
	var buf bytes.Buffer
	return New(slog.New(slog.NewTextHandler(&buf, nil)), 0, 0, steps), &buf
}

// run times a flow whose steps took the durations given; the steps
// "responded" and "sent" wait for Discord.
func run(tr *Tracker, kind Kind, name string, outcome string, steps ...any) Class {
	start := time.Now()
	f := tr.Start(kind, name, start)
	at := start
	for i := 0; i < len(steps); i += 2 {
		at = at.Add(steps[i+1].(time.Duration))
		name := steps[i].(string)
		f.mark(name, at, name == "responded" || name == "sent")
	}
	return f.Done(outcome)
}

func TestSlowStepWarns(t *testing.T) {
	tr, logs := newTracker(map[string]time.Duration{"leaderboard": 300 * time.Millisecond})
	ms := time.Millisecond

	// Every step under 100 ms, Discord's answer under 1s: no warning, FAST.
	if c := run(tr, Command, "stats", "ok", "resolved", 2*ms, "gathered", 90*ms, "rendered", ms, "responded", 380*ms); c != Fast {
		t.Errorf("class = %v, want FAST", c)
	}
	if logs.Len() != 0 {
		t.Fatalf("a flow with no slow step logged: %s", logs)
	}
	// One step over: a warning naming it, with the whole breakdown.
	if c := run(tr, Command, "stats", "ok", "resolved", 2*ms, "gathered", 150*ms, "rendered", ms, "responded", 900*ms); c != Slow {
		t.Errorf("class = %v, want SLOW (1.053s)", c)
	}
	for _, want := range []string{"slow command step", "command=stats", "step=gathered", "class=SLOW", "resolved 2ms, gathered 150ms, rendered 1ms, responded 900ms"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("warning %q lacks %q", logs, want)
		}
	}
	// Discord slower than the network's threshold.
	logs.Reset()
	run(tr, Command, "compare", "ok", "gathered", ms, "responded", 1500*ms)
	if !strings.Contains(logs.String(), "step=responded limit=1s") {
		t.Errorf("a 1.5s answer to Discord did not log against the 1s network limit: %q", logs)
	}
	// A command's own threshold.
	logs.Reset()
	run(tr, Command, "leaderboard", "ok", "gathered", 250*ms)
	if logs.Len() != 0 {
		t.Errorf("a 250ms step under leaderboard's 300ms limit logged: %s", logs)
	}
	run(tr, Command, "leaderboard", "ok", "gathered", 350*ms)
	if !strings.Contains(logs.String(), "command=leaderboard") {
		t.Errorf("a 350ms step over leaderboard's 300ms limit did not log: %q", logs)
	}
	// The same flow slow again within a minute: counted, not logged.
	logs.Reset()
	run(tr, Command, "stats", "ok", "gathered", 200*ms)
	if logs.Len() != 0 {
		t.Errorf("a second warning within a minute was logged: %s", logs)
	}
	tr.mu.Lock()
	tr.warned["command/stats"] = warned{at: time.Now().Add(-2 * warnEvery), hushed: tr.warned["command/stats"].hushed}
	tr.mu.Unlock()
	run(tr, Command, "stats", "ok", "gathered", 200*ms)
	if !strings.Contains(logs.String(), `"slow before, not logged"=1`) {
		t.Errorf("the next warning does not count the one not logged: %q", logs)
	}

	c := tr.Counts(Command)
	if c != [4]int64{5, 0, 2, 0} {
		t.Errorf("Counts(Command) = %v, want [5 0 2 0]", c)
	}
	if got := testutil.ToFloat64(tr.commands.WithLabelValues("stats", "ok")); got != 4 {
		t.Errorf("killfeed_commands_total{stats,ok} = %v, want 4", got)
	}
	if n := testutil.CollectAndCount(tr.cmdTime); n != 3 {
		t.Errorf("command histograms = %d, want 3 (stats, compare, leaderboard)", n)
	}
}

func TestKinds(t *testing.T) {
	tr, logs := newTracker(map[string]time.Duration{"ingest": time.Second})
	run(tr, Ingest, "100/eu1", "", "read", 10*time.Millisecond, "committed", 600*time.Millisecond, "indexed", time.Millisecond)
	if logs.Len() != 0 {
		t.Errorf("an ingest step under its 1s limit logged: %s", logs)
	}
	run(tr, Post, "555", "", "rendered", time.Millisecond, "sent", 900*time.Millisecond)
	if logs.Len() != 0 {
		t.Errorf("a post sent in 0.9s logged: %s", logs)
	}
	run(tr, Post, "555", "", "rendered", time.Millisecond, "sent", 4*time.Second)
	if !strings.Contains(logs.String(), "slow post step") || !strings.Contains(logs.String(), "post=555") {
		t.Errorf("a 4s post did not log: %q", logs)
	}
	if c := tr.Counts(Ingest); c != [4]int64{0, 1, 0, 0} {
		t.Errorf("Counts(Ingest) = %v, want [0 1 0 0]", c)
	}
	if c := tr.Counts(Post); c != [4]int64{0, 1, 0, 1} {
		t.Errorf("Counts(Post) = %v, want [0 1 0 1]", c)
	}
	if got := testutil.ToFloat64(tr.flows.WithLabelValues("post", "CRITICAL")); got != 1 {
		t.Errorf("killfeed_flows_total{post,CRITICAL} = %v, want 1", got)
	}
}

func TestNil(t *testing.T) {
	var tr *Tracker
	f := tr.Start(Command, "stats", time.Now())
	f.Mark("resolved")
	if c := f.Done("ok"); c != Fast || f.Took() != 0 || f.Breakdown() != "" {
		t.Errorf("a nil flow timed something")
	}
	if tr.Counts(Command) != [4]int64{} {
		t.Errorf("a nil tracker counted")
	}
}
