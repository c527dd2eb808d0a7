package discordtest_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"killfeed/bot"
	"killfeed/internal/discordtest"
)

const (
	guildID   = "300000000000000001"
	channelID = "300000000000000002"
)

// newSession returns a discordgo session wired to the fake through
// bot.NewTransport, not yet open. Its Close is registered with t.Cleanup,
// after the fake's, so it runs first.
func newSession(t *testing.T, srv *discordtest.Server) *discordgo.Session {
	t.Helper()
	s, err := discordgo.New("Bot test-token")
	if err != nil {
		t.Fatal(err)
	}
	rt, err := bot.NewTransport(srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	s.ShouldReconnectOnError = true
	s.Identify.Intents = discordgo.IntentsGuilds
	t.Cleanup(func() { s.Close() })
	return s
}

// open opens s and waits for the fake to have sent READY.
func open(t *testing.T, srv *discordtest.Server, s *discordgo.Session) {
	t.Helper()
	if err := s.Open(); err != nil {
		t.Fatalf("Session.Open() against the fake: %v", err)
	}
	if err := srv.WaitReady(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
}

// ctxT returns a context that ends after 10 s or with the test.
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// recv waits for a value from ch.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// noMentions is how the bot must send allowed_mentions (DESIGN invariant
// 7): an empty, non-nil Parse marshals as "parse":[].
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// TestGatewayResume drops, reconnects, invalidates and takes the gateway
// down on one session, checking each time that discordgo comes back the way
// the bot relies on. Each fault waits for WaitConnected first (see there
// for the discordgo race it avoids).
func TestGatewayResume(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t, discordtest.WithGuild(guildID, "g", channelID))
	s := newSession(t, srv)
	if os.Getenv("DISCORDGO_DEBUG") != "" {
		s.LogLevel = discordgo.LogInformational
	}
	interactions := make(chan string, 4)
	resumed := make(chan struct{}, 4)
	ready := make(chan string, 4)
	s.AddHandler(func(_ *discordgo.Session, ic *discordgo.InteractionCreate) { interactions <- ic.ID })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { resumed <- struct{}{} })
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ready <- r.SessionID })
	open(t, srv, s)
	recv(t, ready, "READY")
	settle := func(t *testing.T) {
		t.Helper()
		if err := srv.WaitConnected(ctxT(t)); err != nil {
			dumpGateway(t, srv)
			t.Fatal(err)
		}
	}

	t.Run("drop", func(t *testing.T) {
		settle(t)
		srv.DropGateway()
		// Sent while the client is away: RESUME replays it.
		missed := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "stats"})
		if got := recv(t, interactions, "the missed interaction"); got != missed {
			t.Errorf("first interaction after the drop = %s, want %s", got, missed)
		}
		recv(t, resumed, "RESUMED")
		rs := srv.Resumes()
		if len(rs) != 1 || !rs[0].Accepted || rs[0].Replayed < 1 || rs[0].SessionID != srv.Identifies()[0].SessionID {
			t.Fatalf("Resumes() = %+v, want one accepted resume of the first session with a replay", rs)
		}
		t.Logf("discordgo resumed on %s (resume_gateway_url is %s/resume)", rs[0].Path, srv.URL)
		var op6 bool
		for _, f := range srv.Frames() {
			op6 = op6 || f.Op == 6
		}
		if !op6 {
			t.Errorf("no op 6 frame received")
		}
		if n := len(srv.Identifies()); n != 1 {
			t.Errorf("%d IDENTIFYs, want 1: discordgo should resume, not identify again", n)
		}
		after := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "stats"})
		if got := recv(t, interactions, "the interaction after the resume"); got != after {
			t.Errorf("interaction after the resume = %s, want %s", got, after)
		}
	})

	t.Run("reconnect", func(t *testing.T) {
		// RECONNECT (op 7): discordgo closes, reconnects and resumes.
		settle(t)
		srv.RequestReconnect()
		recv(t, resumed, "RESUMED")
		if rs := srv.Resumes(); len(rs) != 2 || !rs[1].Accepted {
			t.Errorf("Resumes() = %+v, want a second accepted resume", rs)
		}
	})

	t.Run("invalid session", func(t *testing.T) {
		// INVALID_SESSION: discordgo identifies again on the same
		// connection.
		settle(t)
		srv.InvalidateSessions()
		id := recv(t, ready, "the second READY")
		ids := srv.Identifies()
		if len(ids) != 2 || ids[1].SessionID != id || id == ids[0].SessionID || ids[1].Conn != len(srv.Connections()) {
			t.Errorf("Identifies() = %+v (READY for %s), want a second session on the current connection", ids, id)
		}
	})

	t.Run("down", func(t *testing.T) {
		settle(t)
		srv.SetDown(true)
		var rerr *discordgo.RESTError
		if _, err := s.ChannelMessageSend(channelID, "x"); err == nil || errors.As(err, &rerr) {
			t.Errorf("send while down: %v, want a transport error", err)
		}
		time.Sleep(100 * time.Millisecond)
		srv.SetDown(false)
		// discordgo waits 1 s in Close, then reconnects and resumes.
		recv(t, resumed, "RESUMED after Discord came back")
		rs := srv.Resumes()
		if last := rs[len(rs)-1]; !last.Accepted || last.SessionID != srv.Identifies()[1].SessionID {
			t.Errorf("last resume = %+v, want the second session resumed", last)
		}
		if _, err := s.ChannelMessageSend(channelID, "x"); err != nil {
			t.Errorf("send after Discord came back: %v", err)
		}
	})
}

