package bot

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// discordHost is the host that discordgo's Endpoint* variables are built
// from ("https://discord.com/").
const discordHost = "discord.com"

// NewTransport returns an http.RoundTripper that sends every request for
// https://discord.com — the host discordgo builds all its REST endpoints
// from — to apiURL instead, and passes requests for any other host to base
// unchanged. The scheme and host of apiURL replace discord.com's, and a path
// in apiURL is put before the request's path, so with apiURL
// "http://127.0.0.1:8080/proxy" a request for
// https://discord.com/api/v9/gateway goes to
// http://127.0.0.1:8080/proxy/api/v9/gateway. The query is kept.
//
// It is what the [discord] api_url setting uses (REST proxies) and what tests
// use to run the real discordgo client against a fake Discord:
//
//	rt, err := bot.NewTransport(cfg.APIURL, nil)
//	s.Client = &http.Client{Transport: rt, Timeout: 20 * time.Second}
//
// A nil base means http.DefaultTransport. An empty apiURL or
// "https://discord.com" needs no rewriting: base itself is returned. apiURL
// must be an absolute http or https URL without query, fragment or user
// info.
//
// The gateway websocket is not affected: discordgo dials the URL that
// GET /gateway answers, which a proxy or fake sets.
func NewTransport(apiURL string, base http.RoundTripper) (http.RoundTripper, error) {
	if base == nil {
		base = http.DefaultTransport
	}
	if apiURL == "" {
		return base, nil
	}
	u, err := url.Parse(apiURL)
	if err != nil {
		return nil, fmt.Errorf("parse discord api url %q: %w", apiURL, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("discord api url %q: scheme must be http or https", apiURL)
	case u.Host == "":
		return nil, fmt.Errorf("discord api url %q: no host", apiURL)
	case u.User != nil:
		return nil, fmt.Errorf("discord api url %q: user info is not supported", apiURL)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return nil, fmt.Errorf("discord api url %q: query and fragment are not supported", apiURL)
	}
	prefix := strings.TrimSuffix(u.Path, "/")
	rawPrefix := strings.TrimSuffix(u.EscapedPath(), "/")
	if u.Scheme == "https" && strings.EqualFold(u.Host, discordHost) && prefix == "" {
		return base, nil
	}
	return &transport{
		base:      base,
		scheme:    u.Scheme,
		host:      u.Host,
		prefix:    prefix,
		rawPrefix: rawPrefix,
	}, nil
}

// transport rewrites requests for discord.com; see NewTransport.
type transport struct {
	base      http.RoundTripper
	scheme    string
	host      string
	prefix    string // decoded path prefix, no trailing slash
	rawPrefix string // the same, escaped
}

// RoundTrip implements http.RoundTripper. It does not modify req: a
// redirected request is a shallow clone with its own URL.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !isDiscord(req.URL) {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	u := *req.URL
	u.Scheme = t.scheme
	u.Host = t.host
	if t.prefix != "" {
		u.Path = t.prefix + u.Path
		if u.RawPath != "" {
			u.RawPath = t.rawPrefix + u.RawPath
		}
	}
	r.URL = &u
	r.Host = "" // send the Host header of the new URL
	return t.base.RoundTrip(r)
}

// isDiscord reports whether u is on https://discord.com (port 443 or none).
func isDiscord(u *url.URL) bool {
	if u.Scheme != "https" || !strings.EqualFold(u.Hostname(), discordHost) {
		return false
	}
	p := u.Port()
	return p == "" || p == "443"
}
