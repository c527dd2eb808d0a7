// Package discordtest is a fake Discord for end-to-end tests: the REST API
// and the gateway websocket on one 127.0.0.1 listener, so the real,
// unmodified discordgo client runs against it. It records what it receives,
// typed with discordgo's own structs and as raw JSON, and injects the faults
// the bot must survive: rate limits, 5xx, 403/404, connection resets,
// dropped gateway connections and Discord being down.
//
// # Wiring
//
//	srv := discordtest.New(t, discordtest.WithGuild("100", "Test guild", "200"))
//	s, _ := discordgo.New("Bot token")
//	rt, _ := bot.NewTransport(srv.URL, nil) // what [discord] api_url does
//	s.Client = &http.Client{Transport: rt, Timeout: 5 * time.Second}
//	s.Identify.Intents = discordgo.IntentsGuilds
//	s.AddHandler(func(s *discordgo.Session, i *discordgo.InteractionCreate) { ... })
//	if err := s.Open(); err != nil { t.Fatal(err) }
//	t.Cleanup(func() { s.Close() }) // registered after New: runs before the fake closes
//
//	id := srv.Interact(discordtest.InteractionSpec{GuildID: "100", ChannelID: "200", Command: "stats"})
//	cb, err := srv.WaitCallback(ctx, id)
//
// The gateway URL reaches discordgo through GET /gateway, so only REST
// needs the transport. Register the session's cleanup after New: discordgo
// reconnects forever when its gateway goes away, so the session must close
// first. discordgo's Close sleeps 1 s, and so does its reconnect after a
// drop: share one session between the checks of a test where you can.
//
// Before injecting a gateway fault, call WaitConnected: discordgo v0.29 can
// otherwise close its own freshly resumed connection (a stale heartbeat
// goroutine) and reconnect every second for a while. For the same reason
// the default heartbeat interval is Discord's 41.25 s; shorten it
// (WithHeartbeatInterval) only where heartbeats are what is tested.
//
// # What it emulates
//
// REST, under /api/vN/ for any N (discordgo v0.29 uses v9): GET /gateway and
// /gateway/bot; GET /users/@me and /applications/@me; interaction callbacks
// (types 4, 5, 8 and the others checked against the interaction type, once:
// a second gets 400 code 40060; after the deadline, 3 s by default, 404 code
// 10062); GET/PATCH/DELETE of the original response and followups and POST
// of followups through /webhooks/{app}/{token} (token lifetime 15 min);
// channel messages (POST with Discord's nonce + enforce_nonce rule,
// GET/PATCH/DELETE, GET list); GET /channels/{id}; bulk overwrite and GET of
// global and guild application commands (ids kept per name, like Discord).
// Bodies are checked against Discord's main limits (empty message 50006,
// 2000 characters of content, 10 embeds, embed field limits, 6000 characters
// of embed text, allowed_mentions consistency, command names) and answered
// with Discord-style JSON errors. Every answer carries X-RateLimit-* headers
// from a per-route, per-major-parameter fixed window (SetRateLimit); a
// client that ignores them gets real 429s.
//
// Gateway: HELLO with a configurable heartbeat_interval, heartbeat ACKs,
// IDENTIFY → READY (session_id, resume_gateway_url pointing back at the
// fake on /resume, user, application, guilds) and GUILD_CREATE per guild
// (with the GUILDS intent), dispatches with increasing seq, RESUME →
// replay of the missed dispatches then RESUMED, INVALID_SESSION for a
// session it cannot resume, RECONNECT on request, close codes 4001–4005 for
// protocol errors. Dispatch events are filtered by intent for the common
// events only.
//
// # What it does not emulate
//
// Voice, sharding, zlib or etf encoding (it sends text frames whatever
// IDENTIFY's compress says), presences and member chunking, the global
// 50 requests/s limit (inject it with GlobalRateLimited), Discord's exact
// bucket hashes and limits (the default is a generous 50 per second per
// bucket), permissions (a bot can post anywhere unless a rule says 403),
// mention parsing, attachments beyond recording their file names, message
// components beyond storing them, webhooks other than interaction
// webhooks, and the many routes not listed above: those get 404, are
// recorded with Request.Unknown, and fail the test at cleanup unless
// AllowUnknownRoutes is given. Heartbeats are acknowledged but not required:
// a silent client is not disconnected. Times are real (no fake clock):
// discordgo sleeps in real time.
package discordtest