// dumpGateway logs what the fake saw on the gateway, for a failing test.
func dumpGateway(t *testing.T, srv *discordtest.Server) {
	t.Helper()
	for _, c := range srv.Connections() {
		t.Logf("connection %d %s opened %s closed %s", c.N, c.Path, c.Opened.Format("05.000"), c.Closed.Format("05.000"))
	}
	for _, f := range srv.Frames() {
		t.Logf("frame: connection %d op %d at %s", f.Conn, f.Op, f.Time.Format("05.000"))
	}
	for _, r := range srv.Resumes() {
		t.Logf("resume %+v", r)
	}
	for _, id := range srv.Identifies() {
		t.Logf("identify: connection %d session %s", id.Conn, id.SessionID)
	}
}

// stats answers /stats with an embed and tries a second callback.
type statsResult struct {
	i      *discordgo.Interaction
	err    error
	second error
}

// deferResult is what the deferring handler got back.
type deferResult struct {
	edited, followup *discordgo.Message
	err              error
}

// handler is the InteractionCreate handler of TestInteractions: a plain
// dispatch on the command name, reporting to channels.
func handler(stats chan<- statsResult, deferred chan<- deferResult, focused chan<- *discordgo.ApplicationCommandInteractionDataOption, late chan<- error) func(*discordgo.Session, *discordgo.InteractionCreate) {
	return func(s *discordgo.Session, ic *discordgo.InteractionCreate) {
		data := ic.ApplicationCommandData()
		if ic.Type == discordgo.InteractionApplicationCommandAutocomplete {
			var f *discordgo.ApplicationCommandInteractionDataOption
			for _, o := range data.Options[0].Options {
				if o.Focused {
					f = o
				}
			}
			focused <- f
			s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionApplicationCommandAutocompleteResult,
				Data: &discordgo.InteractionResponseData{Choices: []*discordgo.ApplicationCommandOptionChoice{
					{Name: "KT93141", Value: "00022ba2"}, {Name: "KTM", Value: "0003"},
				}},
			})
			return
		}
		switch data.Name {
		case "slow":
			time.Sleep(200 * time.Millisecond)
			late <- s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "too late", AllowedMentions: noMentions()},
			})
		case "stats":
			am := noMentions()
			if data.Options[0].Options[0].StringValue() == "nil-parse" {
				am = &discordgo.MessageAllowedMentions{} // the pitfall: Parse nil
			}
			err := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{
					Embeds:          []*discordgo.MessageEmbed{{Title: "Stats for @everyone", Description: "1 kill"}},
					AllowedMentions: am,
				},
			})
			second := s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseChannelMessageWithSource,
				Data: &discordgo.InteractionResponseData{Content: "again"},
			})
			stats <- statsResult{i: ic.Interaction, err: err, second: second}
		case "backfill", "top":
			var r deferResult
			defer func() { deferred <- r }()
			if r.err = s.InteractionRespond(ic.Interaction, &discordgo.InteractionResponse{
				Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
			}); r.err != nil {
				return
			}
			if data.Name == "backfill" {
				content := "done: 1000 lines"
				if r.edited, r.err = s.InteractionResponseEdit(ic.Interaction, &discordgo.WebhookEdit{
					Content: &content, AllowedMentions: noMentions(),
				}); r.err != nil {
					return
				}
			}
			r.followup, r.err = s.FollowupMessageCreate(ic.Interaction, true, &discordgo.WebhookParams{
				Content: "followup", AllowedMentions: noMentions(),
			})
		}
	}
}

