package discordtest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Defaults of the fake. Each can be changed with an Option.
const (
	DefaultAppID             = "1200000000000000001"
	DefaultBotUsername       = "killfeed"
	DefaultHeartbeatInterval = 41250 * time.Millisecond // Discord's; see WithHeartbeatInterval
	DefaultCallbackDeadline  = 3 * time.Second
	DefaultTokenLifetime     = 15 * time.Minute
	DefaultNonceWindow       = 2 * time.Minute
	DefaultRateLimit         = 50
	DefaultRateLimitWindow   = time.Second
)

// discordEpoch is the first millisecond of 2015, the epoch of snowflakes.
const discordEpoch = 1420070400000

// guild is a guild the bot is in: it is listed in READY and sent as
// GUILD_CREATE after it.
type guild struct {
	ID       string
	Name     string
	Channels []string // text channel ids
}

// Option configures a Server.
type Option func(*config)

type config struct {
	appID            string
	username         string
	token            string // "" accepts any
	heartbeat        time.Duration
	guilds           []guild
	callbackDeadline time.Duration
	tokenLifetime    time.Duration
	nonceWindow      time.Duration
	limit            int
	limitWindow      time.Duration
	allowUnknown     bool
}

// WithApplicationID sets the application id, which is also the bot user's id
// (default DefaultAppID).
func WithApplicationID(id string) Option { return func(c *config) { c.appID = id } }

// WithBotUsername sets the bot user's name (default DefaultBotUsername).
func WithBotUsername(name string) Option { return func(c *config) { c.username = name } }

// WithToken makes the fake accept only this bot token, without the "Bot "
// prefix: REST requests need "Authorization: Bot <token>" (401 otherwise) and
// IDENTIFY needs the token (close code 4004 otherwise). By default any
// "Bot ..." token is accepted.
func WithToken(token string) Option {
	return func(c *config) { c.token = strings.TrimPrefix(token, "Bot ") }
}

// WithHeartbeatInterval sets the heartbeat_interval sent in HELLO (default
// DefaultHeartbeatInterval, Discord's 41.25 s). It is sent in whole
// milliseconds, at least 1. discordgo sends its first heartbeat at once and
// then one per interval; a short interval exercises heartbeats but, in tests
// that drop the gateway, makes discordgo's reconnect race (see
// WaitConnected) likelier.
func WithHeartbeatInterval(d time.Duration) Option { return func(c *config) { c.heartbeat = d } }

// WithGuild adds a guild the bot is in, with its text channels.
func WithGuild(id, name string, channelIDs ...string) Option {
	return func(c *config) {
		c.guilds = append(c.guilds, guild{ID: id, Name: name, Channels: channelIDs})
	}
}

// WithCallbackDeadline sets how long after INTERACTION_CREATE a callback is
// accepted (default 3 s, like Discord); a later one gets 404 Unknown
// interaction (code 10062).
func WithCallbackDeadline(d time.Duration) Option { return func(c *config) { c.callbackDeadline = d } }

// WithTokenLifetime sets how long an interaction token works for edits and
// followups (default 15 min); later they get 401 Invalid Webhook Token
// (code 50027).
func WithTokenLifetime(d time.Duration) Option { return func(c *config) { c.tokenLifetime = d } }

// WithNonceWindow sets how long a nonce sent with enforce_nonce is
// remembered per channel (default 2 min; Discord says "the past few
// minutes").
func WithNonceWindow(d time.Duration) Option { return func(c *config) { c.nonceWindow = d } }

// WithDefaultRateLimit sets the per-route limit applied where no
// SetRateLimit rule matches (default 50 requests a second per bucket).
func WithDefaultRateLimit(limit int, window time.Duration) Option {
	return func(c *config) { c.limit, c.limitWindow = limit, window }
}

// AllowUnknownRoutes stops the fake from failing the test at cleanup when
// the client called a route the fake does not implement. They are still
// answered 404 and recorded (Request.Unknown).
func AllowUnknownRoutes() Option { return func(c *config) { c.allowUnknown = true } }

