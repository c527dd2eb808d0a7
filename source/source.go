package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"

	"killfeed/ingest"
	"killfeed/parser"
	"killfeed/storage"
	"killfeed/tail"
)

// Source follows one log of one server.
type Source struct {
	// Ingest says where lines go: scope, cursor name (ingest.KillfeedSource
	// or ingest.LogSource), time zone, logger and writer. ServerLog must be
	// set for a Deadside.log.
	Ingest ingest.Source
	DB     *storage.DB
	// Path is the killfeed folder, or with Ingest.ServerLog the Deadside.log
	// file, in FS syntax.
	Path string
	// Connect returns the file system to read: tail.OS, or an SFTP client.
	// A remote FS that has an Err() error method and reports an error is
	// connected again on the next wake-up.
	Connect func(context.Context) (tail.FS, error)
	Remote  bool
	// Poll is the time between two reads when nothing wakes the source.
	Poll time.Duration
	// Watch wakes the source on fsnotify events in the folder (local only).
	Watch bool
	// MinGap is the least time between two reads: Deadside.log is written
	// many times a second, and every read commits.
	MinGap time.Duration
	// CaughtUp, if set, is called after the first read reached the end of
	// what was there.
	CaughtUp func(ingest.Result)

	mu     sync.Mutex
	status Status
}

// Status is what a source is doing, for /status and the console.
type Status struct {
	Remote      bool
	Connected   bool      // the files can be reached
	LastError   string    // the last read or connection error, "" after a good read
	LastErrorAt time.Time // when it happened
	LastRead    time.Time // the last read that succeeded
	LastLine    time.Time // when a new line was last read
	Lines       int64     // lines read since start
}

// Status returns a copy of the source's status.
func (s *Source) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// maxBackoff bounds the wait between two connection attempts.
const maxBackoff = 5 * time.Minute

// Run follows the source until ctx is done. It returns an error only when
// the pipeline itself fails (the storage writer stopped); read and
// connection errors are logged, shown in Status and retried.
func (s *Source) Run(ctx context.Context) error {
	log := s.logger()
	s.mu.Lock()
	s.status.Remote = s.Remote
	s.mu.Unlock()

	cur, needHorizon, err := s.load()
	if err != nil {
		return err
	}

	wake := make(chan struct{}, 1)
	var w *watcher
	if s.Watch {
		w = newWatcher(s.watchDir(), wake, log)
		defer w.close()
	}
	ticker := time.NewTicker(s.Poll)
	defer ticker.Stop()

	var (
		fsys     tail.FS
		failures int
		caughtUp = s.CaughtUp == nil
		lastErr  string
		last     time.Time
	)
	for {
		if gap := s.MinGap - time.Since(last); gap > 0 && !last.IsZero() {
			if !sleep(ctx, gap) {
				return nil
			}
		}
		last = time.Now()
		if w != nil {
			w.ensure()
		}
		if fsys == nil {
			fsys, err = s.Connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				failures++
				s.fail(log, err, &lastErr)
				if !sleep(ctx, backoff(s.Poll, failures)) {
					return nil
				}
				continue
			}
			s.setConnected(true)
			if s.Remote {
				log.Info("connected")
			}
		}
		if needHorizon {
			if err := s.setHorizon(fsys, log); err == nil {
				needHorizon = false
			} else if !errors.Is(err, fs.ErrNotExist) {
				s.fail(log, err, &lastErr)
			}
		}
		res, next, err := s.read(ctx, fsys, cur)
		switch {
		case err == nil:
			cur, failures = next, 0
			if lastErr != "" {
				log.Info("reading again")
				lastErr = ""
			}
			s.ok(res)
			if !caughtUp {
				caughtUp = true
				s.CaughtUp(res)
			}
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, storage.ErrWriterStopped):
			return err
		default:
			failures++
			s.fail(log, err, &lastErr)
			// Some batches of the failed read may be committed: go on from
			// the stored cursor.
			if err := s.Ingest.Writer.Flush(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if cur, _, err = s.DB.Cursor(s.Ingest.Scope, s.Ingest.Name); err != nil {
				return err
			}
			if d, ok := fsys.(interface{ Err() error }); ok && d.Err() != nil {
				fsys = nil
				s.setConnected(false)
				if !sleep(ctx, backoff(s.Poll, failures)) {
					return nil
				}
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		case <-wake:
		}
	}
}

// logger returns the source's logger, naming the server, source and path.
func (s *Source) logger() *slog.Logger {
	log := s.Ingest.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return log.With("server", s.Ingest.Scope, "source", s.Ingest.Name, "path", s.Path)
}

// ReadOnce reads the source from its cursor to the end of what is there,
// once, as Run does on each wake-up.
func (s *Source) ReadOnce(ctx context.Context) (ingest.Result, error) {
	cur, needHorizon, err := s.load()
	if err != nil {
		return ingest.Result{}, err
	}
	fsys, err := s.Connect(ctx)
	if err != nil {
		return ingest.Result{}, err
	}
	if needHorizon {
		if err := s.setHorizon(fsys, s.logger()); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return ingest.Result{}, err
		}
	}
	res, _, err := s.read(ctx, fsys, cur)
	return res, err
}

// load returns the stored cursor and sets the stored horizon; needHorizon
// says the source has never run: its horizon is where its files end now.
func (s *Source) load() (cur tail.Cursor, needHorizon bool, err error) {
	cur, found, err := s.DB.Cursor(s.Ingest.Scope, s.Ingest.Name)
	if err != nil {
		return cur, false, err
	}
	h, hfound, err := s.DB.Horizon(s.Ingest.Scope, s.Ingest.Name)
	if err != nil {
		return cur, false, err
	}
	if hfound {
		s.Ingest.Horizon = &h
	}
	return cur, !found && !hfound, nil
}

