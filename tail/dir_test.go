package tail

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestFiles lists the CSV files of a folder, oldest first, leaving out other
// files and folders.
func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		"2025.05.02-00.00.00.csv",
		"2025.05.01-12.30.00.csv",
		"2025.05.01-00.00.00.CSV",
		"2025.04.30-23.59.59.csv",
		"notes.txt",
		"2025.05.01-00.00.00.csv.bak",
		"2025.05.01-00.00.00.csv.gz",
		"csv",
	} {
		writeFile(t, filepath.Join(dir, name), "x\n")
	}
	for _, name := range []string{"2025.01.01-00.00.00.csv", "old"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Files(OS, dir)
	if err != nil {
		t.Fatalf("Files: got error %v, want none", err)
	}
	want := []string{
		"2025.04.30-23.59.59.csv",
		"2025.05.01-00.00.00.CSV",
		"2025.05.01-12.30.00.csv",
		"2025.05.02-00.00.00.csv",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Files: got %q, want %q", got, want)
	}

	if got, err := Files(OS, t.TempDir()); err != nil || len(got) != 0 {
		t.Errorf("Files of an empty folder: got %q, %v, want no names and no error", got, err)
	}
	if _, err := Files(OS, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Files of a missing folder: got error %v, want one matching os.ErrNotExist", err)
	}
}

// resetLog records the Resets a Dir reports.
type resetLog struct {
	mu     sync.Mutex
	resets []Reset
}

func (l *resetLog) add(r *Reset) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resets = append(l.resets, *r)
}

func (l *resetLog) get() []Reset {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.resets)
}

// dirReader polls a folder the ways a caller may: one Dir kept open, or a
// new Dir per poll from the cursor of the last batch (as the application
// does) or from Dir.Cursor().
type dirReader struct {
	mode   string // "one Dir", "new Dir per poll", "new Dir per poll from Dir.Cursor"
	path   string
	dir    *Dir
	cursor Cursor // where the next poll starts
	resets resetLog
}

var dirModes = []string{"one Dir", "new Dir per poll", "new Dir per poll from Dir.Cursor"}

func newDirReader(t *testing.T, mode, path string, c Cursor) *dirReader {
	r := &dirReader{mode: mode, path: path, cursor: c}
	if mode == "one Dir" {
		r.dir = OpenDir(OS, path, c, testMaxLine)
		r.dir.OnReset = r.resets.add
		t.Cleanup(func() { r.dir.Close() })
	}
	return r
}

// poll reads everything there is and checks the batches.
func (r *dirReader) poll(t *testing.T) []batch {
	t.Helper()
	d := r.dir
	if d == nil {
		d = OpenDir(OS, r.path, viaJSON(t, r.cursor), testMaxLine)
		d.OnReset = r.resets.add
		defer d.Close()
	}
	bs := drain(t, d)
	checkBatches(t, r.cursor, bs)
	if len(bs) > 0 {
		if got, want := d.Cursor(), bs[len(bs)-1].Cursor; got.File == want.File && got != want {
			t.Errorf("Dir.Cursor(): got %+v, want the last batch's %+v", got, want)
		}
	}
	switch {
	case r.mode == "new Dir per poll from Dir.Cursor":
		r.cursor = d.Cursor()
	case len(bs) > 0:
		r.cursor = bs[len(bs)-1].Cursor
	}
	return bs
}

// checkOwners checks that every non-empty line of a batch carries the tag
// of the file its cursor names.
func checkOwners(t *testing.T, bs []batch, tag func(file string) string) {
	t.Helper()
	for i, b := range bs {
		want := tag(b.Cursor.File)
		for line := range strings.Lines(b.Data) {
			if strings.TrimRight(line, "\r\n") != "" && !strings.Contains(line, want) {
				t.Errorf("batch %d: got line %s under Cursor.File %s, want only lines containing %q", i, short(line), b.Cursor.File, want)
				return
			}
		}
	}
}

