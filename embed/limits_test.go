package embed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"killfeed/parser"
	"killfeed/stats"
)

// checkLimits fails t unless e respects every limit Discord puts on one
// embed: lengths in code points, field count, non-empty field names and
// values and footer, valid UTF-8, an ISO 8601 timestamp.
func checkLimits(t testing.TB, e *discordgo.MessageEmbed) {
	t.Helper()
	if e == nil {
		t.Fatal("nil embed")
	}
	check := func(what, s string, max int, required bool) {
		t.Helper()
		if !utf8.ValidString(s) {
			t.Errorf("%s is not valid UTF-8: %q", what, s)
		}
		if n := utf8.RuneCountInString(s); n > max {
			t.Errorf("%s has %d characters, want ≤ %d", what, n, max)
		}
		if required && strings.TrimSpace(s) == "" {
			t.Errorf("%s is empty", what)
		}
	}
	check("title", e.Title, MaxTitle, false)
	check("description", e.Description, MaxDescription, false)
	if e.Footer != nil {
		check("footer", e.Footer.Text, MaxFooter, true)
	}
	if e.Author != nil {
		check("author name", e.Author.Name, MaxAuthorName, true)
	}
	if len(e.Fields) > MaxFields {
		t.Errorf("%d fields, want ≤ %d", len(e.Fields), MaxFields)
	}
	for i, f := range e.Fields {
		if f == nil {
			t.Errorf("field %d is nil", i)
			continue
		}
		check(fmt.Sprintf("field %d name", i), f.Name, MaxFieldName, true)
		check(fmt.Sprintf("field %d value", i), f.Value, MaxFieldValue, true)
	}
	if n := Len(e); n > MaxTotal {
		t.Errorf("embed has %d characters in all, want ≤ %d", n, MaxTotal)
	}
	if e.Timestamp != "" {
		if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
			t.Errorf("timestamp %q: %v", e.Timestamp, err)
		}
	}
}

// texts returns the texts of e that Discord renders.
func texts(e *discordgo.MessageEmbed) []string {
	out := []string{e.Title, e.Description}
	for _, f := range e.Fields {
		out = append(out, f.Name, f.Value)
	}
	if e.Footer != nil {
		out = append(out, e.Footer.Text)
	}
	return out
}

// escapable is what may follow a backslash in our output.
func escapable(r rune) bool { return markdown(r) || r == '.' || r == '+' }

// checkSafe fails t if a markdown text of e holds an escape that is not
// one (a backslash that does not escape markdown: a half-cut escape), an
// unclosed code span, or an '@' without the zero-width space after it.
// Every '@' of the footer, which is not markdown, must have it too.
func checkSafe(t testing.TB, e *discordgo.MessageEmbed) {
	t.Helper()
	markdownTexts := []string{e.Title, e.Description}
	for _, f := range e.Fields {
		markdownTexts = append(markdownTexts, f.Name, f.Value)
	}
	for _, s := range markdownTexts {
		if err := escapesOK(s); err != nil {
			t.Errorf("text %q: %v", s, err)
		}
	}
	for _, s := range texts(e) {
		if i := strings.Index(strings.ReplaceAll(s, "@"+zwsp, ""), "@"); i >= 0 {
			t.Errorf("text %q has an '@' without a zero-width space", s)
		}
		for _, r := range s {
			if unicode.IsControl(r) && r != '\n' || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Errorf("text %q has control %U", s, r)
			}
		}
	}
}

func escapesOK(s string) error {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '`':
			j := strings.IndexByte(s[i+1:], '`')
			if j < 0 {
				return fmt.Errorf("unclosed code span at %d", i)
			}
			i += j + 2
			continue
		case '\\':
			next, m := utf8.DecodeRuneInString(s[i+n:])
			if m == 0 || !escapable(next) {
				return fmt.Errorf("backslash at %d escapes %q", i, next)
			}
			n += m
		}
		i += n
	}
	return nil
}

