package embed

import (
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/stats"
)

// Player is one player's figures to show.
type Player struct {
	Stats  stats.Stats // from stats.Index.Stats; LastSeen and Platform shown too
	Period stats.Period
	Server string    // the game server's display name, for the footer
	At     time.Time // when the figures hold: the embed's timestamp
	// Playtime is the player's time on the server, from the server log
	// (stats.Sessions); 0 hides it.
	Playtime time.Duration
}

// Stats returns the stats card of a player: every figure of the stats
// table (kills, deaths, KDR with 2 decimals, suicides, relocations,
// environment deaths, longest kill, best and current streak, favourite
// weapon, nemesis and prey with their counts), the period, platform, last
// seen and playtime.
func Stats(p Player) *discordgo.MessageEmbed {
	s := &p.Stats
	var head []string
	head = append(head, "**"+periodLabel(p.Period)+"**")
	if pl := strings.TrimSpace(s.Platform); pl != "" {
		head = append(head, text(pl, maxName))
	}
	if !s.LastSeen.IsZero() {
		head = append(head, "last seen "+relative(s.LastSeen, 'R'))
	}
	if p.Playtime > 0 {
		head = append(head, "played "+duration(p.Playtime))
	}
	e := &discordgo.MessageEmbed{
		Title:       "📊 " + name(s.Name),
		Description: strings.Join(head, " · "),
		Color:       ColorInfo,
		Timestamp:   timestamp(p.At),
		Footer:      footer(p.Server),
		Fields: []*discordgo.MessageEmbedField{
			field("Kills", strconv.Itoa(s.Kills), true),
			field("Deaths", strconv.Itoa(s.Deaths), true),
			field("KDR", ratio(s.KDR), true),
			field("Suicides", strconv.Itoa(s.Suicides), true),
			field("Relocations", strconv.Itoa(s.Relocations), true),
			field("Environment deaths", strconv.Itoa(s.EnvironmentDeaths), true),
			field("Longest kill", longest(s), true),
			field("Best streak", strconv.Itoa(s.BestStreak), true),
			field("Current streak", strconv.Itoa(s.CurrentStreak), true),
			field("Favourite weapon", favourite(s), true),
			field("Nemesis", rival(s.Nemesis), true),
			field("Prey", rival(s.Prey), true),
		},
	}
	return Fit(e)
}

// longest returns the longest kill, "—" without kills.
func longest(s *stats.Stats) string {
	if s.Kills == 0 {
		return "—"
	}
	return metres(s.LongestKill)
}

func favourite(s *stats.Stats) string {
	if strings.TrimSpace(s.FavouriteWeapon) == "" {
		return "—"
	}
	return text(s.FavouriteWeapon, maxName)
}

// rival returns "Name (3)", or "—" for none.
func rival(r *stats.Rival) string {
	if r == nil {
		return "—"
	}
	n := r.Name
	if strings.TrimSpace(n) == "" {
		n = r.ID
	}
	return name(n) + " (" + strconv.Itoa(r.Count) + ")"
}

// Board is a leaderboard to show.
type Board struct {
	Metric  stats.Metric
	Period  stats.Period
	Entries []stats.Entry // from stats.Index.Leaderboard, best first
	Server  string
	At      time.Time // when the board holds: the embed's timestamp
}

// medals mark the first three places.
var medals = [...]string{"🥇", "🥈", "🥉"}

// Leaderboard returns a leaderboard: one line per entry, with medals for
// the first three, and values formatted per metric (KDR with 2 decimals,
// longest kill in metres, counts as integers). An empty board says so.
func Leaderboard(b Board) *discordgo.MessageEmbed {
	var lines []string
	for i, en := range b.Entries {
		rank := en.Rank
		if rank <= 0 {
			rank = i + 1
		}
		mark := strconv.Itoa(rank) + `\.`
		if rank <= len(medals) {
			mark = medals[rank-1]
		}
		lines = append(lines, mark+" "+bold(en.Name)+" — "+metricValue(b.Metric, en.Value))
	}
	desc := strings.Join(lines, "\n")
	if desc == "" {
		desc = "Nobody is on this board yet."
	}
	e := &discordgo.MessageEmbed{
		Title:       "🏆 " + metricTitle(b.Metric) + " · " + periodLabel(b.Period),
		Description: desc,
		Color:       ColorInfo,
		Timestamp:   timestamp(b.At),
		Footer:      footer(b.Server),
	}
	return Fit(e)
}

// metricTitle names a metric for a heading.
func metricTitle(m stats.Metric) string {
	switch m {
	case stats.Kills:
		return "Kills"
	case stats.Deaths:
		return "Deaths"
	case stats.KDR:
		return "KDR"
	case stats.LongestKill:
		return "Longest kill"
	case stats.BestStreak:
		return "Best streak"
	case stats.Suicides:
		return "Suicides"
	}
	return text(string(m), maxName)
}

// metricValue formats a leaderboard value: "42 kills", "1.50 KDR",
// "312 m", "7 in a row".
func metricValue(m stats.Metric, v float64) string {
	n := int(v)
	switch m {
	case stats.Kills:
		return plural(n, "kill", "kills")
	case stats.Deaths:
		return plural(n, "death", "deaths")
	case stats.KDR:
		return ratio(v) + " KDR"
	case stats.LongestKill:
		return metres(n)
	case stats.BestStreak:
		return strconv.Itoa(n) + " in a row"
	case stats.Suicides:
		return plural(n, "suicide", "suicides")
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Versus is two players to compare.
type Versus struct {
	A, B stats.Stats
	// AKilledB and BKilledA are the kills of each on the other, over the
	// period.
	AKilledB, BKilledA int
	Period             stats.Period
	Server             string
	At                 time.Time
}

// Compare returns two players side by side (kills, deaths, KDR, longest
// kill, best streak, favourite weapon) and their head to head.
func Compare(v Versus) *discordgo.MessageEmbed {
	side := func(s *stats.Stats) string {
		return strings.Join([]string{
			"Kills **" + strconv.Itoa(s.Kills) + "**",
			"Deaths **" + strconv.Itoa(s.Deaths) + "**",
			"KDR **" + ratio(s.KDR) + "**",
			"Longest kill **" + longest(s) + "**",
			"Best streak **" + strconv.Itoa(s.BestStreak) + "**",
			"Favourite " + favourite(s),
		}, "\n")
	}
	killed := func(a, b string, n int) string {
		switch n {
		case 0:
			return bold(a) + " never killed " + bold(b)
		case 1:
			return bold(a) + " killed " + bold(b) + " once"
		}
		return bold(a) + " killed " + bold(b) + " " + strconv.Itoa(n) + " times"
	}
	h2h := killed(v.A.Name, v.B.Name, v.AKilledB) + "\n" + killed(v.B.Name, v.A.Name, v.BKilledA)
	e := &discordgo.MessageEmbed{
		Title:       "⚔️ " + name(v.A.Name) + " vs " + name(v.B.Name),
		Description: "**" + periodLabel(v.Period) + "**",
		Color:       ColorInfo,
		Timestamp:   timestamp(v.At),
		Footer:      footer(v.Server),
		Fields: []*discordgo.MessageEmbedField{
			field(name(v.A.Name), side(&v.A), true),
			field(name(v.B.Name), side(&v.B), true),
			field("Head to head", h2h, false),
		},
	}
	return Fit(e)
}
