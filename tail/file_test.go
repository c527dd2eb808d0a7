package tail

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestFileIncrementalAppends writes lines in random chunks (often mid-line)
// and reads after every write: each read hands back exactly the complete
// lines written so far that were not handed back before, so every line
// comes out once, in order, with a cursor just past it. The reader either
// keeps one File open or re-opens the file at its saved Cursor each time.
func TestFileIncrementalAppends(t *testing.T) {
	modes := []struct {
		name    string
		reopen  bool
		useJSON bool
	}{
		{"one open File", false, false},
		{"reopen at saved Cursor", true, false},
		{"reopen at Cursor through JSON", true, true},
	}
	for _, mode := range modes {
		for seed := uint64(1); seed <= 4; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", mode.name, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, 7))
				content := randomLines(r, "L", 300+r.IntN(300))
				if seed == 4 {
					content = "\ufeff" + content // BOM at the start
				}
				path := filepath.Join(t.TempDir(), csvName(0))
				writeFile(t, path, "")
				var f *File
				if !mode.reopen {
					f = openNoReset(t, path, Cursor{})
				}
				var (
					saved Cursor
					got   strings.Builder
				)
				for written := 0; written < len(content); {
					n := min(chunkLen(r), len(content)-written)
					appendFile(t, path, content[written:written+n])
					written += n
					if mode.reopen {
						c := saved
						if mode.useJSON {
							c = viaJSON(t, c)
						}
						f = openNoReset(t, path, c)
					}
					bs := drain(t, f)
					checkBatches(t, saved, bs)
					got.WriteString(joined(bs))
					want := complete(content[:written])
					if got.String() != want {
						t.Fatalf("after writing %d of %d bytes: %s", written, len(content), diff(got.String(), want))
					}
					cur := f.Cursor()
					if len(bs) > 0 && bs[len(bs)-1].Cursor != cur {
						t.Errorf("File.Cursor(): got %+v, want the last batch's %+v", cur, bs[len(bs)-1].Cursor)
					}
					checkCursor(t, cur, path, want, strings.Count(want, "\n"))
					if t.Failed() {
						t.FailNow()
					}
					saved = cur
					if mode.reopen {
						f.Close()
					}
				}
			})
		}
	}
}

// TestFileLargeFile reads a file several times the read buffer: it comes in
// batches of at most the buffer size that split only between lines, and a
// reader stopped after the first batch resumes at its Cursor with no line
// lost or repeated.
func TestFileLargeFile(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var b strings.Builder
	for b.Len() < 3*DefaultBufSize+DefaultBufSize/2 {
		b.WriteString(randomLines(r, "big", 1000))
	}
	content := b.String()
	path := filepath.Join(t.TempDir(), csvName(0))
	writeFile(t, path, content)

	t.Run("all at once", func(t *testing.T) {
		f := openNoReset(t, path, Cursor{})
		bs := drain(t, f)
		checkBatches(t, Cursor{}, bs)
		if got, want := joined(bs), content; got != want {
			t.Fatal(diff(got, want))
		}
		if len(bs) < 4 {
			t.Errorf("got %d batches, want at least 4 for %d bytes with a %d-byte buffer", len(bs), len(content), DefaultBufSize)
		}
		for i, x := range bs {
			if len(x.Data) > DefaultBufSize {
				t.Errorf("batch %d: got %d bytes, want at most the buffer's %d", i, len(x.Data), DefaultBufSize)
			}
		}
		checkCursor(t, f.Cursor(), path, content, strings.Count(content, "\n"))
	})

	t.Run("resume after each batch", func(t *testing.T) {
		var (
			got   strings.Builder
			saved Cursor
		)
		for i := 0; ; i++ {
			if i > 10 {
				t.Fatalf("got no io.EOF after %d re-opens, want it after about 4", i)
			}
			f := openNoReset(t, path, viaJSON(t, saved))
			l, err := f.Next()
			if err != nil {
				f.Close()
				break
			}
			b := batch{string(l.Data), l.FirstLine, l.Cursor}
			checkBatches(t, saved, []batch{b})
			got.WriteString(b.Data)
			saved = b.Cursor
			checkCursor(t, saved, path, content[:saved.Offset], strings.Count(content[:saved.Offset], "\n"))
			f.Close()
		}
		if got.String() != content {
			t.Fatal(diff(got.String(), content))
		}
	})
}

