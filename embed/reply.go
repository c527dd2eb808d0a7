package embed

import (
	"strings"

	"github.com/bwmarrin/discordgo"
)

// Command is one slash command for Help.
type Command struct {
	Name        string // without the slash: "stats"
	Options     string // after the name, as typed: "player:<name> [period]"
	Description string
}

// Help lists the commands, one line each: "/name options" in code, then
// the description.
func Help(cmds []Command) *discordgo.MessageEmbed {
	var lines []string
	for _, c := range cmds {
		usage := "/" + strings.TrimPrefix(strings.TrimSpace(c.Name), "/")
		if o := strings.TrimSpace(c.Options); o != "" {
			usage += " " + o
		}
		line := code(usage, 100)
		if d := strings.TrimSpace(c.Description); d != "" {
			line += " — " + text(d, maxPhrase)
		}
		lines = append(lines, line)
	}
	d := strings.Join(lines, "\n")
	if d == "" {
		d = "No commands."
	}
	return Fit(&discordgo.MessageEmbed{
		Title:       "📖 Commands",
		Description: d,
		Color:       ColorInfo,
		Footer:      footer(""),
	})
}

// Error returns a short error for an ephemeral reply. msg is plain text:
// it is escaped line by line, so it may quote user input but cannot carry
// markdown. Keep internal details in the log, not in msg.
func Error(msg string) *discordgo.MessageEmbed {
	return reply("❌ ", msg, ColorError)
}

// Success returns a short confirmation; msg is plain text, as for Error.
func Success(msg string) *discordgo.MessageEmbed {
	return reply("✅ ", msg, ColorSuccess)
}

// Info returns a titled piece of information; title (one line) and msg
// are plain text, as for Error.
func Info(title, msg string) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Description: paragraph(msg, maxMessage), Color: ColorInfo}
	if strings.TrimSpace(oneLine(title)) != "" {
		e.Title = "ℹ️ " + text(title, maxName*2)
	}
	return Fit(e)
}

func reply(mark, msg string, color int) *discordgo.MessageEmbed {
	return Fit(&discordgo.MessageEmbed{Description: mark + paragraph(msg, maxMessage), Color: color})
}

// paragraph escapes plain text s of several lines: clipped to n characters
// of the source (whole lines first), each line escaped as by Escape, the
// line breaks kept. An empty s gives "—".
func paragraph(s string, n int) string {
	s = strings.TrimSpace(strings.ReplaceAll(valid(s), "\r\n", "\n"))
	if s == "" {
		return "—"
	}
	lines := strings.Split(clip(s, n), "\n")
	for i, l := range lines {
		lines[i] = Escape(l)
	}
	return strings.Join(lines, "\n")
}
