package discordtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Message flags the fake looks at.
const (
	flagEphemeral = 1 << 6
	flagLoading   = 1 << 7
)

// message is a message in a channel, kept as the JSON object Discord would
// answer.
type message struct {
	id        string
	channelID string
	obj       map[string]json.RawMessage
	deleted   bool
	ephemeral bool
	created   time.Time
}

// nonceEntry remembers a message created with a nonce.
type nonceEntry struct {
	messageID string
	at        time.Time
}

// messageBody is the part of a create or edit body the fake checks.
type messageBody struct {
	Nonce        json.RawMessage `json:"nonce"`
	EnforceNonce bool            `json:"enforce_nonce"`
	Flags        *int64          `json:"flags"`
}

// contentFields are the fields of a body that become part of the message.
var contentFields = []string{"content", "embeds", "components", "flags", "tts", "poll", "sticker_ids"}

// newMessage creates a message authored by the bot (or by the application's
// interaction webhook when interaction is true). s.mu must be held.
func (s *Server) newMessage(channelID string, interaction bool, now time.Time) *message {
	m := &message{id: s.newID(), channelID: channelID, created: now, obj: map[string]json.RawMessage{}}
	set := func(k string, v any) {
		b, _ := json.Marshal(v)
		m.obj[k] = b
	}
	set("id", m.id)
	set("channel_id", channelID)
	if g := s.guildOf[channelID]; g != "" {
		set("guild_id", g)
	}
	set("author", s.botUser())
	set("timestamp", now.UTC().Format(time.RFC3339Nano))
	set("edited_timestamp", nil)
	set("content", "")
	set("tts", false)
	set("mention_everyone", false)
	set("mentions", []any{})
	set("mention_roles", []any{})
	set("attachments", []any{})
	set("embeds", []any{})
	set("components", []any{})
	set("pinned", false)
	set("flags", 0)
	set("type", 0)
	if interaction {
		set("type", 20) // APPLICATION_COMMAND
		set("webhook_id", s.cfg.appID)
		set("application_id", s.cfg.appID)
	}
	return m
}

// add stores a new message. s.mu must be held.
func (s *Server) add(m *message) {
	s.messages[m.id] = m
	s.channels[m.channelID] = append(s.channels[m.channelID], m.id)
}

// apply copies the content fields of body into m (a copy, so a rejected
// edit leaves m alone) and checks the result. edit marks an edit.
func (s *Server) apply(m *message, body []byte, edit bool, now time.Time) (*message, *reply) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		r := apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return nil, &r
	}
	if r := checkAllowedMentions(fields["allowed_mentions"]); r != nil {
		return nil, r
	}
	out := *m
	out.obj = make(map[string]json.RawMessage, len(m.obj))
	for k, v := range m.obj {
		out.obj[k] = v
	}
	for _, k := range contentFields {
		v, ok := fields[k]
		if !ok {
			continue
		}
		if bytes.Equal(v, []byte("null")) {
			switch k {
			case "content":
				v = json.RawMessage(`""`)
			case "embeds", "components":
				v = json.RawMessage(`[]`)
			case "flags":
				v = json.RawMessage(`0`)
			default:
				continue
			}
		}
		if k == "embeds" {
			var err error
			if v, err = richEmbeds(v); err != nil {
				return nil, ptr(formError("embeds", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
			}
		}
		if k == "flags" && edit {
			// Ephemerality cannot change on edit; the loading flag goes away.
			var f int64
			json.Unmarshal(v, &f)
			var old int64
			json.Unmarshal(m.obj["flags"], &old)
			f = f&^(flagEphemeral|flagLoading) | old&flagEphemeral
			v, _ = json.Marshal(f)
		}
		out.obj[k] = v
	}
	if edit {
		var f int64
		json.Unmarshal(out.obj["flags"], &f)
		out.obj["flags"], _ = json.Marshal(f &^ flagLoading)
		out.obj["edited_timestamp"], _ = json.Marshal(now.UTC().Format(time.RFC3339Nano))
	}
	if r := checkMessage(out.obj); r != nil {
		return nil, r
	}
	return &out, nil
}

func ptr[T any](v T) *T { return &v }

// richEmbeds sets "type": "rich" on embeds that have no type, as Discord
// does.
func richEmbeds(raw json.RawMessage) (json.RawMessage, error) {
	var embeds []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &embeds); err != nil {
		return nil, err
	}
	for _, e := range embeds {
		if e == nil {
			return nil, fmt.Errorf("null embed")
		}
		if _, ok := e["type"]; !ok {
			e["type"] = json.RawMessage(`"rich"`)
		}
	}
	return json.Marshal(embeds)
}

