package source_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"killfeed/internal/fakelog"
	"killfeed/source"
	"killfeed/storage"
	"killfeed/tail"
)

const (
	sftpUser     = "deadside"
	sftpPassword = "s3cret-Pa55word"
	// killfeedDir is where Deadside keeps its killfeed, relative to the
	// SFTP user's home, as game hosts show it.
	killfeedDir = "Deadside/Saved/actual1/deathlogs/world_0"
)

// sftpServer is an SSH server on 127.0.0.1 serving its Root folder over
// SFTP, with switches to break it the ways networks and game hosts do.
type sftpServer struct {
	Root     string
	port     int
	hostKeys []ssh.Signer // the first is the one the bot prefers

	// Options, set before start.
	kex, ciphers []string      // nil: x/crypto's defaults
	kbdOnly      bool          // keyboard-interactive instead of password
	clientKey    ssh.PublicKey // also accept this key
	silent       bool          // accept TCP connections, never answer
	writeDelay   atomic.Int64  // before each write to a client, in ns

	sent atomic.Int64 // bytes written to clients: what the bot reads
	recv atomic.Int64 // bytes read from clients: what the bot sends

	ln      net.Listener
	cfg     *ssh.ServerConfig
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[*serverConn]bool
	down    bool          // close connections as they come
	stall   chan struct{} // non-nil: hold requests until it is closed
	closing bool
}

// startSFTP starts a server with a fixed ed25519 host key and password
// login, after opts; it stops when the test ends.
func startSFTP(tb testing.TB, opts ...func(*sftpServer)) *sftpServer {
	tb.Helper()
	s := &sftpServer{Root: tb.TempDir(), hostKeys: []ssh.Signer{edKey(1)}, conns: map[*serverConn]bool{}}
	for _, o := range opts {
		o(s)
	}
	s.cfg = &ssh.ServerConfig{Config: ssh.Config{KeyExchanges: s.kex, Ciphers: s.ciphers}}
	if s.kbdOnly {
		s.cfg.KeyboardInteractiveCallback = func(c ssh.ConnMetadata, ask ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := ask("", "Log in to the game panel", []string{"Password: "}, []bool{false})
			if err == nil && c.User() == sftpUser && len(ans) == 1 && ans[0] == sftpPassword {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	} else {
		s.cfg.PasswordCallback = func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if c.User() == sftpUser && string(pw) == sftpPassword {
				return nil, nil
			}
			return nil, errors.New("wrong password")
		}
	}
	if s.clientKey != nil {
		s.cfg.PublicKeyCallback = func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == sftpUser && bytes.Equal(k.Marshal(), s.clientKey.Marshal()) {
				return nil, nil
			}
			return nil, errors.New("unknown key")
		}
	}
	for _, k := range s.hostKeys {
		s.cfg.AddHostKey(k)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s.ln, s.port = ln, ln.Addr().(*net.TCPAddr).Port
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.close)
	return s
}

func (s *sftpServer) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &serverConn{Conn: nc, srv: s, closed: make(chan struct{})}
		s.mu.Lock()
		if s.down || s.closing {
			s.mu.Unlock()
			nc.Close()
			continue
		}
		s.conns[c] = true
		s.mu.Unlock()
		if !s.silent { // a silent server holds the connection until it stops
			s.wg.Add(1)
			go s.handle(c)
		}
	}
}

func (s *sftpServer) handle(c *serverConn) {
	defer s.wg.Done()
	defer s.forget(c)
	sc, chans, reqs, err := ssh.NewServerConn(c, s.cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		ssh.DiscardRequests(reqs)
	}()
	for nc := range chans {
		if nc.ChannelType() != "session" {
			nc.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer ch.Close()
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				s.wg.Add(1)
				go func() {
					defer s.wg.Done()
					srv, err := sftp.NewServer(ch, sftp.WithServerWorkingDirectory(s.Root), sftp.ReadOnly())
					if err != nil {
						ch.Close()
						return
					}
					srv.Serve()
					srv.Close()
				}()
			}
		}()
	}
}

