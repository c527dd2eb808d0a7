package discordtest

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// maxBody is the largest request body the fake reads.
const maxBody = 10 << 20

// apiPrefix matches /api and /api/vN at the start of a REST path.
var apiPrefix = regexp.MustCompile(`^/api(/v[0-9]+)?(/|$)`)

// serve is the fake's root handler: gateway websockets on /ws and /resume,
// the REST API everywhere else.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimSuffix(r.URL.Path, "/") {
	case "/ws", "/resume":
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			s.serveGateway(w, r)
			return
		}
	}
	s.serveREST(w, r)
}

// serveREST answers one REST request, applying (in this order) the down
// switch, fault rules, authentication and rate limits, then the route.
func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, files, readErr := readBody(r)
	route := r.URL.Path
	versioned := false
	if loc := apiPrefix.FindStringIndex(route); loc != nil {
		route = "/" + strings.TrimPrefix(route[loc[1]:], "/")
		versioned = true
	}
	req := Request{
		Method: r.Method,
		Path:   r.URL.Path,
		Route:  route,
		Query:  r.URL.Query(),
		Header: r.Header.Clone(),
		Body:   body,
		Files:  files,
		Time:   now,
	}

	s.mu.Lock()
	if s.down {
		req.Fault = true
		s.record(req)
		s.mu.Unlock()
		resetConn(w)
		return
	}
	bk := bucketOf(r.Method, route)
	f := s.matchFault(r.Method, route)
	s.mu.Unlock()

	if f != nil {
		if f.rule.Delay > 0 {
			t := time.NewTimer(f.rule.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
			case <-s.done:
			}
			t.Stop()
		}
		if f.rule.Reset || f.rule.Status != 0 {
			req.Fault = true
			if f.rule.Reset {
				s.mu.Lock()
				s.record(req)
				s.mu.Unlock()
				resetConn(w)
				return
			}
			s.respond(w, req, f.rule.answer(bk, time.Now()))
			return
		}
	}

	if !versioned {
		req.Unknown = true
		s.respond(w, req, apiError(http.StatusNotFound, 0, "404: Not Found"))
		return
	}
	if readErr != nil {
		s.respond(w, req, apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON."))
		return
	}

	s.mu.Lock()
	h, ok := s.route(r.Method, route)
	if !ok {
		req.Unknown = true
		s.mu.Unlock()
		s.respond(w, req, apiError(http.StatusNotFound, 0, "404: Not Found"))
		return
	}
	if h == nil {
		req.Unknown = true
		s.mu.Unlock()
		s.respond(w, req, apiError(http.StatusMethodNotAllowed, 0, "405: Method Not Allowed"))
		return
	}
	if h.auth && !s.authorized(r.Header.Get("Authorization")) {
		s.mu.Unlock()
		s.respond(w, req, apiError(http.StatusUnauthorized, 0, "401: Unauthorized"))
		return
	}
	limits, limited := s.takeToken(r.Method, route, bk, time.Now())
	if limited != nil {
		s.mu.Unlock()
		s.respond(w, req, *limited)
		return
	}
	rep := h.fn(&call{req: &req, params: h.params, now: time.Now()})
	s.mu.Unlock()
	if rep.header == nil {
		rep.header = http.Header{}
	}
	for k, v := range limits {
		rep.header[k] = v
	}
	s.respond(w, req, rep)
}

// respond writes rep and records req with its status.
func (s *Server) respond(w http.ResponseWriter, req Request, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Type") == "" && len(rep.body) > 0 {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
	req.Status = rep.status
	s.mu.Lock()
	s.record(req)
	s.mu.Unlock()
}

// record appends a request to the log. s.mu must be held.
func (s *Server) record(req Request) {
	s.requests = append(s.requests, req)
	s.notify()
}

// authorized reports whether an Authorization header carries the bot token.
// s.mu must be held.
func (s *Server) authorized(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bot ")
	if !ok || tok == "" {
		return false
	}
	return s.cfg.token == "" || tok == s.cfg.token
}

// resetConn closes the request's TCP connection with a reset, unanswered.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("discordtest: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// readBody reads a request body; for multipart/form-data it returns the
// payload_json part and the names of the files.
func readBody(r *http.Request) (body []byte, files []string, err error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		return nil, nil, err
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return b, nil, nil
	}
	mr := multipart.NewReader(bytes.NewReader(b), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return body, files, nil
		}
		if err != nil {
			return b, files, err
		}
		if p.FormName() == "payload_json" {
			if body, err = io.ReadAll(p); err != nil {
				return b, files, err
			}
		} else if p.FileName() != "" {
			files = append(files, p.FileName())
		}
	}
}

// call is the context of one routed request.
type call struct {
	req    *Request
	params []string
	now    time.Time
}