func (s *Source) setHorizon(fsys tail.FS, log *slog.Logger) error {
	hz, ok, err := horizon(fsys, s.Path, s.Ingest.ServerLog)
	if err != nil || !ok {
		return err
	}
	s.Ingest.Horizon, s.Ingest.NewHorizon = &hz, true
	log.Info("first start: the lines already in the files are stored as history, not posted as news",
		"until", fmt.Sprintf("%s@%d", hz.File, hz.Offset))
	return nil
}

// read reads from cur to the end of what is complete.
func (s *Source) read(ctx context.Context, fsys tail.FS, cur tail.Cursor) (ingest.Result, tail.Cursor, error) {
	onReset := func(r *tail.Reset) {
		if s.Ingest.Log != nil {
			s.Ingest.Log.Warn("log file changed under the cursor", "server", s.Ingest.Scope, "source", s.Ingest.Name, "detail", r.Error())
		}
		if h := s.Ingest.Horizon; h != nil && h.File == filepath.Base(r.File) {
			s.Ingest.PassHorizon()
		}
	}
	var r interface {
		ingest.Lines
		io.Closer
		Cursor() tail.Cursor
	}
	if s.Ingest.ServerLog {
		l := tail.OpenLog(fsys, s.Path, cur, parser.MaxLineLen)
		l.OnReset = onReset
		r = l
	} else {
		d := tail.OpenDir(fsys, s.Path, cur, parser.MaxLineLen)
		d.OnReset = onReset
		r = d
	}
	defer r.Close()
	res, err := ingest.Read(ctx, &s.Ingest, r)
	return res, r.Cursor(), err
}

func (s *Source) ok(res ingest.Result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.status.Connected, s.status.LastError, s.status.LastRead = true, "", now
	if res.Lines > 0 {
		s.status.LastLine = now
		s.status.Lines += int64(res.Lines)
	}
}

func (s *Source) fail(log *slog.Logger, err error, last *string) {
	s.mu.Lock()
	s.status.LastError, s.status.LastErrorAt = err.Error(), time.Now()
	s.mu.Unlock()
	if err.Error() != *last { // the same error again is not news
		log.Warn("cannot read the source: retrying", "err", err)
		*last = err.Error()
	}
}

func (s *Source) setConnected(c bool) {
	s.mu.Lock()
	s.status.Connected = c
	s.mu.Unlock()
}

// watchDir is the folder whose notifications wake the source.
func (s *Source) watchDir() string {
	if s.Ingest.ServerLog {
		return filepath.Dir(s.Path)
	}
	return s.Path
}

// horizon returns the end of the source's files as they are now.
func horizon(fsys tail.FS, path string, serverLog bool) (tail.Cursor, bool, error) {
	name := path
	if !serverLog {
		names, err := tail.Files(fsys, path)
		if err != nil || len(names) == 0 {
			return tail.Cursor{}, false, err
		}
		name = fsys.Join(path, names[len(names)-1])
	}
	fi, err := fsys.Stat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return tail.Cursor{}, false, nil
	}
	if err != nil {
		return tail.Cursor{}, false, err
	}
	return tail.Cursor{File: fi.Name(), Offset: fi.Size()}, true, nil
}

// backoff is the wait after the n-th failure in a row: the poll interval,
// doubled with each failure, at most maxBackoff.
func backoff(poll time.Duration, n int) time.Duration {
	d := poll
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// sleep waits d, or returns false when ctx is done first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// watcher turns fsnotify events in a folder into wake-ups. A folder that
// cannot be watched (it does not exist yet, or the system has no
// notifications for it) leaves the poll timer to do the work.
type watcher struct {
	dir  string
	wake chan<- struct{}
	log  *slog.Logger
	w    *fsnotify.Watcher
	done chan struct{}
}

func newWatcher(dir string, wake chan<- struct{}, log *slog.Logger) *watcher {
	return &watcher{dir: dir, wake: wake, log: log}
}

// ensure starts watching, if it is not already.
func (w *watcher) ensure() {
	if w.w != nil {
		return
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return
	}
	if err := fw.Add(w.dir); err != nil {
		fw.Close()
		return
	}
	w.w, w.done = fw, make(chan struct{})
	go w.loop(fw, w.done)
}

func (w *watcher) loop(fw *fsnotify.Watcher, done chan struct{}) {
	defer close(done)
	for {
		select {
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if ev.Op&(fsnotify.Write|fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
				select {
				case w.wake <- struct{}{}:
				default:
				}
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			w.log.Debug("file notifications", "err", err)
		}
	}
}

func (w *watcher) close() {
	if w.w != nil {
		w.w.Close()
		<-w.done
	}
}

// Shared is one remote connection used by the sources of a server: every
// Connect returns the same connection while it works, and dials a new one
// once it has failed.
type Shared struct {
	Dial func(context.Context) (tail.FS, error)

	mu  sync.Mutex
	cur tail.FS
}

// Connect returns the working connection, dialling one if needed.
func (sh *Shared) Connect(ctx context.Context) (tail.FS, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.cur != nil {
		if d, ok := sh.cur.(interface{ Err() error }); !ok || d.Err() == nil {
			return sh.cur, nil
		}
		closeFS(sh.cur)
		sh.cur = nil
	}
	fsys, err := sh.Dial(ctx)
	if err != nil {
		return nil, err
	}
	sh.cur = fsys
	return fsys, nil
}

// Close closes the connection, if there is one.
func (sh *Shared) Close() error {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	err := closeFS(sh.cur)
	sh.cur = nil
	return err
}

func closeFS(fsys tail.FS) error {
	if c, ok := fsys.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
