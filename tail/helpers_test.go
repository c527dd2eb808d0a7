package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testMaxLine is the maxLine the application passes (parser.MaxLineLen).
const testMaxLine = 4096

// batch is a copy of what one Next returned (Lines.Data is only valid until
// the next call).
type batch struct {
	Data      string
	FirstLine int
	Cursor    Cursor
}

// nexter is a *File or a *Dir.
type nexter interface {
	Next() (Lines, error)
}

// drain calls Next until io.EOF and returns copies of what it handed back.
func drain(t *testing.T, n nexter) []batch {
	t.Helper()
	var out []batch
	for i := 0; ; i++ {
		if i > 100000 {
			t.Fatalf("Next: got no io.EOF after %d calls, want io.EOF once the lines run out", i)
		}
		l, err := n.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("Next: got error %v, want lines or io.EOF", err)
		}
		out = append(out, batch{Data: string(l.Data), FirstLine: l.FirstLine, Cursor: l.Cursor})
	}
}

// joined concatenates the data of bs.
func joined(bs []batch) string {
	var b strings.Builder
	for _, x := range bs {
		b.WriteString(x.Data)
	}
	return b.String()
}

// checkBatches checks what must hold for any run of batches, given the
// cursor before the first: each batch is complete lines, FirstLine
// continues the previous cursor's Line in the same file (and is 1 in a new
// file), Cursor.Line counts the lines handed back, offsets grow.
func checkBatches(t *testing.T, prev Cursor, bs []batch) {
	t.Helper()
	for i, b := range bs {
		if b.Data == "" || b.Data[len(b.Data)-1] != '\n' {
			t.Errorf("batch %d: got Data %s, want complete lines ending in '\\n'", i, short(b.Data))
		}
		wantFirst := 1
		if b.Cursor.File == prev.File {
			wantFirst = prev.Line + 1
			if b.Cursor.Offset <= prev.Offset {
				t.Errorf("batch %d: got Cursor.Offset %d, want more than the previous %d", i, b.Cursor.Offset, prev.Offset)
			}
		}
		if b.FirstLine != wantFirst {
			t.Errorf("batch %d (%s): got FirstLine %d, want %d", i, b.Cursor.File, b.FirstLine, wantFirst)
		}
		if want := b.FirstLine - 1 + strings.Count(b.Data, "\n"); b.Cursor.Line != want {
			t.Errorf("batch %d (%s): got Cursor.Line %d, want %d (FirstLine %d + %d lines - 1)",
				i, b.Cursor.File, b.Cursor.Line, want, b.FirstLine, strings.Count(b.Data, "\n"))
		}
		prev = b.Cursor
	}
}

// checkCursor checks a cursor of the file at path whose bytes before the
// offset are consumed.
func checkCursor(t *testing.T, got Cursor, path, consumed string, line int) {
	t.Helper()
	if want := filepath.Base(path); got.File != want {
		t.Errorf("Cursor.File: got %q, want %q", got.File, want)
	}
	if want := int64(len(consumed)); got.Offset != want {
		t.Errorf("Cursor.Offset: got %d, want %d", got.Offset, want)
	}
	if got.Line != line {
		t.Errorf("Cursor.Line: got %d, want %d", got.Line, line)
	}
	wantFP, wantLen := fpOf(consumed)
	if got.FPLen != wantLen {
		t.Errorf("Cursor.FPLen: got %d, want %d", got.FPLen, wantLen)
	} else if wantLen > 0 && got.FP != wantFP {
		t.Errorf("Cursor.FP: got %#x, want %#x (FNV-1a of the first %d bytes)", got.FP, wantFP, wantLen)
	}
	if fi, err := os.Stat(path); err == nil {
		if want := inode(fi); got.Inode != want {
			t.Errorf("Cursor.Inode: got %d, want %d", got.Inode, want)
		}
	}
}

// fpOf returns the fingerprint a cursor past data has.
func fpOf(data string) (uint64, int) {
	n := min(FingerprintLen, len(data))
	h := fnv.New64a()
	h.Write([]byte(data[:n]))
	return h.Sum64(), n
}

// complete returns s up to and including its last '\n'.
func complete(s string) string {
	return s[:strings.LastIndexByte(s, '\n')+1]
}

// short shows s in a failure message, cut if it is long.
func short(s string) string {
	if len(s) <= 120 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q...%q (%d bytes)", s[:60], s[len(s)-40:], len(s))
}

// diff describes how got differs from want.
func diff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	lo := max(0, i-40)
	return fmt.Sprintf("got %d bytes, want %d; first difference at byte %d: got %s, want %s",
		len(got), len(want), i, short(got[lo:min(len(got), i+40)]), short(want[lo:min(len(want), i+40)]))
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// open opens path at c and fails the test on an error.
func open(t *testing.T, path string, c Cursor) (*File, *Reset) {
	t.Helper()
	f, reset, err := Open(OS, path, c, testMaxLine)
	if err != nil {
		t.Fatalf("Open(%s): got error %v, want none", filepath.Base(path), err)
	}
	t.Cleanup(func() { f.Close() })
	return f, reset
}

// openNoReset opens path at c and fails the test on an error or a Reset.
func openNoReset(t *testing.T, path string, c Cursor) *File {
	t.Helper()
	f, reset := open(t, path, c)
	if reset != nil {
		t.Fatalf("Open(%s) at offset %d: got Reset %q, want none", filepath.Base(path), c.Offset, reset.Reason)
	}
	return f
}

// viaJSON returns c after a JSON round trip, as it is stored.
func viaJSON(t *testing.T, c Cursor) Cursor {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var out Cursor
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != c {
		t.Fatalf("Cursor after JSON round trip: got %+v, want %+v", out, c)
	}
	return out
}

// randomLines returns n numbered killfeed-like lines of random length,
// some empty and some ending in CRLF.
func randomLines(r *rand.Rand, tag string, n int) string {
	var b strings.Builder
	for i := range n {
		switch r.IntN(12) {
		case 0:
			b.WriteString("\n")
		case 1:
			fmt.Fprintf(&b, "%s-%d;%s\r\n", tag, i, strings.Repeat("c", r.IntN(60)))
		default:
			fmt.Fprintf(&b, "2025.05.01-00.00.00;%s-%d;Killer;%d;Victim;%s;\n", tag, i, r.IntN(1e6), strings.Repeat("x", r.IntN(150)))
		}
	}
	return b.String()
}

// chunkLen returns a random write size: mostly small (mid-line), sometimes
// spanning many lines.
func chunkLen(r *rand.Rand) int {
	if r.IntN(4) == 0 {
		return 1 + r.IntN(3000)
	}
	return 1 + r.IntN(40)
}

// csvName returns the Deadside file name of the i-th test file.
func csvName(i int) string {
	return fmt.Sprintf("2025.05.%02d-%02d.00.00.csv", 1+i/24, i%24)
}
