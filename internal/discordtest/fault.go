package discordtest

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Always, as Rule.Times, makes a rule fail every matching request until it
// is removed.
const Always = -1

// Rule describes a fault the fake injects into REST requests. Method and
// Path select requests; the other fields say what the answer is.
//
// Path is matched against the route, the request path without /api/vN
// ("/channels/123/messages"). A "*" segment matches one segment and a final
// "**" any number of them (also none); "" matches every route.
type Rule struct {
	Method string // "" matches any method
	Path   string

	// Skip lets this many matching requests through before the rule fires.
	Skip int
	// Times is how many matching requests fail: 0 means once, Always means
	// until Fault.Remove.
	Times int

	// Status is the answer's status: 429 answers a rate limit (see
	// RetryAfter, Global, Scope), any other status a Discord JSON error with
	// Code and Message (defaults per status). 0 with Reset false answers
	// normally, after Delay.
	Status  int
	Code    int
	Message string
	// Body replaces the JSON body, for example with the HTML page of a
	// Cloudflare 502, or of a Cloudflare 429 ban (which discordgo cannot
	// parse: it returns a JSON error instead of waiting).
	Body string

	// RetryAfter is the wait a 429 asks for (default 500 ms), sent as
	// retry_after in seconds (JSON float) and as Retry-After (whole seconds,
	// rounded up).
	RetryAfter time.Duration
	// Global marks a 429 as the global rate limit: X-RateLimit-Global: true,
	// X-RateLimit-Scope: global, no bucket headers, "global": true.
	Global bool
	// Scope is X-RateLimit-Scope of a per-route 429: "user" (default) or
	// "shared".
	Scope string

	// Reset closes the TCP connection (RST) without an answer.
	Reset bool
	// Delay holds the answer back this long (the fake's Close ends it).
	Delay time.Duration
}

// RateLimited returns a rule answering the next request for method and path
// with a per-route 429 asking to retry after d.
func RateLimited(method, path string, d time.Duration) Rule {
	return Rule{Method: method, Path: path, Status: http.StatusTooManyRequests, RetryAfter: d}
}

// GlobalRateLimited returns a rule answering the next request (any route)
// with a global 429 asking to retry after d.
func GlobalRateLimited(d time.Duration) Rule {
	return Rule{Status: http.StatusTooManyRequests, RetryAfter: d, Global: true}
}

// ServerError returns a rule answering the next request for method and path
// with status (500, 502, 503, 504).
func ServerError(method, path string, status int) Rule {
	return Rule{Method: method, Path: path, Status: status}
}

// UnknownChannel returns a rule answering every request under
// /channels/{channelID} with 404 Unknown Channel (code 10003), as for a
// deleted channel.
func UnknownChannel(channelID string) Rule {
	return Rule{Path: "/channels/" + channelID + "/**", Times: Always, Status: http.StatusNotFound, Code: 10003, Message: "Unknown Channel"}
}

// MissingAccess returns a rule answering every request under
// /channels/{channelID} with 403 Missing Access (code 50001), as for a
// channel the bot cannot see.
func MissingAccess(channelID string) Rule {
	return Rule{Path: "/channels/" + channelID + "/**", Times: Always, Status: http.StatusForbidden, Code: 50001, Message: "Missing Access"}
}

// ConnectionReset returns a rule resetting the connection of the next
// request for method and path.
func ConnectionReset(method, path string) Rule {
	return Rule{Method: method, Path: path, Reset: true}
}

// Fault is a rule installed with Fail.
type Fault struct {
	rule    Rule
	s       *Server
	matched int // matching requests seen
	hits    int // requests it answered
	removed bool
}

// Fail installs a fault rule. Rules are checked in the order they were
// installed; the first that fires answers the request.
func (s *Server) Fail(r Rule) *Fault {
	f := &Fault{rule: r, s: s}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	return f
}

// Hits returns how many requests the fault answered.
func (f *Fault) Hits() int {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	return f.hits
}

