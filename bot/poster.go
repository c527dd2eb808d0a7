package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/embed"
	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
	"killfeed/timing"
)

// poster drains the outbox into the channels set with /setchannel: one
// goroutine per channel, in outbox order, up to 10 embeds a message when
// posts pile up. A post leaves the outbox only once Discord accepted it;
// each message carries a nonce made from its first post's key, with
// enforce_nonce, so a message sent again after a crash is not posted twice.
// A rate limit, an error or an outage holds up only its own channel, and
// never ingestion: the outbox absorbs it.
type poster struct {
	b    *Bot
	keep time.Duration // posts older than this are dropped
	wake chan struct{}

	mu     sync.Mutex
	last   uint64           // the highest key handed to a channel or dropped
	dests  map[string]*dest // by channel id
	left   map[string]bool  // players whose latest connection post was a leave
	dup    map[uint64]bool  // connection posts judged, by key: true for a repeated leave
	reset  bool             // settings changed: route everything again
	cancel context.CancelFunc
	wg     sync.WaitGroup

	boardsReset atomic.Bool // settings changed: leaderboards at once
	// visible is the last post whose event the indexes hold: posts past
	// it wait, so that a kill is not rendered before its streak and KDR
	// are known.
	visible atomic.Uint64

	sent        atomic.Int64 // messages Discord accepted
	rateLimited atomic.Int64 // sends Discord answered with 429
}

// seen raises the visible watermark to the posts of batches the indexes
// now hold.
func (p *poster) seen(batches []*storage.Batch) {
	for _, b := range batches {
		for {
			v := p.visible.Load()
			if b.LastPost <= v || p.visible.CompareAndSwap(v, b.LastPost) {
				break
			}
		}
	}
	p.notify()
}

// dest is one channel's queue.
type dest struct {
	channel string
	queue   []storage.Post
	running bool
	paused  string // why Discord refused the channel (deleted, no access)
	single  bool   // Discord refused a message: send one post at a time to find the bad one
	variant int    // bumped when Discord no longer knows a nonce's message
}

// Backoff of a channel after a server or network error.
const (
	postMinBackoff = time.Second
	postMaxBackoff = time.Minute
)

func newPoster(b *Bot, keep time.Duration) *poster {
	return &poster{b: b, keep: keep, wake: make(chan struct{}, 1), dests: map[string]*dest{}, left: map[string]bool{}, dup: map[uint64]bool{}}
}

// notify wakes the poster: new posts are in the outbox, or the channels
// changed.
func (p *poster) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// rerouted is called when a channel setting changed: queued posts are
// routed again and paused channels get another chance.
func (p *poster) rerouted() {
	p.mu.Lock()
	p.reset = true
	p.mu.Unlock()
	p.boardsReset.Store(true)
	p.notify()
}