// Server is a fake Discord: REST API and gateway on one 127.0.0.1 listener.
// All its methods are safe for concurrent use.
type Server struct {
	// URL is the fake's base URL, http://127.0.0.1:port: what [discord]
	// api_url is set to (through bot.NewTransport).
	URL string

	tb  testing.TB
	hs  *httptest.Server
	cfg config

	done chan struct{} // closed by Close
	wg   sync.WaitGroup

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every recorded change
	closed  bool
	down    bool
	idMS    int64 // snowflake generator state
	idInc   int64

	// REST
	requests []Request
	faults   []*Fault
	limits   []limitRule
	buckets  map[string]*bucket

	// interactions
	interactions map[string]*interaction // by id
	byToken      map[string]*interaction
	callbacks    []Callback

	// messages
	messages map[string]*message // by id
	channels map[string][]string // channel id → message ids, oldest first
	nonces   map[string]nonceEntry
	guildOf  map[string]string // channel id → guild id

	// application commands
	commands   map[string][]*discordgo.ApplicationCommand // guild id ("" global) → current set
	overwrites []CommandOverwrite

	// gateway
	conns      map[*gwConn]struct{}
	connLog    []Conn
	sessions   map[string]*gwSession
	frames     []Frame
	identifies []Identify
	resumes    []Resume
	readies    int
}

// New starts a fake Discord on 127.0.0.1 and closes it when the test ends
// (tb.Cleanup). Close the discordgo session before that (register its
// cleanup after calling New): discordgo reconnects forever to a gateway that
// went away.
func New(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	cfg := config{
		appID:            DefaultAppID,
		username:         DefaultBotUsername,
		heartbeat:        DefaultHeartbeatInterval,
		callbackDeadline: DefaultCallbackDeadline,
		tokenLifetime:    DefaultTokenLifetime,
		nonceWindow:      DefaultNonceWindow,
		limit:            DefaultRateLimit,
		limitWindow:      DefaultRateLimitWindow,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.heartbeat < time.Millisecond {
		cfg.heartbeat = time.Millisecond
	}
	if cfg.limit < 1 {
		cfg.limit = 1
	}
	if cfg.limitWindow <= 0 {
		cfg.limitWindow = DefaultRateLimitWindow
	}
	s := &Server{
		tb:           tb,
		cfg:          cfg,
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		buckets:      make(map[string]*bucket),
		interactions: make(map[string]*interaction),
		byToken:      make(map[string]*interaction),
		messages:     make(map[string]*message),
		channels:     make(map[string][]string),
		nonces:       make(map[string]nonceEntry),
		guildOf:      make(map[string]string),
		commands:     make(map[string][]*discordgo.ApplicationCommand),
		conns:        make(map[*gwConn]struct{}),
		sessions:     make(map[string]*gwSession),
	}
	for _, g := range cfg.guilds {
		for _, c := range g.Channels {
			s.guildOf[c] = g.ID
		}
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	tb.Cleanup(func() {
		s.Close()
		if s.cfg.allowUnknown {
			return
		}
		for _, r := range s.Requests() {
			if r.Unknown {
				tb.Errorf("discordtest: the client called %s %s, which the fake does not implement (answered %d); implement it or use AllowUnknownRoutes", r.Method, r.Path, r.Status)
			}
		}
	})
	return s
}

// Close shuts the fake down: gateway connections are dropped, REST requests
// in flight are answered, and every goroutine of the fake has exited when it
// returns. It is safe to call more than once; New registers it with
// tb.Cleanup.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	conns := s.liveConns()
	s.notify()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill(false)
	}
	s.hs.Close()
	s.wg.Wait()
}

// AppID returns the application id, which is also the bot user's id.
func (s *Server) AppID() string { return s.cfg.appID }

// GatewayURL returns the websocket URL that GET /gateway answers.
func (s *Server) GatewayURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/ws" }

// resumeURL returns the resume_gateway_url sent in READY: the same fake on
// another path, so Resume.Path tells which URL a client resumed on.
func (s *Server) resumeURL() string { return "ws" + strings.TrimPrefix(s.URL, "http") + "/resume" }

