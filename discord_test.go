package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/embed"
	"killfeed/internal/discordtest"
)

// discordBot runs "killfeed run" against a fake Discord until the test
// ends, and returns its output.
type discordBot struct {
	t      *testing.T
	fake   *discordtest.Server
	out    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startBot(t *testing.T, fake *discordtest.Server, cfg string) *discordBot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &discordBot{t: t, fake: fake, out: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	go func() { b.done <- run(ctx, []string{"run", "-config", cfg}, b.out) }()
	t.Cleanup(b.stop)
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := fake.WaitReady(wctx, len(fake.Identifies())+1); err != nil {
		t.Fatalf("the bot did not connect: %v\n%s", err, b.out.String())
	}
	return b
}

func (b *discordBot) stop() {
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		b.t.Error("the bot did not stop within 10s")
	}
}

// ask runs an interaction and returns its callback, failing the test if it
// is not accepted.
func (b *discordBot) ask(spec discordtest.InteractionSpec) discordtest.Callback {
	b.t.Helper()
	id := b.fake.Interact(spec)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cb, err := b.fake.WaitCallback(ctx, id)
	if err != nil {
		b.t.Fatalf("/%s: %v", spec.Command, err)
	}
	cb.InteractionID = id
	return cb
}

// answer waits until a deferred interaction's answer has an embed, whose
// text it returns.
func (b *discordBot) answer(cb discordtest.Callback, want string) string {
	b.t.Helper()
	var text string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := b.fake.Wait(ctx, func() bool {
		m, ok := b.fake.Original(cb.InteractionID)
		if !ok || len(m.Embeds) == 0 {
			return false
		}
		text = embedText(m.Embeds[0])
		return strings.Contains(text, want)
	})
	if err != nil {
		b.t.Fatalf("waiting for %q in the answer to interaction %s; it is %q", want, cb.InteractionID, text)
	}
	return text
}

// embedText is everything an embed shows, as one string.
func embedText(e *discordgo.MessageEmbed) string {
	var b strings.Builder
	b.WriteString(e.Title + "\n" + e.Description + "\n")
	for _, f := range e.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if e.Footer != nil {
		b.WriteString(e.Footer.Text)
	}
	return b.String()
}

func callbackText(t *testing.T, cb discordtest.Callback) string {
	t.Helper()
	if cb.Response.Data == nil || len(cb.Response.Data.Embeds) != 1 {
		t.Fatalf("callback %s: want one embed, got %s", cb.InteractionID, cb.Raw)
	}
	return embedText(cb.Response.Data.Embeds[0])
}

func ephemeral(cb discordtest.Callback) bool {
	return cb.Response.Data != nil && cb.Response.Data.Flags&discordgo.MessageFlagsEphemeral != 0
}