// decode unmarshals the request body into v.
func (c *call) decode(v any) bool {
	return json.Unmarshal(c.req.Body, v) == nil
}

// handler is a routed REST handler; fn runs with s.mu held.
type handler struct {
	fn     func(*call) reply
	auth   bool // needs "Authorization: Bot <token>"
	params []string
}

// routeDef is one route of the fake: its pattern ("*" captures a segment)
// and a handler per method.
type routeDef struct {
	pattern []string
	methods map[string]func(*Server, *call) reply
	auth    bool
}

// routes lists every route the fake implements.
var routes = []routeDef{
	{pattern: sp("gateway"), auth: false, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getGateway}},
	{pattern: sp("gateway/bot"), auth: true, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getGatewayBot}},
	{pattern: sp("users/@me"), auth: true, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getMe}},
	{pattern: sp("applications/@me"), auth: true, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getApplication}},
	{pattern: sp("oauth2/applications/@me"), auth: true, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getApplication}},
	{pattern: sp("interactions/*/*/callback"), methods: map[string]func(*Server, *call) reply{"POST": (*Server).postCallback}},
	{pattern: sp("webhooks/*/*"), methods: map[string]func(*Server, *call) reply{"POST": (*Server).postFollowup}},
	{pattern: sp("webhooks/*/*/messages/*"), methods: map[string]func(*Server, *call) reply{
		"GET": (*Server).getWebhookMessage, "PATCH": (*Server).patchWebhookMessage, "DELETE": (*Server).deleteWebhookMessage}},
	{pattern: sp("channels/*"), auth: true, methods: map[string]func(*Server, *call) reply{"GET": (*Server).getChannel}},
	{pattern: sp("channels/*/messages"), auth: true, methods: map[string]func(*Server, *call) reply{
		"GET": (*Server).listMessages, "POST": (*Server).postMessage}},
	{pattern: sp("channels/*/messages/*"), auth: true, methods: map[string]func(*Server, *call) reply{
		"GET": (*Server).getMessage, "PATCH": (*Server).patchMessage, "DELETE": (*Server).deleteMessage}},
	{pattern: sp("applications/*/commands"), auth: true, methods: map[string]func(*Server, *call) reply{
		"GET": (*Server).getCommands, "PUT": (*Server).putCommands}},
	{pattern: sp("applications/*/guilds/*/commands"), auth: true, methods: map[string]func(*Server, *call) reply{
		"GET": (*Server).getCommands, "PUT": (*Server).putCommands}},
}

func sp(p string) []string { return strings.Split(p, "/") }

// route finds the handler of a request: ok is false for an unknown route,
// h is nil for a known route without that method.
func (s *Server) route(method, route string) (h *handler, ok bool) {
	segs := strings.Split(strings.Trim(route, "/"), "/")
	for _, rd := range routes {
		if len(rd.pattern) != len(segs) {
			continue
		}
		var params []string
		match := true
		for i, p := range rd.pattern {
			if p == "*" {
				params = append(params, segs[i])
			} else if p != segs[i] {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		fn := rd.methods[method]
		if fn == nil {
			return nil, true
		}
		return &handler{fn: func(c *call) reply { return fn(s, c) }, auth: rd.auth, params: params}, true
	}
	return nil, false
}

// jsonReply marshals v as a 200 answer.
func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		return apiError(http.StatusInternalServerError, 0, "discordtest: marshal: "+err.Error())
	}
	return reply{status: status, body: b}
}

func (s *Server) getGateway(c *call) reply {
	return jsonReply(http.StatusOK, map[string]any{"url": s.GatewayURL()})
}

func (s *Server) getGatewayBot(c *call) reply {
	return jsonReply(http.StatusOK, map[string]any{
		"url":    s.GatewayURL(),
		"shards": 1,
		"session_start_limit": map[string]any{
			"total": 1000, "remaining": 999, "reset_after": 86400000, "max_concurrency": 1,
		},
	})
}

func (s *Server) getMe(c *call) reply { return jsonReply(http.StatusOK, s.botUser()) }

func (s *Server) getApplication(c *call) reply {
	return jsonReply(http.StatusOK, map[string]any{
		"id":                     s.cfg.appID,
		"name":                   s.cfg.username,
		"description":            "",
		"bot_public":             false,
		"bot_require_code_grant": false,
		"flags":                  0,
		"bot":                    s.botUser(),
	})
}

func (s *Server) getChannel(c *call) reply {
	ch := map[string]any{"id": c.params[0], "type": 0, "name": "channel-" + c.params[0]}
	if g := s.guildOf[c.params[0]]; g != "" {
		ch["guild_id"] = g
	}
	return jsonReply(http.StatusOK, ch)
}