// fileTag is the tag the scenarios put in the lines of csvName(i).
func fileTag(file string) string {
	for i := range 100 {
		if csvName(i) == file {
			return fmt.Sprintf("F%d-", i)
		}
	}
	return "unknown file " + file
}

// TestDirRotation plays scenarios of writes to a folder, polling after
// each step: every poll returns exactly the complete lines not yet
// returned, older files first, each file to its end before the next.
func TestDirRotation(t *testing.T) {
	type write struct {
		file int // csvName(file)
		data string
	}
	type step struct {
		writes []write
		want   string // lines handed back by the poll after the writes
	}
	var big strings.Builder
	for i := 0; big.Len() < 2*DefaultBufSize+DefaultBufSize/3; i++ {
		fmt.Fprintf(&big, "F0-%d;2025.05.01-00.00.00;Killer;1;Victim;2;AK;%d;\n", i, i%700)
	}
	scenarios := []struct {
		name  string
		steps []step
	}{
		{"new file while the old one has unread lines", []step{
			{[]write{{0, "F0-1\nF0-2\n"}}, "F0-1\nF0-2\n"},
			{[]write{{0, "F0-3\nF0-4\n"}, {1, "F1-1\n"}}, "F0-3\nF0-4\nF1-1\n"},
			{[]write{{1, "F1-2\n"}}, "F1-2\n"},
		}},
		{"lines appended to the old file right before the new one", []step{
			{[]write{{0, "F0-1\n"}}, "F0-1\n"},
			{[]write{{0, "F0-2\nF0-"}}, "F0-2\n"},
			{[]write{{0, "3\n"}, {1, ""}}, "F0-3\n"},
			{[]write{{1, "F1-1\nF1-2\n"}, {2, "F2-1\n"}}, "F1-1\nF1-2\nF2-1\n"},
			{nil, ""},
		}},
		{"several files before the first poll", []step{
			{[]write{{0, "F0-1\n"}, {1, "F1-1\n\n"}, {2, "F2-1\r\n"}, {3, "F3-1\nF3-2\n"}}, "F0-1\nF1-1\n\nF2-1\r\nF3-1\nF3-2\n"},
		}},
		{"empty newer file, then its lines", []step{
			{[]write{{0, "F0-1\n"}}, "F0-1\n"},
			{[]write{{1, ""}}, ""},
			{[]write{{1, "F1-1\nF1-"}}, "F1-1\n"},
			{[]write{{1, "2\n"}}, "F1-2\n"},
		}},
		{"more than a buffer unread in the old file", []step{
			{[]write{{0, "F0-first\n"}}, "F0-first\n"},
			{[]write{{0, big.String()}, {1, "F1-1\n"}}, big.String() + "F1-1\n"},
		}},
		{"half line in the old file ended, new file half written", []step{
			{[]write{{0, "F0-1\nF0-2"}}, "F0-1\n"},
			{[]write{{0, "\n"}, {1, "F1-1"}}, "F0-2\n"},
			{[]write{{1, "\n"}}, "F1-1\n"},
		}},
	}
	for _, sc := range scenarios {
		for _, mode := range dirModes {
			t.Run(sc.name+"/"+mode, func(t *testing.T) {
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "notes.txt"), "not a killfeed\n")
				r := newDirReader(t, mode, dir, Cursor{})
				for i, s := range sc.steps {
					for _, w := range s.writes {
						appendFile(t, filepath.Join(dir, csvName(w.file)), w.data)
					}
					bs := r.poll(t)
					checkOwners(t, bs, fileTag)
					if got := joined(bs); got != s.want {
						t.Fatalf("poll after step %d: %s", i, diff(got, s.want))
					}
				}
				if got := r.resets.get(); len(got) != 0 {
					t.Errorf("OnReset: got %+v, want no calls", got)
				}
			})
		}
	}
}

