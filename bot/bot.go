package bot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/cmdlog"
	"killfeed/config"
	"killfeed/embed"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/timing"
)

// Config is what the bot needs from config.toml.
type Config struct {
	Token  string
	APIURL string
	// CommandGuilds, when set, registers the commands in these guilds only;
	// otherwise globally.
	CommandGuilds []string
	// LinkVerification is "relocation" or "none".
	LinkVerification string
	// OutboxKeep is how long a post may wait for Discord before it is
	// dropped (default 24h).
	OutboxKeep time.Duration
	Version    string
	// Timing times each command and killfeed message; nil times nothing.
	Timing *timing.Tracker
	// CommandLog records each command answered; nil records nothing.
	CommandLog *cmdlog.Log
}

// Server is one game server as the commands see it.
type Server struct {
	Scope    storage.Scope
	Name     string
	Index    *stats.Index
	Sessions *stats.Sessions
	// Status reports the state of the server's log sources (nil: unknown).
	Status func() embed.Source
	// Posts says what of the server is posted, and when.
	Posts config.Posts
}

// Bot answers slash commands from the in-memory indexes and keeps the
// guild settings that commands change. Use New, then Run.
type Bot struct {
	cfg     Config
	db      *storage.DB
	log     *slog.Logger
	servers map[string][]*Server // by guild id, in config order
	started time.Time
	// Now is the clock; tests set it.
	Now func() time.Time

	session *discordgo.Session // made by New, connected by Run

	// later counts the work started after an answer (deferred commands,
	// link proofs); closing, under mu, stops more from starting.
	later   sync.WaitGroup
	closing bool
	poster  *poster
	// instance tells this bot's messages from another's with the same
	// token in message nonces: random, kept in the database.
	instance string
	opened   atomic.Bool  // Run has connected the session at least once
	failed   atomic.Int64 // commands the bot failed to answer (outcomes error and failed)
	gateway  gateway

	mu       sync.RWMutex
	links    map[string]map[string]storage.Link    // guild → character id → link
	pending  map[string]map[string]storage.Pending // guild → character id → request
	settings map[string]map[string]string          // guild → key → value
}

// Link requests: how long one waits for its proof; how much longer it is
// kept for a proof read late (an SFTP poll, a reconnection); how far the
// game's clock may be from ours.
const (
	linkWithin = 10 * time.Minute
	linkGrace  = 3 * time.Minute
	clockSkew  = time.Minute
)

// New returns a bot for servers, loading the guild settings and links from
// db.
func New(cfg Config, db *storage.DB, servers []*Server, log *slog.Logger) (*Bot, error) {
	s, err := discordgo.New("Bot " + cfg.Token) // connects nothing yet
	if err != nil {
		return nil, fmt.Errorf("discord: %w", err)
	}
	rt, err := NewTransport(cfg.APIURL, nil)
	if err != nil {
		return nil, err
	}
	s.Client = &http.Client{Transport: rt, Timeout: 20 * time.Second}
	s.Identify.Intents = discordgo.IntentsGuilds // no privileged intent
	s.ShouldReconnectOnError = true
	b := &Bot{
		cfg: cfg, db: db, log: log, Now: time.Now, started: time.Now(), session: s,
		servers:  map[string][]*Server{},
		links:    map[string]map[string]storage.Link{},
		pending:  map[string]map[string]storage.Pending{},
		settings: map[string]map[string]string{},
	}
	if cfg.OutboxKeep <= 0 {
		cfg.OutboxKeep = 24 * time.Hour
		b.cfg.OutboxKeep = cfg.OutboxKeep
	}
	b.poster = newPoster(b, cfg.OutboxKeep)
	// The posts already queued: their events were loaded with the indexes.
	last, err := db.LastPostKey()
	if err != nil {
		return nil, err
	}
	b.poster.visible.Store(last)
	if b.instance, err = db.Meta("instance"); err != nil {
		return nil, err
	}
	if b.instance == "" {
		b.instance = strconv.FormatUint(rand.Uint64()%(36*36*36*36*36*36), 36)
		if err := db.SetMeta("instance", b.instance); err != nil {
			return nil, err
		}
	}
	for _, s := range servers {
		b.servers[s.Scope.Guild] = append(b.servers[s.Scope.Guild], s)
	}
	for guild := range b.servers {
		links, err := db.Links(guild)
		if err != nil {
			return nil, err
		}
		pend, err := db.Pendings(guild)
		if err != nil {
			return nil, err
		}
		settings, err := db.Settings(guild)
		if err != nil {
			return nil, err
		}
		b.links[guild], b.pending[guild], b.settings[guild] = map[string]storage.Link{}, map[string]storage.Pending{}, settings
		for _, l := range links {
			b.links[guild][l.CharacterID] = l
		}
		for _, p := range pend {
			b.pending[guild][p.CharacterID] = p
		}
	}
	return b, nil
}

