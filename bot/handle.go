package bot

import (
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/bwmarrin/discordgo"

	"killfeed/embed"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/timing"
)

// Reply is a handler's answer: the response sent at once and, for slow
// work, a function run after it whose embed replaces the answer. A reply
// with Later is a deferral ("thinking…").
type Reply struct {
	Response *discordgo.InteractionResponse
	Later    func() *discordgo.MessageEmbed
	outcome  string // for the command log: storage.OutcomeOK when empty
}

const somethingWrong = "Something went wrong on our side. Please try again in a moment."

// wrong is the answer when the bot failed: "something went wrong".
func wrong() Reply {
	r := ephemeral(embed.Error(somethingWrong))
	r.outcome = storage.OutcomeError
	return r
}

// isSomethingWrong reports whether e is the answer of a bot's failure.
func isSomethingWrong(e *discordgo.MessageEmbed) bool {
	return e != nil && e.Description == somethingWrongText
}

var somethingWrongText = embed.Error(somethingWrong).Description

// refuse is the answer to a request the bot cannot take, saying why.
func refuse(why string) Reply {
	r := ephemeral(embed.Error(why))
	r.outcome = storage.OutcomeInvalid
	return r
}

// Handle answers an interaction from memory. It never blocks on I/O and
// never panics: a failing handler gives an ephemeral "something went
// wrong", and the error is logged with the interaction id.
func (b *Bot) Handle(i *discordgo.Interaction) Reply {
	return b.handle(i, nil)
}

// handle is Handle, marking the steps of the command's flow f.
func (b *Bot) handle(i *discordgo.Interaction, f *timing.Flow) (r Reply) {
	defer func() {
		if p := recover(); p != nil {
			b.log.Error("command failed", "interaction", i.ID, "panic", p, "stack", string(debug.Stack()))
			r = wrong()
		}
		setNoMentions(r.Response)
		if r.outcome == "" {
			r.outcome = storage.OutcomeOK
		}
	}()
	if f != nil {
		f.Name, f.Labels = commandName(i), []any{"guild", i.GuildID, "interaction", i.ID}
	}
	if i.GuildID == "" {
		return refuse("Use the commands in a Discord server, not in direct messages.")
	}
	switch i.Type {
	case discordgo.InteractionApplicationCommandAutocomplete:
		return b.autocomplete(i, f)
	case discordgo.InteractionApplicationCommand:
		return b.command(i, f)
	}
	return refuse("This kind of interaction is not supported.")
}

// commandName names an interaction's command for the command log and the
// metrics: "stats", "admin link", "stats autocomplete".
func commandName(i *discordgo.Interaction) string {
	switch i.Type {
	case discordgo.InteractionApplicationCommand, discordgo.InteractionApplicationCommandAutocomplete:
	default:
		return "other"
	}
	data := i.ApplicationCommandData()
	name := data.Name
	for opts := data.Options; len(opts) > 0; {
		o := opts[0]
		if o.Type != discordgo.ApplicationCommandOptionSubCommand && o.Type != discordgo.ApplicationCommandOptionSubCommandGroup {
			break
		}
		name += " " + o.Name
		opts = o.Options
	}
	if i.Type == discordgo.InteractionApplicationCommandAutocomplete {
		name += " autocomplete"
	}
	return name
}

// describe returns an interaction's command name and its options as
// "name=value" pairs in name order, for the command log.
func describe(i *discordgo.Interaction) (name, opts string) {
	name = commandName(i)
	if name == "other" {
		return name, ""
	}
	o := flatten(i.ApplicationCommandData().Options)
	keys := make([]string, 0, len(o.m))
	for k := range o.m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(clip(fmt.Sprint(o.m[k].Value), 100))
	}
	return name, b.String()
}

func setNoMentions(r *discordgo.InteractionResponse) {
	if r != nil && r.Data != nil && r.Type != discordgo.InteractionApplicationCommandAutocompleteResult {
		r.Data.AllowedMentions = noMentions()
	}
}

// userError is a problem with what the user asked: it is shown to them.
type userError string

func (e userError) Error() string { return string(e) }