// Remove uninstalls the fault.
func (f *Fault) Remove() {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	f.removed = true
}

// ClearFaults uninstalls every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		f.removed = true
	}
	s.faults = nil
}

// matchFault returns the fault that fires for a request and counts it.
// s.mu must be held.
func (s *Server) matchFault(method, route string) *Fault {
	for _, f := range s.faults {
		r := f.rule
		if f.removed || (r.Method != "" && r.Method != method) || !matchRoute(r.Path, route) {
			continue
		}
		f.matched++
		if f.matched <= r.Skip {
			continue
		}
		times := r.Times
		if times == 0 {
			times = 1
		}
		if times != Always && f.hits >= times {
			continue
		}
		f.hits++
		return f
	}
	return nil
}

// matchRoute reports whether route matches pattern (see Rule.Path).
func matchRoute(pattern, route string) bool {
	if pattern == "" {
		return true
	}
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	rs := strings.Split(strings.Trim(route, "/"), "/")
	for i, p := range ps {
		if p == "**" && i == len(ps)-1 {
			return true
		}
		if i >= len(rs) || (p != "*" && p != rs[i]) {
			return false
		}
	}
	return len(ps) == len(rs)
}

// reply is an answer to a REST request.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// apiError returns a Discord JSON error answer.
func apiError(status, code int, message string) reply {
	b, _ := json.Marshal(map[string]any{"message": message, "code": code})
	return reply{status: status, body: b}
}

// formError returns a 400 Invalid Form Body (code 50035) naming the field.
func formError(field, code, message string) reply {
	b, _ := json.Marshal(map[string]any{
		"message": "Invalid Form Body",
		"code":    50035,
		"errors": map[string]any{
			field: map[string]any{"_errors": []map[string]string{{"code": code, "message": message}}},
		},
	})
	return reply{status: http.StatusBadRequest, body: b}
}

// answer builds the fault's answer for a request to bucket b.
func (r Rule) answer(bk bucketID, now time.Time) reply {
	if r.Status == http.StatusTooManyRequests {
		rep := rateLimitReply(bk, r.RetryAfter, r.Global, r.Scope, r.Message, now)
		if r.Body != "" { // a Cloudflare ban page, say
			rep.body = []byte(r.Body)
			rep.header.Set("Content-Type", "text/html")
		}
		return rep
	}
	if r.Body != "" {
		return reply{status: r.Status, body: []byte(r.Body), header: http.Header{"Content-Type": {"text/html"}}}
	}
	msg := r.Message
	if msg == "" {
		switch r.Status {
		case http.StatusForbidden:
			if r.Code == 0 {
				r.Code = 50001
			}
			msg = "Missing Access"
		default:
			msg = fmt.Sprintf("%d: %s", r.Status, http.StatusText(r.Status))
		}
	}
	return apiError(r.Status, r.Code, msg)
}

// rateLimitReply builds a 429 answer.
func rateLimitReply(bk bucketID, retry time.Duration, global bool, scope, message string, now time.Time) reply {
	if retry <= 0 {
		retry = 500 * time.Millisecond
	}
	if message == "" {
		message = "You are being rate limited."
	}
	secs := seconds(retry)
	b, _ := json.Marshal(map[string]any{"message": message, "retry_after": secs, "global": global, "code": 0})
	h := http.Header{}
	h.Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
	if global {
		h.Set("X-RateLimit-Global", "true")
		h.Set("X-RateLimit-Scope", "global")
	} else {
		if scope == "" {
			scope = "user"
		}
		h.Set("X-RateLimit-Scope", scope)
		h.Set("X-RateLimit-Limit", "1")
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset", resetAt(now.Add(retry)))
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(secs, 'f', 3, 64))
		h.Set("X-RateLimit-Bucket", bk.hash)
	}
	return reply{status: http.StatusTooManyRequests, header: h, body: b}
}

// seconds returns d in seconds, rounded up to the millisecond, so a client
// that waits exactly that long is never early.
func seconds(d time.Duration) float64 {
	return math.Ceil(float64(d)/float64(time.Millisecond)) / 1000
}

