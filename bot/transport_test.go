package bot

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// recordingServer is an httptest server that records the request URIs and
// Host headers it receives and answers a gateway URL.
type recordingServer struct {
	*httptest.Server
	mu    sync.Mutex
	uris  []string
	hosts []string
	auth  []string
}

func newRecordingServer(t *testing.T) *recordingServer {
	t.Helper()
	rs := &recordingServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.uris = append(rs.uris, r.RequestURI)
		rs.hosts = append(rs.hosts, r.Host)
		rs.auth = append(rs.auth, r.Header.Get("Authorization"))
		rs.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"url": "wss://gateway.example"}`)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *recordingServer) got() (uris, hosts, auth []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.uris...), append([]string(nil), rs.hosts...), append([]string(nil), rs.auth...)
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestTransportRewritesDiscord(t *testing.T) {
	tests := []struct {
		name   string
		suffix string // appended to the server's URL to make apiURL
		reqURL string
		want   string // request URI the server should see
	}{
		{"plain", "", "https://discord.com/api/v9/gateway", "/api/v9/gateway"},
		{"trailing slash", "/", "https://discord.com/api/v9/gateway", "/api/v9/gateway"},
		{"prefix", "/proxy", "https://discord.com/api/v9/channels/1/messages?limit=5", "/proxy/api/v9/channels/1/messages?limit=5"},
		{"prefix with slash", "/a/b/", "https://discord.com/api/v9/users/@me", "/a/b/api/v9/users/@me"},
		{"explicit port 443", "", "https://discord.com:443/api/v9/gateway", "/api/v9/gateway"},
		{"upper-case host", "", "https://DISCORD.com/api/v9/gateway", "/api/v9/gateway"},
		{"escaped path", "/p%20x", "https://discord.com/api/v9/webhooks/1/a%2Fb/messages/@original", "/p%20x/api/v9/webhooks/1/a%2Fb/messages/@original"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := newRecordingServer(t)
			apiURL := rs.URL + tt.suffix
			rt, err := NewTransport(apiURL, nil)
			if err != nil {
				t.Fatalf("NewTransport(%q) error: %v", apiURL, err)
			}
			req, err := http.NewRequest("GET", tt.reqURL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bot x")
			before := req.URL.String()
			resp, err := (&http.Client{Transport: rt, Timeout: 5 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("GET %s through NewTransport(%q): %v", tt.reqURL, apiURL, err)
			}
			resp.Body.Close()
			uris, hosts, auth := rs.got()
			if len(uris) != 1 || uris[0] != tt.want {
				t.Errorf("GET %s through NewTransport(%q): server saw %q, want [%q]", tt.reqURL, apiURL, uris, tt.want)
			}
			if wantHost := strings.TrimPrefix(rs.URL, "http://"); len(hosts) != 1 || hosts[0] != wantHost {
				t.Errorf("Host headers = %q, want [%q]", hosts, wantHost)
			}
			if len(auth) != 1 || auth[0] != "Bot x" {
				t.Errorf("Authorization headers = %q, want [\"Bot x\"]", auth)
			}
			if after := req.URL.String(); after != before {
				t.Errorf("the caller's request URL changed from %q to %q", before, after)
			}
		})
	}
}

func TestTransportLeavesOtherHostsAlone(t *testing.T) {
	var seen []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		seen = append(seen, r.URL.String())
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	rt, err := NewTransport("http://127.0.0.1:1/x", base)
	if err != nil {
		t.Fatal(err)
	}
	others := []string{
		"https://cdn.discordapp.com/avatars/1/a.png",
		"https://discordapp.com/api/v9/gateway",
		"http://discord.com/api/v9/gateway", // not https: not what discordgo sends
		"https://discord.com:8443/api/v9/gateway",
		"https://example.com/discord.com/api",
	}
	for _, u := range others {
		req, _ := http.NewRequest("GET", u, nil)
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatalf("RoundTrip(%s): %v", u, err)
		}
		resp.Body.Close()
	}
	if strings.Join(seen, "\n") != strings.Join(others, "\n") {
		t.Errorf("base saw %q, want the requests unchanged: %q", seen, others)
	}
}

func TestTransportDefault(t *testing.T) {
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) { return nil, nil })
	for _, apiURL := range []string{"", "https://discord.com", "https://discord.com/"} {
		rt, err := NewTransport(apiURL, base)
		if err != nil {
			t.Fatalf("NewTransport(%q) error: %v", apiURL, err)
		}
		if _, ok := rt.(roundTripFunc); !ok {
			t.Errorf("NewTransport(%q) = %T, want base itself (nothing to rewrite)", apiURL, rt)
		}
	}
	rt, err := NewTransport("", nil)
	if err != nil || rt != http.DefaultTransport {
		t.Errorf("NewTransport(\"\", nil) = %v, %v; want http.DefaultTransport, nil", rt, err)
	}
}

func TestTransportBadURL(t *testing.T) {
	for _, apiURL := range []string{
		"127.0.0.1:8080",
		"ftp://example.com",
		"http://",
		"/api",
		"http://example.com/?a=b",
		"http://example.com/#x",
		"http://user:pw@example.com",
		"http://[::1",
	} {
		if rt, err := NewTransport(apiURL, nil); err == nil {
			t.Errorf("NewTransport(%q) = %v, nil; want an error", apiURL, rt)
		} else if !strings.Contains(err.Error(), "discord api url") {
			t.Errorf("NewTransport(%q) error %q does not say which setting is wrong", apiURL, err)
		}
	}
}

// TestTransportWithDiscordgo checks the rewrite against discordgo's own
// endpoint variables, so a discordgo upgrade that changes its base URL fails
// here rather than in production.
func TestTransportWithDiscordgo(t *testing.T) {
	rs := newRecordingServer(t)
	rt, err := NewTransport(rs.URL+"/prefix", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := discordgo.New("Bot token")
	if err != nil {
		t.Fatal(err)
	}
	s.Client = &http.Client{Transport: rt, Timeout: 5 * time.Second}
	gw, err := s.Gateway()
	if err != nil {
		t.Fatalf("Session.Gateway() through the transport: %v", err)
	}
	if gw != "wss://gateway.example/" {
		t.Errorf("Session.Gateway() = %q, want %q", gw, "wss://gateway.example/")
	}
	uris, _, auth := rs.got()
	want := "/prefix/api/v" + discordgo.APIVersion + "/gateway"
	if len(uris) != 1 || uris[0] != want {
		t.Errorf("server saw %q, want [%q]", uris, want)
	}
	if len(auth) != 1 || auth[0] != "Bot token" {
		t.Errorf("Authorization = %q, want [\"Bot token\"]", auth)
	}
}
