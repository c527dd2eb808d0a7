package source

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"killfeed/tail"
)

// SFTPConfig is how to reach a game host's files over SFTP: a
// [servers.sftp] table of config.toml.
type SFTPConfig struct {
	Host string
	Port int // 0 means 22
	User string
	// Password logs in with the "password" method, and answers
	// "keyboard-interactive" prompts, which many hosts use instead.
	Password string
	// KeyFile is an OpenSSH or PEM private key; KeyPassphrase decrypts it.
	KeyFile       string
	KeyPassphrase string
	// HostKey pins the server's key: a fingerprint as ssh-keygen -l prints
	// it ("SHA256:..." or "MD5:aa:bb:..."), or the path of a known_hosts
	// file. Empty, the connection is refused with the server's fingerprint
	// in the error, unless InsecureIgnoreHostKey is set.
	HostKey               string
	InsecureIgnoreHostKey bool
	// LegacyAlgorithms adds what old servers need and x/crypto leaves out
	// as weak: SHA-1 key exchanges, ssh-rsa and ssh-dss host keys, CBC
	// ciphers, hmac-sha1-96.
	LegacyAlgorithms bool
	// Timeout bounds connecting and logging in, and how long any remote
	// operation may wait with the server sending nothing (0 means 15s).
	Timeout time.Duration
}

const (
	defaultSFTPPort    = 22
	defaultSFTPTimeout = 15 * time.Second
	// readChunk is the size of the first request of a read: the end of an
	// unchanged file costs one request answered by EOF.
	readChunk = 32 << 10
)