// run dispatches posts until ctx is done.
func (p *poster) run(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	wctx, cancel := context.WithCancel(ctx)
	p.cancel = cancel
	defer func() {
		p.cancel()
		p.wg.Wait()
	}()
	lastSweep := time.Time{}
	boardsDone := make(chan struct{})
	go func() {
		defer close(boardsDone)
		p.boards(ctx)
	}()
	defer func() { <-boardsDone }()
	for {
		p.mu.Lock()
		reset := p.reset
		p.reset = false
		p.mu.Unlock()
		if reset {
			// Stop the channels, forget the queues, and read the outbox
			// again from its start: nothing was deleted that was not sent.
			p.cancel()
			p.wg.Wait()
			wctx, cancel = context.WithCancel(ctx)
			p.cancel = cancel
			p.mu.Lock()
			p.dests, p.last = map[string]*dest{}, 0
			p.mu.Unlock()
		}
		if now := p.b.Now(); now.Sub(lastSweep) > time.Minute {
			lastSweep = now
			p.sweep(now)
		}
		if err := p.dispatch(wctx); err != nil && ctx.Err() == nil {
			p.b.log.Error("cannot read the outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-tick.C:
		}
	}
}

// sweep drops the posts older than keep, with a line in the log: they are
// no news any more.
func (p *poster) sweep(now time.Time) {
	n, err := p.b.db.DropPosts(now.Add(-p.keep))
	if err != nil {
		p.b.log.Error("cannot drop old posts", "err", err)
		return
	}
	if n > 0 {
		// The channels skip them in their queues (see work).
		p.b.log.Warn("dropped killfeed posts that could not be posted in time (is Discord reachable, and the channel still there?)", "posts", n, "older than", p.keep)
	}
}

// boards keeps the leaderboard messages up to date until ctx is done, on
// its own so that a slow channel holds up no post.
func (p *poster) boards(ctx context.Context) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	done := map[storage.Scope]time.Time{} // when each was last brought up to date
	for {
		if p.boardsReset.Swap(false) {
			clear(done) // a new leaderboard channel gets its message now
		}
		p.b.leaderboards(ctx, done)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// dispatch hands the posts past p.last to their channels' queues and
// deletes those with nowhere to go.
func (p *poster) dispatch(ctx context.Context) error {
	for {
		p.mu.Lock()
		after := p.last
		p.mu.Unlock()
		posts, err := p.b.db.Posts(after, 500)
		if err != nil || len(posts) == 0 {
			return err
		}
		visible := p.visible.Load()
		for i := range posts {
			if posts[i].Key > visible {
				posts = posts[:i] // the rest when the indexes have them
				break
			}
		}
		if len(posts) == 0 {
			return nil
		}
		var drop []uint64
		p.mu.Lock()
		for _, post := range posts {
			p.last = post.Key
			ch := p.route(&post)
			if ch == "" {
				drop = append(drop, post.Key)
				continue
			}
			d := p.dests[ch]
			if d == nil {
				d = &dest{channel: ch}
				p.dests[ch] = d
			}
			d.queue = append(d.queue, post)
			if !d.running && d.paused == "" {
				d.running = true
				p.wg.Add(1)
				go p.work(ctx, d)
			}
		}
		p.mu.Unlock()
		if err := p.b.db.DeletePosts(drop...); err != nil {
			return err
		}
		p.mu.Lock()
		for _, k := range drop {
			delete(p.dup, k)
		}
		p.mu.Unlock()
	}
}

// route returns the channel a post goes to, or "" when it is not posted:
// no channel set for its kind, or a state not worth a post. p.mu is held.
func (p *poster) route(post *storage.Post) string {
	srv := p.b.serverByScope(post.Scope)
	if srv == nil {
		return ""
	}
	cfg := &srv.Posts
	kind := "killfeed"
	if r := post.Record; r != nil {
		var on bool
		switch {
		case r.Kind == parser.Kill:
			on = cfg.Kills
		case r.Relocation():
			on = cfg.Relocations
		case r.Kind == parser.SelfDeath && string(r.Weapon) == parser.WeaponFalling:
			on = cfg.Falls
		case r.Kind == parser.SelfDeath:
			on = cfg.Suicides
		default:
			on = cfg.Environment
		}
		if !on {
			return ""
		}
	}
	if e := post.Server; e != nil {
		kind = "events"
		states := map[parser.ServerKind][]string{parser.Mission: cfg.Missions, parser.Airdrop: cfg.Airdrop,
			parser.Helicrash: cfg.Helicrash, parser.Trader: cfg.Trader, parser.Convoy: cfg.Convoy}
		switch e.Kind {
		case parser.Mission, parser.Airdrop, parser.Helicrash, parser.Trader, parser.Convoy:
			if !slices.Contains(states[e.Kind], e.State) {
				return ""
			}
		case parser.ServerStart:
			if !cfg.ServerStart {
				return ""
			}
		case parser.Join, parser.Leave:
			// One departure writes several leave lines: post one. The
			// judgement is kept by key, so that routing again (after a
			// /setchannel) judges a post the same.
			dup, judged := p.dup[post.Key]
			if !judged {
				key := post.Scope.String() + "/" + e.PlayerID + "/" + e.Player
				dup = e.Kind == parser.Leave && p.left[key]
				p.left[key] = e.Kind == parser.Leave
				p.dup[post.Key] = dup
			}
			if dup {
				return ""
			}
			kind = "connections"
		default:
			return ""
		}
	}
	return p.b.channel(post.Scope, kind)
}

// channel returns the channel set for kind on server s, or for every
// server of its guild.
func (b *Bot) channel(s storage.Scope, kind string) string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if ch := b.settings[s.Guild]["channel/"+s.Server+"/"+kind]; ch != "" {
		return ch
	}
	return b.settings[s.Guild]["channel/*/"+kind]
}

// work posts a channel's queue until it is empty, the channel is paused or
// ctx is done.
func (p *poster) work(ctx context.Context, d *dest) {
	defer p.wg.Done()
	backoff := postMinBackoff
	stop := func() {
		p.mu.Lock()
		d.running = false
		p.mu.Unlock()
	}
	for {
		now := p.b.Now()
		p.mu.Lock()
		// Posts past their time were dropped from the outbox (sweep).
		for len(d.queue) > 0 && now.Sub(d.queue[0].Queued) > p.keep {
			d.queue = d.queue[1:]
		}
		if len(d.queue) == 0 || ctx.Err() != nil {
			d.running = false
			p.mu.Unlock()
			return
		}
		size := embed.MaxPerMessage
		if d.single {
			size = 1
		}
		batch := d.queue[:min(len(d.queue), size)]
		batch = batch[:len(batch):len(batch)]
		nonce := p.b.nonce(batch[0].Key, d.variant)
		p.mu.Unlock()
		// Killfeed posts of a server with a delay wait for their time.
		due := len(batch)
		for i := range batch {
			if at := p.b.dueAt(&batch[i]); at.After(now) {
				due = i
				if i == 0 {
					sleep(ctx, at.Sub(now))
				}
				break
			}
		}
		if due == 0 {
			continue
		}
		batch = batch[:due]

		f := p.b.cfg.Timing.Start(timing.Post, d.channel, time.Now())
		embeds := make([]*discordgo.MessageEmbed, len(batch))
		for i := range batch {
			embeds[i] = p.b.render(&batch[i])
		}
		group := embed.Group(embeds)[0]
		f.Mark("rendered")
		n, err := p.b.post(ctx, d.channel, nonce, group)
		f.MarkRemote("sent")
		var rl *discordgo.RateLimitError
		var re *discordgo.RESTError
		code, status := 0, 0
		if errors.As(err, &re) && re.Response != nil {
			status = re.Response.StatusCode
			if re.Message != nil {
				code = re.Message.Code
			}
		}
		if err != nil && ctx.Err() == nil && !errors.As(err, &rl) {
			f.Done("error")
		}
		switch {
		case err == nil:
			p.mu.Lock()
			n = min(n, len(d.queue)) // a message sent before may hold more
			keys := make([]uint64, n)
			for i := range keys {
				keys[i] = d.queue[i].Key
			}
			p.mu.Unlock()
			if !p.deleteSent(ctx, keys) {
				stop()
				return
			}
			f.Mark("stored")
			f.Done("sent")
			p.sent.Add(1)
			p.mu.Lock()
			d.queue, d.single = d.queue[n:], false
			for _, k := range keys {
				delete(p.dup, k)
			}
			p.mu.Unlock()
			backoff = postMinBackoff
		case ctx.Err() != nil:
			stop()
			return
		case errors.As(err, &rl):
			f.Done("rate limited")
			p.rateLimited.Add(1)
			p.b.log.Info("rate limited: this channel waits", "channel", d.channel, "retry after", rl.RetryAfter)
			sleep(ctx, rl.RetryAfter)
		case status == http.StatusForbidden || code == 10003 || code == 50001 || code == 50013:
			why := "the channel is gone"
			if code != 10003 {
				why = "the bot may not post there"
			}
			p.b.log.Warn("posting paused for a channel: run /setchannel again once it is fixed", "channel", d.channel, "reason", why, "err", redact(err))
			p.mu.Lock()
			d.paused, d.running = why, false
			p.mu.Unlock()
			return
		case code == 10008:
			// The message sent before with this nonce was deleted: send
			// it again under another.
			p.mu.Lock()
			d.variant++
			p.mu.Unlock()
		case status >= 400 && status < 500 && status != http.StatusRequestTimeout:
			// Discord refuses the message: find the post it refuses, and
			// drop that one only.
			if len(batch) > 1 {
				p.mu.Lock()
				d.single = true
				p.mu.Unlock()
				continue
			}
			p.b.log.Error("Discord refused a post: dropped", "channel", d.channel, "post", batch[0].Key, "err", redact(err))
			if !p.deleteSent(ctx, []uint64{batch[0].Key}) {
				stop()
				return
			}
			p.mu.Lock()
			d.queue, d.single = d.queue[1:], false
			p.mu.Unlock()
		default:
			p.b.log.Warn("cannot post: retrying", "channel", d.channel, "in", backoff, "err", redact(err))
			sleep(ctx, backoff)
			backoff = min(2*backoff, postMaxBackoff)
		}
	}
}

// deleteSent deletes posts Discord holds, trying until it works or ctx is
// done (a post left behind would be posted again): false for ctx done.
func (p *poster) deleteSent(ctx context.Context, keys []uint64) bool {
	for wait := postMinBackoff; ; wait = min(2*wait, postMaxBackoff) {
		err := p.b.db.DeletePosts(keys...)
		if err == nil {
			return true
		}
		p.b.log.Error("cannot delete posted posts: retrying", "err", err)
		if !sleep(ctx, wait) {
			return false
		}
	}
}

// nonce is a message's nonce: the bot's instance and the key of the
// message's first post (25 characters at most, as Discord wants).
func (b *Bot) nonce(key uint64, variant int) string {
	n := "kf" + b.instance + "." + strconv.FormatUint(key, 36)
	if variant > 0 {
		n += "r" + strconv.Itoa(variant%10)
	}
	return n
}

// messageSend is discordgo's MessageSend with the nonce fields it lacks.
type messageSend struct {
	*discordgo.MessageSend
	Nonce        string `json:"nonce,omitempty"`
	EnforceNonce bool   `json:"enforce_nonce,omitempty"`
}

// post sends embeds to channel as one message and returns how many of them
// Discord holds: all of them, or, when the nonce was used already (a retry
// after a crash), those of the message sent then.
func (b *Bot) post(ctx context.Context, channel, nonce string, embeds []*discordgo.MessageEmbed) (int, error) {
	ep := discordgo.EndpointChannelMessages(channel)
	body, err := b.session.RequestWithBucketID(http.MethodPost, ep,
		messageSend{&discordgo.MessageSend{Embeds: embeds, AllowedMentions: noMentions()}, nonce, true}, ep,
		discordgo.WithRetryOnRatelimit(false), discordgo.WithContext(ctx))
	if err != nil {
		return 0, err
	}
	var m discordgo.Message
	if err := discordgo.Unmarshal(body, &m); err != nil {
		return 0, err
	}
	if m.ChannelID != "" && m.ChannelID != channel {
		return 0, fmt.Errorf("nonce %s names a message of another channel", nonce)
	}
	if n := len(m.Embeds); n > 0 {
		return n, nil
	}
	return len(embeds), nil
}

// render turns a post into its embed.
func (b *Bot) render(post *storage.Post) *discordgo.MessageEmbed {
	srv := b.serverByScope(post.Scope)
	name := post.Scope.Server
	if srv != nil {
		name = srv.Name
	}
	if r := post.Record; r != nil {
		k := embed.Kill{Record: r, Server: name}
		if srv != nil {
			if c, ok := srv.Index.KillContext(r); ok {
				k.KillerStreak, k.KillerKDR, k.Notable = c.Streak, c.KDR, c.Notable
			}
		}
		return embed.Killfeed(k)
	}
	e := embed.ServerEvent{Event: post.Server.ServerEvent, Server: name}
	if srv != nil && srv.Sessions != nil {
		if pl, ok := srv.Sessions.Player(e.Event.PlayerID); ok {
			e.Player, e.Platform = pl.Name, pl.Platform
		}
		// Who is online now is true of the event only when it is fresh.
		if b.Now().Sub(e.Event.Time) < time.Minute {
			e.Online, _ = srv.Sessions.Count()
			e.Limit = srv.Sessions.PlayerLimit()
		}
	}
	return embed.ServerLog(e)
}

// dueAt returns when a post may be posted: killfeed posts of a server
// with a delay wait for it after they were stored.
func (b *Bot) dueAt(post *storage.Post) time.Time {
	if srv := b.serverByScope(post.Scope); srv != nil && post.Record != nil && srv.Posts.Delay > 0 {
		return post.Queued.Add(srv.Posts.Delay)
	}
	return post.Queued
}

func (b *Bot) serverByScope(s storage.Scope) *Server {
	for _, srv := range b.servers[s.Guild] {
		if srv.Scope == s {
			return srv
		}
	}
	return nil
}

// paused returns the channels whose posting is paused, and why.
func (p *poster) paused() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for ch, d := range p.dests {
		if d.paused != "" {
			out[ch] = d.paused
		}
	}
	return out
}