// TestDirRandomSchedule writes several files in random chunks (often
// mid-line), starting each new file only when the previous one is
// complete, and polls at random moments: each poll must return exactly the
// complete lines not returned before, in file order.
func TestDirRandomSchedule(t *testing.T) {
	for _, mode := range dirModes {
		for seed := uint64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", mode, seed), func(t *testing.T) {
				rng := rand.New(rand.NewPCG(seed, 99))
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "server.log"), "noise\n")
				const nfiles = 6
				var contents [nfiles]string
				for i := range contents {
					if rng.IntN(6) > 0 { // some files stay empty
						contents[i] = randomLines(rng, fmt.Sprintf("F%d", i), 20+rng.IntN(150))
					}
				}
				r := newDirReader(t, mode, dir, Cursor{})
				var got, done strings.Builder // done: the files complete so far
				cur, written := 0, 0
				poll := func() {
					t.Helper()
					bs := r.poll(t)
					checkOwners(t, bs, fileTag)
					got.WriteString(joined(bs))
					want := done.String() + complete(contents[cur][:written])
					if got.String() != want {
						t.Fatalf("poll (writing file %d, %d of %d bytes written): %s", cur, written, len(contents[cur]), diff(got.String(), want))
					}
				}
				poll() // nothing there yet
				appendFile(t, filepath.Join(dir, csvName(0)), "")
				for {
					if rng.IntN(3) == 0 {
						poll()
						continue
					}
					if written < len(contents[cur]) {
						n := min(chunkLen(rng), len(contents[cur])-written)
						appendFile(t, filepath.Join(dir, csvName(cur)), contents[cur][written:written+n])
						written += n
						continue
					}
					if cur+1 == nfiles {
						break
					}
					done.WriteString(contents[cur])
					cur, written = cur+1, 0
					appendFile(t, filepath.Join(dir, csvName(cur)), "")
				}
				poll()
				if got.String() != strings.Join(contents[:], "") {
					t.Fatal(diff(got.String(), strings.Join(contents[:], "")))
				}
				if got := r.resets.get(); len(got) != 0 {
					t.Errorf("OnReset: got %+v, want no calls", got)
				}
			})
		}
	}
}