// DialSFTP connects to an SFTP server, checking its host key and logging in,
// and returns its file system. The result also has an Err method, non-nil
// once the connection is dead (Source then dials again), and a Close
// method. Errors say what to change in config.toml; they never contain the
// password or the key's passphrase.
func DialSFTP(ctx context.Context, cfg SFTPConfig, log *slog.Logger) (tail.FS, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Port == 0 {
		cfg.Port = defaultSFTPPort
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultSFTPTimeout
	}
	d := &dialer{
		cfg:      cfg,
		hostport: net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		families: hostKeyFamilies(cfg.LegacyAlgorithms),
	}
	d.name = cfg.User + "@" + d.hostport
	var err error
	if d.auth, err = authMethods(cfg); err != nil {
		return nil, fmt.Errorf("sftp %s: %w", d.name, err)
	}
	if err := d.loadHostKey(); err != nil {
		return nil, fmt.Errorf("sftp %s: %w", d.name, err)
	}

	s, err := d.dial(ctx, d.offered)
	var mm *hostKeyError
	if errors.As(err, &mm) && mm.pinned && ctx.Err() == nil {
		// The host has keys of several types and host_key may pin another
		// one than the first we ask for: ask for each other type in turn.
		for _, fam := range d.families {
			if fam.format == mm.seen[0].Type() {
				continue
			}
			var more *hostKeyError
			s, err = d.dial(ctx, fam.algos)
			if err == nil {
				break
			}
			if errors.As(err, &more) {
				mm.seen = append(mm.seen, more.seen...)
			} else if !isNegotiation(err) {
				return nil, err
			}
		}
		if s == nil {
			return nil, mm
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.InsecureIgnoreHostKey {
		log.Warn("sftp host key not checked (insecure_ignore_host_key = true): pin it with host_key",
			"server", d.name, "host_key", ssh.FingerprintSHA256(s.hostKey))
	}
	return s, nil
}

// dialer is one DialSFTP: what it offers and how it checks the server.
type dialer struct {
	cfg      SFTPConfig
	name     string // user@host:port, for messages
	hostport string
	auth     []ssh.AuthMethod
	families []hostKeyFamily
	offered  []string // host key algorithms, in order of preference
	known    ssh.HostKeyCallback
}

// hostKeyFamily is a type of host key and the algorithms that prove it.
type hostKeyFamily struct {
	format string
	algos  []string
}

// hostKeyFamilies are the host key types the bot accepts, in OpenSSH's
// order of preference, so that a fingerprint copied from ssh's prompt is
// the one the bot sees.
func hostKeyFamilies(legacy bool) []hostKeyFamily {
	rsa := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	if legacy {
		rsa = append(rsa, ssh.KeyAlgoRSA)
	}
	f := []hostKeyFamily{
		{ssh.KeyAlgoED25519, []string{ssh.KeyAlgoED25519}},
		{ssh.KeyAlgoECDSA256, []string{ssh.KeyAlgoECDSA256}},
		{ssh.KeyAlgoECDSA384, []string{ssh.KeyAlgoECDSA384}},
		{ssh.KeyAlgoECDSA521, []string{ssh.KeyAlgoECDSA521}},
		{ssh.KeyAlgoRSA, rsa},
	}
	if legacy {
		f = append(f, hostKeyFamily{ssh.InsecureKeyAlgoDSA, []string{ssh.InsecureKeyAlgoDSA}})
	}
	return f
}

// algorithms returns the key exchanges, ciphers and MACs to offer:
// x/crypto's SupportedAlgorithms, and with legacy its InsecureAlgorithms
// too, but RC4.
func algorithms(legacy bool) ssh.Config {
	a := ssh.SupportedAlgorithms()
	c := ssh.Config{KeyExchanges: a.KeyExchanges, Ciphers: a.Ciphers, MACs: a.MACs}
	if legacy {
		in := ssh.InsecureAlgorithms()
		c.KeyExchanges = append(c.KeyExchanges, in.KeyExchanges...)
		c.MACs = append(c.MACs, in.MACs...)
		for _, ci := range in.Ciphers {
			if !strings.HasPrefix(ci, "arcfour") {
				c.Ciphers = append(c.Ciphers, ci)
			}
		}
	}
	return c
}

// authMethods returns the ways to log in that cfg allows, the key first.
func authMethods(cfg SFTPConfig) ([]ssh.AuthMethod, error) {
	var out []ssh.AuthMethod
	if cfg.KeyFile != "" {
		pem, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read key_file: %w", err)
		}
		var signer ssh.Signer
		if cfg.KeyPassphrase != "" {
			signer, err = ssh.ParsePrivateKeyWithPassphrase(pem, []byte(cfg.KeyPassphrase))
		} else {
			signer, err = ssh.ParsePrivateKey(pem)
		}
		var missing *ssh.PassphraseMissingError
		switch {
		case errors.As(err, &missing):
			return nil, fmt.Errorf("key_file %q is encrypted: set key_passphrase", cfg.KeyFile)
		case err != nil && cfg.KeyPassphrase != "":
			return nil, fmt.Errorf("key_file %q: cannot decrypt it: check key_passphrase (%v)", cfg.KeyFile, err)
		case err != nil:
			return nil, fmt.Errorf("key_file %q is not a private key: %w", cfg.KeyFile, err)
		}
		out = append(out, ssh.PublicKeys(signer))
	}
	if cfg.Password != "" {
		pw := cfg.Password
		rounds := 0
		out = append(out, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				if len(questions) > 0 {
					// A server that asks again has refused the password.
					if rounds++; rounds > 2 {
						return nil, errors.New("keyboard-interactive: password asked again")
					}
				}
				for i := range questions {
					if !echos[i] { // a secret: the password
						answers[i] = pw
					}
				}
				return answers, nil
			}))
	}
	return out, nil
}

// loadHostKey reads a known_hosts file when HostKey names one, and sets the
// host key algorithms to offer.
func (d *dialer) loadHostKey() error {
	var all []string
	for _, f := range d.families {
		all = append(all, f.algos...)
	}
	d.offered = all
	hk := d.cfg.HostKey
	if d.cfg.InsecureIgnoreHostKey || hk == "" || isFingerprint(hk) {
		return nil
	}
	known, err := knownhosts.New(hk)
	if err != nil {
		if strings.Contains(hk, "SHA256:") || strings.Contains(hk, "MD5:") {
			return fmt.Errorf("host_key %q: write only the fingerprint, starting with SHA256: (%w)", hk, err)
		}
		return fmt.Errorf("host_key: read known_hosts file: %w", err)
	}
	d.known = known
	// Offer only the types known for this host: a server with several
	// keys would otherwise show one the file does not list.
	var ke *knownhosts.KeyError
	if err := known(d.hostport, &net.TCPAddr{}, probeKey()); errors.As(err, &ke) && len(ke.Want) > 0 {
		var offered []string
		for _, f := range d.families {
			if slices.ContainsFunc(ke.Want, func(k knownhosts.KnownKey) bool { return k.Key.Type() == f.format }) {
				offered = append(offered, f.algos...)
			}
		}
		if len(offered) > 0 {
			d.offered = offered
		}
	}
	return nil
}

