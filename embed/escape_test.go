package embed

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"OGz Shogun", "OGz Shogun"},
		{"Woodcutter's Axe", "Woodcutter's Axe"},
		{"ELECTRIC_LAVA_05", `ELECTRIC\_LAVA\_05`},
		{"I-KiaN-Mc", `I\-KiaN\-Mc`},
		{everyone, `\*\*@` + zwsp + `everyone\*\*`},
		{"@here", "@" + zwsp + "here"},
		{mention, `\<@` + zwsp + `123\>`},
		{"<@&42> <#7> <t:1:R> <:pog:1>", `\<@` + zwsp + `&42\> \<\#7\> \<t\:1\:R\> \<\:pog\:1\>`},
		{codeName, "\\`code\\`"},
		{"```go\nx```", "\\`\\`\\`go x\\`\\`\\`"},
		{quote, `\> quote`},
		{">>> all", `\>\>\> all`},
		{"# heading", `\# heading`},
		{"-# subtext", `\-\# subtext`},
		{"- item", `\- item`},
		{"* item", `\* item`},
		{"+ item", `\+ item`},
		{"a+b", "a+b"},
		{"1. list", `1\. list`},
		{"  12) list", `  12\) list`},
		{"1.5 m", `1\.5 m`},
		{"v1.2", "v1.2"},
		{"x 1. y", "x 1. y"},
		{"||spoiler|| ~~strike~~ __under__", `\|\|spoiler\|\| \~\~strike\~\~ \_\_under\_\_`},
		{"[click](https://evil.example)", `\[click\]\(https\://evil.example\)`},
		{`back\slash`, `back\\slash`},
		{"a\nb\r\nc\td\u2028e", "a b  c d e"},
		{"x\u202ey\u2066z", "xyz"},
		{"\xffok", "\uFFFDok"},
		{"Влад 🇺🇦 naïve e\u0301 👨‍👩‍👧", "Влад 🇺🇦 naïve e\u0301 👨‍👩‍👧"},
		{"", ""},
	} {
		if got := Escape(c.in); got != c.want {
			t.Errorf("Escape(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// unescape undoes Escape: it drops the backslash of each escape and the
// zero-width space after each '@'.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\\' && i+n < len(s):
			i += n
			r, n = utf8.DecodeRuneInString(s[i:])
		case r == '@' && strings.HasPrefix(s[i+n:], zwsp):
			n += len(zwsp)
		}
		b.WriteRune(r)
		i += n
	}
	return b.String()
}

var unescapedLead = regexp.MustCompile(`^ *([0-9]+[.)]|\+)`)

// FuzzEscape: Escape's output is valid UTF-8 on one line, every markdown
// character of the input comes out escaped, every '@' defused, no list
// marker starts it, and it says exactly what the input said.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"", "OGz Shogun", everyone, mention, codeName, quote, "1. list", "+ x", "a\nb", "\\", "\\*", "@\u200b",
		"x\u202ey", "\xff\xfe", "👨‍👩‍👧", "e\u0301", "[a](https://b)", longStars,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Fatalf("Escape(%q) = %q: invalid UTF-8", in, out)
		}
		for i := 0; i < len(out); {
			r, n := utf8.DecodeRuneInString(out[i:])
			switch {
			case r == '\\':
				next, m := utf8.DecodeRuneInString(out[i+n:])
				if m == 0 || !escapable(next) {
					t.Fatalf("Escape(%q) = %q: backslash at %d escapes %q", in, out, i, next)
				}
				n += m
			case r == '@':
				if !strings.HasPrefix(out[i+n:], zwsp) {
					t.Fatalf("Escape(%q) = %q: '@' at %d without a zero-width space", in, out, i)
				}
				n += len(zwsp)
			case markdown(r):
				t.Fatalf("Escape(%q) = %q: unescaped %q at %d", in, out, r, i)
			case unicode.IsControl(r), r == '\u2028', r == '\u2029', r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
				t.Fatalf("Escape(%q) = %q: control %U at %d", in, out, r, i)
			}
			i += n
		}
		if unescapedLead.MatchString(out) {
			t.Fatalf("Escape(%q) = %q: starts with a list marker", in, out)
		}
		if got, want := unescape(out), oneLine(in); got != want {
			t.Fatalf("unescape(Escape(%q)) = %q, want %q", in, got, want)
		}
	})
}

func TestClip(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"abcdef", 6, "abcdef"},
		{"abcdef", 4, "abc…"},
		{"abcdef", 1, "…"},
		{"abcdef", 0, ""},
		{`\*\*\*`, 4, `\*…`},
		{`ab\*cd`, 4, "ab…"},
		{"@" + zwsp + "everyone", 2, "…"},
		{"x@" + zwsp + "here", 3, "x…"},
		{"ab👨‍👩‍👧", 4, "ab…"},
		{"🇺🇦🇺🇦", 3, "🇺🇦…"},
		{"e\u0301e\u0301", 3, "e\u0301…"},
		{"👍🏽👍🏽", 3, "👍🏽…"},
		{"Влад Влад", 5, "Влад…"},
		{"line one\nline two\nline three", 20, "line one\nline two\n…"},
		{"x\nline two is long", 10, "x\nline tw…"},
		{"ab\u200d\n" + strings.Repeat("c", 20), 6, "ab\u200d\n…"},
		{"a\u200d\\*b", 3, "…"},
		{"a\u200d@" + zwsp + "b", 4, "…"},
	} {
		if got := clip(c.in, c.n); got != c.want {
			t.Errorf("clip(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

// boundary reports whether i falls between units of s.
func boundary(s string, i int) bool {
	j := 0
	for j < i {
		j = unitEnd(s, j)
	}
	return j == i
}

// FuzzClip: clip never passes n, never cuts inside a unit (an escape, a
// character, a combining sequence) and keeps a prefix of its input.
func FuzzClip(f *testing.F) {
	f.Add(`\*\*\*`, 4)
	f.Add("@"+zwsp+"everyone", 2)
	f.Add("ab👨‍👩‍👧🇺🇦e\u0301", 5)
	f.Add("l1\nl2\nl3\nl4", 7)
	f.Add(Escape(longStars), 1024)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if !utf8.ValidString(s) {
			s = strings.ToValidUTF8(s, "\uFFFD")
		}
		n = max(n, -n) % 2000
		got := clip(s, n)
		if utf8.RuneCountInString(s) <= n {
			if got != s {
				t.Fatalf("clip(%q, %d) = %q, want it unchanged", s, n, got)
			}
			return
		}
		if c := utf8.RuneCountInString(got); c > n {
			t.Fatalf("clip(%q, %d) = %q: %d characters", s, n, got, c)
		}
		if n == 0 {
			return
		}
		kept, ok := strings.CutSuffix(got, ellipsis)
		if !ok {
			t.Fatalf("clip(%q, %d) = %q: no ellipsis", s, n, got)
		}
		if line, ok := strings.CutSuffix(kept, "\n"); ok && strings.HasPrefix(s, line) && boundary(s, len(line)) {
			return
		}
		if !strings.HasPrefix(s, kept) || !boundary(s, len(kept)) {
			t.Fatalf("clip(%q, %d) = %q: not a whole-unit prefix", s, n, got)
		}
	})
}