// checkAllowedMentions checks an allowed_mentions object like Discord does.
func checkAllowedMentions(raw json.RawMessage) *reply {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var am struct {
		Parse []string `json:"parse"`
		Users []string `json:"users"`
		Roles []string `json:"roles"`
	}
	if err := json.Unmarshal(raw, &am); err != nil {
		return ptr(formError("allowed_mentions", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
	}
	for _, p := range am.Parse {
		switch p {
		case "users", "roles", "everyone":
		default:
			return ptr(formError("allowed_mentions.parse", "BASE_TYPE_CHOICES", fmt.Sprintf("Value %q is not a valid enum value.", p)))
		}
	}
	if slices.Contains(am.Parse, "users") && len(am.Users) > 0 {
		return ptr(formError("allowed_mentions", "SET_TYPE_ALREADY_CONTAINS_VALUE", "parse: users and users are mutually exclusive."))
	}
	if slices.Contains(am.Parse, "roles") && len(am.Roles) > 0 {
		return ptr(formError("allowed_mentions", "SET_TYPE_ALREADY_CONTAINS_VALUE", "parse: roles and roles are mutually exclusive."))
	}
	return nil
}

// checkMessage checks a message against Discord's limits: not empty,
// content ≤ 2000 characters, ≤ 10 embeds, embed field limits and ≤ 6000
// characters of embed text in all.
func checkMessage(obj map[string]json.RawMessage) *reply {
	var content string
	json.Unmarshal(obj["content"], &content)
	var embeds []*discordgo.MessageEmbed
	if err := json.Unmarshal(obj["embeds"], &embeds); err != nil && len(obj["embeds"]) > 0 {
		return ptr(formError("embeds", "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType"))
	}
	var components, stickers []json.RawMessage
	json.Unmarshal(obj["components"], &components)
	json.Unmarshal(obj["sticker_ids"], &stickers)
	hasPoll := len(obj["poll"]) > 0 && !bytes.Equal(obj["poll"], []byte("null"))
	if content == "" && len(embeds) == 0 && len(components) == 0 && len(stickers) == 0 && !hasPoll {
		r := apiError(http.StatusBadRequest, 50006, "Cannot send an empty message")
		return &r
	}
	if n := utf8.RuneCountInString(content); n > 2000 {
		return ptr(formError("content", "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length."))
	}
	if len(embeds) > 10 {
		return ptr(formError("embeds", "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length."))
	}
	total := 0
	for i, e := range embeds {
		at := "embeds." + strconv.Itoa(i) + "."
		if e == nil {
			return ptr(formError("embeds."+strconv.Itoa(i), "BASE_TYPE_REQUIRED", "This field is required"))
		}
		if r := maxLen(at+"title", e.Title, 256, &total); r != nil {
			return r
		}
		if r := maxLen(at+"description", e.Description, 4096, &total); r != nil {
			return r
		}
		if e.Footer != nil {
			if r := maxLen(at+"footer.text", e.Footer.Text, 2048, &total); r != nil {
				return r
			}
		}
		if e.Author != nil {
			if r := maxLen(at+"author.name", e.Author.Name, 256, &total); r != nil {
				return r
			}
		}
		if len(e.Fields) > 25 {
			return ptr(formError(at+"fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
		}
		for j, f := range e.Fields {
			fat := at + "fields." + strconv.Itoa(j) + "."
			if f == nil || f.Name == "" {
				return ptr(formError(fat+"name", "BASE_TYPE_REQUIRED", "This field is required"))
			}
			if f.Value == "" {
				return ptr(formError(fat+"value", "BASE_TYPE_REQUIRED", "This field is required"))
			}
			if r := maxLen(fat+"name", f.Name, 256, &total); r != nil {
				return r
			}
			if r := maxLen(fat+"value", f.Value, 1024, &total); r != nil {
				return r
			}
		}
	}
	if total > 6000 {
		return ptr(formError("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"))
	}
	return nil
}

// maxLen checks one embed text field and adds its length to total.
func maxLen(field, v string, max int, total *int) *reply {
	n := utf8.RuneCountInString(v)
	*total += n
	if n > max {
		return ptr(formError(field, "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", max)))
	}
	return nil
}

// json returns the message as Discord answers it.
func (m *message) json() []byte {
	b, err := json.Marshal(m.obj)
	if err != nil {
		panic(fmt.Sprintf("discordtest: marshal message: %v", err))
	}
	return b
}

// typed returns the message as a discordgo.Message (a fresh copy).
func (s *Server) typed(m *message) *discordgo.Message {
	var dm discordgo.Message
	if err := json.Unmarshal(m.json(), &dm); err != nil {
		s.tb.Errorf("discordtest: message %s does not unmarshal into discordgo.Message: %v", m.id, err)
	}
	return &dm
}

// Messages returns the messages in a channel as a user sees them: in the
// order they were created, after nonce deduplication, with edits applied,
// without deleted and ephemeral ones. Interaction responses and followups
// (type 20) are included.
func (s *Server) Messages(channelID string) []*discordgo.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*discordgo.Message
	for _, id := range s.channels[channelID] {
		if m := s.messages[id]; !m.deleted && !m.ephemeral {
			out = append(out, s.typed(m))
		}
	}
	return out
}

// WaitMessages waits until a channel shows at least n messages (see
// Messages) and returns them.
func (s *Server) WaitMessages(ctx context.Context, channelID string, n int) ([]*discordgo.Message, error) {
	var msgs []*discordgo.Message
	err := s.Wait(ctx, func() bool {
		msgs = s.Messages(channelID)
		return len(msgs) >= n
	})
	if err != nil {
		return msgs, fmt.Errorf("wait for %d messages in channel %s (have %d): %w", n, channelID, len(msgs), err)
	}
	return msgs, nil
}

// channelMessage returns a live message of a channel. s.mu must be held.
func (s *Server) channelMessage(channelID, id string) (*message, *reply) {
	m := s.messages[id]
	if m == nil || m.deleted || m.channelID != channelID || m.ephemeral {
		r := apiError(http.StatusNotFound, 10008, "Unknown Message")
		return nil, &r
	}
	return m, nil
}

// postMessage is POST /channels/{id}/messages, with Discord's nonce rule: a
// body with a nonce and enforce_nonce true whose nonce was used in the
// channel within the nonce window gets the earlier message back (404
// Unknown Message if it was deleted) and creates nothing.
func (s *Server) postMessage(c *call) reply {
	channelID := c.params[0]
	var mb messageBody
	if !c.decode(&mb) {
		return apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
	}
	nonce, r := parseNonce(mb.Nonce)
	if r != nil {
		return *r
	}
	key := channelID + "\x00" + nonce
	if nonce != "" && mb.EnforceNonce {
		if e, ok := s.nonces[key]; ok && c.now.Sub(e.at) < s.cfg.nonceWindow {
			m := s.messages[e.messageID]
			if m.deleted {
				return apiError(http.StatusNotFound, 10008, "Unknown Message")
			}
			return reply{status: http.StatusOK, body: m.json()}
		}
	}
	m, r := s.apply(s.newMessage(channelID, false, c.now), c.req.Body, false, c.now)
	if r != nil {
		return *r
	}
	if mb.Flags != nil && *mb.Flags&flagEphemeral != 0 {
		return formError("flags", "MESSAGE_FLAGS_INVALID", "Ephemeral messages can only be sent as interaction responses")
	}
	if nonce != "" {
		m.obj["nonce"], _ = json.Marshal(nonce)
		s.nonces[key] = nonceEntry{messageID: m.id, at: c.now}
	}
	s.add(m)
	return reply{status: http.StatusOK, body: m.json()}
}

// parseNonce returns a nonce (a string of at most 25 characters or an
// integer) as a string.
func parseNonce(raw json.RawMessage) (string, *reply) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", nil
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		if utf8.RuneCountInString(str) > 25 {
			return "", ptr(formError("nonce", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
		}
		return str, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if _, err := n.Int64(); err == nil {
			return n.String(), nil
		}
	}
	return "", ptr(formError("nonce", "NONCE_TYPE_INVALID", "Nonce must be a string or an integer"))
}

func (s *Server) getMessage(c *call) reply {
	m, r := s.channelMessage(c.params[0], c.params[1])
	if r != nil {
		return *r
	}
	return reply{status: http.StatusOK, body: m.json()}
}

func (s *Server) patchMessage(c *call) reply {
	m, r := s.channelMessage(c.params[0], c.params[1])
	if r != nil {
		return *r
	}
	out, r := s.apply(m, c.req.Body, true, c.now)
	if r != nil {
		return *r
	}
	*m = *out
	return reply{status: http.StatusOK, body: m.json()}
}

func (s *Server) deleteMessage(c *call) reply {
	m, r := s.channelMessage(c.params[0], c.params[1])
	if r != nil {
		return *r
	}
	m.deleted = true
	return reply{status: http.StatusNoContent}
}

// listMessages is GET /channels/{id}/messages: newest first, with limit
// (1–100, default 50), before and after.
func (s *Server) listMessages(c *call) reply {
	limit := 50
	if l := c.req.Query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			return formError("limit", "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
		}
		limit = n
	}
	before, _ := strconv.ParseUint(c.req.Query.Get("before"), 10, 64)
	after, _ := strconv.ParseUint(c.req.Query.Get("after"), 10, 64)
	ids := s.channels[c.params[0]]
	out := []json.RawMessage{}
	for i := len(ids) - 1; i >= 0 && len(out) < limit; i-- {
		m := s.messages[ids[i]]
		id, _ := strconv.ParseUint(m.id, 10, 64)
		if m.deleted || m.ephemeral || (before != 0 && id >= before) || (after != 0 && id <= after) {
			continue
		}
		out = append(out, m.json())
	}
	return jsonReply(http.StatusOK, out)
}