// probeKey is a key no known_hosts file lists: checking it returns the
// keys that are listed for a host.
func probeKey() ssh.PublicKey {
	k, _ := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	return k
}

func isFingerprint(s string) bool {
	return strings.HasPrefix(s, "SHA256:") || strings.HasPrefix(s, "MD5:")
}

// fingerprintMatches says whether key has the fingerprint pin.
func fingerprintMatches(pin string, key ssh.PublicKey) bool {
	if md5, ok := strings.CutPrefix(pin, "MD5:"); ok {
		return strings.EqualFold(md5, ssh.FingerprintLegacyMD5(key))
	}
	return strings.TrimRight(pin, "=") == ssh.FingerprintSHA256(key)
}

// checkHostKey is the HostKeyCallback of one connection.
func (d *dialer) checkHostKey(hostname string, remote net.Addr, key ssh.PublicKey) error {
	switch hk := d.cfg.HostKey; {
	case d.cfg.InsecureIgnoreHostKey:
		return nil
	case hk == "":
		return &hostKeyError{name: d.name, seen: []ssh.PublicKey{key}}
	case isFingerprint(hk):
		if fingerprintMatches(hk, key) {
			return nil
		}
		return &hostKeyError{name: d.name, seen: []ssh.PublicKey{key}, pinned: true, pin: hk}
	default:
		err := d.known(hostname, remote, key)
		var ke *knownhosts.KeyError
		var re *knownhosts.RevokedError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ke):
			return &hostKeyError{name: d.name, seen: []ssh.PublicKey{key}, knownFile: hk, want: ke.Want, hostport: d.hostport}
		case errors.As(err, &re):
			return &hostKeyError{name: d.name, seen: []ssh.PublicKey{key}, knownFile: hk, revoked: true}
		default:
			return fmt.Errorf("host_key: check known_hosts file: %w", err)
		}
	}
}

// hostKeyError is a server whose key the bot will not trust.
type hostKeyError struct {
	name      string
	seen      []ssh.PublicKey // the server's keys, the first one offered first
	pinned    bool            // pin is a fingerprint
	pin       string
	knownFile string
	want      []knownhosts.KnownKey
	hostport  string
	revoked   bool
}

func (e *hostKeyError) Error() string {
	key := e.seen[0]
	fp := ssh.FingerprintSHA256(key)
	var b strings.Builder
	fmt.Fprintf(&b, "sftp %s: ", e.name)
	const mitm = "; either the host was reinstalled or its key changed (ask your game host, then update host_key or known_hosts), " +
		"or someone is intercepting the connection (man-in-the-middle): the bot will not log in until host_key matches"
	switch {
	case e.revoked:
		fmt.Fprintf(&b, "the server's %s key %s is marked revoked in known_hosts file %s", key.Type(), fp, e.knownFile)
	case e.pinned:
		var keys []string
		for _, k := range e.seen {
			keys = append(keys, fmt.Sprintf("%s (%s)", ssh.FingerprintSHA256(k), k.Type()))
		}
		fmt.Fprintf(&b, "host key mismatch: the server presented %s, but host_key is %s%s",
			strings.Join(keys, ", "), e.pin, mitm)
	case e.knownFile != "" && len(e.want) > 0:
		var want []string
		for _, k := range e.want {
			want = append(want, fmt.Sprintf("%s (%s, %s:%d)", ssh.FingerprintSHA256(k.Key), k.Key.Type(), k.Filename, k.Line))
		}
		fmt.Fprintf(&b, "host key mismatch: the server presented %s (%s), but known_hosts lists %s%s",
			fp, key.Type(), strings.Join(want, ", "), mitm)
	case e.knownFile != "":
		fmt.Fprintf(&b, "known_hosts file %s has no key for %s; the server's %s key is %s: if that is your server, add this line to the file: %s",
			e.knownFile, knownhosts.Normalize(e.hostport), key.Type(), fp, knownhosts.Line([]string{knownhosts.Normalize(e.hostport)}, key))
	default:
		fmt.Fprintf(&b, "the server's host key is not pinned, so the bot cannot tell it from an impostor; its %s key has the fingerprint %s: "+
			"if that is your server (ask your game host if unsure), put host_key = %q under [servers.sftp] in config.toml", key.Type(), fp, fp)
	}
	return b.String()
}

