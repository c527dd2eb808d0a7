package discordtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// InteractionSpec describes an interaction a user starts (see Interact).
type InteractionSpec struct {
	// Type is discordgo.InteractionApplicationCommand (the default) or
	// discordgo.InteractionApplicationCommandAutocomplete.
	Type discordgo.InteractionType
	// GuildID and ChannelID say where it happens; with no GuildID it is a
	// DM and the user is sent as "user" instead of "member".
	GuildID   string
	ChannelID string
	// UserID and Username identify the member (defaults "900000000000000001"
	// and "player").
	UserID   string
	Username string
	// Permissions is the member's permissions in the channel, sent as a
	// decimal string: discordgo.PermissionManageGuild (1<<5) for Manage
	// Server, discordgo.PermissionAdministrator for an admin.
	Permissions int64
	Roles       []string
	// Command is the command name; CommandID defaults to the id of the
	// registered command of that name (guild first, then global).
	Command   string
	CommandID string
	// Options are the command's options, including subcommands (type 1),
	// groups (type 2) and, for autocomplete, one with Focused set. See Opt,
	// Sub, Group and Focused.
	Options []*discordgo.ApplicationCommandInteractionDataOption
	Locale  string // default "en-US"
	// Deadline overrides the server's callback deadline
	// (WithCallbackDeadline) for this interaction.
	Deadline time.Duration
}

// Opt returns an option: its type follows value (string 3, integer 4,
// bool 5, float 10).
func Opt(name string, value any) *discordgo.ApplicationCommandInteractionDataOption {
	t := discordgo.ApplicationCommandOptionString
	switch v := value.(type) {
	case int:
		t, value = discordgo.ApplicationCommandOptionInteger, int64(v)
	case int64:
		t = discordgo.ApplicationCommandOptionInteger
	case bool:
		t = discordgo.ApplicationCommandOptionBoolean
	case float64:
		t = discordgo.ApplicationCommandOptionNumber
	}
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: t, Value: value}
}

// Sub returns a subcommand option with its options.
func Sub(name string, opts ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommand, Options: opts}
}

// Group returns a subcommand group option with its subcommands.
func Group(name string, subs ...*discordgo.ApplicationCommandInteractionDataOption) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionSubCommandGroup, Options: subs}
}

// Focused returns the focused string option of an autocomplete interaction,
// with what the user has typed so far.
func Focused(name, partial string) *discordgo.ApplicationCommandInteractionDataOption {
	return &discordgo.ApplicationCommandInteractionDataOption{Name: name, Type: discordgo.ApplicationCommandOptionString, Value: partial, Focused: true}
}

// interaction is the fake's state of one interaction.
type interaction struct {
	id, token string
	typ       discordgo.InteractionType
	channelID string
	sent      time.Time
	deadline  time.Duration
	acked     bool
	original  *message // created by callback type 4 or 5
	loading   bool     // original is the "thinking" placeholder of type 5
	followups []*message
	payload   []byte
}

