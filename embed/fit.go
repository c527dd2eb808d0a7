package embed

import (
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"
)

// Discord's embed limits, in characters as Discord counts them: Unicode
// code points (its API is in Python; "\U0010FFFF" is one character, not
// two UTF-16 units nor four bytes).
const (
	MaxTitle       = 256
	MaxDescription = 4096
	MaxFields      = 25
	MaxFieldName   = 256
	MaxFieldValue  = 1024
	MaxFooter      = 2048
	MaxAuthorName  = 256
	// MaxTotal bounds the title, description, field names and values,
	// footer text and author name of all the embeds of one message
	// together, not of each embed alone: see Group.
	MaxTotal = 6000
	// MaxPerMessage is the most embeds one message may carry.
	MaxPerMessage = 10
)

// blank stands in for an empty field name or value, which Discord rejects.
const blank = zwsp

// minValue is the shortest a field value is clipped to before Fit drops
// the field instead.
const minValue = 32

// Len returns the characters of e that count towards MaxTotal.
func Len(e *discordgo.MessageEmbed) int {
	if e == nil {
		return 0
	}
	n := runes(e.Title) + runes(e.Description)
	if e.Footer != nil {
		n += runes(e.Footer.Text)
	}
	if e.Author != nil {
		n += runes(e.Author.Name)
	}
	for _, f := range e.Fields {
		if f != nil {
			n += runes(f.Name) + runes(f.Value)
		}
	}
	return n
}

func runes(s string) int { return utf8.RuneCountInString(s) }

// Fit makes e valid for Discord, in place, and returns it: texts become
// valid UTF-8; title, description, footer, author name, field names and
// values are clipped to their limits with "…" (never inside an escape or a
// character, see clip); fields past MaxFields are dropped, and empty field
// names and values become a zero-width space. Then, while the total is over
// MaxTotal, Fit takes from the description, then from the last fields
// (clipping the last one, or dropping it when too little would be left),
// then from the footer, the author name and the title.
//
// Every constructor of this package returns a fitted embed; call Fit again
// after changing one.
func Fit(e *discordgo.MessageEmbed) *discordgo.MessageEmbed {
	if e == nil {
		return nil
	}
	e.Title = clip(valid(e.Title), MaxTitle)
	e.Description = clip(valid(e.Description), MaxDescription)
	if e.Footer != nil {
		e.Footer.Text = clip(valid(e.Footer.Text), MaxFooter)
		if strings.TrimSpace(e.Footer.Text) == "" {
			e.Footer = nil
		}
	}
	if e.Author != nil {
		e.Author.Name = clip(valid(e.Author.Name), MaxAuthorName)
		if strings.TrimSpace(e.Author.Name) == "" {
			e.Author = nil
		}
	}
	fields := e.Fields[:0]
	for _, f := range e.Fields {
		if f == nil || len(fields) == MaxFields {
			continue
		}
		f.Name = nonEmpty(clip(valid(f.Name), MaxFieldName))
		f.Value = nonEmpty(clip(valid(f.Value), MaxFieldValue))
		fields = append(fields, f)
	}
	clear(e.Fields[len(fields):])
	e.Fields = fields
	if len(e.Fields) == 0 {
		e.Fields = nil
	}

	over := Len(e) - MaxTotal
	if over <= 0 {
		return e
	}
	e.Description = shrink(e.Description, &over)
	for over > 0 && len(e.Fields) > 0 {
		f := e.Fields[len(e.Fields)-1]
		if v := runes(f.Value); v-over >= minValue {
			f.Value = clip(f.Value, v-over)
			over = Len(e) - MaxTotal
			break
		}
		over -= runes(f.Name) + runes(f.Value)
		e.Fields[len(e.Fields)-1] = nil
		e.Fields = e.Fields[:len(e.Fields)-1]
	}
	if len(e.Fields) == 0 {
		e.Fields = nil
	}
	if over > 0 && e.Footer != nil {
		if e.Footer.Text = shrink(e.Footer.Text, &over); e.Footer.Text == "" {
			e.Footer = nil
		}
	}
	if over > 0 && e.Author != nil {
		if e.Author.Name = shrink(e.Author.Name, &over); e.Author.Name == "" {
			e.Author = nil
		}
	}
	e.Title = shrink(e.Title, &over)
	return e
}

// shrink clips s by *over characters, or to nothing, and takes what it
// saved from *over.
func shrink(s string, over *int) string {
	if *over <= 0 || s == "" {
		return s
	}
	n := runes(s)
	out := clip(s, n-*over)
	*over -= n - runes(out)
	return out
}

func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

func nonEmpty(s string) string {
	if strings.TrimSpace(s) == "" {
		return blank
	}
	return s
}

// Group splits embeds, in order, into messages of at most MaxPerMessage
// embeds and MaxTotal characters each (Discord's limits per message, not
// per embed). It fits every embed first; nil embeds are skipped.
func Group(embeds []*discordgo.MessageEmbed) [][]*discordgo.MessageEmbed {
	var out [][]*discordgo.MessageEmbed
	var cur []*discordgo.MessageEmbed
	total := 0
	for _, e := range embeds {
		if e == nil {
			continue
		}
		n := Len(Fit(e))
		if len(cur) == MaxPerMessage || len(cur) > 0 && total+n > MaxTotal {
			out = append(out, cur)
			cur, total = nil, 0
		}
		cur = append(cur, e)
		total += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