// TestFileHalfWrittenLine checks that a last line without its '\n' is not
// handed back, does not move the cursor, and comes back whole once its end
// is written, with the right line number, whether the File stayed open or
// was re-opened at the saved cursor in between.
func TestFileHalfWrittenLine(t *testing.T) {
	steps := []struct {
		write string
		want  string // lines handed back after the write
	}{
		{"a;1\nb;2\nc;", "a;1\nb;2\n"},
		{"3", ""},
		{";x", ""},
		{"\n", "c;3;x\n"},
		{"d", ""},
		{";4\ne;5\nf", "d;4\ne;5\n"},
		{";6\n", "f;6\n"},
	}
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), csvName(0))
			writeFile(t, path, "")
			f := openNoReset(t, path, Cursor{})
			var (
				content string
				saved   Cursor
			)
			for i, s := range steps {
				appendFile(t, path, s.write)
				content += s.write
				if reopen {
					f.Close()
					f = openNoReset(t, path, viaJSON(t, saved))
				}
				// Ask twice: a waiting half line must stay waiting.
				bs := drain(t, f)
				bs = append(bs, drain(t, f)...)
				checkBatches(t, saved, bs)
				if got := joined(bs); got != s.want {
					t.Fatalf("step %d (wrote %q): got %q, want %q", i, s.write, got, s.want)
				}
				want := complete(content)
				checkCursor(t, f.Cursor(), path, want, strings.Count(want, "\n"))
				saved = f.Cursor()
			}
		})
	}
}

// TestFileBOMAndCRLF checks that a UTF-8 BOM and CRLF endings are handed
// back untouched and counted in the offsets, and that a line whose '\r' has
// arrived but not its '\n' waits.
func TestFileBOMAndCRLF(t *testing.T) {
	const bom = "\xEF\xBB\xBF"
	path := filepath.Join(t.TempDir(), csvName(0))
	first := bom + "2025.05.01-00.00.01;A;1;B;2;AK;10;\r\n\r\n2025.05.01-00.00.02;C;3;D;4;M4;20;\r\n2025.05.01-00.00.03;E;5;F;6;SVD;30;\r"
	writeFile(t, path, first)
	f := openNoReset(t, path, Cursor{})
	bs := drain(t, f)
	checkBatches(t, Cursor{}, bs)
	want := bom + "2025.05.01-00.00.01;A;1;B;2;AK;10;\r\n\r\n2025.05.01-00.00.02;C;3;D;4;M4;20;\r\n"
	if got := joined(bs); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	checkCursor(t, f.Cursor(), path, want, 3)
	if len(bs) > 0 && bs[0].FirstLine != 1 {
		t.Errorf("FirstLine: got %d, want 1 (the BOM is not a line)", bs[0].FirstLine)
	}

	appendFile(t, path, "\n")
	bs = drain(t, f)
	if got, want := joined(bs), "2025.05.01-00.00.03;E;5;F;6;SVD;30;\r\n"; got != want {
		t.Fatalf("after the '\\n': got %q, want %q", got, want)
	}
	if len(bs) > 0 && bs[0].FirstLine != 4 {
		t.Errorf("FirstLine: got %d, want 4", bs[0].FirstLine)
	}
	checkCursor(t, f.Cursor(), path, first+"\n", 4)
}

// junk returns n bytes of a line without '\n' whose head can be told from
// other parts of it.
func junk(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<junk %d>", i)
	}
	return b.String()[:n]
}

// head is what Next hands back for a line longer than the buffer.
func head(line string) string { return line[:testMaxLine+1] + "\n" }

// TestFileLongLine checks lines longer than the read buffer: Next hands back
// the first maxLine+1 bytes and '\n', the cursor moves past the whole line,
// and the lines after it are read normally.
func TestFileLongLine(t *testing.T) {
	before := "2025.05.01-00.00.01;A;1;B;2;AK;10;\n2025.05.01-00.00.02;C;3;D;4;M4;20;\n"
	after := "2025.05.01-00.00.03;E;5;F;6;SVD;30;\n\n2025.05.01-00.00.04;G;7;H;8;AK;40;\n"
	j1 := junk(DefaultBufSize + 12345)
	j2 := junk(DefaultBufSize)
	j3 := junk(5*DefaultBufSize + 3)
	j4 := "other" + junk(2*DefaultBufSize)
	cases := []struct {
		name    string
		content string
		want    string
		lines   int
	}{
		{"after lines, ends past the buffer", before + j1 + "\n" + after, before + head(j1) + after, 6},
		{"exactly the buffer size, first in file", j2 + "\n" + after, head(j2) + after, 4},
		{"five buffers, CRLF", before + j3 + "\r\n" + after, before + head(j3) + after, 6},
		{"two in a row", j1 + "\n" + j4 + "\n" + after, head(j1) + head(j4) + after, 5},
		{"last line of the file", before + j1 + "\n", before + head(j1), 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), csvName(0))
			writeFile(t, path, tc.content)
			f := openNoReset(t, path, Cursor{})
			bs := drain(t, f)
			checkBatches(t, Cursor{}, bs)
			if got := joined(bs); got != tc.want {
				t.Fatal(diff(got, tc.want))
			}
			checkCursor(t, f.Cursor(), path, tc.content, tc.lines)

			// Resuming past the long line reads only what follows it.
			appendFile(t, path, "tail;1\n")
			g := openNoReset(t, path, viaJSON(t, f.Cursor()))
			bs = drain(t, g)
			if got, want := joined(bs), "tail;1\n"; got != want {
				t.Errorf("resumed after the long line: got %q, want %q", got, want)
			}
			if len(bs) == 1 && bs[0].FirstLine != tc.lines+1 {
				t.Errorf("resumed after the long line: got FirstLine %d, want %d", bs[0].FirstLine, tc.lines+1)
			}
		})
	}
}