// leaderboards brings the leaderboard message of every server with a
// leaderboard channel up to date, each at its interval: it is edited in
// place, and posted again if it was deleted. done holds when each was last
// brought up to date.
func (b *Bot) leaderboards(ctx context.Context, done map[storage.Scope]time.Time) {
	now := b.Now()
	for _, list := range b.servers {
		for _, srv := range list {
			ch := b.channel(srv.Scope, "leaderboard")
			every := srv.Posts.LeaderboardEvery
			if ch == "" || every <= 0 || now.Sub(done[srv.Scope]) < every {
				continue
			}
			if err := b.postLeaderboard(ctx, srv, ch, now); err != nil {
				var re *discordgo.RESTError
				if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode/100 == 4 {
					b.log.Warn("cannot post the leaderboard in its channel: run /setchannel leaderboard again once it is fixed", "server", srv.Scope, "err", redact(err))
					done[srv.Scope] = now // not before the next interval
					continue
				}
				b.log.Warn("cannot post the leaderboard: trying again in a minute", "server", srv.Scope, "err", redact(err))
				done[srv.Scope] = now.Add(time.Minute - every)
				continue
			}
			done[srv.Scope] = now
		}
	}
}

// postLeaderboard edits, or posts, the leaderboard message of srv in channel.
func (b *Bot) postLeaderboard(ctx context.Context, srv *Server, channel string, now time.Time) error {
	period := stats.Season
	if srv.Index.Season().IsZero() {
		period = stats.AllTime
	}
	e := embed.Leaderboard(embed.Board{Metric: stats.Kills, Period: period, Entries: srv.Index.Leaderboard(stats.Kills, period, now, 10), Server: srv.Name, At: now})
	embeds := []*discordgo.MessageEmbed{e}
	key := "leaderboard_message/" + srv.Scope.Server + "/" + channel
	opts := []discordgo.RequestOption{discordgo.WithRetryOnRatelimit(false), discordgo.WithContext(ctx)}
	if id := b.setting(srv.Scope.Guild, key); id != "" {
		_, err := b.session.ChannelMessageEditComplex(&discordgo.MessageEdit{Channel: channel, ID: id, Embeds: &embeds, AllowedMentions: noMentions()}, opts...)
		var re *discordgo.RESTError
		if !errors.As(err, &re) || re.Message == nil || re.Message.Code != 10008 {
			return err // edited, or an error
		}
		// The message was deleted: post it again.
	}
	m, err := b.session.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Embeds: embeds, AllowedMentions: noMentions()}, opts...)
	if err != nil {
		return err
	}
	return b.setSetting(srv.Scope.Guild, key, m.ID)
}

// setting returns a guild setting.
func (b *Bot) setting(guild, key string) string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.settings[guild][key]
}