// Run connects to Discord and answers interactions until ctx is done. When
// Discord cannot be reached it keeps trying, with backoff, and never
// returns an error for that: the logs are still read and stored.
func (b *Bot) Run(ctx context.Context) error {
	discordLog.Store(b.log)
	routeDiscordLog.Do(func() { discordgo.Logger = logDiscord })
	s := b.session
	s.AddHandler(func(s *discordgo.Session, r *discordgo.Ready) { b.onReady(ctx, s, r) })
	s.AddHandler(b.onInteraction)
	s.AddHandler(func(*discordgo.Session, *discordgo.Connect) { b.gateway.set(true, time.Now()) })
	s.AddHandler(func(*discordgo.Session, *discordgo.Disconnect) { b.gateway.set(false, time.Now()) })
	defer b.close()
	// The outbox is drained from the start, Discord reachable or not: a
	// channel that cannot post retries on its own.
	b.goLater(func() { b.poster.run(ctx) })

	for failures := 0; ; failures++ {
		err := s.Open()
		if err == nil {
			break
		}
		b.log.Warn("cannot reach Discord: retrying", "err", redact(err), "api_url", b.cfg.APIURL)
		if !sleep(ctx, backoff(failures)) {
			return nil
		}
	}
	b.opened.Store(true)
	b.log.Info("connected to Discord")
	tick := time.NewTicker(15 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			b.expireLinks()
		}
	}
}

// gateway is the state of the connection to Discord's gateway.
type gateway struct {
	mu    sync.Mutex
	up    bool
	since time.Time // when up last changed; zero: never connected
}

func (g *gateway) set(up bool, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.up != up || g.since.IsZero() {
		g.up, g.since = up, at
	}
}

// Online reports whether the bot is connected to Discord's gateway, and
// since when (zero: never connected).
func (b *Bot) Online() (bool, time.Time) {
	g := &b.gateway
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.up, g.since
}

// Figures returns the bot's own figures since it started: its Discord
// connection, the commands answered, the killfeed posted and the command
// log.
func (b *Bot) Figures() embed.Figures {
	var f embed.Figures
	f.Online, f.Since = b.Online()
	f.Commands = b.cfg.Timing.Counts(timing.Command)
	f.Failed = b.failed.Load()
	if n, err := b.db.OutboxLen(); err == nil {
		f.Waiting = n
	}
	f.Sent, f.RateLimited = b.poster.sent.Load(), b.poster.rateLimited.Load()
	if l := b.cfg.CommandLog; l != nil {
		c := l.Figures()
		f.Logging, f.Logged, f.LogDropped, f.LogFailing = true, c.Stored, c.Dropped, c.Failing
	}
	return f
}

// discordgo logs through a package variable: its messages go to the log
// of the bot that ran last, without interaction tokens.
var (
	discordLog      atomic.Pointer[slog.Logger]
	routeDiscordLog sync.Once
)

func logDiscord(level, _ int, format string, a ...any) {
	log := discordLog.Load()
	if log == nil {
		return
	}
	msg := "discordgo: " + tokenInURL.ReplaceAllString(fmt.Sprintf(format, a...), "${1}<token>")
	switch level {
	case discordgo.LogError:
		log.Error(msg)
	case discordgo.LogWarning:
		log.Warn(msg)
	default:
		log.Debug(msg)
	}
}

// close stops new background work, closes the session and waits for the
// work already started.
func (b *Bot) close() {
	b.mu.Lock()
	b.closing = true
	b.mu.Unlock()
	if err := b.session.Close(); err != nil {
		b.log.Warn("closing the Discord session", "err", redact(err))
	}
	b.later.Wait()
}