// TestInteractions opens one session (discordgo's Close takes 1 s) and runs
// the gateway and interaction checks on it in turn.
func TestInteractions(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t, discordtest.WithGuild(guildID, "Deadside PvE", channelID), discordtest.WithHeartbeatInterval(20*time.Millisecond))
	s := newSession(t, srv)
	cmds, err := s.ApplicationCommandBulkOverwrite(srv.AppID(), guildID, []*discordgo.ApplicationCommand{{Name: "stats", Description: "Player stats"}})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan *discordgo.Ready, 1)
	guilds := make(chan *discordgo.GuildCreate, 1)
	stats := make(chan statsResult, 2)
	deferred := make(chan deferResult, 2)
	focused := make(chan *discordgo.ApplicationCommandInteractionDataOption, 1)
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { ready <- r })
	s.AddHandler(func(_ *discordgo.Session, g *discordgo.GuildCreate) { guilds <- g })
	late := make(chan error, 1)
	s.AddHandler(handler(stats, deferred, focused, late))
	open(t, srv, s)

	t.Run("ready", func(t *testing.T) {
		r := recv(t, ready, "READY")
		if r.SessionID == "" || r.User == nil || r.User.ID != srv.AppID() || !r.User.Bot {
			t.Errorf("READY = session %q user %+v, want a session id and bot user %s", r.SessionID, r.User, srv.AppID())
		}
		if r.Application == nil || r.Application.ID != srv.AppID() {
			t.Errorf("READY application = %+v, want id %s", r.Application, srv.AppID())
		}
		// r.Guilds is not read here: discordgo's State overwrites those
		// Guild structs in place on GUILD_CREATE (State.GuildAdd does
		// *g = *guild) while handlers run in their own goroutines.
		g := recv(t, guilds, "GUILD_CREATE")
		if g.ID != guildID || g.Name != "Deadside PvE" || len(g.Channels) != 1 || g.Channels[0].ID != channelID {
			t.Errorf("GUILD_CREATE = %s %q channels %v, want %s with channel %s", g.ID, g.Name, g.Channels, guildID, channelID)
		}
		ids := srv.Identifies()
		if len(ids) != 1 || ids[0].Token != "Bot test-token" || ids[0].Intents != discordgo.IntentsGuilds {
			t.Errorf("Identifies() = %+v, want one with token %q and intents %d", ids, "Bot test-token", discordgo.IntentsGuilds)
		}
		conns := srv.Connections()
		if len(conns) != 1 || conns[0].Query.Get("v") != discordgo.APIVersion || conns[0].Query.Get("encoding") != "json" {
			t.Errorf("Connections() = %+v, want one with v=%s&encoding=json", conns, discordgo.APIVersion)
		}
		// Heartbeats are acknowledged: after several intervals the client
		// has not reconnected.
		if err := srv.Wait(ctxT(t), func() bool { return srv.Heartbeats() >= 5 }); err != nil {
			t.Fatalf("heartbeats: %d, want ≥ 5: %v", srv.Heartbeats(), err)
		}
		if n := len(srv.Connections()); n != 1 {
			t.Errorf("%d gateway connections after heartbeats, want 1 (ACKs missing?)", n)
		}
	})

	t.Run("respond", func(t *testing.T) {
		id := srv.Interact(discordtest.InteractionSpec{
			GuildID: guildID, ChannelID: channelID, UserID: "42", Username: "admin",
			Permissions: discordgo.PermissionManageGuild,
			Command:     "stats",
			Options:     []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Sub("player", discordtest.Opt("name", "KT93141"), discordtest.Opt("days", 7))},
		})
		g := recv(t, stats, "the InteractionCreate handler")
		if g.err != nil {
			t.Fatalf("InteractionRespond: %v", g.err)
		}
		// What the handler saw.
		if g.i.ID != id || g.i.GuildID != guildID || g.i.ChannelID != channelID || g.i.Member == nil ||
			g.i.Member.User.ID != "42" || g.i.Member.Permissions&discordgo.PermissionManageGuild == 0 {
			t.Errorf("handler saw interaction %+v member %+v, want id %s in %s/%s by 42 with Manage Server", g.i, g.i.Member, id, guildID, channelID)
		}
		data := g.i.ApplicationCommandData()
		if data.Name != "stats" || data.ID != cmds[0].ID || len(data.Options) != 1 || data.Options[0].Name != "player" ||
			data.Options[0].Type != discordgo.ApplicationCommandOptionSubCommand ||
			data.Options[0].GetOption("name").StringValue() != "KT93141" || data.Options[0].GetOption("days").IntValue() != 7 {
			t.Errorf("handler saw command data %+v, want stats (id %s) player name=KT93141 days=7", data, cmds[0].ID)
		}
		// A second callback is refused like Discord does.
		var rerr *discordgo.RESTError
		if !errors.As(g.second, &rerr) || rerr.Message == nil || rerr.Message.Code != 40060 || rerr.Response.StatusCode != 400 {
			t.Errorf("second InteractionRespond error = %v, want a 400 RESTError with code 40060", g.second)
		}

		cb, err := srv.WaitCallback(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Response.Type != discordgo.InteractionResponseChannelMessageWithSource || cb.Response.Data == nil ||
			len(cb.Response.Data.Embeds) != 1 || cb.Response.Data.Embeds[0].Title != "Stats for @everyone" {
			t.Errorf("recorded callback = %+v, want type 4 with the embed", cb.Response)
		}
		if !bytes.Contains(cb.Raw, []byte(`"allowed_mentions":{"parse":[]`)) {
			t.Errorf("callback body %s does not contain \"allowed_mentions\":{\"parse\":[]", cb.Raw)
		}
		if cb.Latency <= 0 || cb.Latency > time.Second {
			t.Errorf("callback latency = %v, want between 0 and 1 s", cb.Latency)
		}
		if n := len(srv.Callbacks()); n != 2 {
			t.Errorf("len(Callbacks()) = %d, want 2 (accepted and refused)", n)
		}
		orig, ok := srv.Original(id)
		if !ok || len(orig.Embeds) != 1 || orig.Embeds[0].Type != "rich" {
			t.Fatalf("Original(%s) = %+v, %v; want the message with one rich embed", id, orig, ok)
		}
		if msgs := srv.Messages(channelID); len(msgs) != 1 || msgs[0].ID != orig.ID || msgs[0].Type != discordgo.MessageTypeChatInputCommand {
			t.Errorf("Messages(%s) = %v, want the interaction response", channelID, msgs)
		}

		// The pitfall DESIGN invariant 7 warns about: a zero
		// MessageAllowedMentions sends "parse":null, which lets Discord
		// parse mentions.
		id2 := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "stats",
			Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Sub("player", discordtest.Opt("name", "nil-parse"))}})
		recv(t, stats, "the second InteractionCreate")
		cb2, err := srv.WaitCallback(ctxT(t), id2)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(cb2.Raw, []byte(`"parse":null`)) {
			t.Errorf("with Parse nil the body is %s; expected discordgo to send \"parse\":null", cb2.Raw)
		}
	})

	t.Run("deferred", func(t *testing.T) {
		// Deferred, edited, then a followup: two messages.
		before := len(srv.Messages(channelID))
		id := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "backfill"})
		r := recv(t, deferred, "the handler")
		if r.err != nil {
			t.Fatalf("handler: %v", r.err)
		}
		cb, ok := srv.Callback(id)
		if !ok || cb.Response.Type != discordgo.InteractionResponseDeferredChannelMessageWithSource {
			t.Errorf("Callback(%s) = %+v, %v; want type 5", id, cb.Response, ok)
		}
		orig, ok := srv.Original(id)
		if !ok || orig.Content != "done: 1000 lines" || orig.Flags&discordgo.MessageFlagsLoading != 0 || orig.EditedTimestamp == nil {
			t.Fatalf("Original(%s) = %+v, want the edited content, no loading flag, an edit time", id, orig)
		}
		if r.edited == nil || r.edited.ID != orig.ID {
			t.Errorf("InteractionResponseEdit returned %+v, want the original %s", r.edited, orig.ID)
		}
		fu := srv.Followups(id)
		if len(fu) != 1 || fu[0].Content != "followup" || r.followup == nil || r.followup.ID != fu[0].ID {
			t.Errorf("Followups(%s) = %v (client got %+v), want one \"followup\"", id, fu, r.followup)
		}
		if n := len(srv.Messages(channelID)) - before; n != 2 {
			t.Errorf("%d new messages in the channel, want 2", n)
		}
		edits := srv.RequestsTo("PATCH", "/webhooks/*/*/messages/@original")
		if len(edits) != 1 || !bytes.Contains(edits[0].Body, []byte(`"parse":[]`)) {
			t.Errorf("PATCH @original requests = %+v, want one with \"parse\":[]", edits)
		}

		// Deferred then a followup without an edit: the followup fills in
		// the "thinking" message, as on Discord.
		id2 := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "top"})
		if r := recv(t, deferred, "the handler"); r.err != nil {
			t.Fatalf("handler: %v", r.err)
		}
		orig2, ok := srv.Original(id2)
		if !ok || orig2.Content != "followup" || orig2.Flags&discordgo.MessageFlagsLoading != 0 {
			t.Errorf("Original(%s) = %+v, want the followup's content", id2, orig2)
		}
		if fu := srv.Followups(id2); len(fu) != 0 {
			t.Errorf("Followups(%s) = %v, want none (the first followup replaced the original)", id2, fu)
		}
	})

	t.Run("autocomplete", func(t *testing.T) {
		id := srv.Interact(discordtest.InteractionSpec{
			Type: discordgo.InteractionApplicationCommandAutocomplete, GuildID: guildID, ChannelID: channelID,
			Command: "stats", Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Sub("player", discordtest.Focused("name", "KT"))},
		})
		if f := recv(t, focused, "the autocomplete handler"); f == nil || f.Name != "name" || f.StringValue() != "KT" {
			t.Errorf("focused option = %+v, want name=KT", f)
		}
		cb, err := srv.WaitCallback(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		if cb.Response.Type != discordgo.InteractionApplicationCommandAutocompleteResult || cb.Response.Data == nil ||
			len(cb.Response.Data.Choices) != 2 || cb.Response.Data.Choices[0].Name != "KT93141" {
			t.Errorf("callback = %+v, want type 8 with 2 choices", cb.Response)
		}
		if _, ok := srv.Original(id); ok {
			t.Errorf("an autocomplete result created a message")
		}
	})

	t.Run("late", func(t *testing.T) {
		// Answered after the deadline: Unknown interaction, like Discord
		// after 3 s.
		id := srv.Interact(discordtest.InteractionSpec{GuildID: guildID, ChannelID: channelID, Command: "slow", Deadline: 100 * time.Millisecond})
		var rerr *discordgo.RESTError
		if err := recv(t, late, "the slow handler"); !errors.As(err, &rerr) || rerr.Message == nil || rerr.Message.Code != 10062 {
			t.Errorf("late InteractionRespond error = %v, want 404 code 10062 Unknown interaction", err)
		}
		if cb, err := srv.WaitCallback(ctxT(t), id); err == nil || cb.Status != http.StatusNotFound || cb.Latency < 200*time.Millisecond {
			t.Errorf("WaitCallback = %+v, %v; want a rejected callback with status 404 and latency ≥ 200ms", cb, err)
		}
		if _, ok := srv.Original(id); ok {
			t.Errorf("a late callback created a message")
		}
	})
}