// TestDirConcurrentWriter reads a folder while another goroutine writes
// it like the game does (random chunks, a new file once the previous one is
// complete): once the writer is done, the reader has every line exactly
// once, in order, whatever the timing of rotations against reads.
func TestDirConcurrentWriter(t *testing.T) {
	const nfiles = 8
	for _, mode := range dirModes[:2] {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			rng := rand.New(rand.NewPCG(5, 6))
			var contents [nfiles]string
			for i := range contents {
				contents[i] = randomLines(rng, fmt.Sprintf("F%d", i), 100+rng.IntN(200))
			}
			done := make(chan error, 1)
			go func() {
				wr := rand.New(rand.NewPCG(7, 8))
				for i, c := range contents {
					f, err := os.OpenFile(filepath.Join(dir, csvName(i)), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
					if err != nil {
						done <- err
						return
					}
					for len(c) > 0 {
						n := min(chunkLen(wr), len(c))
						if _, err := f.WriteString(c[:n]); err != nil {
							f.Close()
							done <- err
							return
						}
						c = c[n:]
						if wr.IntN(4) == 0 {
							time.Sleep(time.Duration(wr.IntN(200)) * time.Microsecond)
						}
					}
					if err := f.Close(); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			r := newDirReader(t, mode, dir, Cursor{})
			var got strings.Builder
			want := strings.Join(contents[:], "")
			for finished := false; !finished; {
				select {
				case err := <-done:
					if err != nil {
						t.Fatal(err)
					}
					finished = true // one more poll reads the rest
				default:
				}
				bs := r.poll(t)
				checkOwners(t, bs, fileTag)
				got.WriteString(joined(bs))
				if !strings.HasPrefix(want, got.String()) {
					t.Fatalf("lines read while writing: %s", diff(got.String(), want[:min(len(want), got.Len())]))
				}
				if len(bs) == 0 {
					time.Sleep(50 * time.Microsecond)
				}
			}
			if got.String() != want {
				t.Fatal(diff(got.String(), want))
			}
			if got := r.resets.get(); len(got) != 0 {
				t.Errorf("OnReset: got %+v, want no calls", got)
			}
		})
	}
}

// TestDirStart checks where a Dir starts: the zero cursor at the oldest
// file, a cursor on a file at that file (older files are skipped), at its
// offset.
func TestDirStart(t *testing.T) {
	dir := t.TempDir()
	// Written newest first: only the names give the order.
	for i := 2; i >= 0; i-- {
		writeFile(t, filepath.Join(dir, csvName(i)), fmt.Sprintf("F%d-1\nF%d-2\nF%d-3\n", i, i, i))
	}
	if err := os.Mkdir(filepath.Join(dir, "2025.01.01-00.00.00.csv"), 0o755); err != nil {
		t.Fatal(err) // a folder with a CSV name, sorting first
	}
	writeFile(t, filepath.Join(dir, "0000.txt"), "noise\n")
	all := "F0-1\nF0-2\nF0-3\nF1-1\nF1-2\nF1-3\nF2-1\nF2-2\nF2-3\n"

	// The cursor after "F1-1\n", as a reader that got only that far saved it.
	f := openNoReset(t, filepath.Join(dir, csvName(1)), Cursor{})
	partB := "F1-1\n"
	mid := f.Cursor()
	mid.Offset, mid.Line = int64(len(partB)), 1
	mid.FP, mid.FPLen = fpOf(partB)

	cases := []struct {
		name      string
		cursor    Cursor
		want      string
		firstLine int
	}{
		{"zero cursor", Cursor{}, all, 1},
		{"cursor naming the middle file only", Cursor{File: csvName(1)}, all[len("F0-1\nF0-2\nF0-3\n"):], 1},
		{"cursor in the middle file", mid, all[len("F0-1\nF0-2\nF0-3\nF1-1\n"):], 2},
		{"cursor at the end of the newest file", func() Cursor {
			c := Cursor{File: csvName(2), Offset: 15, Line: 3}
			c.FP, c.FPLen = fpOf("F2-1\nF2-2\nF2-3\n")
			return c
		}(), "", 0},
	}
	for _, tc := range cases {
		for _, mode := range dirModes {
			t.Run(tc.name+"/"+mode, func(t *testing.T) {
				r := newDirReader(t, mode, dir, tc.cursor)
				bs := r.poll(t)
				checkOwners(t, bs, fileTag)
				if got := joined(bs); got != tc.want {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
				if len(bs) > 0 && bs[0].FirstLine != tc.firstLine {
					t.Errorf("first batch: got FirstLine %d, want %d", bs[0].FirstLine, tc.firstLine)
				}
				if got := r.resets.get(); len(got) != 0 {
					t.Errorf("OnReset: got %+v, want no calls", got)
				}
			})
		}
	}
}

// TestDirResumeAcrossRotation stops a reader in the middle of a file, then
// more lines arrive in that file and in newer ones; a Dir opened at the
// saved cursor goes on exactly where the first stopped.
func TestDirResumeAcrossRotation(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, csvName(0)), filepath.Join(dir, csvName(1)), filepath.Join(dir, csvName(2))
	writeFile(t, a, "F0-1\nF0-2\nF0-")
	d := OpenDir(OS, dir, Cursor{}, testMaxLine)
	bs := drain(t, d)
	d.Close()
	if got, want := joined(bs), "F0-1\nF0-2\n"; got != want {
		t.Fatalf("first reader: got %q, want %q", got, want)
	}
	saved := viaJSON(t, d.Cursor())
	checkCursor(t, saved, a, "F0-1\nF0-2\n", 2)

	appendFile(t, a, "3\nF0-4\n")
	writeFile(t, b, "F1-1\n")
	writeFile(t, c, "F2-1\nF2-2\n")
	var resets resetLog
	d = OpenDir(OS, dir, saved, testMaxLine)
	d.OnReset = resets.add
	defer d.Close()
	bs = drain(t, d)
	checkBatches(t, saved, bs)
	checkOwners(t, bs, fileTag)
	if got, want := joined(bs), "F0-3\nF0-4\nF1-1\nF2-1\nF2-2\n"; got != want {
		t.Fatalf("resumed reader: got %q, want %q", got, want)
	}
	checkCursor(t, d.Cursor(), c, "F2-1\nF2-2\n", 2)
	if got := resets.get(); len(got) != 0 {
		t.Errorf("OnReset: got %+v, want no calls", got)
	}
}

// TestDirGone: when the cursor's file has vanished, a Dir goes on with the
// next newer file (never an older one) and calls OnReset with "gone".
func TestDirGone(t *testing.T) {
	for _, mode := range dirModes {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			older, gone := filepath.Join(dir, csvName(0)), filepath.Join(dir, csvName(1))
			writeFile(t, older, "F0-1\n")
			writeFile(t, gone, "F1-1\nF1-2\n")
			f := openNoReset(t, gone, Cursor{})
			drain(t, f)
			saved := f.Cursor()
			f.Close()
			if err := os.Remove(gone); err != nil {
				t.Fatal(err)
			}

			// No newer file yet: nothing to read, the older file stays unread.
			r := newDirReader(t, mode, dir, saved)
			if bs := r.poll(t); len(bs) > 0 {
				t.Fatalf("no newer file: got %q, want nothing", joined(bs))
			}
			resets := r.resets.get()
			if len(resets) == 0 {
				t.Fatalf("OnReset: got no calls, want one with Reason \"gone\"")
			}
			for _, rs := range resets {
				if rs.Reason != "gone" || rs.File != gone || rs.Offset != saved.Offset {
					t.Errorf("OnReset: got %+v, want {File:%s Reason:gone Offset:%d}", rs, gone, saved.Offset)
				}
			}

			// Newer files appear: the first after the vanished one is read
			// from its start, then the next.
			writeFile(t, filepath.Join(dir, csvName(3)), "F3-1\n")
			writeFile(t, filepath.Join(dir, csvName(2)), "F2-1\nF2-2\n")
			r.resets = resetLog{}
			bs := r.poll(t)
			checkOwners(t, bs, fileTag)
			if got, want := joined(bs), "F2-1\nF2-2\nF3-1\n"; got != want {
				t.Fatalf("newer files: got %q, want %q", got, want)
			}
			if len(bs) > 0 && bs[0].FirstLine != 1 {
				t.Errorf("first line of the next file: got FirstLine %d, want 1", bs[0].FirstLine)
			}
			resets = r.resets.get()
			if mode == "one Dir" {
				if len(resets) > 1 {
					t.Errorf("OnReset: got %+v, want at most one call", resets)
				}
			} else if len(resets) != 1 || resets[0].Reason != "gone" || resets[0].File != gone || resets[0].Offset != saved.Offset {
				t.Errorf("OnReset: got %+v, want one call {File:%s Reason:gone Offset:%d}", resets, gone, saved.Offset)
			}
			if bs := r.poll(t); len(bs) > 0 {
				t.Errorf("poll after reading everything: got %q, want nothing", joined(bs))
			}
		})
	}
}