// TestFileLongLineIncomplete checks that a line longer than the buffer
// whose '\n' has not arrived waits (cursor at its start, however often Next
// is called and across re-opens), and is handed back as its head once
// complete.
func TestFileLongLineIncomplete(t *testing.T) {
	before := "a;1\nb;2\n"
	j := junk(DefaultBufSize + DefaultBufSize/2)
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), csvName(0))
			writeFile(t, path, before+j[:DefaultBufSize+100])
			f := openNoReset(t, path, Cursor{})
			if got := joined(drain(t, f)); got != before {
				t.Fatalf("got %s, want %q", short(got), before)
			}
			for i, more := range []string{"", j[DefaultBufSize+100 : DefaultBufSize+50000], j[DefaultBufSize+50000:]} {
				appendFile(t, path, more)
				if reopen {
					saved := f.Cursor()
					f.Close()
					f = openNoReset(t, path, viaJSON(t, saved))
				}
				if bs := drain(t, f); len(bs) > 0 {
					t.Fatalf("step %d, line incomplete: got %s, want nothing", i, short(joined(bs)))
				}
				checkCursor(t, f.Cursor(), path, before, 2)
			}
			appendFile(t, path, "\nc;3\n")
			if reopen {
				saved := f.Cursor()
				f.Close()
				f = openNoReset(t, path, viaJSON(t, saved))
			}
			bs := drain(t, f)
			checkBatches(t, Cursor{File: csvName(0), Offset: int64(len(before)), Line: 2}, bs)
			if got, want := joined(bs), head(j)+"c;3\n"; got != want {
				t.Fatal(diff(got, want))
			}
			checkCursor(t, f.Cursor(), path, before+j+"\nc;3\n", 4)
		})
	}
}

// TestFileLongLineUnderBufferWaits: a line longer than maxLine but shorter
// than the buffer also waits for its '\n', then comes back (whole or cut to
// its head) followed by the next lines.
func TestFileLongLineUnderBufferWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), csvName(0))
	j := junk(3 * testMaxLine)
	writeFile(t, path, "a;1\n"+j)
	f := openNoReset(t, path, Cursor{})
	if got := joined(drain(t, f)); got != "a;1\n" {
		t.Fatalf("got %s, want %q", short(got), "a;1\n")
	}
	appendFile(t, path, "\nb;2\n")
	got := joined(drain(t, f))
	if want, alt := j+"\nb;2\n", head(j)+"b;2\n"; got != want && got != alt {
		t.Fatalf("got %s, want %s or %s", short(got), short(want), short(alt))
	}
	checkCursor(t, f.Cursor(), path, "a;1\n"+j+"\nb;2\n", 3)
}

// TestFileLongLineMemory checks that skipping a 16 MiB line allocates far
// less than the line: it is never held in memory.
func TestFileLongLineMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), csvName(0))
	j := junk(16 << 20)
	writeFile(t, path, j+"\nafter;1\n")
	f := openNoReset(t, path, Cursor{})
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	l, err := f.Next()
	runtime.ReadMemStats(&m1)
	if err != nil {
		t.Fatalf("Next: got error %v, want the head of the long line", err)
	}
	if got, want := string(l.Data), head(j); got != want {
		t.Fatal(diff(got, want))
	}
	if alloc := m1.TotalAlloc - m0.TotalAlloc; alloc > DefaultBufSize {
		t.Errorf("Next over a 16 MiB line: got %d bytes allocated, want at most %d", alloc, DefaultBufSize)
	}
	if got, want := joined(drain(t, f)), "after;1\n"; got != want {
		t.Errorf("after the long line: got %q, want %q", got, want)
	}
}

