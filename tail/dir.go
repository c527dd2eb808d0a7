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

// Files returns the base names of the CSV files in dir in reading order.
// Deadside names them YYYY.MM.DD-HH.MM.SS.csv, so name order is time order.
func Files(fsys FS, dir string) ([]string, error) {
	entries, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Mode().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".csv") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// Dir reads the CSV files of a folder in order, each to its end before the
// next, starting at a Cursor.
type Dir struct {
	fs      FS
	path    string
	maxLine int
	cur     Cursor
	file    *File
	// OnReset, if set, is called when a file is read again from its start
	// or the cursor's file has vanished.
	OnReset func(*Reset)
}

// OpenDir returns a Dir reading the folder path from c (the zero Cursor
// starts at the oldest file). Lines longer than maxLine are cut as in Open.
func OpenDir(fsys FS, path string, c Cursor, maxLine int) *Dir {
	return &Dir{fs: fsys, path: path, maxLine: maxLine, cur: c}
}

// Cursor returns the position after the last lines returned.
func (d *Dir) Cursor() Cursor { return d.cur }

// Close closes the open file, if any.
func (d *Dir) Close() error {
	if d.file == nil {
		return nil
	}
	err := d.file.Close()
	d.file = nil
	return err
}

// Next returns the next complete lines, moving on to a newer file when the
// current one has none left, or io.EOF when no file has a complete line
// past the cursor.
func (d *Dir) Next() (Lines, error) {
	for {
		if d.file == nil {
			if err := d.open(); err != nil {
				return Lines{}, err
			}
			if d.file == nil {
				return Lines{}, io.EOF
			}
		}
		lines, err := d.file.Next()
		if err == nil {
			d.cur = lines.Cursor
			return lines, nil
		}
		if !errors.Is(err, io.EOF) {
			return Lines{}, err
		}
		next, err := d.after(d.cur.File)
		if err != nil {
			return Lines{}, err
		}
		if next == "" {
			return Lines{}, io.EOF // stay on this file: it may grow
		}
		// A newer file exists, so this one is finished; but lines may have
		// been written to it between the read above and the listing.
		if lines, err := d.file.Next(); err == nil {
			d.cur = lines.Cursor
			return lines, nil
		} else if !errors.Is(err, io.EOF) {
			return Lines{}, err
		}
		d.Close()
		d.cur = Cursor{File: next}
	}
}

// open opens the cursor's file, or the oldest file after it when it is
// gone, or leaves d.file nil when there is nothing to read.
func (d *Dir) open() error {
	name := d.cur.File
	if name == "" {
		first, err := d.after("")
		if err != nil || first == "" {
			return err
		}
		name = first
		d.cur = Cursor{File: name}
	}
	f, reset, err := Open(d.fs, d.fs.Join(d.path, name), d.cur, d.maxLine)
	if errors.Is(err, fs.ErrNotExist) {
		next, err := d.after(name)
		if err != nil {
			return err
		}
		if d.OnReset != nil {
			d.OnReset(&Reset{File: d.fs.Join(d.path, name), Reason: "gone", Offset: d.cur.Offset})
		}
		if next == "" {
			return nil
		}
		d.cur = Cursor{File: next}
		return d.open()
	}
	if err != nil {
		return err
	}
	if reset != nil && d.OnReset != nil {
		d.OnReset(reset)
	}
	d.file = f
	d.cur = f.Cursor()
	return nil
}

// after returns the first file name sorting after name, or "".
func (d *Dir) after(name string) (string, error) {
	names, err := Files(d.fs, d.path)
	if err != nil {
		return "", fmt.Errorf("list %s: %w", d.path, err)
	}
	for _, n := range names {
		if n > name {
			return n, nil
		}
	}
	return "", nil
}