func (s *sftpServer) forget(c *serverConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// Drop cuts every connection, as a network failure does.
func (s *sftpServer) Drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// SetDown makes the server refuse new connections, or take them again.
func (s *sftpServer) SetDown(down bool) {
	s.mu.Lock()
	s.down = down
	s.mu.Unlock()
}

// Stall holds every request the server receives until Stall(false).
func (s *sftpServer) Stall(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case on && s.stall == nil:
		s.stall = make(chan struct{})
	case !on && s.stall != nil:
		close(s.stall)
		s.stall = nil
	}
}

func (s *sftpServer) close() {
	s.ln.Close()
	s.mu.Lock()
	s.closing = true
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// config is how the bot reaches the server: its first host key pinned.
func (s *sftpServer) config() source.SFTPConfig {
	return source.SFTPConfig{
		Host: "127.0.0.1", Port: s.port, User: sftpUser, Password: sftpPassword,
		HostKey: ssh.FingerprintSHA256(s.hostKeys[0].PublicKey()),
		Timeout: 5 * time.Second,
	}
}

// local returns the server's file for a remote path.
func (s *sftpServer) local(remote string) string {
	return filepath.Join(s.Root, filepath.FromSlash(remote))
}

// serverConn is a server's side of a connection: it counts what it sends
// and holds what it receives while the server stalls.
type serverConn struct {
	net.Conn
	srv    *sftpServer
	closed chan struct{}
	once   sync.Once
}

func (c *serverConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.srv.recv.Add(int64(n))
	c.srv.mu.Lock()
	gate := c.srv.stall
	c.srv.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-c.closed:
			return 0, net.ErrClosed
		}
	}
	return n, err
}

