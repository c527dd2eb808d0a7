package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// Gateway opcodes.
const (
	opDispatch       = 0
	opHeartbeat      = 1
	opIdentify       = 2
	opPresenceUpdate = 3
	opVoiceState     = 4
	opResume         = 6
	opReconnect      = 7
	opRequestMembers = 8
	opInvalidSession = 9
	opHello          = 10
	opHeartbeatACK   = 11
)

// maxHistory is how many dispatches a session keeps for RESUME.
const maxHistory = 1000

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// Frame is one gateway payload the fake received from the client.
type Frame struct {
	Conn int // the connection's number, from 1 (see Connections)
	Op   int
	Data json.RawMessage
	Time time.Time
}

// Conn is a gateway connection the client opened.
type Conn struct {
	N      int
	Path   string     // "/ws" (the URL from GET /gateway) or "/resume" (resume_gateway_url)
	Query  url.Values // discordgo sends v and encoding
	Opened time.Time
	Closed time.Time // zero while open
}

// Identify is an IDENTIFY (op 2) the fake received and answered with READY.
type Identify struct {
	discordgo.Identify // without Presence: see Raw
	Raw                json.RawMessage
	SessionID          string // the session READY started; "" if refused
	Conn               int
	Time               time.Time
}

// Resume is a RESUME (op 6) the fake received.
type Resume struct {
	SessionID string
	Token     string
	Seq       int64
	Conn      int
	Path      string // the path of the connection it came on
	// Accepted is false when the fake answered INVALID_SESSION (unknown or
	// invalidated session, wrong token, seq too old).
	Accepted bool
	Replayed int // dispatches replayed before RESUMED
	Time     time.Time
}

// gwSession is a gateway session: what RESUME continues.
type gwSession struct {
	id      string
	token   string
	intents discordgo.Intent
	seq     int64
	history []event
	conn    *gwConn // nil while the client is disconnected
}

// event is a dispatch sent in a session.
type event struct {
	seq   int64
	frame []byte
}

// gwConn is one websocket connection. n, ws and path are set before it is
// shared; session, identifyOK, synced and beats are guarded by Server.mu;
// out by mu.
type gwConn struct {
	n    int
	ws   *websocket.Conn
	path string

	session    *gwSession // set by IDENTIFY or RESUME
	identifyOK bool       // IDENTIFY allowed again after INVALID_SESSION
	synced     bool       // READY or RESUMED sent on this connection
	beats      int        // heartbeats received after the first READY or RESUMED
	killOnce   sync.Once
	done       chan struct{}
	mu         sync.Mutex
	out        []outFrame
	wake       chan struct{}
}

// outFrame is a frame to write: data, or a close frame when code != 0.
type outFrame struct {
	data []byte
	code int
	text string
}

// send queues a frame for the writer goroutine.
func (c *gwConn) send(data []byte) { c.enqueue(outFrame{data: data}) }

// closeWith queues a close frame; the connection closes after it.
func (c *gwConn) closeWith(code int, text string) { c.enqueue(outFrame{code: code, text: text}) }

func (c *gwConn) enqueue(f outFrame) {
	c.mu.Lock()
	c.out = append(c.out, f)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes queued frames until the connection dies.
func (c *gwConn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch := c.out
		c.out = nil
		c.mu.Unlock()
		for _, f := range batch {
			c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if f.code != 0 {
				c.ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(f.code, f.text))
				c.kill(false)
				return
			}
			if err := c.ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				c.kill(false)
				return
			}
		}
	}
}