// Interact sends INTERACTION_CREATE for an application command or an
// autocomplete and returns the interaction's id. Its callback is then
// accepted within the callback deadline (WithCallbackDeadline), once.
func (s *Server) Interact(spec InteractionSpec) (id string) {
	if spec.Type == 0 {
		spec.Type = discordgo.InteractionApplicationCommand
	}
	if spec.UserID == "" {
		spec.UserID = "900000000000000001"
	}
	if spec.Username == "" {
		spec.Username = "player"
	}
	if spec.Locale == "" {
		spec.Locale = "en-US"
	}
	if spec.Roles == nil {
		spec.Roles = []string{}
	}
	s.mu.Lock()
	id = s.newID()
	cmdID := spec.CommandID
	if cmdID == "" {
		cmdID = s.commandID(spec.GuildID, spec.Command)
	}
	in := &interaction{id: id, token: "aW50ZXJhY3Rpb246" + randomToken(48), typ: spec.Type, channelID: spec.ChannelID, deadline: spec.Deadline}
	if in.deadline <= 0 {
		in.deadline = s.cfg.callbackDeadline
	}
	s.mu.Unlock()

	user := map[string]any{
		"id": spec.UserID, "username": spec.Username, "discriminator": "0",
		"global_name": spec.Username, "avatar": nil,
	}
	data := map[string]any{"id": cmdID, "name": spec.Command, "type": 1}
	if spec.GuildID != "" {
		data["guild_id"] = spec.GuildID
	}
	if len(spec.Options) > 0 {
		data["options"] = spec.Options
	}
	p := map[string]any{
		"id":              id,
		"application_id":  s.cfg.appID,
		"type":            spec.Type,
		"token":           in.token,
		"version":         1,
		"data":            data,
		"channel_id":      spec.ChannelID,
		"channel":         map[string]any{"id": spec.ChannelID, "type": 0},
		"locale":          spec.Locale,
		"app_permissions": "562949953421311",
		"entitlements":    []any{},
	}
	perms := strconv.FormatInt(spec.Permissions, 10)
	if spec.GuildID != "" {
		p["guild_id"] = spec.GuildID
		p["guild_locale"] = "en-US"
		p["context"] = 0
		p["authorizing_integration_owners"] = map[string]string{"0": spec.GuildID}
		p["member"] = map[string]any{
			"user": user, "roles": spec.Roles, "permissions": perms,
			"joined_at": "2024-01-01T00:00:00.000000+00:00", "nick": nil,
			"deaf": false, "mute": false, "flags": 0, "pending": false,
		}
	} else {
		p["context"] = 1
		p["user"] = user
		p["authorizing_integration_owners"] = map[string]string{"1": spec.UserID}
	}
	b, err := json.Marshal(p)
	if err != nil {
		s.tb.Errorf("discordtest: Interact: marshal: %v", err)
		return id
	}
	in.payload = b
	s.mu.Lock()
	s.interactions[id] = in
	s.byToken[in.token] = in
	in.sent = time.Now()
	s.dispatch("INTERACTION_CREATE", b)
	s.mu.Unlock()
	return id
}

// commandID returns the id of a registered command, or a new id. s.mu must
// be held.
func (s *Server) commandID(guildID, name string) string {
	for _, scope := range []string{guildID, ""} {
		for _, c := range s.commands[scope] {
			if c.Name == name {
				return c.ID
			}
		}
	}
	return s.newID()
}

// Interaction returns the interaction as it was sent in INTERACTION_CREATE.
func (s *Server) Interaction(id string) (*discordgo.Interaction, bool) {
	s.mu.Lock()
	in := s.interactions[id]
	s.mu.Unlock()
	if in == nil {
		return nil, false
	}
	var i discordgo.Interaction
	if err := json.Unmarshal(in.payload, &i); err != nil {
		s.tb.Errorf("discordtest: interaction %s does not unmarshal into discordgo.Interaction: %v", id, err)
	}
	return &i, true
}

// Callback is one POST /interactions/{id}/{token}/callback the fake
// received.
type Callback struct {
	InteractionID string
	Response      discordgo.InteractionResponse
	Raw           json.RawMessage // the body as sent
	// Status is the answer: 204 accepted; 400 already acknowledged (code
	// 40060) or invalid; 404 unknown or late interaction (code 10062).
	Status int
	// Latency is the time from sending INTERACTION_CREATE to receiving the
	// callback.
	Latency time.Duration
	Time    time.Time
}

// Callbacks returns every callback received, accepted or not, oldest first.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Callback, len(s.callbacks))
	for i, c := range s.callbacks {
		out[i] = s.cloneCallback(c)
	}
	return out
}

// cloneCallback returns a deep copy. s.mu must be held.
func (s *Server) cloneCallback(c Callback) Callback {
	c.Raw = append(json.RawMessage(nil), c.Raw...)
	c.Response, _ = decodeResponse(c.Raw)
	return c
}

// Callback returns the accepted callback of an interaction.
func (s *Server) Callback(interactionID string) (Callback, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.callbacks {
		if c.InteractionID == interactionID && c.Status == http.StatusNoContent {
			return s.cloneCallback(c), true
		}
	}
	return Callback{}, false
}

// WaitCallback waits for the first callback of an interaction. It returns
// an error if ctx ends first or if that callback was rejected (late,
// invalid), since a later one cannot succeed either.
func (s *Server) WaitCallback(ctx context.Context, interactionID string) (Callback, error) {
	var cb Callback
	found := false
	err := s.Wait(ctx, func() bool {
		for _, c := range s.Callbacks() {
			if c.InteractionID == interactionID {
				cb, found = c, true
				return true
			}
		}
		return false
	})
	if err != nil {
		return cb, fmt.Errorf("wait for the callback of interaction %s: %w", interactionID, err)
	}
	if found && cb.Status != http.StatusNoContent {
		return cb, fmt.Errorf("callback of interaction %s rejected with %d: %s", interactionID, cb.Status, cb.Raw)
	}
	return cb, nil
}