func (c *serverConn) Write(b []byte) (int, error) {
	if d := c.srv.writeDelay.Load(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	n, err := c.Conn.Write(b)
	c.srv.sent.Add(int64(n))
	return n, err
}

func (c *serverConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// edKey returns a fixed ed25519 key.
func edKey(seed byte) ssh.Signer {
	s, err := ssh.NewSignerFromKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		panic(err)
	}
	return s
}

// rsaKey is an RSA key, made once: it takes a while.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(crand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func rsaSigner(t testing.TB, algos ...string) ssh.Signer {
	t.Helper()
	s, err := ssh.NewSignerFromKey(rsaKey())
	if err != nil {
		t.Fatal(err)
	}
	if len(algos) > 0 {
		if s, err = ssh.NewSignerWithAlgorithms(s.(ssh.AlgorithmSigner), algos); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func fingerprint(k ssh.Signer) string { return ssh.FingerprintSHA256(k.PublicKey()) }

// dialSFTP connects, closing the connection when the test ends.
func dialSFTP(t testing.TB, cfg source.SFTPConfig) tail.FS {
	t.Helper()
	fsys, err := source.DialSFTP(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("DialSFTP: %v", err)
	}
	t.Cleanup(func() { fsys.(io.Closer).Close() })
	return fsys
}

func connErr(fsys tail.FS) error { return fsys.(interface{ Err() error }).Err() }

// noGoroutinesLeft fails the test if goroutines it started still run when
// it has ended. Call it first: its check runs after the other clean-ups.
func noGoroutinesLeft(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Errorf("%d goroutines still running after the test, %d before it:\n%s", runtime.NumGoroutine(), before, buf)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// sftpSource is a killfeed source reading the server's killfeedDir through
// a Shared connection, polled every 50ms, as app.go builds it.
func sftpSource(t testing.TB, p *pipeline, cfg source.SFTPConfig) *source.Source {
	sh := &source.Shared{Dial: func(ctx context.Context) (tail.FS, error) { return source.DialSFTP(ctx, cfg, nil) }}
	t.Cleanup(func() { sh.Close() })
	src := p.source(killfeedDir, false, nil)
	src.Connect, src.Remote, src.Poll = sh.Connect, true, 50*time.Millisecond
	return src
}

// idlePollBytes returns the bytes the bot reads from the network, on
// average, for a poll of src that finds nothing new.
func idlePollBytes(t testing.TB, srv *sftpServer, src *source.Source, polls int) float64 {
	t.Helper()
	ctx := context.Background()
	if _, err := src.ReadOnce(ctx); err != nil { // connected and caught up
		t.Fatalf("ReadOnce: %v", err)
	}
	start := srv.sent.Load()
	for range polls {
		res, err := src.ReadOnce(ctx)
		if err != nil {
			t.Fatalf("ReadOnce: %v", err)
		}
		if res.Lines != 0 {
			t.Fatalf("idle poll read %d lines, want 0", res.Lines)
		}
	}
	return float64(srv.sent.Load()-start) / float64(polls)
}

// A killfeed folder followed over SFTP: the history, then lines appended in
// pieces cut anywhere. Every line is counted once, the history is flagged,
// and a poll that finds nothing new reads a few hundred bytes, not the file.
func TestSFTPFolderLive(t *testing.T) {
	noGoroutinesLeft(t)
	srv := startSFTP(t)
	dir := srv.local(killfeedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	g := fakelog.New(3, 40, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	a := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	var history strings.Builder
	n := 0
	for ; history.Len() < 100<<10; n++ {
		history.WriteString(g.Line())
	}
	appendFile(t, a, history.String())

	p := newPipeline(t, filepath.Join(t.TempDir(), "k.db"))
	src := sftpSource(t, p, srv.config())
	stop := run(t, src)
	waitCounts(t, p, "history", func(c storage.Counts) bool { return c.Lines == uint64(n) })
	if st := src.Status(); !st.Remote || !st.Connected || st.LastError != "" {
		t.Errorf("Status after the history = %+v, want remote, connected, no error", st)
	}

	more := lines(g, 400)
	want := n + 400
	writeInChunks(t, r, a, more)
	waitCounts(t, p, "every line", func(c storage.Counts) bool { return c.Lines >= uint64(want) })
	stop()
	got := checkOnce(t, p, want, history.String()+more)
	if h, news := backfillSplit(t, p.db); h != n-repeats(history.String()) || h+news != int(got.Events) {
		t.Errorf("backfill: got %d history and %d news, want the %d history lines (%d repeated) flagged and the others not", h, news, n, repeats(history.String()))
	}

	fi, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	perPoll := idlePollBytes(t, srv, src, 10)
	t.Logf("an idle poll of a %d-byte file reads %.0f bytes", fi.Size(), perPoll)
	if perPoll >= 2<<10 {
		t.Errorf("an idle poll of a %d-byte file reads %.0f bytes from the network, want < 2048", fi.Size(), perPoll)
	}
}

// The game starts a new file while the old one has lines the bot has not
// read yet: the old file is read to its end, then the new one; every line
// is counted once.
func TestSFTPRotation(t *testing.T) {
	noGoroutinesLeft(t)
	srv := startSFTP(t)
	dir := srv.local(killfeedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := fakelog.New(4, 40, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	a := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	b := filepath.Join(dir, "2025.05.02-00.00.00.csv")
	c := filepath.Join(dir, "2025.05.02-06.00.00.csv")
	var all strings.Builder
	write := func(path string, n int) {
		l := lines(g, n)
		all.WriteString(l)
		appendFile(t, path, l)
	}
	write(a, 50)

	p := newPipeline(t, filepath.Join(t.TempDir(), "k.db"))
	src := sftpSource(t, p, srv.config())
	stop := run(t, src)
	defer func() { stop() }()
	waitCounts(t, p, "history", func(c storage.Counts) bool { return c.Lines == 50 })

	// The server holds the bot's requests while both files are written, so
	// the bot sees the new file with the old one's lines still unread.
	srv.Stall(true)
	write(a, 40)
	write(b, 30)
	srv.Stall(false)
	waitCounts(t, p, "both files", func(c storage.Counts) bool { return c.Lines >= 120 })
	srv.Stall(true)
	write(b, 20)
	appendFile(t, b, g.Line()[:25]) // a half-written line
	write(c, 10)
	srv.Stall(false)

	// The half line stays in b: a half-written line is never read.
	waitCounts(t, p, "every line", func(c storage.Counts) bool { return c.Lines >= 150 })
	time.Sleep(150 * time.Millisecond) // a few more polls: nothing more comes
	checkOnce(t, p, 150, all.String())
}

// checkOnce checks that want lines were read, each once: the only
// duplicate events are lines that appear twice in text.
func checkOnce(t testing.TB, p *pipeline, want int, text string) storage.Counts {
	t.Helper()
	got, err := p.db.Counts(scope)
	if err != nil {
		t.Fatal(err)
	}
	r := repeats(text)
	if got.Lines != uint64(want) || got.Events+got.Malformed+got.Duplicates != uint64(want) || got.Duplicates != uint64(r) {
		t.Errorf("counts = %+v, want %d lines read once: as many events+malformed+duplicates, %d duplicates (lines repeated in the data)", got, want, r)
	}
	return got
}

// repeats counts the lines of text that are the same as an earlier one.
func repeats(text string) int {
	seen := map[string]bool{}
	n := 0
	for _, l := range strings.SplitAfter(text, "\n") {
		if seen[l] && l != "" {
			n++
		}
		seen[l] = true
	}
	return n
}

// The link to the game host dies while lines are being written, twice,
// and the host refuses connections for a while: Status shows the source
// disconnected with the error, and once the host is back every line is
// there exactly once.
func TestSFTPConnectionDropped(t *testing.T) {
	noGoroutinesLeft(t)
	srv := startSFTP(t)
	dir := srv.local(killfeedDir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	g := fakelog.New(5, 40, time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC))
	a := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	b := filepath.Join(dir, "2025.05.02-00.00.00.csv")
	history := lines(g, 100)
	appendFile(t, a, history)

	p := newPipeline(t, filepath.Join(t.TempDir(), "k.db"))
	src := sftpSource(t, p, srv.config())
	stop := run(t, src)
	defer func() { stop() }()
	waitCounts(t, p, "history", func(c storage.Counts) bool { return c.Lines == 100 })

	// Lines come in pieces, and a big block the bot reads in several
	// requests, while the link is cut.
	big := lines(g, 12000) // about 1.5 MB: more than one read
	more1, more2, inB := lines(g, 300), lines(g, 300), lines(g, 50)
	written := make(chan struct{})
	go func() {
		defer close(written)
		writeInChunks(t, r, a, more1)
		appendFile(t, a, big)
		writeInChunks(t, r, a, more2)
		appendFile(t, b, inB)
	}()
	want := 100 + 600 + 12000 + 50

	waitCounts(t, p, "some new lines", func(c storage.Counts) bool { return c.Lines > 150 })
	srv.Drop()
	waitCounts(t, p, "a part of the big block", func(c storage.Counts) bool { return c.Lines > 500 })
	srv.SetDown(true)
	srv.Drop()

	deadline := time.Now().Add(10 * time.Second)
	var st source.Status
	for st = src.Status(); st.Connected || st.LastError == ""; st = src.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("Status while the host is down = %+v, want not connected, with the error", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.Contains(st.LastError, "sftp "+sftpUser+"@127.0.0.1:") {
		t.Errorf("Status.LastError = %q, want it to name the connection", st.LastError)
	}
	t.Logf("while the host is down: Status.LastError = %q", st.LastError)
	<-written
	time.Sleep(100 * time.Millisecond)
	srv.SetDown(false)

	waitCounts(t, p, "every line", func(c storage.Counts) bool { return c.Lines >= uint64(want) })
	time.Sleep(100 * time.Millisecond)
	checkOnce(t, p, want, history+more1+big+more2+inB)
	deadline = time.Now().Add(5 * time.Second)
	for st = src.Status(); !st.Connected || st.LastError != ""; st = src.Status() {
		if time.Now().After(deadline) {
			t.Fatalf("Status after the host is back = %+v, want connected, no error", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The file system over SFTP: listing, stat, reading at offsets across
// request boundaries, a missing file as fs.ErrNotExist (the connection
// stays), Close.
func TestSFTPFS(t *testing.T) {
	noGoroutinesLeft(t)
	srv := startSFTP(t)
	if err := os.MkdirAll(srv.local(killfeedDir), 0o755); err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 3<<20+12345)
	for i := range data {
		data[i] = byte('a' + i%26)
	}
	name := killfeedDir + "/2025.05.01-00.00.00.csv"
	if err := os.WriteFile(srv.local(name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := dialSFTP(t, srv.config())

	if got := fsys.Join("Deadside", "Saved", "a.csv"); got != "Deadside/Saved/a.csv" {
		t.Errorf("Join = %q, want forward slashes", got)
	}
	entries, err := fsys.ReadDir(killfeedDir)
	if err != nil || len(entries) != 1 || entries[0].Name() != "2025.05.01-00.00.00.csv" || entries[0].Size() != int64(len(data)) {
		t.Fatalf("ReadDir = %v, %v; want the one file of %d bytes", entries, err, len(data))
	}
	f, err := fsys.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ off, n int }{{0, 10}, {5, 40000}, {100, 1 << 20}, {len(data) - 100, 1 << 20}, {len(data), 100}} {
		buf := make([]byte, c.n)
		n, err := f.ReadAt(buf, int64(c.off))
		want := min(c.n, len(data)-c.off)
		if n != want || !bytes.Equal(buf[:n], data[c.off:c.off+n]) || (n < c.n) != errors.Is(err, io.EOF) {
			t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d bytes of the file", c.n, c.off, n, err, want)
		}
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != int64(len(data)) {
		t.Errorf("File.Stat = %v, %v; want size %d", fi, err, len(data))
	}
	if err := f.Close(); err != nil {
		t.Errorf("File.Close: %v", err)
	}

	for what, err := range map[string]error{
		"Stat":    func() error { _, err := fsys.Stat(killfeedDir + "/nope.csv"); return err }(),
		"Open":    func() error { _, err := fsys.Open(killfeedDir + "/nope.csv"); return err }(),
		"ReadDir": func() error { _, err := fsys.ReadDir("Deadside/nope"); return err }(),
	} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s of a missing path: %v, want fs.ErrNotExist", what, err)
		}
	}
	if err := connErr(fsys); err != nil {
		t.Errorf("Err after missing files = %v, want nil: the connection works", err)
	}

	fsys.(io.Closer).Close()
	if connErr(fsys) == nil {
		t.Error("Err after Close = nil, want an error")
	}
	if _, err := fsys.Stat(name); err == nil {
		t.Error("Stat after Close: no error")
	}
}

// Host keys: pinned as a fingerprint of any of the host's keys or in a
// known_hosts file, the connection is made; a key that differs, or none
// pinned, is refused with a message that shows the fingerprints and what
// to write in config.toml.
func TestSFTPHostKey(t *testing.T) {
	noGoroutinesLeft(t)
	ed, rs := edKey(1), rsaSigner(t)
	srv := startSFTP(t, func(s *sftpServer) { s.hostKeys = []ssh.Signer{ed, rs} })
	hostport := knownhosts.Normalize(net.JoinHostPort("127.0.0.1", strconv.Itoa(srv.port)))
	knownHosts := func(keys ...ssh.PublicKey) string {
		var b strings.Builder
		b.WriteString(knownhosts.Line([]string{"other.example"}, edKey(9).PublicKey()) + "\n")
		for _, k := range keys {
			b.WriteString(knownhosts.Line([]string{hostport}, k) + "\n")
		}
		path := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	other := fingerprint(edKey(2))

	for _, c := range []struct {
		name    string
		edit    func(*source.SFTPConfig)
		wantErr []string // substrings of the error; none: it connects
	}{
		{"sha256 fingerprint", func(c *source.SFTPConfig) { c.HostKey = fingerprint(ed) }, nil},
		{"md5 fingerprint", func(c *source.SFTPConfig) { c.HostKey = "MD5:" + ssh.FingerprintLegacyMD5(ed.PublicKey()) }, nil},
		{"fingerprint of the host's other key", func(c *source.SFTPConfig) { c.HostKey = fingerprint(rs) }, nil},
		{"known_hosts", func(c *source.SFTPConfig) { c.HostKey = knownHosts(ed.PublicKey()) }, nil},
		{"known_hosts with the host's other key", func(c *source.SFTPConfig) { c.HostKey = knownHosts(rs.PublicKey()) }, nil},
		{"insecure", func(c *source.SFTPConfig) { c.HostKey, c.InsecureIgnoreHostKey = "", true }, nil},
		{"not pinned", func(c *source.SFTPConfig) { c.HostKey = "" }, []string{
			`host_key = "` + fingerprint(ed) + `"`, "[servers.sftp]", "not pinned"}},
		{"another fingerprint", func(c *source.SFTPConfig) { c.HostKey = other }, []string{
			"host key mismatch", other, fingerprint(ed), fingerprint(rs), "man-in-the-middle", "reinstalled"}},
		{"known_hosts with another key", func(c *source.SFTPConfig) { c.HostKey = knownHosts(edKey(2).PublicKey()) }, []string{
			"host key mismatch", other, fingerprint(ed), "man-in-the-middle", "reinstalled"}},
		{"known_hosts without the host", func(c *source.SFTPConfig) { c.HostKey = knownHosts() }, []string{
			"has no key for " + hostport, fingerprint(ed), knownhosts.Line([]string{hostport}, ed.PublicKey())}},
		{"missing known_hosts", func(c *source.SFTPConfig) { c.HostKey = filepath.Join(t.TempDir(), "nope") }, []string{
			"known_hosts", "no such file"}},
		{"whole ssh-keygen line", func(c *source.SFTPConfig) { c.HostKey = "/etc/killfeed/256 " + fingerprint(ed) + " (ED25519)" }, []string{
			"only the fingerprint"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := srv.config()
			c.edit(&cfg)
			var logged bytes.Buffer
			fsys, err := source.DialSFTP(context.Background(), cfg, slog.New(slog.NewTextHandler(&logged, nil)))
			if len(c.wantErr) == 0 {
				if err != nil {
					t.Fatalf("DialSFTP: %v", err)
				}
				defer fsys.(io.Closer).Close()
				if _, err := fsys.ReadDir("."); err != nil {
					t.Errorf("ReadDir: %v", err)
				}
				if cfg.InsecureIgnoreHostKey && !strings.Contains(logged.String(), fingerprint(ed)) {
					t.Errorf("log = %q, want a warning with the host's fingerprint", logged.String())
				}
				return
			}
			if err == nil {
				fsys.(io.Closer).Close()
				t.Fatalf("DialSFTP connected, want an error with %q", c.wantErr)
			}
			t.Logf("error: %v", err)
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not say %q", err, w)
				}
			}
		})
	}
}

// Logging in: a password (with the "password" method or with
// keyboard-interactive) or an encrypted key file; a refused login says
// which settings to check, and no error shows the password or passphrase.
func TestSFTPLogin(t *testing.T) {
	noGoroutinesLeft(t)
	clientKey := edKey(7)
	const passphrase = "correct horse"
	block, err := ssh.MarshalPrivateKeyWithPassphrase(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)), "bot", []byte(passphrase))
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	// A key without a passphrase: decrypting one takes a second (bcrypt).
	if block, err = ssh.MarshalPrivateKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, ed25519.SeedSize)), "other"); err != nil {
		t.Fatal(err)
	}
	otherKeyFile := filepath.Join(t.TempDir(), "id_other")
	if err := os.WriteFile(otherKeyFile, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	pwServer := startSFTP(t, func(s *sftpServer) { s.clientKey = clientKey.PublicKey() })
	kbdServer := startSFTP(t, func(s *sftpServer) { s.kbdOnly = true })
	const refused = "login refused: check servers.sftp user, password or key_file"

	for _, c := range []struct {
		name    string
		srv     *sftpServer
		edit    func(*source.SFTPConfig)
		wantErr string
		secret  string // never in the error
	}{
		{"password", pwServer, func(*source.SFTPConfig) {}, "", ""},
		{"wrong password", pwServer, func(c *source.SFTPConfig) { c.Password = "hunter2-wrong" }, refused, "hunter2-wrong"},
		{"wrong user", pwServer, func(c *source.SFTPConfig) { c.User = "admin" }, refused, sftpPassword},
		{"keyboard-interactive", kbdServer, func(*source.SFTPConfig) {}, "", ""},
		{"keyboard-interactive, wrong password", kbdServer, func(c *source.SFTPConfig) { c.Password = "hunter2-wrong" }, refused, "hunter2-wrong"},
		{"key file", pwServer, func(c *source.SFTPConfig) { c.Password, c.KeyFile, c.KeyPassphrase = "", keyFile, passphrase }, "", ""},
		{"key file, no passphrase", pwServer, func(c *source.SFTPConfig) { c.Password, c.KeyFile = "", keyFile }, "set key_passphrase", ""},
		{"key file, wrong passphrase", pwServer, func(c *source.SFTPConfig) { c.Password, c.KeyFile, c.KeyPassphrase = "", keyFile, "wrong horse" }, "check key_passphrase", "wrong horse"},
		{"key the server does not know", pwServer, func(c *source.SFTPConfig) { c.Password, c.KeyFile = "", otherKeyFile }, refused, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.srv.config()
			c.edit(&cfg)
			fsys, err := source.DialSFTP(context.Background(), cfg, nil)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("DialSFTP: %v", err)
				}
				defer fsys.(io.Closer).Close()
				if _, err := fsys.ReadDir("."); err != nil {
					t.Errorf("ReadDir: %v", err)
				}
				return
			}
			if err == nil {
				fsys.(io.Closer).Close()
				t.Fatalf("DialSFTP logged in, want an error with %q", c.wantErr)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q\ndoes not say %q", err, c.wantErr)
			}
			if c.secret != "" && strings.Contains(err.Error(), c.secret) {
				t.Errorf("error %q shows the secret %q", err, c.secret)
			}
		})
	}
}

// Old servers that offer only SHA-1 key exchanges, ssh-rsa host keys or
// CBC ciphers: refused with a hint to set legacy_algorithms, and reached
// with it.
func TestSFTPLegacyAlgorithms(t *testing.T) {
	noGoroutinesLeft(t)
	for _, c := range []struct {
		name string
		opt  func(*sftpServer)
	}{
		{"diffie-hellman-group14-sha1 and ssh-rsa", func(s *sftpServer) {
			s.kex = []string{ssh.InsecureKeyExchangeDH14SHA1}
			s.hostKeys = []ssh.Signer{rsaSigner(t, ssh.KeyAlgoRSA)}
		}},
		{"diffie-hellman-group1-sha1 and aes128-cbc", func(s *sftpServer) {
			s.kex = []string{ssh.InsecureKeyExchangeDH1SHA1}
			s.ciphers = []string{ssh.InsecureCipherAES128CBC}
		}},
		{"ssh-rsa only", func(s *sftpServer) { s.hostKeys = []ssh.Signer{rsaSigner(t, ssh.KeyAlgoRSA)} }},
		{"3des-cbc only", func(s *sftpServer) { s.ciphers = []string{ssh.InsecureCipherTripleDESCBC} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := startSFTP(t, c.opt)
			cfg := srv.config()
			_, err := source.DialSFTP(context.Background(), cfg, nil)
			if err == nil || !strings.Contains(err.Error(), "legacy_algorithms = true") {
				t.Errorf("without legacy_algorithms: %v, want an error saying to try legacy_algorithms = true", err)
			} else {
				t.Logf("error: %v", err)
			}
			cfg.LegacyAlgorithms = true
			fsys := dialSFTP(t, cfg)
			if _, err := fsys.ReadDir("."); err != nil {
				t.Errorf("with legacy_algorithms: ReadDir: %v", err)
			}
		})
	}
}

// A server that accepts the connection but never answers, or stops
// answering in the middle of an operation: the timeout fires, the error
// says so and the connection is reported dead. A long read that keeps
// receiving is not cut.
func TestSFTPTimeouts(t *testing.T) {
	noGoroutinesLeft(t)
	const timeout = time.Second // a handshake under the race detector on a busy machine fits in it
	within := func(t *testing.T, start time.Time, d time.Duration) {
		t.Helper()
		if el := time.Since(start); el > d {
			t.Errorf("took %v, want less than %v", el, d)
		}
	}

	t.Run("silent server", func(t *testing.T) {
		srv := startSFTP(t, func(s *sftpServer) { s.silent = true })
		cfg := srv.config()
		cfg.Timeout = timeout
		start := time.Now()
		_, err := source.DialSFTP(context.Background(), cfg, nil)
		within(t, start, 3*time.Second)
		if err == nil || !strings.Contains(err.Error(), "no answer within 1s") {
			t.Errorf("DialSFTP = %v, want an error saying there was no answer within 1s", err)
		}
	})

	t.Run("dial cancelled", func(t *testing.T) {
		srv := startSFTP(t, func(s *sftpServer) { s.silent = true })
		cfg := srv.config()
		cfg.Timeout = time.Minute
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := source.DialSFTP(ctx, cfg, nil)
		within(t, start, 3*time.Second)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("DialSFTP = %v, want the context's error", err)
		}
	})

	srv := startSFTP(t)
	name := "2025.05.01-00.00.00.csv"
	if err := os.WriteFile(srv.local(name), []byte(strings.Repeat("x;y;z\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, op string
		do       func(tail.FS, tail.ReadFile) error
	}{
		{"list", "list", func(fsys tail.FS, _ tail.ReadFile) error { _, err := fsys.ReadDir("."); return err }},
		{"stat", "stat", func(fsys tail.FS, _ tail.ReadFile) error { _, err := fsys.Stat(name); return err }},
		{"open", "open", func(fsys tail.FS, _ tail.ReadFile) error { _, err := fsys.Open(name); return err }},
		{"read", "read", func(_ tail.FS, f tail.ReadFile) error { _, err := f.ReadAt(make([]byte, 1<<20), 0); return err }},
		{"fstat", "stat", func(_ tail.FS, f tail.ReadFile) error { _, err := f.Stat(); return err }},
		{"close", "close", func(_ tail.FS, f tail.ReadFile) error { return f.Close() }},
	} {
		t.Run("stalled "+c.name, func(t *testing.T) {
			cfg := srv.config()
			cfg.Timeout = timeout
			fsys := dialSFTP(t, cfg)
			f, err := fsys.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			srv.Stall(true)
			defer srv.Stall(false)
			start := time.Now()
			err = c.do(fsys, f)
			within(t, start, 3*time.Second)
			if err == nil || !strings.Contains(err.Error(), c.op) || !strings.Contains(err.Error(), "no answer within 1s") {
				t.Errorf("%s on a stalled server: %v, want an error saying there was no answer within 1s", c.op, err)
			}
			if connErr(fsys) == nil {
				t.Error("Err() = nil after a timeout, want the connection reported dead")
			}
		})
	}

	t.Run("slow read", func(t *testing.T) {
		slow := startSFTP(t)
		data := bytes.Repeat([]byte("2025.05.01-00.07.23;a;b;c;d;M99;152;PS5;XSX;\n"), 25000) // 1.1 MB
		if err := os.WriteFile(slow.local(name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := slow.config()
		cfg.Timeout = timeout
		fsys := dialSFTP(t, cfg)
		f, err := fsys.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		slow.writeDelay.Store(int64(10 * time.Millisecond))
		start := time.Now()
		buf := make([]byte, 1<<20)
		n, err := f.ReadAt(buf, 0)
		if n != len(buf) || err != nil || !bytes.Equal(buf, data[:len(buf)]) {
			t.Errorf("ReadAt of 1 MiB from a slow server = %d, %v; want it all", n, err)
		}
		t.Logf("the read took %v, with a timeout of %v", time.Since(start), timeout)
	})
}