// dial makes one connection offering the host key algorithms hostKeys.
func (d *dialer) dial(ctx context.Context, hostKeys []string) (*sftpFS, error) {
	timeout := d.cfg.Timeout
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(what string, err error) error {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("sftp %s: %s: %w", d.name, what, ctx.Err())
		case dctx.Err() != nil:
			return fmt.Errorf("sftp %s: %s: no answer within %s: check host and port, and that the server speaks SFTP there", d.name, what, timeout)
		}
		return fmt.Errorf("sftp %s: %s: %w", d.name, what, err)
	}
	var nd net.Dialer
	raw, err := nd.DialContext(dctx, "tcp", d.hostport)
	if err != nil {
		return nil, fail("connect", err)
	}
	conn := &activeConn{Conn: raw, start: time.Now()}
	// The handshake, the login and starting SFTP all end with dctx.
	stop := context.AfterFunc(dctx, func() { raw.Close() })

	var hkErr error
	var seen ssh.PublicKey
	cc := &ssh.ClientConfig{
		Config: algorithms(d.cfg.LegacyAlgorithms),
		User:   d.cfg.User,
		Auth:   d.auth,
		HostKeyCallback: func(hostname string, remote net.Addr, key ssh.PublicKey) error {
			seen = key
			hkErr = d.checkHostKey(hostname, remote, key)
			return hkErr
		},
		HostKeyAlgorithms: hostKeys,
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, d.hostport, cc)
	if err != nil {
		stop()
		switch {
		case hkErr != nil && ctx.Err() == nil:
			return nil, hkErr
		case ctx.Err() != nil || dctx.Err() != nil:
			return nil, fail("connect", err)
		case isNegotiation(err):
			return nil, d.negotiationError(err)
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, fmt.Errorf("sftp %s: login refused: check servers.sftp user, password or key_file: %w", d.name, err)
		}
		return nil, fail("ssh handshake", err)
	}
	client := ssh.NewClient(sc, chans, reqs)
	sc2, err := sftp.NewClient(client)
	if !stop() && err == nil {
		sc2.Close()
		err = dctx.Err() // closed by the AfterFunc
	}
	if err != nil {
		client.Close()
		return nil, fail("start sftp", err)
	}
	s := &sftpFS{name: d.name, timeout: timeout, conn: conn, ssh: client, c: sc2, hostKey: seen, waited: make(chan struct{})}
	go func() {
		if err := client.Wait(); err != nil {
			// %v: a cause like io.EOF must not read as the end of a file.
			s.fail(fmt.Errorf("sftp %s: connection lost: %v", d.name, err))
		} else {
			s.fail(fmt.Errorf("sftp %s: connection closed by the server", d.name))
		}
		close(s.waited)
	}()
	return s, nil
}

// isNegotiation says whether err is a handshake without a common algorithm.
func isNegotiation(err error) bool {
	var neg *ssh.AlgorithmNegotiationError
	return errors.As(err, &neg) || strings.Contains(err.Error(), "no common algorithm")
}

func (d *dialer) negotiationError(err error) error {
	if d.cfg.LegacyAlgorithms {
		return fmt.Errorf("sftp %s: the server offers no algorithm the bot supports, even with legacy_algorithms: %w", d.name, err)
	}
	return fmt.Errorf("sftp %s: the server offers only old algorithms: try legacy_algorithms = true under [servers.sftp]: %w", d.name, err)
}

// activeConn notes when the server last sent something.
type activeConn struct {
	net.Conn
	start time.Time
	last  atomic.Int64 // since start, of the last read that returned data
}

func (c *activeConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.last.Store(int64(c.now()))
	}
	return n, err
}

func (c *activeConn) now() time.Duration { return time.Since(c.start) }

// sftpFS is a tail.FS on an SFTP connection.
type sftpFS struct {
	name    string
	timeout time.Duration
	conn    *activeConn
	ssh     *ssh.Client
	c       *sftp.Client
	hostKey ssh.PublicKey
	waited  chan struct{} // closed when the connection has ended

	mu  sync.Mutex
	err error // why the connection is dead, nil while it works
}

// Err returns why the connection is dead, or nil while it works.
func (s *sftpFS) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// fail notes that the connection is dead because of err, and closes it.
func (s *sftpFS) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.ssh.Close()
}

// Close closes the connection.
func (s *sftpFS) Close() error {
	s.fail(fmt.Errorf("sftp %s: closed", s.name))
	s.c.Close()
	<-s.waited
	return nil
}