// SetDown makes Discord unreachable (true) or reachable again (false). While
// down, REST requests and gateway connection attempts get their TCP
// connection reset without an answer, and open gateway connections are
// dropped the same way.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	var conns []*gwConn
	if down {
		conns = s.liveConns()
	}
	s.notify()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill(true)
	}
}

// Wait blocks until cond returns true, ctx ends or the fake closes. cond is
// called again after every change the fake records (a request, a gateway
// frame, a callback); it may call the Server's methods.
func (s *Server) Wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			if cond() {
				return nil
			}
			return errors.New("discordtest: server closed")
		}
	}
}

// notify wakes Wait callers. s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// newID returns a new snowflake, increasing. s.mu must be held.
func (s *Server) newID() string {
	ms := time.Now().UnixMilli() - discordEpoch
	if ms <= s.idMS {
		ms = s.idMS
		s.idInc++
		if s.idInc >= 1<<12 {
			ms++
			s.idInc = 0
		}
	} else {
		s.idInc = 0
	}
	s.idMS = ms
	return strconv.FormatInt(ms<<22|1<<17|s.idInc, 10)
}

// randomToken returns a random URL-safe token of n bytes of entropy.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// botUser returns the bot user as Discord sends it.
func (s *Server) botUser() map[string]any {
	return map[string]any{
		"id":            s.cfg.appID,
		"username":      s.cfg.username,
		"discriminator": "0",
		"global_name":   nil,
		"avatar":        nil,
		"bot":           true,
		"flags":         0,
	}
}

// Request is one REST request the fake received.
type Request struct {
	Method string
	Path   string // as received: /api/v9/channels/1/messages
	Route  string // Path without /api/vN: /channels/1/messages
	Query  url.Values
	Header http.Header
	// Body is the JSON body as sent (for multipart requests, the
	// payload_json part), byte for byte.
	Body  []byte
	Files []string // file names of multipart attachments

	Status  int  // the answer's status; 0 when the connection was reset without one
	Fault   bool // answered by a Fail rule or because the fake was down
	Unknown bool // a route the fake does not implement (answered 404 or 405)
	Time    time.Time
}

// Requests returns the REST requests received so far, in the order they
// were answered.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r.clone()
	}
	return out
}

// RequestsTo returns the requests whose method and route match (see Rule for
// the pattern syntax; an empty method matches any).
func (s *Server) RequestsTo(method, pattern string) []Request {
	var out []Request
	for _, r := range s.Requests() {
		if (method == "" || method == r.Method) && matchRoute(pattern, r.Route) {
			out = append(out, r)
		}
	}
	return out
}

func (r Request) clone() Request {
	r.Query = url.Values(http.Header(r.Query).Clone())
	r.Header = r.Header.Clone()
	r.Body = append([]byte(nil), r.Body...)
	r.Files = append([]string(nil), r.Files...)
	return r
}

// CommandOverwrite is one accepted bulk overwrite of application commands.
type CommandOverwrite struct {
	AppID    string
	GuildID  string // "" for global commands
	Commands []*discordgo.ApplicationCommand
	Raw      json.RawMessage // the request body as sent
	Time     time.Time
}

// CommandOverwrites returns the accepted bulk overwrites, oldest first.
func (s *Server) CommandOverwrites() []CommandOverwrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]CommandOverwrite, len(s.overwrites))
	for i, o := range s.overwrites {
		o.Commands = cloneCommands(o.Commands)
		o.Raw = append(json.RawMessage(nil), o.Raw...)
		out[i] = o
	}
	return out
}

// Commands returns the commands currently registered for a guild, or the
// global ones for guildID "".
func (s *Server) Commands(guildID string) []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneCommands(s.commands[guildID])
}

func cloneCommands(cmds []*discordgo.ApplicationCommand) []*discordgo.ApplicationCommand {
	b, err := json.Marshal(cmds)
	if err != nil {
		panic(fmt.Sprintf("discordtest: marshal commands: %v", err))
	}
	var out []*discordgo.ApplicationCommand
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("discordtest: unmarshal commands: %v", err))
	}
	return out
}