// kill closes the connection at once, with a TCP reset when reset is true.
func (c *gwConn) kill(reset bool) {
	c.killOnce.Do(func() {
		if reset {
			if tc, ok := c.ws.UnderlyingConn().(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
		}
		c.ws.Close()
		close(c.done)
	})
}

// liveConns returns the open connections. s.mu must be held.
func (s *Server) liveConns() []*gwConn {
	out := make([]*gwConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// serveGateway runs one gateway connection.
func (s *Server) serveGateway(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closed || s.down {
		s.mu.Unlock()
		resetConn(w)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	ws.SetReadLimit(4096 * 1024)
	c := &gwConn{ws: ws, path: strings.TrimSuffix(r.URL.Path, "/"), done: make(chan struct{}), wake: make(chan struct{}, 1)}

	s.mu.Lock()
	if s.closed || s.down {
		s.mu.Unlock()
		c.kill(true)
		return
	}
	s.conns[c] = struct{}{}
	c.n = len(s.connLog) + 1
	s.connLog = append(s.connLog, Conn{N: c.n, Path: c.path, Query: r.URL.Query(), Opened: time.Now()})
	s.wg.Add(1)
	s.notify()
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		c.writeLoop()
	}()
	c.send(mustJSON(map[string]any{"op": opHello, "d": map[string]any{"heartbeat_interval": s.cfg.heartbeat.Milliseconds()}, "s": nil, "t": nil}))

	for {
		_, data, err := ws.ReadMessage()
		if err != nil {
			break
		}
		if !s.handleFrame(c, data) {
			break
		}
	}
	c.kill(false)
	s.mu.Lock()
	delete(s.conns, c)
	s.connLog[c.n-1].Closed = time.Now()
	if c.session != nil && c.session.conn == c {
		c.session.conn = nil
	}
	s.notify()
	s.mu.Unlock()
}

// handleFrame handles one client payload; false ends the connection.
func (s *Server) handleFrame(c *gwConn, data []byte) bool {
	var p struct {
		Op *int            `json:"op"`
		D  json.RawMessage `json:"d"`
	}
	if err := json.Unmarshal(data, &p); err != nil || p.Op == nil {
		c.closeWith(4002, "Error while decoding payload.")
		return true
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frames = append(s.frames, Frame{Conn: c.n, Op: *p.Op, Data: append(json.RawMessage(nil), p.D...), Time: now})
	s.notify()
	switch *p.Op {
	case opHeartbeat:
		if c.synced {
			c.beats++
		}
		c.send(mustJSON(map[string]any{"op": opHeartbeatACK, "d": nil, "s": nil, "t": nil}))
	case opIdentify:
		s.identify(c, p.D, now)
	case opResume:
		s.resume(c, p.D, now)
	case opPresenceUpdate, opVoiceState, opRequestMembers:
		if c.session == nil {
			c.closeWith(4003, "Not authenticated.")
		}
	default:
		c.closeWith(4001, "Unknown opcode.")
	}
	return true
}

// identify answers IDENTIFY with READY and GUILD_CREATEs. s.mu must be held.
func (s *Server) identify(c *gwConn, d json.RawMessage, now time.Time) {
	// discordgo's Identify does not unmarshal its own presence (its
	// Activity marshals created_at as a time, unmarshals it as a number),
	// so the presence is kept raw.
	var wire struct {
		discordgo.Identify
		Presence json.RawMessage `json:"presence"`
	}
	if err := json.Unmarshal(d, &wire); err != nil {
		c.closeWith(4002, "Error while decoding payload.")
		return
	}
	id := wire.Identify
	rec := Identify{Identify: id, Raw: append(json.RawMessage(nil), d...), Conn: c.n, Time: now}
	switch {
	case c.session != nil && !c.identifyOK:
		s.identifies = append(s.identifies, rec)
		c.closeWith(4005, "Already authenticated.")
		return
	case !s.tokenOK(id.Token):
		s.identifies = append(s.identifies, rec)
		c.closeWith(4004, "Authentication failed.")
		return
	}
	if c.session != nil && c.session.conn == c {
		c.session.conn = nil
	}
	sess := &gwSession{id: randomToken(16), token: id.Token, intents: id.Intents, conn: c}
	s.sessions[sess.id] = sess
	c.session, c.identifyOK = sess, false
	rec.SessionID = sess.id
	s.identifies = append(s.identifies, rec)

	guilds := make([]map[string]any, len(s.cfg.guilds))
	for i, g := range s.cfg.guilds {
		guilds[i] = map[string]any{"id": g.ID, "unavailable": true}
	}
	s.sendEvent(sess, "READY", mustJSON(map[string]any{
		"v":                  10,
		"user":               s.botUser(),
		"guilds":             guilds,
		"session_id":         sess.id,
		"resume_gateway_url": s.resumeURL(),
		"shard":              []int{0, 1},
		"application":        map[string]any{"id": s.cfg.appID, "flags": 0},
		"private_channels":   []any{},
		"session_type":       "normal",
	}))
	s.readies++
	c.synced = true
	if id.Intents&discordgo.IntentsGuilds == 0 {
		return
	}
	for _, g := range s.cfg.guilds {
		channels := make([]map[string]any, len(g.Channels))
		for i, ch := range g.Channels {
			channels[i] = map[string]any{"id": ch, "type": 0, "name": "channel-" + ch, "guild_id": g.ID, "position": i}
		}
		s.sendEvent(sess, "GUILD_CREATE", mustJSON(map[string]any{
			"id": g.ID, "name": g.Name, "unavailable": false, "owner_id": "1",
			"joined_at": now.UTC().Format(time.RFC3339Nano), "member_count": 2, "large": false,
			"channels": channels, "threads": []any{}, "members": []any{}, "roles": []any{},
			"emojis": []any{}, "stickers": []any{}, "voice_states": []any{}, "presences": []any{},
		}))
	}
}

// tokenOK checks a gateway token. s.mu must be held.
func (s *Server) tokenOK(tok string) bool {
	tok = strings.TrimPrefix(tok, "Bot ")
	return tok != "" && (s.cfg.token == "" || tok == s.cfg.token)
}

// resume answers RESUME: the missed dispatches, then RESUMED; or
// INVALID_SESSION (d false). s.mu must be held.
func (s *Server) resume(c *gwConn, d json.RawMessage, now time.Time) {
	var p struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
		Seq       int64  `json:"seq"`
	}
	if err := json.Unmarshal(d, &p); err != nil {
		c.closeWith(4002, "Error while decoding payload.")
		return
	}
	rec := Resume{SessionID: p.SessionID, Token: p.Token, Seq: p.Seq, Conn: c.n, Path: c.path, Time: now}
	if c.session != nil && !c.identifyOK {
		s.resumes = append(s.resumes, rec)
		c.closeWith(4005, "Already authenticated.")
		return
	}
	sess := s.sessions[p.SessionID]
	if sess == nil || !s.tokenOK(p.Token) || p.Token != sess.token ||
		(len(sess.history) > 0 && p.Seq < sess.history[0].seq-1) || p.Seq > sess.seq {
		s.resumes = append(s.resumes, rec)
		c.identifyOK, c.synced = true, false
		c.send(mustJSON(map[string]any{"op": opInvalidSession, "d": false, "s": nil, "t": nil}))
		return
	}
	if old := sess.conn; old != nil && old != c {
		old.session = nil
		old.closeWith(4009, "Session timed out.")
	}
	sess.conn = c
	c.session, c.identifyOK = sess, false
	for _, e := range sess.history {
		if e.seq > p.Seq {
			c.send(e.frame)
			rec.Replayed++
		}
	}
	rec.Accepted = true
	s.resumes = append(s.resumes, rec)
	s.sendEvent(sess, "RESUMED", []byte(`{}`))
	c.synced = true
}

// sendEvent numbers a dispatch in a session, keeps it for RESUME and sends
// it if the client is connected. s.mu must be held.
func (s *Server) sendEvent(sess *gwSession, name string, data []byte) {
	sess.seq++
	frame := mustJSON(map[string]any{"op": opDispatch, "d": json.RawMessage(data), "s": sess.seq, "t": name})
	sess.history = append(sess.history, event{seq: sess.seq, frame: frame})
	if len(sess.history) > maxHistory {
		sess.history = sess.history[len(sess.history)-maxHistory:]
	}
	if sess.conn != nil {
		sess.conn.send(frame)
	}
}

// eventIntent says which intent an event needs; events not listed need
// none.
var eventIntent = map[string]discordgo.Intent{
	"GUILD_CREATE":            discordgo.IntentsGuilds,
	"GUILD_UPDATE":            discordgo.IntentsGuilds,
	"GUILD_DELETE":            discordgo.IntentsGuilds,
	"CHANNEL_CREATE":          discordgo.IntentsGuilds,
	"CHANNEL_UPDATE":          discordgo.IntentsGuilds,
	"CHANNEL_DELETE":          discordgo.IntentsGuilds,
	"GUILD_MEMBER_ADD":        discordgo.IntentsGuildMembers,
	"GUILD_MEMBER_UPDATE":     discordgo.IntentsGuildMembers,
	"GUILD_MEMBER_REMOVE":     discordgo.IntentsGuildMembers,
	"MESSAGE_CREATE":          discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages,
	"MESSAGE_UPDATE":          discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages,
	"MESSAGE_DELETE":          discordgo.IntentsGuildMessages | discordgo.IntentsDirectMessages,
	"MESSAGE_REACTION_ADD":    discordgo.IntentsGuildMessageReactions | discordgo.IntentsDirectMessageReactions,
	"PRESENCE_UPDATE":         discordgo.IntentsGuildPresences,
	"TYPING_START":            discordgo.IntentsGuildMessageTyping | discordgo.IntentsDirectMessageTyping,
	"VOICE_STATE_UPDATE":      discordgo.IntentsGuildVoiceStates,
	"GUILD_ROLE_CREATE":       discordgo.IntentsGuilds,
	"MESSAGE_REACTION_REMOVE": discordgo.IntentsGuildMessageReactions | discordgo.IntentsDirectMessageReactions,
}

// Dispatch sends a dispatch event (op 0) with data marshalled as JSON to
// every gateway session whose intents allow it. A session whose client is
// disconnected keeps the event for its RESUME. With no session at all (the
// client has not identified) the test fails: wait for READY first.
func (s *Server) Dispatch(eventName string, data any) {
	b, err := json.Marshal(data)
	if err != nil {
		s.tb.Errorf("discordtest: Dispatch(%s): marshal: %v", eventName, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatch(eventName, b)
}

// dispatch is Dispatch with s.mu held.
func (s *Server) dispatch(name string, data []byte) {
	if len(s.sessions) == 0 {
		s.tb.Errorf("discordtest: Dispatch(%s): no gateway session has identified yet; wait for READY first (WaitReady)", name)
		return
	}
	need := eventIntent[name]
	for _, sess := range s.sessions {
		if need == 0 || sess.intents&need != 0 {
			s.sendEvent(sess, name, data)
		}
	}
}

// DropGateway closes every gateway connection abruptly (TCP reset, no close
// frame). Sessions stay resumable: discordgo reconnects and sends RESUME.
func (s *Server) DropGateway() {
	s.mu.Lock()
	conns := s.liveConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.kill(true)
	}
}

// RequestReconnect sends RECONNECT (op 7) on every gateway connection; the
// client should reconnect and resume.
func (s *Server) RequestReconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.send(mustJSON(map[string]any{"op": opReconnect, "d": nil, "s": nil, "t": nil}))
	}
}

// InvalidateSessions sends INVALID_SESSION (op 9, d false) on every gateway
// connection and forgets all sessions, so the client must identify again.
func (s *Server) InvalidateSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.session != nil {
			c.identifyOK, c.synced = true, false
			c.send(mustJSON(map[string]any{"op": opInvalidSession, "d": false, "s": nil, "t": nil}))
		}
	}
	for id, sess := range s.sessions {
		if sess.conn != nil {
			sess.conn.session = nil
		}
		delete(s.sessions, id)
	}
}

