package embed

import (
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Health is the bot's state for a status reply.
type Health struct {
	Version string
	Uptime  time.Duration
	Sources []Source
	At      time.Time // when the state was read: the embed's timestamp
	// Bot holds the figures of the whole bot; nil leaves them out.
	Bot *Figures
}

// Figures are the bot's own state since it started: its Discord
// connection, the commands it answered, the killfeed it posted and the
// command log. /status, the console and /metrics show the same.
type Figures struct {
	Online      bool      // connected to Discord's gateway
	Since       time.Time // when Online last changed; zero: never connected
	Commands    [4]int64  // commands answered, by class: FAST, OK, SLOW, CRITICAL
	Failed      int64     // commands the bot failed to answer
	Waiting     int       // killfeed posts waiting for Discord
	Sent        int64     // killfeed messages sent
	RateLimited int64     // killfeed sends Discord answered with 429
	Logging     bool      // the command log is on
	Logged      int64     // commands stored in the command log
	LogDropped  int64     // commands the command log had no room for
	LogFailing  bool      // the command log cannot write to the database now
}

// Source is the state of one game server's log source.
type Source struct {
	Server    string // the game server's display name
	Connected bool   // the source is reading (a local directory, or SFTP logged in)
	LastLine  time.Time
	Lag       time.Duration // from a line's write to its commit, latest
	Lines     int64         // lines stored
	Skipped   int64         // malformed lines skipped
	Err       string        // the latest error, short and safe to show; "" if none
}

// maxSources is how many sources get a field at most; when some do not
// (too many, or too long), a last field says how many more there are, in
// at most moreReserve characters.
const (
	maxSources  = MaxFields - 1
	moreReserve = 32
)

// Status returns the bot's status: version and uptime, then one field per
// source with its connection, last line, lag, lines stored, lines skipped
// and latest error. Green when every source is connected, red otherwise.
func Status(h Health) *discordgo.MessageEmbed {
	var head []string
	if v := strings.TrimSpace(h.Version); v != "" {
		head = append(head, "Version "+code(v, maxName))
	}
	if h.Uptime > 0 {
		head = append(head, "up "+duration(h.Uptime))
	}
	e := &discordgo.MessageEmbed{
		Title:     "🩺 Status",
		Color:     ColorSuccess,
		Timestamp: timestamp(h.At),
		Footer:    footer(""),
	}
	if len(h.Sources) == 0 {
		head = append(head, "No servers configured.")
	}
	e.Description = strings.Join(head, " · ")
	if h.Bot != nil {
		e.Fields = append(e.Fields, figuresField(h.Bot))
		if !h.Bot.Online {
			e.Color = ColorError
		}
	}
	for _, s := range h.Sources {
		if !s.Connected {
			e.Color = ColorError
		}
	}
	total, limit := Len(e), maxSources-len(e.Fields)
	for i := range h.Sources {
		f := sourceField(&h.Sources[i])
		n := runes(f.Name) + runes(f.Value)
		if i == limit || total+n > MaxTotal-moreReserve {
			more := len(h.Sources) - i
			e.Fields = append(e.Fields, field("…", plural(more, "more server", "more servers"), false))
			break
		}
		e.Fields = append(e.Fields, f)
		total += n
	}
	return Fit(e)
}

// figuresField shows the bot's own figures.
func figuresField(f *Figures) *discordgo.MessageEmbedField {
	dot, state := "🟢", "Discord connected"
	if !f.Online {
		dot, state = "🔴", "Discord not connected"
	}
	if !f.Since.IsZero() {
		state += " since " + relative(f.Since, 'R')
	}
	answered := f.Commands[0] + f.Commands[1] + f.Commands[2] + f.Commands[3]
	lines := []string{
		state,
		"**" + thousands(answered) + "** commands answered: " + thousands(f.Commands[0]) + " fast · " + thousands(f.Commands[1]) + " ok · " +
			thousands(f.Commands[2]) + " slow · " + thousands(f.Commands[3]) + " critical · " + thousands(f.Failed) + " failed",
		"Killfeed: **" + thousands(f.Sent) + "** messages sent · " + thousands(int64(f.Waiting)) + " waiting · " + plural(int(f.RateLimited), "rate limit", "rate limits"),
	}
	if f.Logging {
		log := "Command log: " + thousands(f.Logged) + " stored · " + thousands(f.LogDropped) + " dropped"
		if f.LogFailing {
			log += " · cannot write (the bot's log says why)"
		}
		lines = append(lines, log)
	}
	return field(dot+" This bot", strings.Join(lines, "\n"), false)
}

func sourceField(s *Source) *discordgo.MessageEmbedField {
	dot, state := "🟢", "connected"
	if !s.Connected {
		dot, state = "🔴", "not connected"
	}
	first := []string{state}
	if s.LastLine.IsZero() {
		first = append(first, "no line yet")
	} else {
		first = append(first, "last line "+relative(s.LastLine, 'R'))
	}
	if s.Lag > 0 {
		first = append(first, "lag "+duration(s.Lag))
	}
	v := strings.Join(first, " · ") + "\n" +
		"**" + thousands(s.Lines) + "** lines stored · **" + thousands(s.Skipped) + "** skipped"
	if msg := strings.TrimSpace(oneLine(s.Err)); msg != "" {
		v += "\nError: " + text(msg, maxPhrase)
	}
	return field(dot+" "+name(s.Server), v, false)
}