func (b *Bot) command(i *discordgo.Interaction, f *timing.Flow) Reply {
	data := i.ApplicationCommandData()
	o := flatten(data.Options)
	o.flow = f
	var (
		r   Reply
		err error
	)
	switch name := data.Name + o.sub; name {
	case "stats":
		r, err = b.stats(i, o)
	case "leaderboard":
		r, err = b.leaderboard(i, o)
	case "compare":
		r, err = b.compare(i, o)
	case "link":
		r, err = b.link(i, o)
	case "unlink":
		r, err = b.unlink(i, o)
	case "linked":
		r, err = b.linked(i, o)
	case "server list":
		r, err = b.serverList(i)
	case "status":
		r, err = b.status(i)
	case "help":
		r = public(embed.Help(helpLines))
	case "admin link", "admin unlink", "setchannel", "wipe":
		if !isAdmin(i) {
			return refuse("This command needs the Manage Server permission.")
		}
		switch name {
		case "admin link":
			r, err = b.adminLink(i, o)
		case "admin unlink":
			r, err = b.adminUnlink(i, o)
		case "setchannel":
			r, err = b.setChannel(i, o)
		case "wipe":
			r, err = b.wipe(i, o)
		}
	default:
		err = userError(fmt.Sprintf("Unknown command /%s: the bot may be older than its commands. Try again in a minute.", name))
	}
	var ue userError
	switch {
	case errors.As(err, &ue):
		return refuse(string(ue))
	case err != nil:
		b.log.Error("command failed", "interaction", i.ID, "command", data.Name, "err", err)
		return wrong()
	}
	return r
}

func isAdmin(i *discordgo.Interaction) bool {
	return i.Member != nil && i.Member.Permissions&(discordgo.PermissionManageGuild|discordgo.PermissionAdministrator) != 0
}

// options are a command's options by name, with the subcommand's name.
type options struct {
	sub  string // " list", " link"...: the subcommand, with a space
	m    map[string]*discordgo.ApplicationCommandInteractionDataOption
	flow *timing.Flow // the command's flow, marked "resolved" and "gathered" (nil: untimed)
}

func flatten(list []*discordgo.ApplicationCommandInteractionDataOption) options {
	o := options{m: map[string]*discordgo.ApplicationCommandInteractionDataOption{}}
	for _, opt := range list {
		switch opt.Type {
		case discordgo.ApplicationCommandOptionSubCommand, discordgo.ApplicationCommandOptionSubCommandGroup:
			inner := flatten(opt.Options)
			o.sub += " " + opt.Name + inner.sub
			for k, v := range inner.m {
				o.m[k] = v
			}
		default:
			o.m[opt.Name] = opt
		}
	}
	return o
}