// messageSend is how the bot sends nonce and enforce_nonce: discordgo
// v0.29's MessageSend has neither field.
type messageSend struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

func sendWithNonce(s *discordgo.Session, channelID string, m *discordgo.MessageSend, nonce string, enforce bool) (*discordgo.Message, error) {
	ep := discordgo.EndpointChannelMessages(channelID)
	body, err := s.RequestWithBucketID("POST", ep, messageSend{MessageSend: m, Nonce: nonce, EnforceNonce: enforce}, ep)
	if err != nil {
		return nil, err
	}
	var msg discordgo.Message
	if err := discordgo.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	return &msg, nil
}

func TestChannelMessagesAndNonce(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t, discordtest.WithGuild(guildID, "g", channelID))
	s := newSession(t, srv) // REST only: no Open needed
	kill := &discordgo.MessageSend{
		Embeds:          []*discordgo.MessageEmbed{{Title: "KT93141 killed HallagerTheDane", Description: "M99, 152 m"}},
		AllowedMentions: noMentions(),
	}
	m1, err := sendWithNonce(s, channelID, kill, "outbox-17", true)
	if err != nil {
		t.Fatalf("send with nonce: %v", err)
	}
	m2, err := sendWithNonce(s, channelID, kill, "outbox-17", true)
	if err != nil {
		t.Fatalf("resend with the same nonce: %v", err)
	}
	if m1.ID == "" || m2.ID != m1.ID {
		t.Errorf("same nonce + enforce_nonce: ids %q and %q, want the same message back", m1.ID, m2.ID)
	}
	if msgs := srv.Messages(channelID); len(msgs) != 1 || msgs[0].Embeds[0].Title != "KT93141 killed HallagerTheDane" {
		t.Errorf("Messages(%s) = %v, want one kill", channelID, msgs)
	}
	posts := srv.RequestsTo("POST", "/channels/*/messages")
	if len(posts) != 2 || !bytes.Contains(posts[0].Body, []byte(`"nonce":"outbox-17","enforce_nonce":true`)) ||
		!bytes.Contains(posts[0].Body, []byte(`"allowed_mentions":{"parse":[]`)) {
		t.Errorf("POST requests = %+v, want 2 with bodies carrying nonce, enforce_nonce and parse []", posts)
	}
	// Without enforce_nonce Discord does not deduplicate.
	if _, err := sendWithNonce(s, channelID, kill, "outbox-17", false); err != nil {
		t.Fatal(err)
	}
	// discordgo's own ChannelMessageSendComplex (no nonce) creates another.
	m4, err := s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{Content: "<@1> joined", AllowedMentions: noMentions()})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(channelID)); n != 3 {
		t.Errorf("len(Messages) = %d, want 3", n)
	}

	// Edit, list, delete.
	content := "edited"
	if _, err := s.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: m4.ID, Channel: channelID, Content: &content}); err != nil {
		t.Fatalf("ChannelMessageEditComplex: %v", err)
	}
	list, err := s.ChannelMessages(channelID, 2, "", "", "")
	if err != nil || len(list) != 2 || list[0].ID != m4.ID || list[0].Content != "edited" {
		t.Errorf("ChannelMessages(limit 2) = %v, %v; want the edited message first", list, err)
	}
	if err := s.ChannelMessageDelete(channelID, m1.ID); err != nil {
		t.Fatalf("ChannelMessageDelete: %v", err)
	}
	if n := len(srv.Messages(channelID)); n != 2 {
		t.Errorf("len(Messages) after delete = %d, want 2", n)
	}
	// A retry with the nonce of a deleted message creates nothing.
	m5, err := sendWithNonce(s, channelID, kill, "outbox-18", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ChannelMessageDelete(channelID, m5.ID); err != nil {
		t.Fatal(err)
	}
	var rerr *discordgo.RESTError
	if _, err := sendWithNonce(s, channelID, kill, "outbox-18", true); !errors.As(err, &rerr) || rerr.Message.Code != 10008 {
		t.Errorf("resend after delete: %v, want 404 code 10008", err)
	}

	// Discord's limits.
	tooMany := &discordgo.MessageSend{AllowedMentions: noMentions()}
	for range 11 {
		tooMany.Embeds = append(tooMany.Embeds, &discordgo.MessageEmbed{Title: "x"})
	}
	if _, err := s.ChannelMessageSendComplex(channelID, tooMany); !errors.As(err, &rerr) || rerr.Message.Code != 50035 {
		t.Errorf("11 embeds: %v, want 400 code 50035", err)
	}
	if _, err := s.ChannelMessageSendComplex(channelID, &discordgo.MessageSend{}); !errors.As(err, &rerr) || rerr.Message.Code != 50006 {
		t.Errorf("empty message: %v, want 400 code 50006", err)
	}
}

