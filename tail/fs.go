package tail

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// FS is where log files are read from: the local disk (OS) or a remote
// host (an SFTP client). Paths are in the FS's own syntax: Join builds them.
type FS interface {
	// Open opens a file for reading.
	Open(name string) (ReadFile, error)
	// ReadDir lists a folder.
	ReadDir(name string) ([]fs.FileInfo, error)
	// Stat describes a file. A file that does not exist gives an error
	// matching fs.ErrNotExist.
	Stat(name string) (fs.FileInfo, error)
	// Join joins path elements with the FS's separator.
	Join(elem ...string) string
}

// ReadFile is an open file of an FS. *os.File and *sftp.File are ones.
type ReadFile interface {
	io.ReaderAt
	io.Closer
	Stat() (fs.FileInfo, error)
}

// OS is the local file system.
var OS FS = osFS{}

type osFS struct{}

func (osFS) Open(name string) (ReadFile, error) { return os.Open(name) }
func (osFS) Stat(name string) (fs.FileInfo, error) {
	return os.Stat(name)
}
func (osFS) Join(elem ...string) string { return filepath.Join(elem...) }

func (osFS) ReadDir(name string) ([]fs.FileInfo, error) {
	entries, err := os.ReadDir(name)
	if err != nil {
		return nil, err
	}
	out := make([]fs.FileInfo, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			continue // removed since the listing
		}
		out = append(out, fi)
	}
	return out, nil
}