// pieces are what random strings are made of: markdown, mentions, list
// markers, controls, combining and joined characters, flags, broken UTF-8.
var pieces = []string{
	"*", "_", "~", "`", "|", ">", "<", "#", "-", "[", "]", "(", ")", ":", "\\", "@", ".", "+", " ",
	"everyone", "here", "<@123>", "<@&9>", "<#1>", "<t:1:R>", "1.", "12)", "https://x.y", "||", "~~", "**", "__", "```",
	"\n", "\r\n", "\t", "\x00", "\x7f", "\u0085", "\u2028", "\u202e", "\u2066",
	"é", "e\u0301", "\u0301\u0301\u0301", "👨‍👩‍👧", "🇺🇦", "🇺", "👍🏽", "\u200b", "\u200d", "\ufe0f",
	"\xff", "\xe2\x82", "Ж", "漢", "𝕏", "a", "Z", "0", "9", "…",
}

func randString(r *rand.Rand) string {
	n := r.IntN(24)
	switch r.IntN(10) {
	case 0:
		n = r.IntN(3000)
	case 1:
		n = 0
	}
	var b strings.Builder
	for range n {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// allEmbeds builds every kind of embed with a and b in every string it
// takes, and with the most entries each list may have.
func allEmbeds(a, b string) []*discordgo.MessageEmbed {
	t0 := time.Date(2025, 4, 30, 0, 18, 37, 0, time.UTC)
	st := func(n string, rv string) stats.Stats {
		return stats.Stats{ID: rv, Name: n, Kills: 3, Deaths: 1, KDR: 3, LongestKill: 99, BestStreak: 2, CurrentStreak: 1,
			FavouriteWeapon: rv, Nemesis: &stats.Rival{ID: n, Name: rv, Count: 2}, Prey: &stats.Rival{ID: rv, Name: n, Count: 1},
			LastSeen: t0, Platform: rv}
	}
	var out []*discordgo.MessageEmbed
	for _, kind := range []parser.Kind{parser.Kill, parser.SelfDeath, parser.Unattributed, 0} {
		for _, w := range []string{b, parser.WeaponCar, parser.WeaponBoat, parser.WeaponFalling, parser.WeaponRelocation, ""} {
			r := rec(t0, kind, a, b, b, a, w, 77, a, b)
			out = append(out, Killfeed(Kill{Record: r, Server: b, KillerStreak: 2, KillerKDR: 1.5,
				Notable: []string{a, b, a + b, b, a, b, a}}))
		}
	}
	var es []stats.Entry
	for i := range MaxFields {
		n := a
		if i%2 == 1 {
			n = b
		}
		es = append(es, stats.Entry{Rank: i + 1, ID: b, Name: n, Value: float64(100 - i)})
	}
	for _, m := range append(stats.Metrics, stats.Metric(a)) {
		out = append(out, Leaderboard(Board{Metric: m, Period: stats.Period(b), Entries: es, Server: a, At: t0}))
	}
	for _, p := range append(stats.Periods, stats.Period(a)) {
		out = append(out, Stats(Player{Stats: st(a, b), Period: p, Server: b, At: t0, Playtime: time.Hour}))
	}
	out = append(out, Compare(Versus{A: st(a, b), B: st(b, a), AKilledB: 1, BKilledA: 2, Period: stats.Period(b), Server: a, At: t0}))
	for k := parser.ServerStart; k <= parser.PlayerLimit+1; k++ {
		ev := parser.ServerEvent{Time: t0, Kind: k, PlayerID: a, Player: b, Platform: a, Name: b, State: a, Count: 7}
		out = append(out, ServerLog(ServerEvent{Event: ev, Server: a, Player: b, Platform: a, Online: 1, Limit: 50}))
		ev.Player, ev.State = "", b
		out = append(out, ServerLog(ServerEvent{Event: ev, Server: b}))
	}
	l := Link{Player: a, PlayerID: b, Server: b, Within: 10 * time.Minute, Deadline: t0, At: t0}
	var ls []Link
	var srcs []Source
	var cmds []Command
	for range 40 {
		ls = append(ls, l, Link{Player: b, PlayerID: a, Server: a})
		srcs = append(srcs, Source{Server: a, Connected: true, LastLine: t0, Lag: time.Second, Lines: 1e6, Skipped: 3, Err: b})
		cmds = append(cmds, Command{Name: a, Options: b, Description: a + b})
	}
	out = append(out,
		LinkPending(l), Linked(l), LinkExpired(l), Unlinked(l), Links(ls, t0), Links(ls[:1], t0),
		Status(Health{Version: a, Uptime: time.Hour, Sources: srcs, At: t0}),
		Status(Health{Version: b, Sources: srcs[:2]}),
		Help(cmds), Help(cmds[:3]),
		Error(a), Success(b), Info(a, b), Info(b, a+b),
	)
	return out
}

// TestLimitsRandom checks every constructor against every limit for
// random strings made of the worst pieces.
func TestLimitsRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 2025))
	n := 100
	if testing.Short() {
		n = 20
	}
	for i := range n {
		a, b := randString(r), randString(r)
		for j, e := range allEmbeds(a, b) {
			checkLimits(t, e)
			checkSafe(t, e)
			if t.Failed() {
				t.Fatalf("round %d, embed %d (%q), inputs %q and %q", i, j, e.Title, a, b)
			}
		}
	}
}