func TestRateLimits(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	s := newSession(t, srv)
	const retry = 300 * time.Millisecond

	// A per-route 429: discordgo sleeps retry_after and retries.
	f := srv.Fail(discordtest.RateLimited("POST", "/channels/*/messages", retry))
	var rateLimited []*discordgo.RateLimit
	var mu sync.Mutex
	s.AddHandler(func(_ *discordgo.Session, rl *discordgo.RateLimit) {
		mu.Lock()
		rateLimited = append(rateLimited, rl)
		mu.Unlock()
	})
	start := time.Now()
	if _, err := s.ChannelMessageSend(channelID, "after a 429"); err != nil {
		t.Fatalf("send through a 429: %v", err)
	}
	if elapsed := time.Since(start); elapsed < retry {
		t.Errorf("send through a 429 took %v, want ≥ retry_after %v", elapsed, retry)
	}
	if got := statuses(srv.RequestsTo("POST", "/channels/"+channelID+"/messages")); got != "429 200" {
		t.Errorf("statuses = %s, want 429 200", got)
	}
	if f.Hits() != 1 {
		t.Errorf("fault hits = %d, want 1", f.Hits())
	}

	// A global 429 on another route.
	srv.Fail(discordtest.GlobalRateLimited(retry))
	start = time.Now()
	if _, err := s.ChannelMessageSend("400", "after a global 429"); err != nil {
		t.Fatalf("send through a global 429: %v", err)
	}
	if elapsed := time.Since(start); elapsed < retry {
		t.Errorf("send through a global 429 took %v, want ≥ %v", elapsed, retry)
	}
	mu.Lock()
	if len(rateLimited) != 2 || rateLimited[0].RetryAfter != retry {
		t.Errorf("RateLimit events = %d (first %+v), want 2 with RetryAfter %v", len(rateLimited), rateLimited, retry)
	}
	mu.Unlock()

	// With ShouldRetryOnRateLimit off the caller gets a RateLimitError
	// instead of a sleep.
	srv.Fail(discordtest.RateLimited("POST", "/channels/*/messages", 10*time.Second))
	var rle *discordgo.RateLimitError
	if _, err := s.ChannelMessageSend(channelID, "x", discordgo.WithRetryOnRatelimit(false)); !errors.As(err, &rle) || rle.RetryAfter != 10*time.Second {
		t.Errorf("429 without retry: %v, want a RateLimitError asking for 10s", err)
	}
}