// goLater runs fn in the background unless the bot is closing, and says
// whether it does.
func (b *Bot) goLater(fn func()) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return false
	}
	b.later.Add(1)
	go func() {
		defer b.later.Done()
		fn()
	}()
	return true
}

// onReady registers the commands if they changed since they were last
// registered: Discord rate-limits registration, and a restart should not
// spend it.
func (b *Bot) onReady(ctx context.Context, s *discordgo.Session, r *discordgo.Ready) {
	appID, user := "", ""
	if r.User != nil {
		appID, user = r.User.ID, r.User.Username
	}
	if r.Application != nil && r.Application.ID != "" {
		appID = r.Application.ID
	}
	b.log.Info("Discord session ready", "user", user)
	b.goLater(func() {
		if err := b.register(s, appID); err != nil && ctx.Err() == nil {
			b.log.Error("cannot register the slash commands", "err", redact(err))
		}
	})
}

// register overwrites the commands where they are registered, unless the
// stored hash says they are the same; and empties the registrations of a
// previous config (global before command_guilds was set, or the reverse),
// so that members do not see every command twice.
func (b *Bot) register(s *discordgo.Session, appID string) error {
	defs := Commands()
	raw, err := json.Marshal(defs)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:])
	where := []string{""} // global
	if len(b.cfg.CommandGuilds) > 0 {
		where = b.cfg.CommandGuilds
	}
	for guild := range b.servers {
		if len(b.cfg.CommandGuilds) > 0 && !slices.Contains(b.cfg.CommandGuilds, guild) {
			b.log.Warn("a configured guild is not in [discord] command_guilds: it has no slash commands", "guild", guild)
		}
	}
	key := func(guild string) string {
		if guild == "" {
			return "commands/" + appID + "/global"
		}
		return "commands/" + appID + "/guild/" + guild
	}
	listKey := "commands/" + appID + "/where"
	before, err := b.db.Meta(listKey)
	if err != nil {
		return err
	}
	for _, old := range strings.Split(before, ",") {
		guild := strings.TrimPrefix(old, "g")
		if before == "" || slices.Contains(where, guild) {
			continue
		}
		if _, err := s.ApplicationCommandBulkOverwrite(appID, guild, []*discordgo.ApplicationCommand{}); err != nil {
			return fmt.Errorf("remove the commands registered before (guild %q): %w", guild, err)
		}
		if err := b.db.SetMeta(key(guild), ""); err != nil {
			return err
		}
		b.log.Info("slash commands removed where the config no longer registers them", "guild", guild)
	}
	for _, guild := range where {
		if old, err := b.db.Meta(key(guild)); err != nil {
			return err
		} else if old == hash {
			b.log.Info("slash commands unchanged: not registered again", "guild", guild)
			continue
		}
		if _, err := s.ApplicationCommandBulkOverwrite(appID, guild, defs); err != nil {
			return fmt.Errorf("register commands (guild %q): %w", guild, err)
		}
		if err := b.db.SetMeta(key(guild), hash); err != nil {
			return err
		}
		b.log.Info("slash commands registered", "guild", guild, "count", len(defs))
	}
	var list []string
	for _, g := range where {
		list = append(list, "g"+g) // "g" alone is global
	}
	return b.db.SetMeta(listKey, strings.Join(list, ","))
}

// onInteraction answers one interaction through the session; close waits
// for it. Once the bot is closing, interactions are left unanswered.
func (b *Bot) onInteraction(s *discordgo.Session, ic *discordgo.InteractionCreate) {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return
	}
	b.later.Add(1)
	b.mu.Unlock()
	defer b.later.Done()
	i := ic.Interaction
	b.answer(i, func(r *discordgo.InteractionResponse) error {
		return s.InteractionRespond(i, r)
	}, func(e *discordgo.WebhookEdit) error {
		_, err := s.InteractionResponseEdit(i, e)
		return err
	})
}

