package bot

import (
	"github.com/bwmarrin/discordgo"

	"killfeed/embed"
	"killfeed/stats"
)

// Channel kinds that /setchannel sets.
var channelKinds = []string{"killfeed", "events", "connections", "bounties", "leaderboard"}

// Commands returns the slash commands, as registered with Discord.
func Commands() []*discordgo.ApplicationCommand {
	admin := int64(discordgo.PermissionManageGuild)
	noDM := false
	server := func(required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "server",
			Description: "The game server (default: the first of this Discord server)", Required: required, Autocomplete: true}
	}
	player := func(name, desc string, required bool) *discordgo.ApplicationCommandOption {
		return &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: name,
			Description: desc, Required: required, Autocomplete: true, MaxLength: 100}
	}
	var periods []*discordgo.ApplicationCommandOptionChoice
	for _, p := range stats.Periods {
		periods = append(periods, &discordgo.ApplicationCommandOptionChoice{Name: periodNames[p], Value: string(p)})
	}
	period := &discordgo.ApplicationCommandOption{Type: discordgo.ApplicationCommandOptionString, Name: "period",
		Description: "Which time to count (default: all time)", Choices: periods}
	var metrics []*discordgo.ApplicationCommandOptionChoice
	for _, m := range stats.Metrics {
		metrics = append(metrics, &discordgo.ApplicationCommandOptionChoice{Name: metricNames[m], Value: string(m)})
	}
	var kinds []*discordgo.ApplicationCommandOptionChoice
	for _, k := range channelKinds {
		kinds = append(kinds, &discordgo.ApplicationCommandOptionChoice{Name: k, Value: k})
	}
	minLimit, maxLimit := 1.0, 25.0
	return []*discordgo.ApplicationCommand{
		{Name: "stats", Description: "A player's kills, deaths, KDR, streaks, weapons and rivals", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				player("player", "The player's name (default: your linked character)", false),
				{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "A member's linked character"},
				server(false), period,
			}},
		{Name: "leaderboard", Description: "The best players by kills, KDR, longest kill and more", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "metric", Description: "What to rank by (default: kills)", Choices: metrics},
				period, server(false),
				{Type: discordgo.ApplicationCommandOptionInteger, Name: "limit", Description: "How many players (default 10)", MinValue: &minLimit, MaxValue: maxLimit},
			}},
		{Name: "compare", Description: "Two players side by side, and their kills on each other", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				player("player_a", "The first player", true),
				player("player_b", "The second player", true),
				server(false), period,
			}},
		{Name: "link", Description: "Link your game character to your Discord account", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				player("character", "Your character's name in game", true), server(false),
			}},
		{Name: "unlink", Description: "Unlink one of your characters", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				player("character", "The character (default: your only one)", false),
			}},
		{Name: "linked", Description: "The characters linked to a member", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "The member (default: you)"},
			}},
		{Name: "server", Description: "The game servers of this Discord server", DMPermission: &noDM,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "list", Description: "List the game servers and how their logs are read"},
			}},
		{Name: "status", Description: "How the bot and its log sources are doing", DMPermission: &noDM},
		{Name: "help", Description: "What the bot can do", DMPermission: &noDM},
		{Name: "admin", Description: "Manage links (Manage Server)", DMPermission: &noDM, DefaultMemberPermissions: &admin,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "link", Description: "Link a character to a member, without proof",
					Options: []*discordgo.ApplicationCommandOption{
						{Type: discordgo.ApplicationCommandOptionUser, Name: "user", Description: "The member", Required: true},
						player("character", "The character's name", true), server(false),
					}},
				{Type: discordgo.ApplicationCommandOptionSubCommand, Name: "unlink", Description: "Unlink a character from whoever has it",
					Options: []*discordgo.ApplicationCommandOption{player("character", "The character's name", true)}},
			}},
		{Name: "setchannel", Description: "Choose where posts of a kind go (Manage Server)", DMPermission: &noDM, DefaultMemberPermissions: &admin,
			Options: []*discordgo.ApplicationCommandOption{
				{Type: discordgo.ApplicationCommandOptionString, Name: "kind", Description: "What is posted there", Required: true, Choices: kinds},
				{Type: discordgo.ApplicationCommandOptionChannel, Name: "channel", Description: "The channel", Required: true,
					ChannelTypes: []discordgo.ChannelType{discordgo.ChannelTypeGuildText, discordgo.ChannelTypeGuildNews}},
				server(false),
			}},
		{Name: "wipe", Description: "Start a new season: season boards reset, all-time kept (Manage Server)", DMPermission: &noDM, DefaultMemberPermissions: &admin,
			Options: []*discordgo.ApplicationCommandOption{server(true)}},
	}
}

var periodNames = map[stats.Period]string{
	stats.AllTime: "All time", stats.Season: "This season", stats.Day: "Today", stats.Week: "This week", stats.Month: "This month",
}

var metricNames = map[stats.Metric]string{
	stats.Kills: "Kills", stats.Deaths: "Deaths", stats.KDR: "K/D ratio", stats.LongestKill: "Longest kill",
	stats.BestStreak: "Best streak", stats.Suicides: "Suicides",
}

// helpLines describes the commands for /help.
var helpLines = []embed.Command{
	{Name: "stats", Options: "[player] [user] [server] [period]", Description: "A player's figures; yours once you /link"},
	{Name: "leaderboard", Options: "[metric] [period] [server] [limit]", Description: "The best players"},
	{Name: "compare", Options: "player_a player_b [server] [period]", Description: "Two players side by side"},
	{Name: "link", Options: "character [server]", Description: "Link your character: relocate in game to prove it"},
	{Name: "unlink", Options: "[character]", Description: "Unlink a character"},
	{Name: "linked", Options: "[user]", Description: "A member's characters"},
	{Name: "server list", Description: "The game servers here"},
	{Name: "status", Description: "How the log sources are doing"},
	{Name: "admin link", Options: "user character [server]", Description: "Link for a member (Manage Server)"},
	{Name: "admin unlink", Options: "character", Description: "Remove a link (Manage Server)"},
	{Name: "setchannel", Options: "kind channel [server]", Description: "Where posts go (Manage Server)"},
	{Name: "wipe", Options: "server", Description: "Start a new season (Manage Server)"},
}

// CommandNames returns the name of every command as the command log and
// the metrics know it: "stats", "admin link".
func CommandNames() []string {
	var names []string
	for _, c := range Commands() {
		sub := false
		for _, o := range c.Options {
			if o.Type == discordgo.ApplicationCommandOptionSubCommand {
				names, sub = append(names, c.Name+" "+o.Name), true
			}
		}
		if !sub {
			names = append(names, c.Name)
		}
	}
	return names
}