func TestRateLimitHeadersPace(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	s := newSession(t, srv)
	const window = 300 * time.Millisecond
	srv.SetRateLimit("POST", "/channels/*/messages", 2, window)
	start := time.Now()
	for i := range 5 {
		if _, err := s.ChannelMessageSend(channelID, "kill "+string(rune('a'+i))); err != nil {
			t.Fatal(err)
		}
	}
	// 2 per window: messages 3–4 wait one window, 5 two.
	if elapsed := time.Since(start); elapsed < 2*window {
		t.Errorf("5 sends at 2 per %v took %v, want ≥ %v", window, elapsed, 2*window)
	}
	reqs := srv.RequestsTo("POST", "/channels/*/messages")
	if got := statuses(reqs); got != "200 200 200 200 200" {
		t.Errorf("statuses = %s, want five 200s: discordgo paces by X-RateLimit-Remaining and Reset-After", got)
	}
	if n := len(srv.Messages(channelID)); n != 5 {
		t.Errorf("len(Messages) = %d, want 5", n)
	}

	// A client that ignores the headers gets real 429s.
	rt, _ := bot.NewTransport(srv.URL, nil)
	c := &http.Client{Transport: rt, Timeout: 5 * time.Second}
	var codes []string
	for range 3 {
		req, _ := http.NewRequest("POST", discordgo.EndpointChannelMessages("500"), strings.NewReader(`{"content":"x"}`))
		req.Header.Set("Authorization", "Bot t")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		codes = append(codes, resp.Status[:3]+" remaining="+resp.Header.Get("X-RateLimit-Remaining"))
		if resp.StatusCode == 429 && (resp.Header.Get("Retry-After") == "" || resp.Header.Get("X-RateLimit-Bucket") == "") {
			t.Errorf("429 headers = %v, want Retry-After and X-RateLimit-Bucket", resp.Header)
		}
	}
	if got := strings.Join(codes, ", "); got != "200 remaining=1, 200 remaining=0, 429 remaining=0" {
		t.Errorf("unpaced requests: %s", got)
	}
}

