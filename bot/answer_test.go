package bot

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/cmdlog"
	"killfeed/storage"
	"killfeed/timing"
)

// withCommandLog gives b a tracker and a command log writing to its
// database; the returned function stops the log and waits for it.
func withCommandLog(tb testing.TB, b *Bot, opt cmdlog.Options, store cmdlog.Store) func() {
	tb.Helper()
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if store == nil {
		store = b.db
	}
	b.cfg.Timing = timing.New(slog.New(slog.DiscardHandler), 0, 0, nil)
	b.cfg.CommandLog = cmdlog.New(store, opt)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.cfg.CommandLog.Run(ctx) }()
	return func() {
		cancel()
		if err := <-done; err != nil {
			tb.Error(err)
		}
	}
}

// responder records the answers and edits sent, like Discord.
type responder struct {
	mu      sync.Mutex
	answers []*discordgo.InteractionResponse
	edits   []*discordgo.WebhookEdit
	fail    bool
}

func (r *responder) respond(resp *discordgo.InteractionResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("HTTP 404 Not Found: Unknown interaction")
	}
	r.answers = append(r.answers, resp)
	return nil
}

func (r *responder) edit(e *discordgo.WebhookEdit) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edits = append(r.edits, e)
	return nil
}

// Every interaction answered is in the command log with who sent it, where,
// its options, how it went and how long it took.
func TestAnswerLogsCommands(t *testing.T) {
	b := newTestBot(t, sample)
	stop := withCommandLog(t, b, cmdlog.Options{}, nil)
	var r responder
	ask := func(i *discordgo.Interaction) {
		i.ChannelID = "700000000000000001"
		b.answer(i, r.respond, r.edit)
	}
	ask(interaction(testGuild, "stats", 0, opt("player", "alpha"), opt("period", "month")))
	ask(interaction(testGuild, "stats", 0, opt("player", "nobody")))
	ask(interaction(testGuild, "wipe", 0, opt("server", "main")))
	ask(interaction(testGuild, "setchannel", discordgo.PermissionManageGuild, opt("kind", "killfeed"), opt("channel", "700000000000000002")))
	r.fail = true
	ask(interaction(testGuild, "leaderboard", 0))
	b.later.Wait() // the deferred /setchannel
	stop()

	if len(r.answers) != 4 || len(r.edits) != 1 {
		t.Fatalf("%d answers and %d edits, want 4 and 1", len(r.answers), len(r.edits))
	}
	var got []storage.CommandEntry
	if err := b.db.Commands(time.Time{}, func(e storage.CommandEntry) error {
		got = append(got, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []struct{ command, options, outcome string }{
		{"stats", "period=month player=alpha", storage.OutcomeOK},
		{"stats", "player=nobody", storage.OutcomeInvalid},
		{"wipe", "server=main", storage.OutcomeInvalid}, // no Manage Server permission
		{"setchannel", "channel=700000000000000002 kind=killfeed", storage.OutcomeOK},
		{"leaderboard", "", storage.OutcomeFailed}, // Discord refused the answer
	}
	if len(got) != len(want) {
		t.Fatalf("command log holds %d entries, want %d: %+v", len(got), len(want), got)
	}
	// In the order they came (a deferred command is added once its work
	// is done, with the time it came).
	for k, w := range want {
		e := got[k]
		if e.Command != w.command || e.Options != w.options || e.Outcome != w.outcome {
			t.Errorf("entry %d = %s %q %s, want %s %q %s", k, e.Command, e.Options, e.Outcome, w.command, w.options, w.outcome)
		}
		if e.Guild != testGuild || e.Channel != "700000000000000001" || e.UserID != "900000000000000001" || e.UserName != "member" {
			t.Errorf("entry %d: guild %s channel %s user %s %s, want the interaction's", k, e.Guild, e.Channel, e.UserID, e.UserName)
		}
		if e.Handler <= 0 || e.Handler > time.Minute || time.Since(e.Time) > time.Minute {
			t.Errorf("entry %d: handler time %v at %v", k, e.Handler, e.Time)
		}
	}
	f := b.Figures()
	if n := f.Commands[0] + f.Commands[1] + f.Commands[2] + f.Commands[3]; n != 5 || f.Failed != 1 || f.Logged != 5 {
		t.Errorf("figures: %d commands, %d failed, %d logged; want 5, 1, 5", n, f.Failed, f.Logged)
	}
}

// A command log that cannot keep up drops entries, and commands are
// answered all the same.
func TestAnswerQueueFull(t *testing.T) {
	b := newTestBot(t, sample)
	release := make(chan struct{})
	stop := withCommandLog(t, b, cmdlog.Options{Queue: 2, Batch: 1}, blockingStore{b.db, release})
	var r responder
	const n = 10
	for range n {
		b.answer(interaction(testGuild, "stats", 0, opt("player", "alpha")), r.respond, r.edit)
	}
	if len(r.answers) != n {
		t.Fatalf("%d answers, want %d", len(r.answers), n)
	}
	for _, a := range r.answers {
		if !strings.Contains(a.Data.Embeds[0].Title, "Alpha") {
			t.Errorf("answer %q, want Alpha's stats", a.Data.Embeds[0].Title)
		}
	}
	f := b.Figures()
	// The writer holds one entry, the queue two.
	if f.LogDropped < n-3 {
		t.Errorf("dropped %d, want at least %d", f.LogDropped, n-3)
	}
	close(release)
	stop()
	if f := b.Figures(); f.Logged+f.LogDropped != n {
		t.Errorf("%d stored + %d dropped, want %d", f.Logged, f.LogDropped, n)
	}
}

// blockingStore waits for release before each write.
type blockingStore struct {
	*storage.DB
	release chan struct{}
}

func (s blockingStore) AppendCommands(e []storage.CommandEntry) error {
	<-s.release
	return s.DB.AppendCommands(e)
}

// The command path with analytics (flow timing and the command log) on and
// off: the cost they add to each command.
func BenchmarkCommandLog(b *testing.B) {
	off, on := newTestBot(b, sample), newTestBot(b, sample)
	stop := withCommandLog(b, on, cmdlog.Options{Queue: 1 << 20}, nil)
	respond := func(*discordgo.InteractionResponse) error { return nil }
	i := interaction(testGuild, "stats", 0, opt("player", "alpha"), opt("period", "month"))
	var tOff, tOn time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		off.answer(i, respond, nil)
		mid := time.Now()
		on.answer(i, respond, nil)
		tOn += time.Since(mid)
		tOff += mid.Sub(start)
		n++
	}
	stop()
	f := on.Figures()
	if f.LogDropped > 0 || f.Logged != int64(n) {
		b.Fatalf("%d logged, %d dropped, want %d logged", f.Logged, f.LogDropped, n)
	}
	b.ReportMetric(float64(tOff.Nanoseconds())/float64(n), "off-ns/cmd")
	b.ReportMetric(float64(tOn.Nanoseconds())/float64(n), "on-ns/cmd")
	b.ReportMetric(float64((tOn-tOff).Nanoseconds())/float64(n), "added-ns/cmd")
}