// resetAt formats t as X-RateLimit-Reset: epoch seconds with milliseconds.
func resetAt(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// bucketID identifies a rate-limit bucket: hash is what X-RateLimit-Bucket
// says (one per method and route shape, like Discord's), key adds the major
// parameters (channel, guild, webhook or interaction) the limit is counted
// per.
type bucketID struct {
	hash string
	key  string
}

// bucketOf returns the bucket of a request.
func bucketOf(method, route string) bucketID {
	segs := strings.Split(strings.Trim(route, "/"), "/")
	shape := make([]string, len(segs))
	var major []string
	for i, seg := range segs {
		prev, prev2 := "", ""
		if i > 0 {
			prev = segs[i-1]
		}
		if i > 1 {
			prev2 = segs[i-2]
		}
		switch {
		case prev == "channels" || prev == "guilds" || prev == "webhooks" || prev == "interactions":
			major = append(major, seg)
			shape[i] = ":major"
		case prev2 == "webhooks" || prev2 == "interactions":
			major = append(major, seg)
			shape[i] = ":token"
		case isSnowflake(seg) || seg == "@original":
			shape[i] = ":id"
		default:
			shape[i] = seg
		}
	}
	sum := sha1.Sum([]byte(method + " /" + strings.Join(shape, "/")))
	h := hex.EncodeToString(sum[:8])
	return bucketID{hash: h, key: h + ":" + strings.Join(major, "/")}
}

func isSnowflake(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// limitRule is a rate limit set with SetRateLimit.
type limitRule struct {
	method, path string
	limit        int
	window       time.Duration
}

// bucket counts the requests of one bucket in the current window.
type bucket struct {
	count  int
	limit  int
	window time.Duration
	reset  time.Time
}

// SetRateLimit sets the rate limit of the requests matching method and path
// (see Rule for the pattern): limit requests per window, counted per bucket
// (per channel for channel routes, per interaction token for webhook
// routes), with a fixed window starting at the bucket's first request. Every
// answer carries X-RateLimit-Limit, -Remaining, -Reset, -Reset-After and
// -Bucket; a request over the limit gets a 429 (scope "user") asking to
// retry when the window resets. A later rule wins over an earlier one;
// routes no rule matches get the default (WithDefaultRateLimit).
func (s *Server) SetRateLimit(method, path string, limit int, window time.Duration) {
	if limit < 1 {
		limit = 1
	}
	if window <= 0 {
		window = time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits = append(s.limits, limitRule{method: method, path: path, limit: limit, window: window})
}

// takeToken counts a request against its bucket and returns the rate-limit
// headers, or a 429 answer when the bucket is empty. s.mu must be held.
func (s *Server) takeToken(method, route string, bk bucketID, now time.Time) (http.Header, *reply) {
	limit, window := s.cfg.limit, s.cfg.limitWindow
	for i := len(s.limits) - 1; i >= 0; i-- {
		l := s.limits[i]
		if (l.method == "" || l.method == method) && matchRoute(l.path, route) {
			limit, window = l.limit, l.window
			break
		}
	}
	b := s.buckets[bk.key]
	if b == nil || !now.Before(b.reset) || b.limit != limit || b.window != window {
		b = &bucket{limit: limit, window: window, reset: now.Add(window)}
		s.buckets[bk.key] = b
	}
	if b.count >= b.limit {
		r := rateLimitReply(bk, b.reset.Sub(now), false, "user", "", now)
		r.header.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
		return nil, &r
	}
	b.count++
	h := http.Header{}
	h.Set("X-RateLimit-Limit", strconv.Itoa(b.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(b.limit-b.count))
	h.Set("X-RateLimit-Reset", resetAt(b.reset))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(seconds(b.reset.Sub(now)), 'f', 3, 64))
	h.Set("X-RateLimit-Bucket", bk.hash)
	return h, nil
}