// TestFileLongLineMaxLineOverBuffer: maxLine may be larger than the read
// buffer (a caller that wants no cutting). A line longer than the buffer
// must then still be skipped, without a panic, and the lines after it read.
func TestFileLongLineMaxLineOverBuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), csvName(0))
	j := junk(DefaultBufSize + DefaultBufSize/2)
	writeFile(t, path, j+"\nafter;1\n")
	f, _, err := Open(OS, path, Cursor{}, 2*DefaultBufSize)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var bs []batch
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Fatalf("Next with maxLine %d over a %d-byte line: got panic %v, want no panic", 2*DefaultBufSize, len(j), p)
			}
		}()
		bs = drain(t, f)
	}()
	if len(bs) == 0 {
		t.Fatal("got no lines, want the long line's head and \"after;1\\n\"")
	}
	first := bs[0].Data
	if len(first) > DefaultBufSize+1 || !strings.HasPrefix(j, first[:len(first)-1]) || first[len(first)-1] != '\n' {
		t.Errorf("long line: got %s, want its head (at most %d bytes) and '\\n'", short(first), DefaultBufSize)
	}
	if got, want := joined(bs[1:]), "after;1\n"; got != want {
		t.Errorf("after the long line: got %q, want %q", got, want)
	}
	checkCursor(t, f.Cursor(), path, j+"\nafter;1\n", 2)
}

// TestOpenChangedFile re-opens a file at a cursor after it changed: grown
// files continue; truncated ones and ones whose first bytes changed (same
// inode, truncate-and-regrow; or a new file under the old name) are read
// again from the start with a Reset saying why.
func TestOpenChangedFile(t *testing.T) {
	kib := func(tag string) string { // about 2.5 KiB of lines
		var b strings.Builder
		for i := 0; b.Len() < 2500; i++ {
			fmt.Fprintf(&b, "2025.05.01-00.00.%02d;%s%d;1;V;2;AK;10;\n", i%60, tag, i)
		}
		return b.String()
	}
	long := kib("k")
	cases := []struct {
		name    string
		initial string
		change  func(t *testing.T, path, initial string) string // returns the new content
		reason  string                                          // "" for no Reset
	}{
		{
			"appended", "a;1\na;2\n",
			func(t *testing.T, path, initial string) string {
				appendFile(t, path, "a;3\n")
				return initial + "a;3\n"
			},
			"",
		},
		{
			"appended, offset past the first KiB", long,
			func(t *testing.T, path, initial string) string {
				appendFile(t, path, "z;1\n")
				return initial + "z;1\n"
			},
			"",
		},
		{
			"truncated to empty", "a;1\na;2\n",
			func(t *testing.T, path, _ string) string { writeFile(t, path, ""); return "" },
			"truncated",
		},
		{
			"truncated to fewer lines", "a;1\na;2\na;3\n",
			func(t *testing.T, path, _ string) string { writeFile(t, path, "b;1\n"); return "b;1\n" },
			"truncated",
		},
		{
			"truncated past the first KiB", long,
			func(t *testing.T, path, initial string) string {
				cut := strings.LastIndexByte(initial[:len(initial)-1], '\n') + 1 // drop the last line
				if err := os.Truncate(path, int64(cut)); err != nil {
					t.Fatal(err)
				}
				return initial[:cut]
			},
			"truncated",
		},
		{
			"truncated and regrown larger, new first bytes", "a;1\na;2\n",
			func(t *testing.T, path, _ string) string { s := "b;1\nb;2\nb;3\n"; writeFile(t, path, s); return s },
			"content replaced",
		},
		{
			"truncated and regrown larger, past the first KiB", long,
			func(t *testing.T, path, _ string) string { s := kib("n") + "more;1\n"; writeFile(t, path, s); return s },
			"content replaced",
		},
		{
			"regrown to the same size, new first bytes", "a;1\na;2\n",
			func(t *testing.T, path, _ string) string { writeFile(t, path, "b;1\nb;2\n"); return "b;1\nb;2\n" },
			"content replaced",
		},
		{
			"first byte rewritten in place", long,
			func(t *testing.T, path, initial string) string {
				s := "X" + initial[1:]
				writeFile(t, path, s)
				return s
			},
			"content replaced",
		},
		{
			"replaced by a new file under the same name", "a;1\na;2\n",
			func(t *testing.T, path, _ string) string {
				if err := os.Remove(path); err != nil {
					t.Fatal(err)
				}
				writeFile(t, path, "c;1\nc;2\nc;3\n")
				return "c;1\nc;2\nc;3\n"
			},
			"content replaced",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), csvName(0))
			writeFile(t, path, tc.initial)
			f := openNoReset(t, path, Cursor{})
			if got := joined(drain(t, f)); got != tc.initial {
				t.Fatal(diff(got, tc.initial))
			}
			saved := viaJSON(t, f.Cursor())
			f.Close()

			now := tc.change(t, path, tc.initial)
			g, reset := open(t, path, saved)
			wantLines := now
			start := Cursor{File: saved.File}
			if tc.reason == "" {
				if reset != nil {
					t.Fatalf("Reset: got %q, want none", reset.Reason)
				}
				wantLines = now[len(tc.initial):]
				start = saved
			} else {
				if reset == nil {
					t.Fatalf("Reset: got none, want %q", tc.reason)
				}
				if reset.Reason != tc.reason {
					t.Errorf("Reset.Reason: got %q, want %q", reset.Reason, tc.reason)
				}
				if reset.File != path {
					t.Errorf("Reset.File: got %q, want %q", reset.File, path)
				}
				if reset.Offset != saved.Offset {
					t.Errorf("Reset.Offset: got %d, want %d", reset.Offset, saved.Offset)
				}
				if !strings.Contains(reset.Error(), tc.reason) {
					t.Errorf("Reset.Error(): got %q, want it to say %q", reset.Error(), tc.reason)
				}
				checkCursor(t, g.Cursor(), path, "", 0)
			}
			bs := drain(t, g)
			checkBatches(t, start, bs)
			if got := joined(bs); got != wantLines {
				t.Fatal(diff(got, wantLines))
			}
			checkCursor(t, g.Cursor(), path, now, strings.Count(now, "\n"))

			// After the reset the file is followed as usual.
			appendFile(t, path, "next;1\n")
			bs = drain(t, g)
			if got := joined(bs); got != "next;1\n" {
				t.Errorf("line appended after re-reading: got %q, want %q", got, "next;1\n")
			}
			if want := strings.Count(now, "\n") + 1; len(bs) == 1 && bs[0].FirstLine != want {
				t.Errorf("line appended after re-reading: got FirstLine %d, want %d", bs[0].FirstLine, want)
			}
		})
	}
}