// FuzzEmbeds: for any two strings, every constructor's output respects
// every limit and stays safe.
func FuzzEmbeds(f *testing.F) {
	for _, s := range []string{"", everyone, mention, codeName, quote, "1. x", "a\nb", longName, longStars, "\xff\xfe", "👨‍👩‍👧🇺🇦e\u0301"} {
		f.Add(s, "HallagerTheDane")
		f.Add("OGz Shogun", s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, e := range allEmbeds(a, b) {
			checkLimits(t, e)
			checkSafe(t, e)
		}
	})
}

// TestFitRaw checks Fit on embeds built by hand, far over every limit.
func TestFitRaw(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	big := func(n int) string {
		var b strings.Builder
		for b.Len() < n {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		return b.String()
	}
	for range 50 {
		e := &discordgo.MessageEmbed{
			Title:       big(r.IntN(600)),
			Description: big(r.IntN(9000)),
			Footer:      &discordgo.MessageEmbedFooter{Text: big(r.IntN(5000))},
			Author:      &discordgo.MessageEmbedAuthor{Name: big(r.IntN(600))},
		}
		for range r.IntN(40) {
			e.Fields = append(e.Fields, field(big(r.IntN(600)), big(r.IntN(3000)), r.IntN(2) == 0))
		}
		if r.IntN(5) == 0 {
			e.Fields = append(e.Fields, nil, field("", " ", false))
		}
		checkLimits(t, Fit(e))
	}

	// Every part at its own limit: the total decides, and what is kept
	// comes first.
	e := &discordgo.MessageEmbed{
		Title:       strings.Repeat("T", 300),
		Description: strings.Repeat("D", 5000),
		Footer:      &discordgo.MessageEmbedFooter{Text: strings.Repeat("F", 3000)},
		Author:      &discordgo.MessageEmbedAuthor{Name: strings.Repeat("A", 300)},
	}
	for i := range 30 {
		e.Fields = append(e.Fields, field(fmt.Sprint(i), strings.Repeat("V", 2000), true))
	}
	Fit(e)
	checkLimits(t, e)
	if len(e.Fields) == 0 || e.Fields[0].Name != "0" {
		t.Errorf("Fit dropped the first field: %d fields", len(e.Fields))
	}
	if Fit(nil) != nil {
		t.Error("Fit(nil) != nil")
	}
}

func TestFitSmallUnchanged(t *testing.T) {
	e := &discordgo.MessageEmbed{Title: "t", Description: "d", Fields: []*discordgo.MessageEmbedField{field("n", "v", true)}}
	Fit(e)
	if e.Title != "t" || e.Description != "d" || e.Fields[0].Name != "n" || e.Fields[0].Value != "v" {
		t.Errorf("Fit changed a small embed: %+v", e)
	}
}

// TestFitTotalKeepsLines checks that a long list loses whole lines.
func TestFitTotalKeepsLines(t *testing.T) {
	var lines []string
	for i := range 200 {
		lines = append(lines, fmt.Sprintf(`%d\. **name\_%d** — %d kills`, i+1, i, 1000-i))
	}
	e := Fit(&discordgo.MessageEmbed{Description: strings.Join(lines, "\n")})
	checkLimits(t, e)
	got := strings.Split(e.Description, "\n")
	if last := got[len(got)-1]; last != ellipsis {
		t.Errorf("last line %q, want %q", last, ellipsis)
	}
	for i, l := range got[:len(got)-1] {
		if l != lines[i] {
			t.Fatalf("line %d = %q, want %q", i, l, lines[i])
		}
	}
}
