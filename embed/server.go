package embed

import (
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"killfeed/parser"
)

// ServerEvent is one Deadside.log event to post (storage.ServerRecord
// embeds the parser.ServerEvent).
type ServerEvent struct {
	Event  parser.ServerEvent
	Server string // the game server's display name, for the footer
	// Player and Platform override the event's, for lines that carry only
	// an EOS id ("successfully registered", "UChannel::Close"): the caller
	// resolves them from stats.Sessions. Empty: the event's own.
	Player   string
	Platform string
	// Online and Limit are the players online after a join or leave and
	// the server's slots: shown as "12/50" when Limit > 0, as "12" when
	// only Online is.
	Online, Limit int
}

// ServerLog returns the embed of a server log event, timestamped with the
// event's time: server start and player limit (green); queue, join (green)
// and leave for a connections channel; mission, airdrop, helicrash,
// trader, convoy and vehicle changes (blue).
func ServerLog(s ServerEvent) *discordgo.MessageEmbed {
	ev := &s.Event
	e := &discordgo.MessageEmbed{
		Color:     ColorServer,
		Timestamp: timestamp(ev.Time),
		Footer:    footer(s.Server),
	}
	player := s.Player
	if strings.TrimSpace(player) == "" {
		player = ev.Player
	}
	if strings.TrimSpace(player) == "" {
		player = ev.PlayerID
	}
	if strings.TrimSpace(player) == "" {
		player = "A player"
	}
	platform := s.Platform
	if strings.TrimSpace(platform) == "" {
		platform = ev.Platform
	}
	state := stateName(ev.State)

	switch ev.Kind {
	case parser.ServerStart:
		e.Title, e.Color = "🟢 Server started", ColorServerUp
		e.Description = "The server started a new log."
	case parser.PlayerLimit:
		e.Title, e.Color = "👥 Player limit", ColorServerUp
		e.Description = "Slots: **" + strconv.Itoa(int(ev.Count)) + "**"
	case parser.Queue:
		e.Title = "⏳ Queued"
		e.Description = bold(player) + " asked to join"
		e.Fields = connection(platform, s.Online, s.Limit)
	case parser.Join:
		e.Title, e.Color = "➡️ Joined", ColorServerUp
		e.Description = bold(player) + " joined"
		e.Fields = connection(platform, s.Online, s.Limit)
	case parser.Leave:
		e.Title = "⬅️ Left"
		e.Description = bold(player) + " " + leaveReason(ev.State)
		e.Fields = connection(platform, s.Online, s.Limit)
	case parser.Mission:
		e.Title = "🎯 Mission"
		e.Description = bold(ev.Name) + " is " + state
	case parser.Airdrop:
		e.Title = "📦 Airdrop"
		e.Description = "The airdrop is " + airdropState(ev.State)
	case parser.Helicrash:
		e.Title = "🚁 Helicrash"
		e.Description = "A helicopter crash is " + state
	case parser.Trader:
		e.Title = "🛒 Roaming trader"
		e.Description = "The roaming trader is " + state
	case parser.Convoy:
		e.Title = "🚚 Convoy"
		e.Description = "A convoy is " + state
	case parser.VehicleAdd, parser.VehicleDel:
		e.Title = "🚙 Vehicle spawned"
		if ev.Kind == parser.VehicleDel {
			e.Title = "🚙 Vehicle removed"
		}
		e.Description = bold(vehicleName(ev.Name)) + " · " + plural(int(ev.Count), "vehicle", "vehicles") + " on the map"
	default:
		e.Title = "Server event"
		e.Description = text(ev.Kind.String(), maxName)
	}
	return Fit(e)
}

// connection returns the platform and online fields of a queue, join or
// leave, when known.
func connection(platform string, online, limit int) []*discordgo.MessageEmbedField {
	var fs []*discordgo.MessageEmbedField
	if strings.TrimSpace(platform) != "" {
		fs = append(fs, field("Platform", text(platform, maxName), true))
	}
	switch {
	case limit > 0:
		fs = append(fs, field("Online", strconv.Itoa(online)+"/"+strconv.Itoa(limit), true))
	case online > 0:
		fs = append(fs, field("Online", strconv.Itoa(online), true))
	}
	return fs
}

// stateName returns a mission or event state for a sentence, in bold:
// "IN_PROGRESS" → "**in progress**".
func stateName(s string) string {
	s = strings.TrimSpace(s)
	switch s {
	case "":
		return "**unknown**"
	case "INITIAL":
		return "**starting**"
	case "READY":
		return "**ready**"
	case "IN_PROGRESS":
		return "**in progress**"
	case "COMPLETED":
		return "**completed**"
	case "WAITING":
		return "**waiting**"
	}
	return "**" + text(strings.ToLower(strings.ReplaceAll(s, "_", " ")), maxPhrase) + "**"
}

// airdropState returns the airdrop's state for a sentence.
func airdropState(s string) string {
	switch strings.TrimSpace(s) {
	case "Flying":
		return "**on its way**"
	case "Dropping":
		return "**dropping**"
	case "Dead":
		return "**over**"
	case "Waiting":
		return "**waiting**"
	}
	return stateName(s)
}

// leaveReason says how a player left, after their name.
func leaveReason(state string) string {
	switch state {
	case "timed_out":
		return "left (timed out)"
	case "quit":
		return "left (quit)"
	}
	return "left" // closed, unregistered
}

// vehicleName shortens a vehicle's class for display:
// "BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394" → "Ural M6736 Sidecar".
func vehicleName(class string) string {
	s := strings.TrimSpace(class)
	s = strings.TrimPrefix(s, "BP_")
	s = strings.TrimPrefix(s, "SFPSVehicle_")
	if i := strings.LastIndex(s, "_C_"); i > 0 && allDigits(s[i+3:]) {
		s = s[:i]
	}
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", " "))
	if s == "" {
		return class
	}
	return s
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
