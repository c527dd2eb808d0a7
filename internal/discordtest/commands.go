package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// commandName is Discord's rule for chat-input command and option names.
var commandName = regexp.MustCompile(`^[-_\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// commandScope returns the guild id of a commands route ("" for global) or
// an error answer for another application. s.mu must be held.
func (s *Server) commandScope(c *call) (string, *reply) {
	if c.params[0] != s.cfg.appID {
		return "", ptr(apiError(http.StatusForbidden, 50001, "Missing Access"))
	}
	if len(c.params) > 1 {
		return c.params[1], nil
	}
	return "", nil
}

func (s *Server) getCommands(c *call) reply {
	guildID, r := s.commandScope(c)
	if r != nil {
		return *r
	}
	cmds := s.commands[guildID]
	if cmds == nil {
		cmds = []*discordgo.ApplicationCommand{}
	}
	return jsonReply(http.StatusOK, cmds)
}

// putCommands is a bulk overwrite: the body replaces the scope's commands.
// A command keeps its id when one of the same name and type existed, as on
// Discord.
func (s *Server) putCommands(c *call) reply {
	guildID, r := s.commandScope(c)
	if r != nil {
		return *r
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(c.req.Body, &cmds); err != nil {
		return apiError(http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
	}
	if r := checkCommands(cmds); r != nil {
		return *r
	}
	old := s.commands[guildID]
	for _, cmd := range cmds {
		if cmd.Type == 0 {
			cmd.Type = discordgo.ChatApplicationCommand
		}
		cmd.ID = ""
		for _, o := range old {
			if o.Name == cmd.Name && o.Type == cmd.Type {
				cmd.ID = o.ID
			}
		}
		if cmd.ID == "" {
			cmd.ID = s.newID()
		}
		cmd.ApplicationID = s.cfg.appID
		cmd.GuildID = guildID
		cmd.Version = s.newID()
	}
	s.commands[guildID] = cmds
	s.overwrites = append(s.overwrites, CommandOverwrite{
		AppID: s.cfg.appID, GuildID: guildID, Commands: cloneCommands(cmds),
		Raw: append(json.RawMessage(nil), c.req.Body...), Time: c.req.Time,
	})
	return jsonReply(http.StatusOK, cmds)
}

// checkCommands applies Discord's main limits on a command list: at most
// 100 chat-input commands, unique names, name and description rules, at
// most 25 options and choices, required options first.
func checkCommands(cmds []*discordgo.ApplicationCommand) *reply {
	if len(cmds) > 100 {
		return ptr(formError("_root", "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length."))
	}
	seen := map[string]bool{}
	for i, cmd := range cmds {
		at := strconv.Itoa(i)
		if cmd == nil {
			return ptr(formError(at, "BASE_TYPE_REQUIRED", "This field is required"))
		}
		key := fmt.Sprint(cmd.Type, cmd.Name)
		if seen[key] {
			return ptr(formError(at+".name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"))
		}
		seen[key] = true
		chat := cmd.Type == 0 || cmd.Type == discordgo.ChatApplicationCommand
		if r := checkName(at, cmd.Name, cmd.Description, chat); r != nil {
			return r
		}
		if r := checkOptions(at+".options", cmd.Options); r != nil {
			return r
		}
	}
	return nil
}

func checkName(at, name, description string, chat bool) *reply {
	if chat {
		if !commandName.MatchString(name) || strings.ToLower(name) != name {
			return ptr(formError(at+".name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
		}
		if n := utf8.RuneCountInString(description); n < 1 || n > 100 {
			return ptr(formError(at+".description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."))
		}
		return nil
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > 32 {
		return ptr(formError(at+".name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."))
	}
	return nil
}

func checkOptions(at string, opts []*discordgo.ApplicationCommandOption) *reply {
	if len(opts) > 25 {
		return ptr(formError(at, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
	}
	seen := map[string]bool{}
	optional := false
	for i, o := range opts {
		oat := at + "." + strconv.Itoa(i)
		if o == nil {
			return ptr(formError(oat, "BASE_TYPE_REQUIRED", "This field is required"))
		}
		if seen[o.Name] {
			return ptr(formError(oat+".name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option names must be unique"))
		}
		seen[o.Name] = true
		if r := checkName(oat, o.Name, o.Description, true); r != nil {
			return r
		}
		if o.Required && optional {
			return ptr(formError(oat+".required", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options"))
		}
		optional = optional || !o.Required
		if len(o.Choices) > 25 {
			return ptr(formError(oat+".choices", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."))
		}
		if o.Autocomplete && len(o.Choices) > 0 {
			return ptr(formError(oat+".autocomplete", "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_AND_CHOICES", "Autocomplete cannot be set with choices"))
		}
		if r := checkOptions(oat+".options", o.Options); r != nil {
			return r
		}
	}
	return nil
}