// statuses returns the statuses of reqs, space-separated.
func statuses(reqs []discordtest.Request) string {
	var b []string
	for _, r := range reqs {
		b = append(b, strconv.Itoa(r.Status))
	}
	return strings.Join(b, " ")
}

func TestServerErrors(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t)
	s := newSession(t, srv)
	var rerr *discordgo.RESTError

	// 500 (and 503, 504): discordgo returns a RESTError at once, no retry.
	srv.Fail(discordtest.ServerError("POST", "/channels/*/messages", 500))
	if _, err := s.ChannelMessageSend("1", "x"); !errors.As(err, &rerr) || rerr.Response.StatusCode != 500 {
		t.Errorf("send through a 500: %v, want a RESTError with status 500", err)
	}
	if got := statuses(srv.RequestsTo("POST", "/channels/1/messages")); got != "500" {
		t.Errorf("statuses = %s, want one 500 (discordgo does not retry it)", got)
	}

	// 502: discordgo retries at once, up to MaxRestRetries (3) times.
	srv.Fail(discordgo502(2))
	if _, err := s.ChannelMessageSend("2", "x"); err != nil {
		t.Errorf("send through two 502s: %v, want success on the third try", err)
	}
	if got := statuses(srv.RequestsTo("POST", "/channels/2/messages")); got != "502 502 200" {
		t.Errorf("statuses = %s, want 502 502 200", got)
	}
	f := srv.Fail(discordgo502(discordtest.Always))
	if _, err := s.ChannelMessageSend("3", "x"); err == nil || !strings.Contains(err.Error(), "Exceeded Max retries") {
		t.Errorf("send through endless 502s: %v, want \"Exceeded Max retries\"", err)
	}
	if got := statuses(srv.RequestsTo("POST", "/channels/3/messages")); got != "502 502 502 502" {
		t.Errorf("statuses = %s, want four 502s", got)
	}
	f.Remove()

	// A deleted channel and a channel without access.
	srv.Fail(discordtest.UnknownChannel("4"))
	srv.Fail(discordtest.MissingAccess("5"))
	if _, err := s.ChannelMessageSend("4", "x"); !errors.As(err, &rerr) || rerr.Response.StatusCode != 404 || rerr.Message.Code != 10003 {
		t.Errorf("send to a deleted channel: %v, want 404 code 10003", err)
	}
	if _, err := s.ChannelMessageSend("5", "x"); !errors.As(err, &rerr) || rerr.Response.StatusCode != 403 || rerr.Message.Code != 50001 {
		t.Errorf("send to a hidden channel: %v, want 403 code 50001", err)
	}

	// A connection reset: an error that is no RESTError, not retried.
	srv.Fail(discordtest.ConnectionReset("POST", "/channels/6/messages"))
	if _, err := s.ChannelMessageSend("6", "x"); err == nil || errors.As(err, &rerr) {
		t.Errorf("send through a reset: %v, want a transport error", err)
	}
	if got := statuses(srv.RequestsTo("POST", "/channels/6/messages")); got != "0" {
		t.Errorf("statuses = %s, want one unanswered request", got)
	}

	// A slow Discord: the client's timeout ends the wait.
	srv.Fail(discordtest.Rule{Method: "POST", Path: "/channels/7/messages", Delay: time.Minute})
	start := time.Now()
	if _, err := s.ChannelMessageSend("7", "x", discordgo.WithClient(&http.Client{Transport: s.Client.Transport, Timeout: 200 * time.Millisecond})); err == nil {
		t.Errorf("send to a hanging Discord succeeded")
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("the hanging request took %v", elapsed)
	}
}

func discordgo502(times int) discordtest.Rule {
	r := discordtest.ServerError("POST", "/channels/*/messages", 502)
	r.Times = times
	r.Body = "<html>502 Bad Gateway</html>"
	return r
}