// TestDirChangedFile: when the cursor's file was truncated or its first
// bytes changed, the Dir reads it again from the start, says so through
// OnReset, and goes on with newer files.
func TestDirChangedFile(t *testing.T) {
	cases := []struct {
		name   string
		now    string
		reason string
	}{
		{"truncated", "F1-x\n", "truncated"},
		{"truncated and regrown", "F1-x\nF1-y\nF1-z\nF1-w\n", "content replaced"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, csvName(1))
			writeFile(t, filepath.Join(dir, csvName(0)), "F0-1\n")
			writeFile(t, path, "F1-1\nF1-2\n")
			f := openNoReset(t, path, Cursor{})
			drain(t, f)
			saved := viaJSON(t, f.Cursor())
			f.Close()

			writeFile(t, path, tc.now)
			writeFile(t, filepath.Join(dir, csvName(2)), "F2-1\n")
			var resets resetLog
			d := OpenDir(OS, dir, saved, testMaxLine)
			d.OnReset = resets.add
			defer d.Close()
			bs := drain(t, d)
			checkBatches(t, Cursor{File: csvName(1)}, bs)
			if got, want := joined(bs), tc.now+"F2-1\n"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			want := []Reset{{File: path, Reason: tc.reason, Offset: saved.Offset}}
			if got := resets.get(); !slices.Equal(got, want) {
				t.Errorf("OnReset: got %+v, want %+v", got, want)
			}
		})
	}
}