// str returns a string option, trimmed, or "".
func (o options) str(name string) string {
	if v, ok := o.m[name]; ok {
		if s, ok := v.Value.(string); ok {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func (o options) int(name string, def int) int {
	if v, ok := o.m[name]; ok {
		if f, ok := v.Value.(float64); ok {
			return int(f)
		}
	}
	return def
}

func (o options) focused() (string, string) {
	for name, v := range o.m {
		if v.Focused {
			s, _ := v.Value.(string)
			return name, s
		}
	}
	return "", ""
}

func public(e *discordgo.MessageEmbed) Reply {
	return Reply{Response: &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{Embeds: []*discordgo.MessageEmbed{e}},
	}}
}

func ephemeral(e *discordgo.MessageEmbed) Reply {
	r := public(e)
	r.Response.Data.Flags = discordgo.MessageFlagsEphemeral
	return r
}

// deferred answers "thinking…" at once (ephemeral for the caller only when
// private is set) and runs later, whose embed becomes the answer.
func deferred(private bool, later func() *discordgo.MessageEmbed) Reply {
	r := Reply{Response: &discordgo.InteractionResponse{
		Type: discordgo.InteractionResponseDeferredChannelMessageWithSource,
		Data: &discordgo.InteractionResponseData{},
	}, Later: later}
	if private {
		r.Response.Data.Flags = discordgo.MessageFlagsEphemeral
	}
	return r
}

// server returns the game server the option names, or the guild's first.
func (b *Bot) server(i *discordgo.Interaction, o options) (*Server, error) {
	list := b.servers[i.GuildID]
	if len(list) == 0 {
		return nil, userError("No game server is set up for this Discord server yet: the bot's owner adds it to config.toml.")
	}
	want := o.str("server")
	if want == "" {
		return list[0], nil
	}
	for _, s := range list {
		if strings.EqualFold(s.Scope.Server, want) || strings.EqualFold(s.Name, want) {
			return s, nil
		}
	}
	return nil, userError(fmt.Sprintf("There is no game server %s here. /server list shows them.", clip(want, 64)))
}

// period returns the period the option names, all time by default. A
// season on a server that never had a wipe is all time, and says so.
func (b *Bot) period(o options, srv *Server) stats.Period {
	p, err := stats.ParsePeriod(o.str("period"))
	if err != nil || p == stats.Season && srv.Index.Season().IsZero() {
		return stats.AllTime
	}
	return p
}

// serverOf returns the server the option names or, without one, the
// first of the guild's servers that knows player q.
func (b *Bot) serverOf(i *discordgo.Interaction, o options, q string) (*Server, error) {
	if o.str("server") != "" {
		return b.server(i, o)
	}
	for _, s := range b.servers[i.GuildID] {
		if _, err := s.Index.Lookup(q); err == nil {
			return s, nil
		}
	}
	return b.server(i, o)
}

// caller returns the user who sent the interaction.
func caller(i *discordgo.Interaction) *discordgo.User {
	if i.Member != nil && i.Member.User != nil {
		return i.Member.User
	}
	if i.User != nil {
		return i.User
	}
	return &discordgo.User{}
}

func (b *Bot) stats(i *discordgo.Interaction, o options) (Reply, error) {
	q, shown := o.str("player"), o.str("player")
	if q == "" {
		user := o.str("user")
		if user == "" {
			user = caller(i).ID
		}
		chars := b.linksOf(i.GuildID, user)
		if len(chars) == 0 {
			if user == caller(i).ID {
				return Reply{}, userError("Name a player, or link your character first with /link.")
			}
			return Reply{}, userError(fmt.Sprintf("%s has no linked character.", userName(i, user)))
		}
		q, shown = chars[0].CharacterID, chars[0].Name
		if o.str("server") == "" {
			o.m["server"] = &discordgo.ApplicationCommandInteractionDataOption{Value: chars[0].Server}
		}
	}
	srv, err := b.serverOf(i, o, q)
	if err != nil {
		return Reply{}, err
	}
	now := b.Now()
	period := b.period(o, srv)
	o.flow.Mark("resolved")
	st, err := srv.Index.Stats(q, period, now)
	if errors.Is(err, stats.ErrNoPlayer) {
		return Reply{}, noPlayer(shown, srv)
	}
	if err != nil {
		return Reply{}, err
	}
	p := embed.Player{Stats: st, Period: period, Server: srv.Name, At: now}
	if srv.Sessions != nil {
		p.Playtime = srv.Sessions.Playtime(st.ID, now)
	}
	o.flow.Mark("gathered")
	return public(embed.Stats(p)), nil
}

func noPlayer(q string, srv *Server) error {
	return userError(fmt.Sprintf("No player %s on %s. Pick a name from the list as you type.", clip(q, 64), srv.Name))
}

func (b *Bot) leaderboard(i *discordgo.Interaction, o options) (Reply, error) {
	srv, err := b.server(i, o)
	if err != nil {
		return Reply{}, err
	}
	metric, err := stats.ParseMetric(o.str("metric"))
	if o.str("metric") == "" {
		metric, err = stats.Kills, nil
	}
	if err != nil {
		return Reply{}, userError("Pick a metric from the list: kills, deaths, kdr, longest_kill, best_streak or suicides.")
	}
	limit := o.int("limit", 10)
	if limit < 1 || limit > 25 {
		return Reply{}, userError("The limit is a number from 1 to 25.")
	}
	now := b.Now()
	period := b.period(o, srv)
	o.flow.Mark("resolved")
	entries := srv.Index.Leaderboard(metric, period, now, limit)
	o.flow.Mark("gathered")
	return public(embed.Leaderboard(embed.Board{Metric: metric, Period: period, Entries: entries, Server: srv.Name, At: now})), nil
}

func (b *Bot) compare(i *discordgo.Interaction, o options) (Reply, error) {
	qa, qb := o.str("player_a"), o.str("player_b")
	srv, err := b.serverOf(i, o, qa)
	if err != nil {
		return Reply{}, err
	}
	now, period := b.Now(), b.period(o, srv)
	o.flow.Mark("resolved")
	a, err := srv.Index.Stats(qa, period, now)
	if errors.Is(err, stats.ErrNoPlayer) {
		return Reply{}, noPlayer(qa, srv)
	}
	if err != nil {
		return Reply{}, err
	}
	c, err := srv.Index.Stats(qb, period, now)
	if errors.Is(err, stats.ErrNoPlayer) {
		return Reply{}, noPlayer(qb, srv)
	}
	if err != nil {
		return Reply{}, err
	}
	if a.ID == c.ID {
		return Reply{}, userError("Pick two different players.")
	}
	ab, ba, err := srv.Index.HeadToHead(a.ID, c.ID, period, now)
	if err != nil {
		return Reply{}, err
	}
	o.flow.Mark("gathered")
	return public(embed.Compare(embed.Versus{A: a, B: c, AKilledB: ab, BKilledA: ba, Period: period, Server: srv.Name, At: now})), nil
}

func (b *Bot) serverList(i *discordgo.Interaction) (Reply, error) {
	list := b.servers[i.GuildID]
	if len(list) == 0 {
		return Reply{}, userError("No game server is set up for this Discord server yet: the bot's owner adds it to config.toml.")
	}
	var lines []string
	for _, s := range list {
		state := "state unknown"
		if s.Status != nil {
			st := s.Status()
			state = "reading"
			if !st.Connected {
				state = "not reading"
			}
		}
		online := ""
		if s.Sessions != nil {
			n, queued := s.Sessions.Count()
			online = fmt.Sprintf(", %d online, %d in the queue", n, queued)
		}
		lines = append(lines, fmt.Sprintf("%s (id %s): %s%s", s.Name, s.Scope.Server, state, online))
	}
	return public(embed.Info("Game servers", strings.Join(lines, "\n"))), nil
}

func (b *Bot) status(i *discordgo.Interaction) (Reply, error) {
	fig := b.Figures()
	h := embed.Health{Version: b.cfg.Version, Uptime: b.Now().Sub(b.started), At: b.Now(), Bot: &fig}
	for _, s := range b.servers[i.GuildID] {
		src := embed.Source{Server: s.Name}
		if s.Status != nil {
			src = s.Status()
			src.Server = s.Name
		}
		h.Sources = append(h.Sources, src)
	}
	for ch, why := range b.poster.paused() {
		if b.guildHasChannel(i.GuildID, ch) {
			h.Sources = append(h.Sources, embed.Source{Server: "Posting to #" + channelName(i, ch), Err: "paused: " + why + "; run /setchannel again once it is fixed"})
		}
	}
	return public(embed.Status(h)), nil
}

func (b *Bot) setChannel(i *discordgo.Interaction, o options) (Reply, error) {
	kind, channel := o.str("kind"), o.str("channel")
	if !slices.Contains(channelKinds, kind) {
		return Reply{}, userError("Pick a kind from the list: " + strings.Join(channelKinds, ", ") + ".")
	}
	if channel == "" {
		return Reply{}, userError("Pick a channel.")
	}
	server, name := "*", "every game server here"
	if o.str("server") != "" {
		srv, err := b.server(i, o)
		if err != nil {
			return Reply{}, err
		}
		server, name = srv.Scope.Server, srv.Name
	}
	key := "channel/" + server + "/" + kind
	return deferred(true, func() *discordgo.MessageEmbed {
		if err := b.setSetting(i.GuildID, key, channel); err != nil {
			b.log.Error("cannot store a channel", "interaction", i.ID, "err", err)
			return embed.Error(somethingWrong)
		}
		b.log.Info("channel set", "guild", i.GuildID, "key", key, "channel", channel, "by", caller(i).ID)
		return embed.Success(fmt.Sprintf("Saved: #%s is the %s channel of %s.", channelName(i, channel), kind, name))
	}), nil
}

func (b *Bot) wipe(i *discordgo.Interaction, o options) (Reply, error) {
	srv, err := b.server(i, o)
	if err != nil {
		return Reply{}, err
	}
	now := b.Now()
	return deferred(false, func() *discordgo.MessageEmbed {
		if err := b.db.SetSeason(srv.Scope, now); err != nil {
			b.log.Error("cannot store a wipe", "interaction", i.ID, "err", err)
			return embed.Error(somethingWrong)
		}
		srv.Index.SetSeason(now)
		b.log.Info("new season", "server", srv.Scope, "by", caller(i).ID)
		return embed.Success(fmt.Sprintf("A new season starts on %s: season leaderboards start from zero. All-time figures are kept.", srv.Name))
	}), nil
}

// setSetting stores a guild setting and keeps it in memory.
func (b *Bot) setSetting(guild, key, value string) error {
	if err := b.db.SetSetting(guild, key, value); err != nil {
		return err
	}
	b.mu.Lock()
	if b.settings[guild] == nil {
		b.settings[guild] = map[string]string{}
	}
	b.settings[guild][key] = value
	b.mu.Unlock()
	if strings.HasPrefix(key, "channel/") {
		b.poster.rerouted() // not under b.mu: the poster takes it under its own lock
	}
	return nil
}

// autocomplete offers up to 25 choices for the focused option, from memory
// and from this guild only.
func (b *Bot) autocomplete(i *discordgo.Interaction, f *timing.Flow) Reply {
	data := i.ApplicationCommandData()
	o := flatten(data.Options)
	f.Mark("resolved")
	name, prefix := o.focused()
	var choices []*discordgo.ApplicationCommandOptionChoice
	add := func(label, value string) {
		if len(choices) < 25 {
			choices = append(choices, &discordgo.ApplicationCommandOptionChoice{Name: clip(label, 100), Value: clip(value, 100)})
		}
	}
	switch {
	case name == "server":
		for _, s := range b.servers[i.GuildID] {
			if hasPrefixFold(s.Name, prefix) || hasPrefixFold(s.Scope.Server, prefix) {
				add(s.Name, s.Scope.Server)
			}
		}
	case name == "character" && data.Name == "unlink":
		for _, l := range b.linksOf(i.GuildID, caller(i).ID) {
			if hasPrefixFold(l.Name, prefix) {
				add(l.Name, l.CharacterID)
			}
		}
	case name == "character" && data.Name+o.sub == "admin unlink":
		b.mu.RLock()
		for _, l := range b.links[i.GuildID] {
			if hasPrefixFold(l.Name, prefix) {
				add(l.Name, l.CharacterID)
			}
		}
		b.mu.RUnlock()
	default: // player names
		servers := b.servers[i.GuildID]
		if o.str("server") != "" {
			if s, err := b.server(i, o); err == nil {
				servers = []*Server{s}
			}
		}
		seen := map[string]bool{}
		for _, s := range servers {
			for _, m := range s.Index.Search(prefix, 25) {
				if !seen[m.ID] {
					seen[m.ID] = true
					add(m.Name, m.ID)
				}
			}
		}
	}
	f.Mark("gathered")
	if choices == nil {
		choices = []*discordgo.ApplicationCommandOptionChoice{}
	}
	return Reply{Response: &discordgo.InteractionResponse{
		Type: discordgo.InteractionApplicationCommandAutocompleteResult,
		Data: &discordgo.InteractionResponseData{Choices: choices},
	}}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// clip cuts s to at most n runes.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// linksOf returns the characters linked to user in guild, oldest first.
func (b *Bot) linksOf(guild, user string) []storage.Link {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []storage.Link
	for _, l := range b.links[guild] {
		if l.UserID == user {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(a, c storage.Link) int { return a.At.Compare(c.At) })
	return out
}

// userName is the name of a user the interaction names, as Discord
// resolved it, or their id.
func userName(i *discordgo.Interaction, id string) string {
	if r := i.ApplicationCommandData().Resolved; r != nil {
		if m, ok := r.Members[id]; ok && m.Nick != "" {
			return m.Nick
		}
		if u, ok := r.Users[id]; ok {
			if u.GlobalName != "" {
				return u.GlobalName
			}
			return u.Username
		}
	}
	return "User " + id
}

// channelName is the name of a channel the interaction names, or its id.
func channelName(i *discordgo.Interaction, id string) string {
	if r := i.ApplicationCommandData().Resolved; r != nil {
		if c, ok := r.Channels[id]; ok && c.Name != "" {
			return c.Name
		}
	}
	return id
}

// guildHasChannel reports whether a channel setting of guild names ch.
func (b *Bot) guildHasChannel(guild, ch string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for k, v := range b.settings[guild] {
		if v == ch && strings.HasPrefix(k, "channel/") {
			return true
		}
	}
	return false
}