func TestCommandsBulkOverwrite(t *testing.T) {
	t.Parallel()
	srv := discordtest.New(t, discordtest.WithGuild(guildID, "g", channelID))
	s := newSession(t, srv)
	cmds := []*discordgo.ApplicationCommand{
		{Name: "stats", Description: "Player stats", Options: []*discordgo.ApplicationCommandOption{
			{Type: discordgo.ApplicationCommandOptionString, Name: "player", Description: "Player name", Required: true, Autocomplete: true},
		}},
		{Name: "top", Description: "Leaderboard"},
	}
	global, err := s.ApplicationCommandBulkOverwrite(srv.AppID(), "", cmds)
	if err != nil {
		t.Fatalf("global bulk overwrite: %v", err)
	}
	guild, err := s.ApplicationCommandBulkOverwrite(srv.AppID(), guildID, cmds[:1])
	if err != nil {
		t.Fatalf("guild bulk overwrite: %v", err)
	}
	if len(global) != 2 || global[0].ID == "" || global[0].ApplicationID != srv.AppID() || len(guild) != 1 || guild[0].GuildID != guildID {
		t.Errorf("overwrite answers = %+v / %+v, want commands with ids", global, guild)
	}
	ow := srv.CommandOverwrites()
	if len(ow) != 2 || ow[0].GuildID != "" || ow[1].GuildID != guildID || len(ow[0].Commands) != 2 ||
		ow[0].Commands[0].Options[0].Name != "player" || !bytes.Contains(ow[0].Raw, []byte(`"autocomplete":true`)) {
		t.Errorf("CommandOverwrites() = %+v, want global then guild", ow)
	}
	// Overwriting again keeps the ids of commands with the same name.
	again, err := s.ApplicationCommandBulkOverwrite(srv.AppID(), "", cmds[1:])
	if err != nil || len(again) != 1 || again[0].ID != global[1].ID {
		t.Errorf("second overwrite = %+v, %v; want \"top\" with id %s", again, err, global[1].ID)
	}
	if got, err := s.ApplicationCommands(srv.AppID(), ""); err != nil || len(got) != 1 || got[0].Name != "top" {
		t.Errorf("ApplicationCommands = %+v, %v; want [top]", got, err)
	}
	// Discord's name rules.
	var rerr *discordgo.RESTError
	if _, err := s.ApplicationCommandBulkOverwrite(srv.AppID(), "", []*discordgo.ApplicationCommand{{Name: "Stats", Description: "x"}}); !errors.As(err, &rerr) || rerr.Message.Code != 50035 {
		t.Errorf("upper-case command name: %v, want 400 code 50035", err)
	}
}

// fakeTB records Errorf and runs cleanups on demand.
type fakeTB struct {
	testing.TB
	mu       sync.Mutex
	errs     []string
	cleanups []func()
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Errorf(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, format)
}
func (f *fakeTB) Cleanup(fn func()) { f.cleanups = append(f.cleanups, fn) }
func (f *fakeTB) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}

func TestUnknownRoutes(t *testing.T) {
	t.Parallel()
	ftb := &fakeTB{TB: t}
	srv := discordtest.New(ftb)
	s, _ := discordgo.New("Bot x")
	rt, _ := bot.NewTransport(srv.URL, nil)
	s.Client = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	var rerr *discordgo.RESTError
	if _, err := s.GuildRoles(guildID); !errors.As(err, &rerr) || rerr.Response.StatusCode != 404 {
		t.Errorf("unimplemented route: %v, want 404", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || !reqs[0].Unknown {
		t.Errorf("Requests() = %+v, want one Unknown", reqs)
	}
	ftb.runCleanups()
	if len(ftb.errs) != 1 {
		t.Errorf("cleanup reported %d errors, want 1 for the unknown route", len(ftb.errs))
	}

	srv2 := discordtest.New(t, discordtest.AllowUnknownRoutes())
	rt2, _ := bot.NewTransport(srv2.URL, nil)
	s.Client = &http.Client{Transport: rt2, Timeout: 5 * time.Second}
	s.GuildRoles(guildID) // recorded, not reported
	if reqs := srv2.Requests(); len(reqs) != 1 || !reqs[0].Unknown {
		t.Errorf("Requests() = %+v, want one Unknown", reqs)
	}
}

func TestDispatchBeforeIdentifyFails(t *testing.T) {
	t.Parallel()
	ftb := &fakeTB{TB: t}
	srv := discordtest.New(ftb)
	defer ftb.runCleanups()
	srv.Dispatch("MESSAGE_CREATE", map[string]any{"id": "1"})
	if len(ftb.errs) != 1 {
		t.Errorf("Dispatch with no session reported %d errors, want 1", len(ftb.errs))
	}
}

// TestCloseLeavesNoGoroutines runs before the parallel tests resume, so the
// goroutine count is the fake's alone: a gateway connection, a REST request
// held by a Delay fault, then Close.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	ftb := &fakeTB{TB: t}
	srv := discordtest.New(ftb, discordtest.WithHeartbeatInterval(10*time.Millisecond))

	ws, _, err := websocket.DefaultDialer.Dial(srv.GatewayURL()+"/?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.WriteJSON(map[string]any{"op": 2, "d": map[string]any{"token": "Bot x", "intents": 1}}); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitReady(ctxT(t), 1); err != nil {
		t.Fatal(err)
	}
	hold := srv.Fail(discordtest.Rule{Path: "/gateway", Delay: time.Hour})
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	held := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL + "/api/v10/gateway")
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	for start := time.Now(); hold.Hits() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("the held request did not arrive")
		}
	}
	if n := runtime.NumGoroutine(); n <= before {
		t.Fatalf("%d goroutines with a connection and a request open, %d before", n, before)
	}

	closed := make(chan struct{})
	go func() { ftb.runCleanups(); close(closed) }()
	recv(t, closed, "Close")
	recv(t, held, "the held request")
	ws.Close()
	tr.CloseIdleConnections()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}
