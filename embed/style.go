package embed

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/stats"
)

// The colours, one per kind of embed.
const (
	ColorKill        = 0xd32f2f // a player killed another
	ColorRoadkill    = 0xf57c00 // a player ran another over
	ColorSelfDeath   = 0x95a5a6 // suicide, fall, relocation
	ColorEnvironment = 0x36393f // a death with no killer
	ColorServer      = 0x3498db // world events, queue, leave
	ColorServerUp    = 0x2ecc71 // server start, player limit, join
	ColorError       = 0xed4245 // errors, an expired link, a source down
	ColorSuccess     = 0x57f287 // done, linked, every source up
	ColorInfo        = 0x5865f2 // stats, boards, help, information
)

// How much of an untrusted string is shown, in characters of the source,
// before escaping. Player names in Deadside are far shorter; the bounds
// keep a hostile name from crowding out the rest of an embed.
const (
	maxName    = 48  // player, server, weapon, vehicle and mission names
	maxPhrase  = 200 // notable lines, states, error details
	maxMessage = 1500
	maxNotable = 5 // notable lines per kill
)

// product names the bot in footers.
const product = "killfeed"

// footer returns "killfeed · server", or "killfeed" without a server.
func footer(server string) *discordgo.MessageEmbedFooter {
	server = strings.TrimSpace(plain(server))
	if server == "" {
		return &discordgo.MessageEmbedFooter{Text: product}
	}
	return &discordgo.MessageEmbedFooter{Text: product + " · " + clip(server, maxName)}
}

// timestamp returns t in the ISO 8601 form embeds take, or "" (no
// timestamp) for the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// unixTime returns the killfeed's Unix seconds as a time.
func unixTime(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

// relative returns Discord's timestamp markup for t: every reader sees it
// in their own zone and, for style 'R', as "3 hours ago", kept current.
func relative(t time.Time, style byte) string {
	return fmt.Sprintf("<t:%d:%c>", t.Unix(), style)
}

// name returns a player's name for display: escaped, clipped, "—" if empty.
func name(s string) string { return text(s, maxName) }

// bold returns an untrusted name, escaped, in bold.
func bold(s string) string { return "**" + name(s) + "**" }

// plural returns "1 kill" or "3 kills".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// thousands returns n with commas between thousands: 1234567 → "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// ratio returns a KDR with 2 decimals.
func ratio(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) }

// metres returns a distance: "312 m".
func metres(n int) string { return strconv.Itoa(n) + " m" }

// duration returns d for people, in at most two units, the second left
// out when zero: "350ms", "2.4s", "45s", "12m 5s", "3h", "2d 4h".
func duration(d time.Duration) string {
	two := func(a int64, ua string, b int64, ub string) string {
		if b == 0 {
			return strconv.FormatInt(a, 10) + ua
		}
		return strconv.FormatInt(a, 10) + ua + " " + strconv.FormatInt(b, 10) + ub
	}
	switch {
	case d < 0:
		return "0s"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	case d < 10*time.Second:
		return strconv.FormatFloat(float64(d/(100*time.Millisecond))/10, 'f', -1, 64) + "s"
	case d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	case d < time.Hour:
		return two(int64(d/time.Minute), "m", int64(d%time.Minute/time.Second), "s")
	case d < 24*time.Hour:
		return two(int64(d/time.Hour), "h", int64(d%time.Hour/time.Minute), "m")
	}
	return two(int64(d/(24*time.Hour)), "d", int64(d%(24*time.Hour)/time.Hour), "h")
}

// minutes returns a wait for people: "10 minutes", "1 minute", "90 seconds".
func minutes(d time.Duration) string {
	if d%time.Minute != 0 || d < time.Minute {
		return plural(int(d/time.Second), "second", "seconds")
	}
	return plural(int(d/time.Minute), "minute", "minutes")
}

// periodLabel names a period for a heading: "All time", "This week".
func periodLabel(p stats.Period) string {
	switch p {
	case stats.AllTime, "":
		return "All time"
	case stats.Day:
		return "Today"
	case stats.Week:
		return "This week"
	case stats.Month:
		return "This month"
	}
	s := strings.TrimSpace(oneLine(string(p)))
	if s == "" {
		return "All time"
	}
	return "This " + text(s, maxName)
}

// field returns an inline or block field.
func field(name, value string, inline bool) *discordgo.MessageEmbedField {
	return &discordgo.MessageEmbedField{Name: name, Value: value, Inline: inline}
}

// orDash returns s, or "—" when s is empty.
func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
