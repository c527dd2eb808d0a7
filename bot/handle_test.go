package bot

import (
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/internal/fakelog"
	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

const (
	testGuild  = "100000000000000001"
	otherGuild = "100000000000000002"
)

// records parses killfeed lines into records as storage would return them.
func records(tb testing.TB, lines []string) []storage.Record {
	tb.Helper()
	out := make([]storage.Record, 0, len(lines))
	for i, l := range lines {
		e, err := parser.ParseLine([]byte(l), i+1, time.UTC)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, storage.Record{
			Time: e.Time.Unix(), Seq: uint64(i + 1), Kind: e.Kind, Distance: e.Distance,
			Killer: []byte(e.Killer), KillerID: []byte(e.KillerID), Victim: []byte(e.Victim), VictimID: []byte(e.VictimID),
			Weapon: []byte(e.Weapon), KillerPlatform: []byte(e.KillerPlatform), VictimPlatform: []byte(e.VictimPlatform),
		})
	}
	return out
}

// newTestBot returns a bot with one server in testGuild holding lines, and
// an empty one in otherGuild.
func newTestBot(tb testing.TB, lines []string) *Bot {
	tb.Helper()
	db, err := storage.Open(filepath.Join(tb.TempDir(), "k.db"), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	x := stats.New(time.UTC)
	x.Add(records(tb, lines))
	servers := []*Server{
		{Scope: storage.Scope{Guild: testGuild, Server: "main"}, Name: "Main", Index: x, Sessions: stats.NewSessions()},
		{Scope: storage.Scope{Guild: otherGuild, Server: "main"}, Name: "Other", Index: stats.New(time.UTC)},
	}
	b, err := New(Config{LinkVerification: "relocation", Version: "test"}, db, servers, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	b.Now = func() time.Time { return time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC) }
	return b
}

func interaction(guild, command string, perms int64, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.Interaction {
	return &discordgo.Interaction{
		ID: "1", Type: discordgo.InteractionApplicationCommand, GuildID: guild, AppID: "2", Token: "t",
		Member: &discordgo.Member{User: &discordgo.User{ID: "900000000000000001", Username: "member"}, Permissions: perms},
		Data:   discordgo.ApplicationCommandInteractionData{Name: command, Options: opts},
	}
}

func opt(name string, v any) *discordgo.ApplicationCommandInteractionDataOption {
	t := discordgo.ApplicationCommandOptionString
	if _, ok := v.(float64); ok {
		t = discordgo.ApplicationCommandOptionInteger
	}
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: t, Value: v}
}

func text(r Reply) string {
	if r.Response == nil || r.Response.Data == nil || len(r.Response.Data.Embeds) == 0 {
		return ""
	}
	e := r.Response.Data.Embeds[0]
	s := e.Title + "\n" + e.Description
	for _, f := range e.Fields {
		s += "\n" + f.Name + ": " + f.Value
	}
	return s
}

func isEphemeral(r Reply) bool {
	return r.Response.Data != nil && r.Response.Data.Flags&discordgo.MessageFlagsEphemeral != 0
}

var sample = []string{
	"2025.05.01-10.00.00;Alpha;0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa;Bravo;0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb;M99;300;PS5;XSX;",
	"2025.05.01-10.05.00;Bravo;0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb;Alpha;0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa;AK-mod;20;XSX;PS5;",
}

// Bad input and failures always get a polite, ephemeral answer, and every
// answer allows no mention.
func TestHandleAnswersEverything(t *testing.T) {
	b := newTestBot(t, sample)
	for _, tt := range []struct {
		name string
		i    *discordgo.Interaction
		want string
	}{
		{"direct message", func() *discordgo.Interaction {
			i := interaction("", "stats", 0)
			i.Member = nil
			i.User = &discordgo.User{ID: "9"}
			return i
		}(), "in a Discord server"},
		{"limit too high", interaction(testGuild, "leaderboard", 0, opt("limit", 30.0)), "from 1 to 25"},
		{"unknown server", interaction(testGuild, "stats", 0, opt("player", "alpha"), opt("server", "nope")), "/server list"},
		{"unknown player", interaction(testGuild, "stats", 0, opt("player", "nobody")), "No player nobody"},
		{"no player and not linked", interaction(testGuild, "stats", 0), "/link"},
		{"another guild's player", interaction(otherGuild, "stats", 0, opt("player", "alpha")), "No player alpha"},
		{"same player twice", interaction(testGuild, "compare", 0, opt("player_a", "alpha"), opt("player_b", "ALPHA")), "two different players"},
		{"admin command by a member", interaction(testGuild, "wipe", 0, opt("server", "main")), "Manage Server"},
		{"setchannel by a member", interaction(testGuild, "setchannel", 0, opt("kind", "killfeed"), opt("channel", "5")), "Manage Server"},
		{"unknown command", interaction(testGuild, "dance", 0), "Unknown command"},
		{"link an unseen character", interaction(testGuild, "link", 0, opt("character", "Ghost")), "No character Ghost"},
		{"unlink without links", interaction(testGuild, "unlink", 0), "no linked character"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.Handle(tt.i)
			if !isEphemeral(r) || !strings.Contains(text(r), tt.want) {
				t.Errorf("got %q (ephemeral %v), want an ephemeral answer saying %q", text(r), isEphemeral(r), tt.want)
			}
			checkNoMentions(t, r)
		})
	}

	// A handler that panics still answers.
	broken := newTestBot(t, sample)
	broken.servers[testGuild][0].Index = nil
	r := broken.Handle(interaction(testGuild, "stats", 0, opt("player", "alpha")))
	if !isEphemeral(r) || !strings.Contains(text(r), "Something went wrong") {
		t.Errorf("a panicking handler answered %q, want an ephemeral \"something went wrong\"", text(r))
	}
	checkNoMentions(t, r)
}