// TestDirEmptyAndMissingFolder: an empty folder has nothing to read; a
// missing one is an error, not io.EOF.
func TestDirEmptyAndMissingFolder(t *testing.T) {
	d := OpenDir(OS, t.TempDir(), Cursor{}, testMaxLine)
	defer d.Close()
	if _, err := d.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("empty folder: got error %v, want io.EOF", err)
	}
	if got := d.Cursor(); got != (Cursor{}) {
		t.Errorf("empty folder: got Cursor %+v, want the zero Cursor", got)
	}

	m := OpenDir(OS, filepath.Join(t.TempDir(), "missing"), Cursor{}, testMaxLine)
	defer m.Close()
	if _, err := m.Next(); err == nil || errors.Is(err, io.EOF) {
		t.Errorf("missing folder: got error %v, want an error other than io.EOF", err)
	}
}

// TestDirRotationRace aims at the moment the design worries about: the
// game appends the last lines to the old file and creates the new one while
// the reader, already at the old file's end, is between reading it and
// listing the folder. The old file's last line must still come before the
// new file's. The writer waits until the reader is on a file before ending
// it, and many unrelated files in the folder make the listing slow, so
// most rotations land inside that window.
func TestDirRotationRace(t *testing.T) {
	dir := t.TempDir()
	for i := range 1000 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("server-%04d.log", i)), "")
	}
	const nfiles = 40
	var want strings.Builder
	for i := range nfiles {
		fmt.Fprintf(&want, "F%d-1\nF%d-2\n", i, i)
	}
	var onFile atomic.Int64 // index of the file the reader is on
	onFile.Store(-1)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range nfiles {
			p := filepath.Join(dir, csvName(i))
			if err := os.WriteFile(p, []byte(fmt.Sprintf("F%d-1\n", i)), 0o644); err != nil {
				done <- err
				return
			}
			for onFile.Load() != int64(i) {
				select {
				case <-stop:
					done <- nil
					return
				case <-time.After(20 * time.Microsecond):
				}
			}
			time.Sleep(time.Duration(rng.IntN(300)) * time.Microsecond)
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				done <- err
				return
			}
			_, err = fmt.Fprintf(f, "F%d-2\n", i)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	defer close(stop)

	d := OpenDir(OS, dir, Cursor{}, testMaxLine)
	defer d.Close()
	var (
		got  strings.Builder
		prev Cursor
	)
	deadline := time.Now().Add(60 * time.Second)
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true // one more pass reads the rest
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: got %s, want %s", short(got.String()), short(want.String()))
		}
		for {
			l, err := d.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("Next: got error %v, want lines or io.EOF", err)
			}
			b := batch{string(l.Data), l.FirstLine, l.Cursor}
			checkBatches(t, prev, []batch{b})
			checkOwners(t, []batch{b}, fileTag)
			got.WriteString(b.Data)
			prev = b.Cursor
			if !strings.HasPrefix(want.String(), got.String()) {
				t.Fatal(diff(got.String(), want.String()[:min(want.Len(), got.Len())]))
			}
		}
		for i := range nfiles {
			if d.Cursor().File == csvName(i) {
				onFile.Store(int64(i))
			}
		}
	}
	if got.String() != want.String() {
		t.Fatal(diff(got.String(), want.String()))
	}
}
