package bot

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/embed"
	"killfeed/stats"
	"killfeed/storage"
)

// character finds a player by name or EOS id on the named server, or on
// any server of the guild.
func (b *Bot) character(i *discordgo.Interaction, o options) (*Server, stats.Match, error) {
	q := o.str("character")
	if q == "" {
		return nil, stats.Match{}, userError("Name the character.")
	}
	servers := b.servers[i.GuildID]
	if o.str("server") != "" {
		s, err := b.server(i, o)
		if err != nil {
			return nil, stats.Match{}, err
		}
		servers = []*Server{s}
	}
	for _, s := range servers {
		if id, err := s.Index.Lookup(q); err == nil {
			st, err := s.Index.Stats(id, stats.AllTime, b.Now())
			if err != nil {
				return nil, stats.Match{}, err
			}
			return s, stats.Match{ID: st.ID, Name: st.Name}, nil
		}
	}
	return nil, stats.Match{}, userError(fmt.Sprintf("No character %s has been seen here yet: it shows up once it has died or killed on the server.", clip(q, 64)))
}

func (b *Bot) linkOf(guild, character string) (storage.Link, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	l, ok := b.links[guild][character]
	return l, ok
}

// link starts linking a character to the caller: at once without
// verification, else once the character relocates on the server.
func (b *Bot) link(i *discordgo.Interaction, o options) (Reply, error) {
	srv, ch, err := b.character(i, o)
	if err != nil {
		return Reply{}, err
	}
	user := caller(i).ID
	if l, ok := b.linkOf(i.GuildID, ch.ID); ok {
		if l.UserID == user {
			return Reply{}, userError(fmt.Sprintf("%s is already linked to you.", ch.Name))
		}
		return Reply{}, userError(fmt.Sprintf("%s is linked to another member. If it is yours, ask an admin.", ch.Name))
	}
	now := b.Now()
	b.mu.RLock()
	other, waiting := b.pending[i.GuildID][ch.ID]
	b.mu.RUnlock()
	if waiting && other.UserID != user {
		return Reply{}, userError(fmt.Sprintf("Another member is already proving %s is theirs. Try again in %d minutes.", ch.Name, int(other.Expires.Add(linkGrace).Sub(now).Minutes())+1))
	}
	step := embed.Link{Player: ch.Name, PlayerID: ch.ID, Server: srv.Name, At: now}
	if b.cfg.LinkVerification == "none" {
		return deferred(true, func() *discordgo.MessageEmbed {
			return b.putLink(i.GuildID, storage.Link{CharacterID: ch.ID, Name: ch.Name, Server: srv.Scope.Server, UserID: user, At: now}, false, embed.Linked(step))
		}), nil
	}
	p := storage.Pending{CharacterID: ch.ID, Name: ch.Name, UserID: user, Server: srv.Scope.Server,
		Requested: now, Expires: now.Add(linkWithin), Token: i.Token, AppID: i.AppID}
	step.Within, step.Deadline = linkWithin, p.Expires
	return deferred(true, func() *discordgo.MessageEmbed {
		if err := b.db.PutPending(i.GuildID, p); err != nil {
			b.log.Error("cannot store a link request", "interaction", i.ID, "err", err)
			return embed.Error(somethingWrong)
		}
		b.mu.Lock()
		if b.pending[i.GuildID] == nil {
			b.pending[i.GuildID] = map[string]storage.Pending{}
		}
		b.pending[i.GuildID][p.CharacterID] = p
		b.mu.Unlock()
		return embed.LinkPending(step)
	}), nil
}

// putLink stores a link (replacing another user's when replace is set)
// and returns ok, or an error embed.
func (b *Bot) putLink(guild string, l storage.Link, replace bool, ok *discordgo.MessageEmbed) *discordgo.MessageEmbed {
	err := b.db.PutLink(guild, l, replace)
	if errors.Is(err, storage.ErrLinked) {
		return embed.Error(fmt.Sprintf("%s was linked to another member meanwhile.", l.Name))
	}
	if err != nil {
		b.log.Error("cannot store a link", "guild", guild, "err", err)
		return embed.Error(somethingWrong)
	}
	b.mu.Lock()
	if b.links[guild] == nil {
		b.links[guild] = map[string]storage.Link{}
	}
	b.links[guild][l.CharacterID] = l
	delete(b.pending[guild], l.CharacterID)
	b.mu.Unlock()
	return ok
}

// OnCommitted hands the poster the posts of batches just stored, and looks
// at their events for the proof of link requests:
// the character relocating (respawning from the menu) on the server, in
// the game's time, after the request and before it expired (a line read
// late still counts). It is called after each commit and only reads
// memory; a proof found is stored in the background.
func (b *Bot) OnCommitted(batches []*storage.Batch) {
	b.poster.seen(batches)
	for _, batch := range batches {
		if batch.Backfill {
			continue
		}
		for k := range batch.Added {
			r := &batch.Added[k]
			if !r.Relocation() {
				continue
			}
			b.mu.RLock()
			p, ok := b.pending[batch.Scope.Guild][string(r.VictimID)]
			b.mu.RUnlock()
			at := time.Unix(r.Time, 0)
			if !ok || p.Server != batch.Scope.Server || at.Before(p.Requested.Add(-clockSkew)) || at.After(p.Expires.Add(clockSkew)) {
				continue
			}
			guild := batch.Scope.Guild
			b.goLater(func() { b.confirm(guild, p, b.Now()) })
		}
	}
}