func checkNoMentions(t *testing.T, r Reply) {
	t.Helper()
	raw, err := json.Marshal(r.Response)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"allowed_mentions":{"parse":[]`) {
		t.Errorf("response allows mentions: %s", raw)
	}
}

func TestHandleAnswers(t *testing.T) {
	b := newTestBot(t, sample)
	r := b.Handle(interaction(testGuild, "stats", 0, opt("player", "ALPHA"), opt("period", "month")))
	if isEphemeral(r) || !strings.Contains(text(r), "Alpha") || !strings.Contains(text(r), "300") {
		t.Errorf("/stats alpha: %q", text(r))
	}
	r = b.Handle(interaction(testGuild, "compare", 0, opt("player_a", "alpha"), opt("player_b", "bravo")))
	if isEphemeral(r) || !strings.Contains(text(r), "Alpha") || !strings.Contains(text(r), "Bravo") {
		t.Errorf("/compare: %q", text(r))
	}
	r = b.Handle(interaction(testGuild, "admin", 0, &discordgo.ApplicationCommandInteractionDataOption{Name: "unlink", Type: discordgo.ApplicationCommandOptionSubCommand,
		Options: []*discordgo.ApplicationCommandInteractionDataOption{opt("character", "alpha")}}))
	if !strings.Contains(text(r), "Manage Server") {
		t.Errorf("/admin unlink by a member: %q", text(r))
	}
	r = b.Handle(interaction(testGuild, "link", 0, opt("character", "alpha")))
	if r.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource || r.Later == nil || !isEphemeral(r) {
		t.Fatalf("/link: %+v, want an ephemeral deferral", r.Response)
	}
	if e := r.Later(); !strings.Contains(e.Description, "relocate") {
		t.Errorf("/link answer: %q", e.Description)
	}
	if ps, _ := b.db.Pendings(testGuild); len(ps) != 1 || ps[0].CharacterID != "0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa" || ps[0].Server != "main" {
		t.Errorf("link request stored: %+v", ps)
	}
}

// BenchmarkHandle measures the time from an interaction received to its
// response encoded, ready to send, at KILLFEED_BENCH_EVENTS events
// (default 1,000,000) among a tenth as many players. Reports p50 and p99.
func BenchmarkHandle(b *testing.B) {
	events := 1_000_000
	if n, err := strconv.Atoi(os.Getenv("KILLFEED_BENCH_EVENTS")); err == nil && n > 0 {
		events = n
	}
	g := fakelog.New(9, events/10, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC))
	g.Step = 5 * time.Second
	lines := make([]string, events)
	for i := range lines {
		lines[i] = strings.TrimSuffix(g.Line(), "\n")
	}
	bot := newTestBot(b, lines)
	bot.Now = g.Now
	sum := bot.servers[testGuild][0].Index.Summary()
	b.Logf("%d events, %d players", sum.Events, sum.Players)
	names := bot.servers[testGuild][0].Index.Search("", 1<<30)
	r := rand.New(rand.NewPCG(1, 1))
	for _, c := range []struct {
		name string
		make func() *discordgo.Interaction
	}{
		{"stats", func() *discordgo.Interaction {
			return interaction(testGuild, "stats", 0, opt("player", names[r.IntN(len(names))].Name))
		}},
		{"stats-month", func() *discordgo.Interaction {
			return interaction(testGuild, "stats", 0, opt("player", names[r.IntN(len(names))].Name), opt("period", "month"))
		}},
		{"leaderboard", func() *discordgo.Interaction {
			return interaction(testGuild, "leaderboard", 0, opt("metric", string(stats.Metrics[r.IntN(len(stats.Metrics))])))
		}},
		{"leaderboard-month", func() *discordgo.Interaction {
			return interaction(testGuild, "leaderboard", 0, opt("period", "month"))
		}},
		{"autocomplete", func() *discordgo.Interaction {
			name := []rune(names[r.IntN(len(names))].Name)
			i := interaction(testGuild, "stats", 0, &discordgo.ApplicationCommandInteractionDataOption{
				Name: "player", Type: discordgo.ApplicationCommandOptionString, Value: string(name[:min(len(name), 1+r.IntN(3))]), Focused: true})
			i.Type = discordgo.InteractionApplicationCommandAutocomplete
			return i
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				i := c.make()
				start := time.Now()
				resp := bot.Handle(i)
				if _, err := json.Marshal(resp.Response); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				if resp.Response.Data != nil && resp.Response.Data.Flags&discordgo.MessageFlagsEphemeral != 0 {
					b.Fatalf("%s answered an error: %s", c.name, text(resp))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds()), "p99-µs")
		})
	}
}