// noMentions checks that a message body allows no mention: "parse": [].
func noMentions(t *testing.T, what string, raw []byte) {
	t.Helper()
	var body struct {
		Data            json.RawMessage `json:"data"`
		AllowedMentions *struct {
			Parse []string `json:"parse"`
		} `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.Data != nil {
		json.Unmarshal(body.Data, &body)
	}
	if body.AllowedMentions == nil || body.AllowedMentions.Parse == nil || len(body.AllowedMentions.Parse) != 0 {
		t.Errorf("%s: allowed_mentions is not {\"parse\": []}: %s", what, raw)
	}
}

const (
	userA     = "900000000000000001"
	userB     = "900000000000000002"
	channelA  = "700000000000000001"
	channelB  = "700000000000000002"
	adminPerm = discordgo.PermissionManageGuild
)

// The bot against a fake Discord, the way a member uses it: commands in
// two guilds, escaping, permissions, link verification, a wipe, a dropped
// gateway, and a restart that does not register the commands again.
func TestDiscordEndToEnd(t *testing.T) {
	fake := discordtest.New(t, discordtest.WithGuild(guildA, "Guild A", channelA), discordtest.WithGuild(guildB, "Guild B", channelB))
	dirA, dirB := t.TempDir(), t.TempDir()
	cfg := writeConfigWith(t, fmt.Sprintf("[discord]\ntoken = \"test-token\"\napi_url = %q\n", fake.URL),
		testServer{guild: guildA, id: "main", dir: dirA, extra: `poll_interval = "50ms"`},
		testServer{guild: guildB, id: "main", dir: dirB, extra: `poll_interval = "50ms"`})

	csvA := filepath.Join(dirA, "2025.05.01-00.00.00.csv")
	appendFile(t, csvA, kill("2025.05.01-00.01.00", "Alpha", "**@everyone**", 150)+"\n"+
		kill("2025.05.01-00.02.00", "Alpha", "Bravo", 250)+"\n"+
		kill("2025.05.01-00.03.00", "Bravo", "Alpha", 50)+"\n")
	appendFile(t, filepath.Join(dirB, "2025.05.01-00.00.00.csv"), kill("2025.05.01-00.01.00", "Zulu", "Yankee", 10)+"\n")

	b := startBot(t, fake, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.Wait(ctx, func() bool { return len(fake.CommandOverwrites()) == 1 }); err != nil {
		t.Fatalf("commands not registered: %v", err)
	}
	if ow := fake.CommandOverwrites()[0]; ow.GuildID != "" || len(ow.Commands) < 10 {
		t.Errorf("overwrite: guild %q, %d commands; want global, all of them", ow.GuildID, len(ow.Commands))
	}
	waitFor(t, b.out, "Connecting to Discord")
	// The history is read before the first command is answered.
	deadline := time.Now().Add(10 * time.Second)
	for {
		cb := b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "stats", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("player", "alpha")}})
		if !ephemeral(cb) {
			text := callbackText(t, cb)
			for _, want := range []string{"Alpha", "Kills: 2\n", "Deaths: 1\n", "Longest kill: 250"} {
				if !strings.Contains(text, want) {
					t.Errorf("/stats alpha: %q lacks %q", text, want)
				}
			}
			noMentions(t, "/stats", cb.Raw)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/stats alpha stays an error: %s", cb.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// An untrusted name stays text.
	cb := b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "stats", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("player", "**@everyone**")}})
	if text := callbackText(t, cb); !strings.Contains(text, embed.Escape("**@everyone**")) || strings.Contains(text, "**@everyone**") {
		t.Errorf("/stats **@everyone**: the name is not escaped: %q", text)
	}
	noMentions(t, "/stats @everyone", cb.Raw)

	// Leaderboard.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "leaderboard", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("metric", "longest_kill")}})
	if text := callbackText(t, cb); !strings.Contains(text, "Alpha") || !strings.Contains(text, "250") || ephemeral(cb) {
		t.Errorf("/leaderboard longest_kill: %q, want Alpha with 250 m, public", text)
	}

	// Isolation: guild B sees its own players only, autocomplete included.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildB, ChannelID: channelB, Command: "stats", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("player", "alpha")}})
	if !ephemeral(cb) || strings.Contains(callbackText(t, cb), "Kills") {
		t.Errorf("/stats alpha in guild B: %s, want an ephemeral error", cb.Raw)
	}
	for guild, want := range map[string]string{guildA: "Alpha", guildB: ""} {
		cb = b.ask(discordtest.InteractionSpec{Type: discordgo.InteractionApplicationCommandAutocomplete, GuildID: guild, Command: "stats",
			Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Focused("player", "al")}})
		var names []string
		for _, c := range cb.Response.Data.Choices {
			names = append(names, c.Name)
		}
		if strings.Join(names, ",") != want {
			t.Errorf("autocomplete \"al\" in guild %s: %q, want %q", guild, names, want)
		}
	}
	cb = b.ask(discordtest.InteractionSpec{Type: discordgo.InteractionApplicationCommandAutocomplete, GuildID: guildB, Command: "stats",
		Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Focused("player", "")}})
	if len(cb.Response.Data.Choices) != 2 {
		t.Errorf("autocomplete \"\" in guild B: %d choices, want Yankee and Zulu", len(cb.Response.Data.Choices))
	}

	// Admin commands need Manage Server.
	setKillfeed := []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("kind", "killfeed"), {Name: "channel", Type: discordgo.ApplicationCommandOptionChannel, Value: channelA}}
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "setchannel", Options: setKillfeed})
	if !ephemeral(cb) || !strings.Contains(callbackText(t, cb), "Manage Server") {
		t.Errorf("/setchannel by a member: %s, want an ephemeral refusal", cb.Raw)
	}
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "setchannel", Options: setKillfeed, Permissions: adminPerm})
	if cb.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("/setchannel by an admin: callback type %d, want a deferral", cb.Response.Type)
	}
	b.answer(cb, channelA)

	// Link with proof: the member relocates within the time limit.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, UserID: userB, Command: "link", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("character", "Bravo")}})
	if !ephemeral(cb) {
		t.Errorf("/link: not ephemeral: %s", cb.Raw)
	}
	b.answer(cb, "relocate")
	// The game's clock is about ours: the proof is a relocation after the
	// request; one from before it (a line read late) is none.
	now := func(d time.Duration) string { return time.Now().UTC().Add(d).Format("2006.01.02-15.04.05") }
	relocation := func(at string) string {
		return at + ";Bravo;" + eosOf("Bravo") + ";Bravo;" + eosOf("Bravo") + ";suicide_by_relocation;0;XSX;XSX;\n"
	}
	appendFile(t, csvA, relocation(now(-5*time.Minute))+kill(now(-2*time.Minute), "Alpha", "Charlie", 5)+"\n")
	time.Sleep(300 * time.Millisecond) // read (poll 50ms), and not taken as proof
	if text := b.answer(cb, "relocate"); strings.Contains(text, "Linked") {
		t.Fatalf("an old relocation linked the character: %q", text)
	}
	appendFile(t, csvA, relocation(now(time.Second)))
	b.answer(cb, "Linked")
	// Now /stats without a player shows the member's character.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, UserID: userB, Command: "stats"})
	if text := callbackText(t, cb); ephemeral(cb) || !strings.Contains(text, "Bravo") {
		t.Errorf("/stats of a linked member: %q", text)
	}
	// Another member cannot link the same character.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, UserID: userA, Command: "link", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("character", "Bravo")}})
	if !ephemeral(cb) || !strings.Contains(callbackText(t, cb), "another member") {
		t.Errorf("/link of another member's character: %s", cb.Raw)
	}
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, UserID: userB, Command: "linked"})
	if text := callbackText(t, cb); !strings.Contains(text, "Bravo") {
		t.Errorf("/linked: %q, want Bravo", text)
	}

	// A wipe starts a season: the season board counts only what follows,
	// all time is kept.
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "wipe", Permissions: adminPerm, Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("server", "main")}})
	b.answer(cb, "new season")
	appendFile(t, csvA, kill(time.Now().UTC().Add(time.Minute).Format("2006.01.02-15.04.05"), "Delta", "Echo", 75)+"\n")
	board := func(period string) string {
		deadline := time.Now().Add(10 * time.Second)
		for {
			cb := b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "leaderboard", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("period", period)}})
			text := callbackText(t, cb)
			if strings.Contains(text, "Delta") || time.Now().After(deadline) {
				return text
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if text := board("season"); !strings.Contains(text, "Delta") || strings.Contains(text, "Alpha") {
		t.Errorf("season board after a wipe: %q, want Delta only", text)
	}
	if text := board("all"); !strings.Contains(text, "Delta") || !strings.Contains(text, "Alpha") {
		t.Errorf("all-time board after a wipe: %q, want Alpha and Delta", text)
	}

	// A dropped gateway is resumed, and commands are still answered.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	fake.DropGateway()
	if err := fake.Wait(ctx, func() bool { return len(fake.Resumes()) > 0 }); err != nil {
		t.Fatalf("no RESUME after a dropped gateway: %v", err)
	}
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "help"})
	if text := callbackText(t, cb); !strings.Contains(text, "/leaderboard") {
		t.Errorf("/help after a resume: %q", text)
	}
	for _, c := range fake.Callbacks() {
		if c.Latency > 3*time.Second { // Discord's window
			t.Errorf("interaction %s answered after %v", c.InteractionID, c.Latency)
		}
	}

	// A restart with the same commands does not register them again.
	b.stop()
	b = startBot(t, fake, cfg)
	cb = b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "status"})
	if text := callbackText(t, cb); !strings.Contains(text, "main") {
		t.Errorf("/status: %q", text)
	}
	// Every edit of an answer (deferred commands, the link's proof) allows
	// no mention either.
	edits := fake.RequestsTo("PATCH", "/webhooks/**")
	if len(edits) < 4 {
		t.Errorf("%d answers edited, want the deferred ones and the link's", len(edits))
	}
	for _, r := range edits {
		noMentions(t, "PATCH "+r.Route, r.Body)
	}

	// Stopped, the bot has finished what it started at READY: the commands
	// were not registered again.
	b.stop()
	if n := len(fake.CommandOverwrites()); n != 1 {
		t.Errorf("commands registered %d times over two starts, want once", n)
	}

	// Registering in some guilds only empties the global registration, so
	// members do not see every command twice.
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), "[discord]\n", fmt.Sprintf("[discord]\ncommand_guilds = [%q]\n", guildA), 1)
	if err := os.WriteFile(cfg, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	b = startBot(t, fake, cfg)
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fake.Wait(ctx, func() bool { return len(fake.CommandOverwrites()) >= 3 }); err != nil {
		t.Fatalf("no registration in the guild: %v", err)
	}
	if got := fake.Commands(""); len(got) != 0 {
		t.Errorf("%d global commands are left after moving to command_guilds, want 0", len(got))
	}
	if got := fake.Commands(guildA); len(got) < 10 {
		t.Errorf("%d commands in guild A, want all of them", len(got))
	}
}

// eosOf is the EOS id that kill gives a name.
func eosOf(name string) string {
	return strings.Split(kill("2025.01.01-00.00.00", name, name, 0), ";")[2]
}