// WaitReady waits until the fake has sent READY n times in all.
func (s *Server) WaitReady(ctx context.Context, n int) error {
	err := s.Wait(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.readies >= n
	})
	if err != nil {
		return fmt.Errorf("wait for READY #%d: %w", n, err)
	}
	return nil
}

// WaitConnected waits until the client is settled on its newest gateway
// connection: the connection is open, READY or RESUMED was sent on it and
// a heartbeat came after that, so discordgo's Open has returned and its
// heartbeat goroutine is running.
//
// Inject a gateway fault (DropGateway, SetDown, RequestReconnect) only
// after this: discordgo v0.29 has a race where a heartbeat goroutine that
// is not parked in its select when the connection drops later closes the
// new, resumed connection, and the client then reconnects every second for
// a while.
func (s *Server) WaitConnected(ctx context.Context) error {
	err := s.Wait(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		for c := range s.conns {
			if c.n == len(s.connLog) {
				return c.synced && c.beats > 0 && c.session != nil
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("wait for a settled gateway connection: %w", err)
	}
	return nil
}

// Frames returns every gateway payload received, oldest first.
func (s *Server) Frames() []Frame {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Frame, len(s.frames))
	for i, f := range s.frames {
		f.Data = append(json.RawMessage(nil), f.Data...)
		out[i] = f
	}
	return out
}

// Heartbeats returns how many heartbeats (op 1) the client sent.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.frames {
		if f.Op == opHeartbeat {
			n++
		}
	}
	return n
}

// Identifies returns the IDENTIFYs received, oldest first.
func (s *Server) Identifies() []Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Identify(nil), s.identifies...)
}

// Resumes returns the RESUMEs received, oldest first.
func (s *Server) Resumes() []Resume {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Resume(nil), s.resumes...)
}

// Connections returns the gateway connections opened, oldest first.
func (s *Server) Connections() []Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Conn, len(s.connLog))
	for i, c := range s.connLog {
		c.Query = url.Values(http.Header(c.Query).Clone())
		out[i] = c
	}
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("discordtest: marshal: %v", err))
	}
	return b
}