// TestOpenCursorWithoutFingerprint: an offset that has no fingerprint to
// check it against cannot be trusted, so reading starts over.
func TestOpenCursorWithoutFingerprint(t *testing.T) {
	path := filepath.Join(t.TempDir(), csvName(0))
	writeFile(t, path, "a;1\na;2\n")
	f, reset := open(t, path, Cursor{File: csvName(0), Offset: 4, Line: 1})
	if reset == nil || reset.Reason != "content replaced" {
		t.Fatalf("Reset: got %+v, want Reason %q", reset, "content replaced")
	}
	if got := joined(drain(t, f)); got != "a;1\na;2\n" {
		t.Errorf("got %q, want %q", got, "a;1\na;2\n")
	}
}

// TestOpenMissing: a missing file is an error that says so (Dir relies on
// it to notice a vanished file).
func TestOpenMissing(t *testing.T) {
	_, _, err := Open(OS, filepath.Join(t.TempDir(), "nope.csv"), Cursor{}, testMaxLine)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open of a missing file: got error %v, want one matching os.ErrNotExist", err)
	}
}

// TestCursorJSON checks the stored form of a Cursor: field names, and that
// 64-bit fingerprints survive the round trip exactly.
func TestCursorJSON(t *testing.T) {
	c := Cursor{File: csvName(3), Inode: math.MaxUint64 - 3, FPLen: 1024, FP: math.MaxUint64 - 1, Offset: 1<<40 + 5, Line: 123456}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"file":%q,"inode":%d,"fp_len":1024,"fp":%d,"offset":%d,"line":123456}`, csvName(3), uint64(math.MaxUint64-3), uint64(math.MaxUint64-1), int64(1<<40+5))
	if string(b) != want {
		t.Errorf("json.Marshal: got %s, want %s", b, want)
	}
	viaJSON(t, c)
	if b, _ := json.Marshal(Cursor{}); string(b) != `{"file":"","fp_len":0,"fp":0,"offset":0,"line":0}` {
		t.Errorf("json.Marshal(Cursor{}): got %s, want %s", b, `{"file":"","fp_len":0,"fp":0,"offset":0,"line":0}`)
	}
}