func (b *Bot) confirm(guild string, p storage.Pending, at time.Time) {
	b.mu.Lock()
	_, still := b.pending[guild][p.CharacterID]
	delete(b.pending[guild], p.CharacterID) // a second relocation is not a second proof
	b.mu.Unlock()
	if !still {
		return
	}
	l := storage.Link{CharacterID: p.CharacterID, Name: p.Name, Server: p.Server, UserID: p.UserID, At: at}
	done := b.putLink(guild, l, false, embed.Linked(embed.Link{Player: p.Name, PlayerID: p.CharacterID, Server: b.serverName(guild, p.Server), At: at}))
	b.log.Info("character linked", "guild", guild, "character", p.CharacterID, "user", p.UserID)
	b.edit(p.AppID, p.Token, done)
}

// expireLinks ends the link requests whose time is up (with a grace for
// lines read late), and says so.
func (b *Bot) expireLinks() {
	now := b.Now()
	expired := map[string][]storage.Pending{}
	b.mu.Lock()
	for guild, m := range b.pending {
		for id, p := range m {
			if now.After(p.Expires.Add(linkGrace)) {
				delete(m, id)
				expired[guild] = append(expired[guild], p)
			}
		}
	}
	b.mu.Unlock()
	for guild, ps := range expired {
		for _, p := range ps {
			if err := b.db.DeletePending(guild, p.CharacterID); err != nil {
				b.log.Warn("cannot delete an expired link request", "err", err)
			}
			if now.Sub(p.Requested) < 14*time.Minute { // its token still works
				b.edit(p.AppID, p.Token, embed.LinkExpired(embed.Link{Player: p.Name, Server: b.serverName(guild, p.Server), Within: linkWithin, At: now}))
			}
		}
	}
}

func (b *Bot) serverName(guild, id string) string {
	for _, s := range b.servers[guild] {
		if s.Scope.Server == id {
			return s.Name
		}
	}
	return id
}

func (b *Bot) unlink(i *discordgo.Interaction, o options) (Reply, error) {
	mine := b.linksOf(i.GuildID, caller(i).ID)
	q := o.str("character")
	var target *storage.Link
	for k := range mine {
		if q == "" && len(mine) == 1 || q != "" && (mine[k].CharacterID == q || strings.EqualFold(mine[k].Name, q)) {
			target = &mine[k]
		}
	}
	switch {
	case len(mine) == 0:
		return Reply{}, userError("You have no linked character.")
	case target == nil && q == "":
		return Reply{}, userError("You have several characters: name the one to unlink.")
	case target == nil:
		return Reply{}, userError(fmt.Sprintf("%s is not linked to you. /linked shows yours.", clip(q, 64)))
	}
	l := *target
	return deferred(true, func() *discordgo.MessageEmbed {
		return b.deleteLink(i.GuildID, l, embed.Unlinked(embed.Link{Player: l.Name, Server: b.serverName(i.GuildID, l.Server), At: b.Now()}))
	}), nil
}

func (b *Bot) deleteLink(guild string, l storage.Link, ok *discordgo.MessageEmbed) *discordgo.MessageEmbed {
	if _, _, err := b.db.DeleteLink(guild, l.CharacterID); err != nil {
		b.log.Error("cannot delete a link", "guild", guild, "err", err)
		return embed.Error(somethingWrong)
	}
	b.mu.Lock()
	delete(b.links[guild], l.CharacterID)
	b.mu.Unlock()
	return ok
}

func (b *Bot) linked(i *discordgo.Interaction, o options) (Reply, error) {
	user := o.str("user")
	if user == "" {
		user = caller(i).ID
	}
	var out []embed.Link
	for _, l := range b.linksOf(i.GuildID, user) {
		out = append(out, embed.Link{Player: l.Name, PlayerID: l.CharacterID, Server: b.serverName(i.GuildID, l.Server), At: l.At})
	}
	e := embed.Links(out, b.Now())
	if user != caller(i).ID {
		e.Title = "🔗 Linked characters"
		if len(out) == 0 {
			e.Description = fmt.Sprintf("<@%s> has no linked character.", user)
		}
	}
	return ephemeral(e), nil
}

func (b *Bot) adminLink(i *discordgo.Interaction, o options) (Reply, error) {
	user := o.str("user")
	if user == "" {
		return Reply{}, userError("Pick the member.")
	}
	srv, ch, err := b.character(i, o)
	if err != nil {
		return Reply{}, err
	}
	l := storage.Link{CharacterID: ch.ID, Name: ch.Name, Server: srv.Scope.Server, UserID: user, At: b.Now(), ByAdmin: caller(i).ID}
	return deferred(true, func() *discordgo.MessageEmbed {
		b.log.Info("character linked by an admin", "guild", i.GuildID, "character", ch.ID, "user", user, "admin", caller(i).ID)
		return b.putLink(i.GuildID, l, true, embed.Success(fmt.Sprintf("%s on %s is now linked to %s.", ch.Name, srv.Name, userName(i, user))))
	}), nil
}

func (b *Bot) adminUnlink(i *discordgo.Interaction, o options) (Reply, error) {
	q := o.str("character")
	var found []storage.Link
	b.mu.RLock()
	if l, ok := b.links[i.GuildID][q]; ok {
		found = append(found, l)
	} else {
		for _, l := range b.links[i.GuildID] {
			if strings.EqualFold(l.Name, q) {
				found = append(found, l)
			}
		}
	}
	b.mu.RUnlock()
	switch {
	case len(found) == 0:
		return Reply{}, userError(fmt.Sprintf("No character %s is linked here.", clip(q, 64)))
	case len(found) > 1:
		return Reply{}, userError(fmt.Sprintf("Several linked characters are named %s: pick one from the list as you type.", clip(q, 64)))
	}
	l := found[0]
	return deferred(true, func() *discordgo.MessageEmbed {
		return b.deleteLink(i.GuildID, l, embed.Success(fmt.Sprintf("%s is no longer linked to its member.", l.Name)))
	}), nil
}