// Join joins path elements with forward slashes, which SFTP servers use on
// Windows too.
func (s *sftpFS) Join(elem ...string) string { return path.Join(elem...) }

// Open opens a file for reading.
func (s *sftpFS) Open(name string) (tail.ReadFile, error) {
	var f *sftp.File
	err := s.do("open "+name, false, func() (err error) {
		f, err = s.c.Open(name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &sftpFile{s: s, f: f, name: name}, nil
}

// ReadDir lists a folder.
func (s *sftpFS) ReadDir(name string) ([]fs.FileInfo, error) {
	var out []fs.FileInfo
	err := s.do("list "+name, false, func() (err error) {
		out, err = s.c.ReadDir(name)
		return err
	})
	return out, err
}

// Stat describes a file; a missing one gives an error matching
// fs.ErrNotExist.
func (s *sftpFS) Stat(name string) (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := s.do("stat "+name, false, func() (err error) {
		fi, err = s.c.Stat(name)
		return err
	})
	return fi, err
}

// do runs the remote operation op. If the server sends nothing for
// s.timeout while op waits, the connection is dropped, which ends op. An
// error that is not the server's answer (io.EOF, when eof allows it, no
// such file, permission denied, a status) kills the connection too.
func (s *sftpFS) do(what string, eof bool, op func() error) error {
	if err := s.Err(); err != nil {
		return err
	}
	w := &watchdog{s: s, start: s.conn.now()}
	w.mu.Lock()
	w.t = time.AfterFunc(s.timeout, w.check)
	w.mu.Unlock()
	err := op()
	w.mu.Lock()
	w.done = true
	w.t.Stop()
	fired := w.fired
	w.mu.Unlock()
	if fired {
		return fmt.Errorf("sftp %s: %s: no answer within %s: connection dropped", s.name, what, s.timeout)
	}
	if err == nil {
		return nil
	}
	if eof && err == io.EOF {
		if dead := s.Err(); dead != nil {
			return dead // no answer, but the connection closing
		}
		return io.EOF
	}
	var status *sftp.StatusError
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.As(err, &status) {
		return fmt.Errorf("sftp %s: %s: %w", s.name, what, err)
	}
	// Not an answer: the connection is broken. %v, because a cause like
	// io.EOF must not read as the end of a file.
	s.fail(fmt.Errorf("sftp %s: %s: connection lost: %v", s.name, what, err))
	return s.Err()
}

// watchdog drops the connection when an operation waits for longer than the
// timeout with nothing coming from the server.
type watchdog struct {
	s     *sftpFS
	start time.Duration

	mu    sync.Mutex
	t     *time.Timer
	done  bool
	fired bool
}

func (w *watchdog) check() {
	w.mu.Lock()
	if w.done {
		w.mu.Unlock()
		return
	}
	idle := w.s.conn.now() - max(w.start, time.Duration(w.s.conn.last.Load()))
	if idle < w.s.timeout {
		w.t.Reset(w.s.timeout - idle) // the server is sending: wait on
		w.mu.Unlock()
		return
	}
	w.fired = true
	w.mu.Unlock()
	w.s.fail(fmt.Errorf("sftp %s: no answer within %s: connection dropped", w.s.name, w.s.timeout))
}

// sftpFile is an open remote file.
type sftpFile struct {
	s    *sftpFS
	f    *sftp.File
	name string
}

// ReadAt reads one request's worth first: at the end of a file that has
// not grown, that is one request answered by EOF. Only a longer read (a
// backfill) goes on with pkg/sftp's concurrent requests.
func (f *sftpFile) ReadAt(b []byte, off int64) (int, error) {
	var n int
	err := f.s.do("read "+f.name, true, func() error {
		first := min(len(b), readChunk)
		var err error
		n, err = f.f.ReadAt(b[:first], off)
		if err != nil || n < first || first == len(b) {
			return err
		}
		m, err := f.f.ReadAt(b[first:], off+int64(first))
		n += m
		return err
	})
	return n, err
}

// Stat describes the open file.
func (f *sftpFile) Stat() (fs.FileInfo, error) {
	var fi fs.FileInfo
	err := f.s.do("stat "+f.name, false, func() (err error) {
		fi, err = f.f.Stat()
		return err
	})
	return fi, err
}

// Close closes the remote file handle.
func (f *sftpFile) Close() error {
	return f.s.do("close "+f.name, false, f.f.Close)
}
