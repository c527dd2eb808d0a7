package tail

import (
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path/filepath"
)

// FingerprintLen is how many leading bytes of a file identify it.
const FingerprintLen = 1024

// Cursor is a durable position in a log file.
type Cursor struct {
	File   string `json:"file"`            // base name of the file
	Inode  uint64 `json:"inode,omitempty"` // 0 where the system has none
	FPLen  int    `json:"fp_len"`          // bytes covered by FP
	FP     uint64 `json:"fp"`              // FNV-1a of the first FPLen bytes
	Offset int64  `json:"offset"`          // just past the last complete line consumed
	Line   int    `json:"line"`            // lines before Offset, for line numbers
	// Mtime is the file's modification time (Unix ns) when Offset was its
	// size, or 0. A file with that size and time is unchanged: opening it
	// reads nothing, which keeps an idle poll over SFTP free.
	Mtime int64 `json:"mtime,omitempty"`
}

// Reset says why a file is read again from its start.
type Reset struct {
	File   string
	Reason string // "truncated", "content replaced" or "gone"
	Offset int64  // the offset that was abandoned
}

func (r *Reset) Error() string {
	if r.Reason == "gone" {
		return fmt.Sprintf("%s is gone (cursor was at byte %d): going on with the next file", r.File, r.Offset)
	}
	return fmt.Sprintf("%s: %s (cursor was at byte %d): reading it again from the start", r.File, r.Reason, r.Offset)
}

// Lines is a run of complete lines read from a file.
type Lines struct {
	Data      []byte // the lines, each ending in '\n'; valid until the next Next
	FirstLine int    // line number of the first line in Data
	Cursor    Cursor // position just past Data
}

// File reads complete lines from one file.
type File struct {
	f       ReadFile
	path    string
	cur     Cursor
	buf     []byte
	maxLine int
	st      fs.FileInfo // at Open
}

// DefaultBufSize is the read size of a File: it bounds the memory used and
// the bytes handed to one Next.
const DefaultBufSize = 1 << 20

// Open opens path for reading at c, which may be the zero Cursor. If c does
// not fit the file any more, reading starts at 0 and reset says why. A line
// longer than the read buffer is returned cut to maxLine+1 bytes (at most
// the buffer), enough for the caller to see that it is too long; shorter
// lines are returned whole.
func Open(fsys FS, path string, c Cursor, maxLine int) (f *File, reset *Reset, err error) {
	fh, err := fsys.Open(path)
	if err != nil {
		return nil, nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, err
	}
	f = &File{f: fh, path: path, buf: make([]byte, DefaultBufSize), maxLine: maxLine, st: st}
	c.File = filepath.Base(path)
	c.Inode = inode(st)
	switch {
	case c.Offset > st.Size():
		reset = &Reset{File: path, Reason: "truncated", Offset: c.Offset}
	case c.Mtime != 0 && c.Mtime == st.ModTime().UnixNano() && c.Offset == st.Size():
		// Unchanged since the cursor was taken.
	case c.FPLen > 0:
		fp, n, err := fingerprint(fh, int64(c.FPLen))
		if err != nil {
			fh.Close()
			return nil, nil, err
		}
		if n != c.FPLen || fp != c.FP {
			reset = &Reset{File: path, Reason: "content replaced", Offset: c.Offset}
		}
	case c.Offset > 0:
		// An offset without a fingerprint cannot be checked: start over.
		reset = &Reset{File: path, Reason: "content replaced", Offset: c.Offset}
	}
	if reset != nil {
		c = Cursor{File: c.File, Inode: c.Inode}
	}
	f.cur = c
	return f, reset, nil
}

// Cursor returns the position after the last line returned.
func (f *File) Cursor() Cursor { return f.cur }

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// Next returns the next complete lines, up to the buffer's size, or io.EOF
// when no complete line follows the cursor. The returned data is only valid
// until the next call.
func (f *File) Next() (Lines, error) {
	n, err := f.f.ReadAt(f.buf, f.cur.Offset)
	if err != nil && !errors.Is(err, io.EOF) {
		return Lines{}, fmt.Errorf("read %s at %d: %w", f.path, f.cur.Offset, err)
	}
	data := f.buf[:n]
	end := bytes.LastIndexByte(data, '\n')
	if end >= 0 {
		data = data[:end+1]
		return f.advance(data, int64(len(data)))
	}
	if n < len(f.buf) {
		return Lines{}, io.EOF // only a half-written line
	}
	// A line longer than the buffer: find its end and hand back its head,
	// which is enough for the caller to see that it is too long.
	skip, err := f.lineEnd(f.cur.Offset + int64(n))
	if err != nil {
		return Lines{}, err
	}
	if skip < 0 {
		return Lines{}, io.EOF
	}
	n = min(max(f.maxLine+1, 0), len(f.buf))
	head := append(f.buf[:n:n], '\n')
	return f.advance(head, skip-f.cur.Offset)
}

// lineEnd returns the offset just past the first '\n' at or after off, or -1.
func (f *File) lineEnd(off int64) (int64, error) {
	scratch := make([]byte, 64<<10)
	for {
		n, err := f.f.ReadAt(scratch, off)
		if i := bytes.IndexByte(scratch[:n], '\n'); i >= 0 {
			return off + int64(i) + 1, nil
		}
		off += int64(n)
		if errors.Is(err, io.EOF) || n == 0 {
			return -1, nil
		}
		if err != nil {
			return 0, fmt.Errorf("read %s at %d: %w", f.path, off, err)
		}
	}
}

func (f *File) advance(data []byte, consumed int64) (Lines, error) {
	out := Lines{Data: data, FirstLine: f.cur.Line + 1}
	f.cur.Offset += consumed
	f.cur.Line += bytes.Count(data, []byte{'\n'})
	f.cur.Mtime = 0
	if f.cur.Offset == f.st.Size() {
		f.cur.Mtime = f.st.ModTime().UnixNano()
	}
	if f.cur.FPLen < FingerprintLen {
		fp, n, err := fingerprint(f.f, min(FingerprintLen, f.cur.Offset))
		if err != nil {
			return Lines{}, err
		}
		f.cur.FP, f.cur.FPLen = fp, n
	}
	out.Cursor = f.cur
	return out, nil
}

func fingerprint(r io.ReaderAt, n int64) (uint64, int, error) {
	b := make([]byte, n)
	got, err := r.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, 0, err
	}
	h := fnv.New64a()
	h.Write(b[:got])
	return h.Sum64(), got, nil
}
