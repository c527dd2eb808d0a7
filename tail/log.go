package tail

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// Log reads a log file that is replaced at every server start, as
// Deadside.log is: the game renames the old log to a backup copy
// (Deadside-backup-2025.05.17-02.01.30.log) and starts a new file under the
// same name. When the cursor's file turns out to be replaced, Log finds the
// backup that the cursor fits, reads it to its end, and then reads the new
// log from its start, so no line of the old run is lost.
type Log struct {
	fs      FS
	path    string
	maxLine int
	cur     Cursor
	file    *File
	// OnReset, if set, is called when the log is read again from its start.
	OnReset func(*Reset)
}

// maxBackups bounds the backup copies looked at to find the cursor's file.
const maxBackups = 8

// OpenLog returns a Log reading path from c (the zero Cursor starts at the
// beginning of the current file).
func OpenLog(fsys FS, path string, c Cursor, maxLine int) *Log {
	return &Log{fs: fsys, path: path, maxLine: maxLine, cur: c}
}

// Cursor returns the position after the last lines returned.
func (l *Log) Cursor() Cursor { return l.cur }

// Close closes the open file, if any.
func (l *Log) Close() error {
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// Next returns the next complete lines, or io.EOF when none follow the
// cursor (also while the log does not exist).
func (l *Log) Next() (Lines, error) {
	for {
		if l.file == nil {
			if err := l.open(); err != nil {
				return Lines{}, err
			}
			if l.file == nil {
				return Lines{}, io.EOF
			}
		}
		lines, err := l.file.Next()
		if err == nil {
			l.cur = lines.Cursor
			return lines, nil
		}
		if !errors.Is(err, io.EOF) || l.cur.File == filepath.Base(l.path) {
			return Lines{}, err
		}
		// The end of a backup: go on with the current log from its start.
		l.Close()
		l.cur = Cursor{File: filepath.Base(l.path)}
	}
}

func (l *Log) open() error {
	base := filepath.Base(l.path)
	if l.cur.File != "" && l.cur.File != base {
		// The cursor is in a backup copy.
		f, reset, err := Open(l.fs, l.fs.Join(l.dirOf(), l.cur.File), l.cur, l.maxLine)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			l.report(&Reset{File: l.cur.File, Reason: "gone", Offset: l.cur.Offset})
			l.cur = Cursor{File: base}
		case err != nil:
			return err
		case reset != nil:
			// Not the file the cursor was in after all: its rest is lost.
			f.Close()
			l.report(&Reset{File: l.cur.File, Reason: "gone", Offset: l.cur.Offset})
			l.cur = Cursor{File: base}
		default:
			l.file, l.cur = f, f.Cursor()
			return nil
		}
	}
	f, reset, err := Open(l.fs, l.path, l.cur, l.maxLine)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // no log yet: the server has not started
	}
	if err != nil {
		return err
	}
	if reset != nil && l.cur.Offset > 0 {
		if b, err := l.findBackup(); err != nil {
			f.Close()
			return err
		} else if b != nil {
			f.Close()
			l.file, l.cur = b, b.Cursor()
			return nil
		}
	}
	if reset != nil {
		l.report(reset)
	}
	l.file, l.cur = f, f.Cursor()
	return nil
}

// findBackup opens, at the cursor, the newest backup copy of the log that
// the cursor fits, or returns nil when there is none.
func (l *Log) findBackup() (*File, error) {
	base := filepath.Base(l.path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	infos, err := l.fs.ReadDir(l.dirOf())
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.dirOf(), err)
	}
	var cands []fs.FileInfo
	for _, fi := range infos {
		n := fi.Name()
		if n != base && fi.Mode().IsRegular() && strings.HasPrefix(n, stem) &&
			strings.EqualFold(filepath.Ext(n), filepath.Ext(base)) && fi.Size() >= l.cur.Offset {
			cands = append(cands, fi)
		}
	}
	slices.SortFunc(cands, func(a, b fs.FileInfo) int { return b.ModTime().Compare(a.ModTime()) })
	for _, fi := range cands[:min(len(cands), maxBackups)] {
		c := l.cur
		c.File, c.Mtime = fi.Name(), 0
		f, reset, err := Open(l.fs, l.fs.Join(l.dirOf(), fi.Name()), c, l.maxLine)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if reset == nil && c.FPLen > 0 {
			return f, nil
		}
		f.Close()
	}
	return nil, nil
}

// dirOf returns the folder of the log, in the FS's syntax.
func (l *Log) dirOf() string {
	i := strings.LastIndexAny(l.path, `/\`)
	if i < 0 {
		return "."
	}
	if i == 0 {
		return l.path[:1]
	}
	return l.path[:i]
}

func (l *Log) report(r *Reset) {
	if l.OnReset != nil {
		l.OnReset(r)
	}
}
