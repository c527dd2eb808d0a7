package embed

import (
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Link is a game character and a Discord account, at one step of linking
// them: the user names the character, then proves it is theirs by
// relocating (respawning from the menu) on the server within a time limit.
type Link struct {
	Player   string // the character's name
	PlayerID string // its EOS id; optional, shown in lists
	Server   string // the game server's display name
	// Within and Deadline are the time the user has to relocate and when
	// that runs out (LinkPending; Within also in LinkExpired).
	Within   time.Duration
	Deadline time.Time
	At       time.Time // when this step happened: the timestamp (in Links, when linked)
}

// LinkPending asks the user to relocate the character on the server within
// the time limit.
func LinkPending(l Link) *discordgo.MessageEmbed {
	var b strings.Builder
	b.WriteString("To prove " + bold(l.Player) + " is yours, relocate on " + bold(l.Server))
	if l.Within > 0 {
		b.WriteString(" within **" + minutes(l.Within) + "**")
	}
	if !l.Deadline.IsZero() {
		b.WriteString(" (" + relative(l.Deadline, 'R') + ")")
	}
	b.WriteString(": open the menu and respawn. The link is made as soon as the relocation shows up in the killfeed.")
	return Fit(&discordgo.MessageEmbed{
		Title:       "🔗 Link a character",
		Description: b.String(),
		Color:       ColorInfo,
		Timestamp:   timestamp(l.At),
		Footer:      footer(l.Server),
	})
}

// Linked says the character is now linked.
func Linked(l Link) *discordgo.MessageEmbed {
	return Fit(&discordgo.MessageEmbed{
		Title:       "✅ Linked",
		Description: bold(l.Player) + " on " + bold(l.Server) + " is now linked to your account.",
		Color:       ColorSuccess,
		Timestamp:   timestamp(l.At),
		Footer:      footer(l.Server),
	})
}

// LinkExpired says no relocation came in time.
func LinkExpired(l Link) *discordgo.MessageEmbed {
	d := "No relocation of " + bold(l.Player) + " on " + bold(l.Server)
	if l.Within > 0 {
		d += " within " + minutes(l.Within)
	} else {
		d += " in time"
	}
	d += ". Run `/link` again to retry."
	return Fit(&discordgo.MessageEmbed{
		Title:       "⌛ Link expired",
		Description: d,
		Color:       ColorError,
		Timestamp:   timestamp(l.At),
		Footer:      footer(l.Server),
	})
}

// Unlinked says the character is no longer linked.
func Unlinked(l Link) *discordgo.MessageEmbed {
	return Fit(&discordgo.MessageEmbed{
		Title:       "🔓 Unlinked",
		Description: bold(l.Player) + " on " + bold(l.Server) + " is no longer linked to your account.",
		Color:       ColorInfo,
		Timestamp:   timestamp(l.At),
		Footer:      footer(l.Server),
	})
}

// Links lists a user's linked characters, one line each; at is the
// embed's timestamp. A long list loses whole lines at the end.
func Links(links []Link, at time.Time) *discordgo.MessageEmbed {
	var lines []string
	for _, l := range links {
		line := "• " + bold(l.Player) + " on " + name(l.Server)
		if c := code(l.PlayerID, maxName); c != "" {
			line += " " + c
		}
		if !l.At.IsZero() {
			line += " · linked " + relative(l.At, 'R')
		}
		lines = append(lines, line)
	}
	d := strings.Join(lines, "\n")
	if d == "" {
		d = "No linked characters. Use `/link` to link one."
	}
	return Fit(&discordgo.MessageEmbed{
		Title:       "🔗 Your characters",
		Description: d,
		Color:       ColorInfo,
		Timestamp:   timestamp(at),
		Footer:      footer(""),
	})
}