// answer answers an interaction: the handler reads memory only and its
// answer is sent at once with respond; slow work (a database write) was
// deferred by the handler and, run in the background, edits the answer.
// The flow is timed at each step and, once answered, recorded in the
// command log without waiting for it.
func (b *Bot) answer(i *discordgo.Interaction, respond func(*discordgo.InteractionResponse) error, edit func(*discordgo.WebhookEdit) error) {
	kind := timing.Command
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		kind = timing.Autocomplete
	}
	f := b.cfg.Timing.Start(kind, "", time.Now())
	r := b.handle(i, f)
	f.Mark("rendered")
	err := respond(r.Response)
	f.MarkRemote("responded")
	e := b.entry(i, f, r.outcome)
	if err != nil {
		b.log.Error("cannot answer an interaction", "interaction", i.ID, "err", redact(err))
		e.Outcome = storage.OutcomeFailed
	}
	if r.Later == nil || err != nil {
		b.done(f, e)
		return
	}
	started := b.goLater(func() {
		edited, ok := b.runLater(i, r.Later)
		if !ok {
			e.Outcome = storage.OutcomeError
		}
		if err := edit(edited); err != nil {
			b.log.Error("cannot edit an interaction's answer", "interaction", i.ID, "err", redact(err))
			e.Outcome = storage.OutcomeFailed
		}
		f.MarkRemote("edited")
		b.done(f, e)
	})
	if !started { // shutting down: the deferred work never runs
		e.Outcome = storage.OutcomeFailed
		b.done(f, e)
	}
}

// done ends a command's flow and records it in the command log, with the
// time from its arrival to its answer (for a deferred command, to the edit
// that carries the result).
func (b *Bot) done(f *timing.Flow, e storage.CommandEntry) {
	f.Done(e.Outcome)
	if f != nil {
		e.Handler = f.Took()
	}
	if e.Outcome == storage.OutcomeError || e.Outcome == storage.OutcomeFailed {
		if !strings.HasSuffix(e.Command, " autocomplete") { // a late autocomplete is no failure to report
			b.failed.Add(1)
		}
	}
	if b.cfg.CommandLog != nil {
		b.cfg.CommandLog.Add(e)
	}
}

// entry is the command log's record of an interaction answered.
func (b *Bot) entry(i *discordgo.Interaction, f *timing.Flow, outcome string) storage.CommandEntry {
	u := caller(i)
	e := storage.CommandEntry{Time: time.Now(), Guild: i.GuildID, Channel: i.ChannelID, UserID: u.ID, UserName: u.Username, Outcome: outcome}
	e.Command, e.Options = describe(i)
	if f != nil {
		e.Time = f.Started()
	}
	return e
}

// runLater runs deferred work; a panic still gives the user an answer. ok
// is false when the work failed on the bot's side.
func (b *Bot) runLater(i *discordgo.Interaction, later func() *discordgo.MessageEmbed) (edit *discordgo.WebhookEdit, ok bool) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("command failed", "interaction", i.ID, "panic", p)
			edit, ok = webhookEdit(embed.Error(somethingWrong)), false
		}
	}()
	e := later()
	return webhookEdit(e), !isSomethingWrong(e)
}

func webhookEdit(e *discordgo.MessageEmbed) *discordgo.WebhookEdit {
	embeds := []*discordgo.MessageEmbed{e}
	return &discordgo.WebhookEdit{Embeds: &embeds, AllowedMentions: noMentions()}
}

// noMentions allows no mention at all: a player named @everyone stays
// text. An empty, non-nil Parse is sent as "parse": [].
func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}

// edit changes the answer to an interaction known by its token, as a
// confirmed or expired link request does minutes later.
func (b *Bot) edit(appID, token string, e *discordgo.MessageEmbed) {
	if token == "" || !b.opened.Load() {
		return
	}
	i := &discordgo.Interaction{AppID: appID, Token: token}
	if _, err := b.session.InteractionResponseEdit(i, webhookEdit(e)); err != nil {
		b.log.Warn("cannot edit a /link answer", "err", redact(err))
	}
}

// tokenInURL matches the secret part of interaction and webhook URLs,
// which discordgo's transport errors quote.
var tokenInURL = regexp.MustCompile(`(/(?:webhooks|interactions)/[0-9]+/)[^/\s?"]+`)

// redact turns an error into text fit for the log: without the interaction
// tokens that URLs in it may carry.
func redact(err error) string {
	return tokenInURL.ReplaceAllString(err.Error(), "${1}<token>")
}

// backoff is the wait after the n-th failure to connect: 1s, doubling, at
// most 2 minutes.
func backoff(n int) time.Duration {
	return min(time.Second<<min(n, 7), 2*time.Minute)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
