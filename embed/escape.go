package embed

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// zwsp is the zero-width space that Escape puts after every '@', so that
// "@everyone", "@here" and "<@123>" are never mention syntax.
const zwsp = "\u200b"

// markdown reports whether r is a character that Discord's markdown gives a
// meaning anywhere in a line: emphasis, strike-through, code, spoilers,
// quotes, headings and subtext, masked links, mentions, emoji and channel
// syntax (<…>), and ':' so that "https://…" in a name is not a link.
func markdown(r rune) bool {
	switch r {
	case '\\', '*', '_', '~', '`', '|', '>', '<', '#', '-', '[', ']', '(', ')', ':':
		return true
	}
	return false
}

// flatten maps r to what untrusted text may contain: control characters
// (line breaks and tabs included) and the Unicode line and paragraph
// separators become a space; the bidirectional embedding, override and
// isolate controls, which can reorder the text around them, become -1
// (dropped).
func flatten(r rune) rune {
	switch {
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return -1
	case r == '\u2028', r == '\u2029', unicode.IsControl(r):
		return ' '
	}
	return r
}

// Escape returns s as text that Discord shows literally in a description,
// a field or a title, on one line:
//
//   - invalid UTF-8 becomes U+FFFD;
//   - control characters, line breaks included, become spaces and
//     bidirectional controls are dropped;
//   - each of \ * _ ~ ` | > < # - [ ] ( ) : is preceded by a backslash;
//   - a list marker at the start ("1." or "1)" after digits, "+") is
//     escaped the same way (the other markers, - * > #, always are);
//   - every '@' is followed by a zero-width space, so "@everyone", "@here"
//     and "<@123>" mention nobody even where allowed_mentions is missing.
//
// Escape does not clip: constructors clip the source text first, and Fit
// clips whole escapes only.
func Escape(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	lead, digits := true, false // in the leading run of spaces and digits
	for _, r := range s {
		if r = flatten(r); r < 0 {
			continue
		}
		switch {
		case r == '@':
			b.WriteString("@" + zwsp)
		case markdown(r),
			lead && digits && r == '.',
			lead && !digits && r == '+':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r != ' ':
			lead = false
		}
	}
	return b.String()
}

// plain returns s for the parts of an embed that Discord does not render as
// markdown (footer text, author name) and for code spans: valid UTF-8, one
// line, without bidirectional controls, a zero-width space after every '@'.
// Escaping there would show the backslashes.
func plain(s string) string {
	return strings.ReplaceAll(oneLine(s), "@", "@"+zwsp)
}

// oneLine returns s as valid UTF-8, flattened (see flatten).
func oneLine(s string) string {
	return strings.Map(flatten, strings.ToValidUTF8(s, "\uFFFD"))
}

// code returns s, clipped to n characters, as an inline code span: nothing
// inside renders, so only a backtick could end it early; backticks become
// U+02CB, which looks alike. An empty s gives "".
func code(s string, n int) string {
	s = strings.TrimSpace(strings.ReplaceAll(plain(s), "`", "\u02cb"))
	if s == "" {
		return ""
	}
	return "`" + clip(s, n) + "`"
}

// text escapes untrusted s after trimming it and clipping it to n
// characters of the source, so that the clip never falls inside an escape.
// An empty s gives "—".
func text(s string, n int) string {
	s = strings.TrimSpace(oneLine(s))
	if s == "" {
		return "—"
	}
	return Escape(clip(s, n))
}

// unitEnd returns the index in s just past the unit of text that starts at
// i: one code point together with what must stay with it. A backslash keeps
// the character it escapes, '@' its zero-width space, a regional indicator
// (half a flag) its pair, a character its combining marks, variation
// selectors, emoji modifiers and tags, and a zero-width joiner the unit
// after it. A line break is never inside a unit but at its start, so clip
// can see lines.
func unitEnd(s string, i int) int {
	j := headEnd(s, i)
	for j < len(s) {
		r, m := utf8.DecodeRuneInString(s[j:])
		switch {
		case r == '\u200d': // zero-width joiner: keep the next unit too
			j += m
			if j < len(s) && s[j] != '\n' {
				j = headEnd(s, j)
			}
		case unicode.In(r, unicode.Mn, unicode.Me),
			r == '\ufe0e', r == '\ufe0f',
			r >= 0x1f3fb && r <= 0x1f3ff, // skin tones
			r >= 0xe0020 && r <= 0xe007f: // tags
			j += m
		default:
			return j
		}
	}
	return j
}

// headEnd returns the index just past the code point at i and its partner:
// the character a backslash escapes, the zero-width space after '@', the
// second half of a flag.
func headEnd(s string, i int) int {
	r, n := utf8.DecodeRuneInString(s[i:])
	j := i + n
	if j == len(s) {
		return j
	}
	switch {
	case r == '\\' && s[j] != '\n':
		_, m := utf8.DecodeRuneInString(s[j:])
		j += m
	case r == '@' && strings.HasPrefix(s[j:], zwsp):
		j += len(zwsp)
	case regional(r):
		if r2, m := utf8.DecodeRuneInString(s[j:]); regional(r2) {
			j += m
		}
	}
	return j
}

func regional(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }

// ellipsis marks clipped text.
const ellipsis = "…"

// clip returns s if it has at most n code points (Discord counts code
// points), or else its longest prefix of whole units (see unitEnd) that
// leaves room for "…", followed by "…". When the prefix spans lines and
// its last line break keeps at least half of n, the clip falls there
// instead, with "…" on a line of its own, so that a list loses whole lines.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	budget := n - 1
	count, cut := 0, 0
	nl, nlCount := -1, 0 // the last line break that starts a unit, and the count before it
	for i := 0; i < len(s); {
		j := unitEnd(s, i)
		c := utf8.RuneCountInString(s[i:j])
		if count+c > budget {
			break
		}
		if s[i] == '\n' {
			nl, nlCount = i, count
		}
		count, cut, i = count+c, j, j
	}
	if nl >= 0 && nlCount >= n/2 {
		return s[:nl] + "\n" + ellipsis
	}
	return s[:cut] + ellipsis
}