// Original returns an interaction's original response message (after
// callback type 4 or 5 and any edits).
func (s *Server) Original(interactionID string) (*discordgo.Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[interactionID]
	if in == nil || in.original == nil || in.original.deleted {
		return nil, false
	}
	return s.typed(in.original), true
}

// Followups returns an interaction's followup messages, oldest first. After
// a deferred callback (type 5) the first followup replaces the "thinking"
// original, as on Discord, and is returned by Original, not here.
func (s *Server) Followups(interactionID string) []*discordgo.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[interactionID]
	if in == nil {
		return nil
	}
	var out []*discordgo.Message
	for _, m := range in.followups {
		if !m.deleted {
			out = append(out, s.typed(m))
		}
	}
	return out
}

// decodeResponse unmarshals a callback body into discordgo's struct, whose
// Components field (an interface slice) json cannot fill directly.
func decodeResponse(raw []byte) (discordgo.InteractionResponse, error) {
	var wire struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data *struct {
			discordgo.InteractionResponseData
			Components json.RawMessage `json:"components"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &wire); err != nil {
		return discordgo.InteractionResponse{}, err
	}
	resp := discordgo.InteractionResponse{Type: wire.Type}
	if wire.Data != nil {
		d := wire.Data.InteractionResponseData
		if len(wire.Data.Components) > 0 {
			var m discordgo.Message
			if err := json.Unmarshal([]byte(`{"components":`+string(wire.Data.Components)+`}`), &m); err != nil {
				return resp, err
			}
			d.Components = m.Components
		}
		resp.Data = &d
	}
	return resp, nil
}

// postCallback is POST /interactions/{id}/{token}/callback.
func (s *Server) postCallback(c *call) reply {
	id, token := c.params[0], c.params[1]
	cb := Callback{InteractionID: id, Raw: append(json.RawMessage(nil), c.req.Body...), Time: c.req.Time}
	rep := s.callback(c, id, token, &cb)
	cb.Status = rep.status
	s.callbacks = append(s.callbacks, cb)
	return rep
}

func (s *Server) callback(c *call, id, token string, cb *Callback) reply {
	in := s.interactions[id]
	if in == nil || in.token != token {
		return apiError(http.StatusNotFound, 10062, "Unknown interaction")
	}
	cb.Latency = c.req.Time.Sub(in.sent)
	if in.acked {
		return apiError(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
	}
	if cb.Latency > in.deadline {
		return apiError(http.StatusNotFound, 10062, "Unknown interaction")
	}
	resp, err := decodeResponse(c.req.Body)
	if err != nil {
		return apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
	}
	valid := map[discordgo.InteractionType][]discordgo.InteractionResponseType{
		discordgo.InteractionApplicationCommand:             {4, 5, 9},
		discordgo.InteractionApplicationCommandAutocomplete: {8},
		discordgo.InteractionMessageComponent:               {4, 5, 6, 7, 9},
		discordgo.InteractionModalSubmit:                    {4, 5, 6, 7},
	}[in.typ]
	ok := false
	for _, t := range valid {
		ok = ok || t == resp.Type
	}
	if !ok {
		return formError("type", "INTERACTION_CALLBACK_TYPE_INVALID", fmt.Sprintf("Interaction callback type %d is not valid for interaction type %d", resp.Type, in.typ))
	}
	var data map[string]json.RawMessage
	json.Unmarshal(c.req.Body, &struct {
		Data *map[string]json.RawMessage `json:"data"`
	}{&data})
	switch resp.Type {
	case discordgo.InteractionResponseChannelMessageWithSource:
		if data == nil {
			return formError("data", "BASE_TYPE_REQUIRED", "This field is required")
		}
		b, _ := json.Marshal(data)
		m, r := s.apply(s.newMessage(in.channelID, true, c.now), b, false, c.now)
		if r != nil {
			return *r
		}
		m.ephemeral = flags(m)&flagEphemeral != 0
		in.original = m
		s.add(m)
	case discordgo.InteractionResponseDeferredChannelMessageWithSource:
		m := s.newMessage(in.channelID, true, c.now)
		var f int64
		if resp.Data != nil {
			f = int64(resp.Data.Flags) & flagEphemeral
		}
		m.obj["flags"], _ = json.Marshal(f | flagLoading)
		m.ephemeral = f != 0
		in.original, in.loading = m, true
		s.add(m)
	case discordgo.InteractionApplicationCommandAutocompleteResult:
		if resp.Data == nil {
			return formError("data", "BASE_TYPE_REQUIRED", "This field is required")
		}
		if len(resp.Data.Choices) > 25 {
			return formError("data.choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
		}
		for i, ch := range resp.Data.Choices {
			if n := utf8.RuneCountInString(ch.Name); n < 1 || n > 100 {
				return formError("data.choices."+strconv.Itoa(i)+".name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
			}
			if v, ok := ch.Value.(string); ok && utf8.RuneCountInString(v) > 100 {
				return formError("data.choices."+strconv.Itoa(i)+".value", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
			}
		}
	}
	in.acked = true
	return reply{status: http.StatusNoContent}
}

func flags(m *message) int64 {
	var f int64
	json.Unmarshal(m.obj["flags"], &f)
	return f
}

// webhookInteraction returns the interaction of a webhook route
// (/webhooks/{app}/{token}...). s.mu must be held.
func (s *Server) webhookInteraction(c *call) (*interaction, *reply) {
	app, token := c.params[0], c.params[1]
	in := s.byToken[token]
	if app != s.cfg.appID || in == nil {
		return nil, ptr(apiError(http.StatusNotFound, 10015, "Unknown Webhook"))
	}
	if c.now.Sub(in.sent) > s.cfg.tokenLifetime {
		return nil, ptr(apiError(http.StatusUnauthorized, 50027, "Invalid Webhook Token"))
	}
	return in, nil
}

// webhookMessage returns the message of /webhooks/{app}/{token}/messages/{id}.
// s.mu must be held.
func (s *Server) webhookMessage(c *call) (*interaction, *message, *reply) {
	in, r := s.webhookInteraction(c)
	if r != nil {
		return nil, nil, r
	}
	mid := c.params[2]
	if in.original != nil && !in.original.deleted && (mid == "@original" || mid == in.original.id) {
		return in, in.original, nil
	}
	for _, m := range in.followups {
		if m.id == mid && !m.deleted {
			return in, m, nil
		}
	}
	return nil, nil, ptr(apiError(http.StatusNotFound, 10008, "Unknown Message"))
}

func (s *Server) getWebhookMessage(c *call) reply {
	_, m, r := s.webhookMessage(c)
	if r != nil {
		return *r
	}
	return reply{status: http.StatusOK, body: m.json()}
}

func (s *Server) patchWebhookMessage(c *call) reply {
	in, m, r := s.webhookMessage(c)
	if r != nil {
		return *r
	}
	out, r := s.apply(m, c.req.Body, true, c.now)
	if r != nil {
		return *r
	}
	*m = *out
	if m == in.original {
		in.loading = false
	}
	return reply{status: http.StatusOK, body: m.json()}
}

func (s *Server) deleteWebhookMessage(c *call) reply {
	_, m, r := s.webhookMessage(c)
	if r != nil {
		return *r
	}
	m.deleted = true
	return reply{status: http.StatusNoContent}
}

// postFollowup is POST /webhooks/{app}/{token}: a followup message. The
// interaction must have been acknowledged. After a deferred callback the
// first followup fills in the "thinking" original instead of creating a
// message. With ?wait=true the message is returned, else 204.
func (s *Server) postFollowup(c *call) reply {
	in, r := s.webhookInteraction(c)
	if r != nil {
		return *r
	}
	if !in.acked {
		return apiError(http.StatusNotFound, 10015, "Unknown Webhook")
	}
	var m *message
	if in.loading {
		out, r := s.apply(in.original, c.req.Body, false, c.now)
		if r != nil {
			return *r
		}
		out.obj["flags"], _ = json.Marshal(flags(out)&^(flagLoading|flagEphemeral) | flags(in.original)&flagEphemeral)
		*in.original = *out
		in.loading = false
		m = in.original
	} else {
		out, r := s.apply(s.newMessage(in.channelID, true, c.now), c.req.Body, false, c.now)
		if r != nil {
			return *r
		}
		out.ephemeral = flags(out)&flagEphemeral != 0
		in.followups = append(in.followups, out)
		s.add(out)
		m = out
	}
	if c.req.Query.Get("wait") != "true" {
		return reply{status: http.StatusNoContent}
	}
	return reply{status: http.StatusOK, body: m.json()}
}
