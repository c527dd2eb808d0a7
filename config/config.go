package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // time zone names must work on hosts without a zone database

	"github.com/BurntSushi/toml"
)

// GuildID is a Discord guild (server) id, a snowflake kept as its decimal
// string.
type GuildID string

// ServerID is the short name of a game server, unique within its guild,
// made of 1 to 64 letters, digits, '-' or '_'.
type ServerID string

// Config is the whole of config.toml.
type Config struct {
	Storage    Storage    `toml:"storage"`
	Discord    Discord    `toml:"discord"`
	CommandLog CommandLog `toml:"command_log"`
	Timing     Timing     `toml:"timing"`
	HTTP       HTTP       `toml:"http"`
	Servers    []Server   `toml:"servers"`
}

// CommandLog is the record of every command the bot answered, for
// `killfeed commands`.
type CommandLog struct {
	// KeepDays is how many days a record is kept (default 90); 0 records
	// nothing.
	KeepDays int `toml:"keep_days"`
}

// Timing sets when a step of a flow is slow enough to log a warning with
// the time of each step: a command's (resolved, gathered, rendered,
// responded, edited), an ingest batch's (parsed, committed, indexed) or a
// killfeed message's (rendered, sent, stored).
type Timing struct {
	// SlowStep applies to the bot's own steps in every flow without a
	// threshold of its own (default 100ms).
	SlowStep time.Duration `toml:"slow_step"`
	// SlowSteps holds thresholds by command name ("leaderboard", "admin
	// link") or for "ingest" and "post" (default 1s each).
	SlowSteps map[string]time.Duration `toml:"slow_steps"`
	// SlowNetwork applies to the steps that wait for Discord: responded,
	// edited, sent (default 1s).
	SlowNetwork time.Duration `toml:"slow_network"`
}

// HTTP is the optional HTTP listener for /metrics (Prometheus) and
// /healthz.
type HTTP struct {
	// Addr is where to listen: empty (the default) serves nothing; a port
	// alone ("9090" or ":9090") listens on 127.0.0.1 only; "0.0.0.0:9090"
	// on every interface. ParseConfig turns a port alone into
	// "127.0.0.1:PORT".
	Addr string `toml:"addr"`
	// StaleAfter is how long a log source may go without a successful read
	// before /healthz fails (default 2m).
	StaleAfter time.Duration `toml:"stale_after"`
}

// Storage says where the bot keeps its data.
type Storage struct {
	// Path is the database file, "killfeed.db" by default. Load resolves a
	// relative path against the directory of the config file.
	Path string `toml:"path"`
}

// Discord holds what the bot needs to talk to Discord. Its String, GoString,
// LogValue and MarshalJSON methods leave the token out.
type Discord struct {
	// Token is the bot token. It is secret: never print or log it.
	Token string `toml:"token"`
	// APIURL is the base URL of the Discord API, "https://discord.com" by
	// default, without a trailing slash.
	APIURL string `toml:"api_url"`
	// CommandGuilds, when set, registers the slash commands in these guilds
	// only (they show up at once); otherwise they are registered globally.
	CommandGuilds []GuildID `toml:"command_guilds"`
	// LinkVerification is how /link proves a character is the user's:
	// "relocation" (respawn from the menu within 10 minutes; the default)
	// or "none".
	LinkVerification string `toml:"link_verification"`
	// OutboxKeep is how long a killfeed post may wait for Discord (an
	// outage, a channel without access) before it is dropped, with a line
	// in the log. Default 24h.
	OutboxKeep time.Duration `toml:"outbox_keep"`
}

// Server is one Deadside game server, a [[servers]] entry.
type Server struct {
	// GuildID is the Discord guild the server reports to.
	GuildID GuildID `toml:"guild_id"`
	// ID names the server within its guild.
	ID ServerID `toml:"id"`
	// Name is the display name; it defaults to ID.
	Name string `toml:"name"`
	// KillfeedDir is the folder holding the killfeed CSV files. Load resolves
	// a relative path against the directory of the config file.
	KillfeedDir string `toml:"killfeed_dir"`
	// ServerLog is the server's log file, optional. Load resolves a relative
	// path against the directory of the config file.
	ServerLog string `toml:"server_log"`
	// Timezone is the IANA name of the zone the server writes its
	// timestamps in, "UTC" by default.
	Timezone string `toml:"timezone"`
	// PollInterval is how often a local source reads its files when no
	// file notification woke it: the only wake-up on network shares
	// (SMB, NFS), which deliver none. Default 2s.
	PollInterval time.Duration `toml:"poll_interval"`
	// SFTP, when set, reads KillfeedDir and ServerLog on a remote game host;
	// they are then paths on that host.
	SFTP *SFTP `toml:"sftp"`
	// Demo makes the bot write made-up lines into KillfeedDir and ServerLog
	// as it runs, so that a fresh clone shows a living feed.
	Demo bool `toml:"demo"`
	// Posts says what of the server is posted to Discord, a [servers.posts]
	// table; DefaultPosts when left out.
	Posts Posts `toml:"posts"`
	// Location is Timezone loaded by ParseConfig or Load; it is nil in a
	// Server built by hand.
	Location *time.Location `toml:"-"`
}

// Posts says which events of a server are posted to its channels
// (/setchannel), and when.
type Posts struct {
	// Delay holds killfeed posts back this long, so that the feed cannot
	// be used to find players while they are still there. Default 0.
	Delay time.Duration `toml:"delay"`
	// Killfeed kinds: kills (roadkills included), suicides (own weapon),
	// falls, relocations (respawns from the menu) and environment deaths.
	Kills       bool `toml:"kills"`
	Suicides    bool `toml:"suicides"`
	Falls       bool `toml:"falls"`
	Relocations bool `toml:"relocations"`
	Environment bool `toml:"environment"`
	// The states in which server events are posted ([] for none).
	Missions  []string `toml:"missions"`
	Airdrop   []string `toml:"airdrop"`
	Helicrash []string `toml:"helicrash"`
	Trader    []string `toml:"trader"`
	Convoy    []string `toml:"convoy"`
	// ServerStart posts each start of the game server.
	ServerStart bool `toml:"server_start"`
	// LeaderboardEvery is how often the leaderboard message in the
	// leaderboard channel is brought up to date. Default 30m.
	LeaderboardEvery time.Duration `toml:"leaderboard_every"`
}

// DefaultPosts posts every death but relocations, missions when they are
// ready, the airdrop when it flies, helicrashes, traders and convoys when
// they appear, and server starts; the leaderboard every 30 minutes.
func DefaultPosts() Posts {
	return Posts{
		Kills: true, Suicides: true, Falls: true, Environment: true,
		Missions: []string{"READY"}, Airdrop: []string{"Flying"},
		Helicrash: []string{"INITIAL"}, Trader: []string{"INITIAL"}, Convoy: []string{"INITIAL"},
		ServerStart: true, LeaderboardEvery: 30 * time.Minute,
	}
}

// SFTP is how to reach a game host's files over SFTP, a [servers.sftp]
// table. Its String, GoString, LogValue and MarshalJSON methods leave the
// password and passphrase out.
type SFTP struct {
	Host string `toml:"host"`
	Port int    `toml:"port"` // default 22
	User string `toml:"user"`
	// Password or KeyFile (an OpenSSH private key, with KeyPassphrase if it
	// is encrypted) logs in. Both are secret.
	Password      string `toml:"password"`
	KeyFile       string `toml:"key_file"`
	KeyPassphrase string `toml:"key_passphrase"`
	// HostKey pins the host: a fingerprint as ssh-keygen -lf prints it
	// ("SHA256:..."), or the path of a known_hosts file. Empty refuses to
	// connect and shows the host's fingerprint, unless
	// InsecureIgnoreHostKey is set.
	HostKey               string `toml:"host_key"`
	InsecureIgnoreHostKey bool   `toml:"insecure_ignore_host_key"`
	// LegacyAlgorithms allows the SHA-1 key exchanges, ssh-rsa host keys
	// and CBC ciphers that some game hosts still require.
	LegacyAlgorithms bool `toml:"legacy_algorithms"`
	// PollInterval is the time between two reads (default 10s).
	PollInterval time.Duration `toml:"poll_interval"`
	// Timeout bounds connecting and every remote operation (default 15s).
	Timeout time.Duration `toml:"timeout"`
}

// Address returns "user@host:port", for messages.
func (s SFTP) Address() string { return fmt.Sprintf("%s@%s:%d", s.User, s.Host, s.Port) }

// String describes s without its secrets.
func (s SFTP) String() string { return "sftp://" + s.Address() }

// GoString is like String for the %#v verb.
func (s SFTP) GoString() string { return "config.SFTP{" + s.Address() + "}" }

// LogValue makes slog log s as its address.
func (s SFTP) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes s as its address.
func (s SFTP) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// Defaults.
const (
	defaultStoragePath = "killfeed.db"
	defaultAPIURL      = "https://discord.com"
	defaultTimezone    = "UTC"
	defaultPoll        = 2 * time.Second
	defaultSFTPPort    = 22
	defaultSFTPPoll    = 10 * time.Second
	defaultSFTPTimeout = 15 * time.Second
)

// DefaultConfig returns the configuration an empty config.toml gives: the
// database in "killfeed.db", the public Discord API and no servers.
func DefaultConfig() Config {
	return Config{
		Storage:    Storage{Path: defaultStoragePath},
		Discord:    Discord{APIURL: defaultAPIURL, LinkVerification: "relocation", OutboxKeep: 24 * time.Hour},
		CommandLog: CommandLog{KeepDays: 90},
		Timing: Timing{SlowStep: 100 * time.Millisecond, SlowNetwork: time.Second, SlowSteps: map[string]time.Duration{
			"ingest": time.Second, "post": time.Second,
		}},
		HTTP: HTTP{StaleAfter: 2 * time.Minute},
	}
}

// Server returns the server with the given guild and id, pointing into
// c.Servers, and whether there is one.
func (c Config) Server(guild GuildID, id ServerID) (*Server, bool) {
	for i := range c.Servers {
		if c.Servers[i].GuildID == guild && c.Servers[i].ID == id {
			return &c.Servers[i], true
		}
	}
	return nil, false
}

// String describes d without the token, for example
// "https://discord.com (token set)".
func (d Discord) String() string {
	return d.APIURL + " (" + d.tokenState() + ")"
}

// GoString is like String for the %#v verb: it shows the fields but not the
// token.
func (d Discord) GoString() string {
	return fmt.Sprintf("config.Discord{Token:%q, APIURL:%q, CommandGuilds:%q, LinkVerification:%q}", d.tokenState(), d.APIURL, d.CommandGuilds, d.LinkVerification)
}

// LogValue makes slog log d as its API URL and whether a token is set,
// never the token itself.
func (d Discord) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("api_url", d.APIURL),
		slog.String("token", d.tokenState()),
	)
}

// MarshalJSON encodes d like LogValue, as its API URL and whether a token is
// set, so a Config dumped as JSON (by slog's JSON handler, say) does not carry
// the token.
func (d Discord) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		APIURL string `json:"api_url"`
		Token  string `json:"token"`
	}{d.APIURL, d.tokenState()})
}

func (d Discord) tokenState() string {
	if d.Token == "" {
		return "no token"
	}
	return "token set"
}

// Load reads and validates the config file at path, like ParseConfig, and
// then resolves relative storage.path, killfeed_dir and server_log paths
// against the directory holding the file. Its errors start with
// `load config "path": `.
func Load(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named below already
		}
		return Config{}, fmt.Errorf("load config %q: %w", path, err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f)
	if err != nil {
		return Config{}, fmt.Errorf("load config %q: %w", path, err)
	}
	dir := filepath.Dir(path)
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	cfg.Storage.Path = resolve(dir, cfg.Storage.Path)
	for i := range cfg.Servers {
		s := &cfg.Servers[i]
		if s.SFTP != nil {
			// The log paths are on the game host; a key file is here.
			s.SFTP.KeyFile = resolve(dir, s.SFTP.KeyFile)
			if !strings.HasPrefix(s.SFTP.HostKey, "SHA256:") && !strings.HasPrefix(s.SFTP.HostKey, "MD5:") {
				s.SFTP.HostKey = resolve(dir, s.SFTP.HostKey)
			}
			continue
		}
		s.KillfeedDir = resolve(dir, s.KillfeedDir)
		s.ServerLog = resolve(dir, s.ServerLog)
	}
	return cfg, nil
}

// resolve returns p relative to dir, unless p is empty or already absolute
// (or rooted, like "/data" on Windows).
func resolve(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || p[0] == '/' || p[0] == filepath.Separator {
		return p
	}
	return filepath.Join(dir, p)
}

// ParseConfig reads a config file from r: it starts from DefaultConfig,
// expands ${NAME} environment references, decodes the TOML and validates the
// result, filling in defaults such as a server's name and time zone and
// loading each server's Location. All the problems validation finds are
// returned together, joined with errors.Join.
func ParseConfig(r io.Reader) (Config, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return Config{}, fmt.Errorf("config: read: %w", err)
	}
	text := expandEnv(string(raw))

	// Decode loosely first: syntax errors surface here, and values of the
	// wrong type can be named precisely (servers[1].guild_id rather than
	// BurntSushi's servers.guild_id).
	var loose map[string]any
	if _, err := toml.Decode(text, &loose); err != nil {
		return Config{}, syntaxError(err)
	}
	if errs := checkTypes(loose); len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}

	cfg := DefaultConfig()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		// checkTypes should have caught whatever gets here.
		return Config{}, fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "toml: "))
	}
	applyPostDefaults(&cfg, loose)
	var errs []error
	for _, key := range topUndecoded(md.Undecoded()) {
		errs = append(errs, unknownKeyError(key))
	}
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// applyPostDefaults gives every server's [servers.posts] the defaults of
// the keys it does not set, as the loosely decoded text tells.
func applyPostDefaults(cfg *Config, loose map[string]any) {
	entries, _ := loose["servers"].([]map[string]any)
	if entries == nil {
		for _, e := range asList(loose["servers"]) {
			m, _ := e.(map[string]any)
			entries = append(entries, m)
		}
	}
	for i := range cfg.Servers {
		set := map[string]any{}
		if i < len(entries) {
			set, _ = entries[i]["posts"].(map[string]any)
		}
		def := DefaultPosts()
		dv, got := reflect.ValueOf(&def).Elem(), reflect.ValueOf(&cfg.Servers[i].Posts).Elem()
		for f := range dv.Type().Fields() {
			if _, ok := set[f.Tag.Get("toml")]; ok {
				dv.FieldByIndex(f.Index).Set(got.FieldByIndex(f.Index))
			}
		}
		cfg.Servers[i].Posts = def
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces each ${NAME} in s by the environment variable NAME,
// leaving any other "$" alone.
func expandEnv(s string) string {
	return envRef.ReplaceAllStringFunc(s, func(ref string) string {
		return os.Getenv(ref[2 : len(ref)-1])
	})
}

// syntaxError turns a TOML parse error into a config error naming the line.
// It uses only the short message: the long form quotes the source line,
// which may hold the token.
func syntaxError(err error) error {
	var pe toml.ParseError
	if !errors.As(err, &pe) {
		return fmt.Errorf("config: %s", strings.TrimPrefix(err.Error(), "toml: "))
	}
	msg := fmt.Sprintf("config: line %d: %s", pe.Position.Line, pe.Message)
	if pe.LastKey != "" {
		msg += fmt.Sprintf(" (last key %q)", pe.LastKey)
	}
	if strings.HasSuffix(pe.LastKey, "guild_id") && strings.Contains(pe.Message, "out of range") {
		msg += `: write Discord ids in quotes, like guild_id = "123456789012345678"`
	}
	return errors.New(msg)
}

// The keys config.toml may hold, by table ("" is the top level); built from
// the toml tags so it cannot drift from the structs.
var knownKeys = func() map[string][]string {
	keys := map[string][]string{}
	var walk func(table string, t reflect.Type)
	walk = func(table string, t reflect.Type) {
		for f := range t.Fields() {
			name := f.Tag.Get("toml")
			if name == "" || name == "-" {
				continue
			}
			keys[table] = append(keys[table], name)
			ft := f.Type
			if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				sub := name
				if table != "" {
					sub = table + "." + name
				}
				walk(sub, ft)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return keys
}()

// topUndecoded drops the keys inside an unknown table, which is reported
// itself.
func topUndecoded(keys []toml.Key) []toml.Key {
	var out []toml.Key
	reported := map[string]bool{}
	for _, k := range keys {
		skip := false
		for i := 1; i < len(k); i++ {
			if reported[k[:i].String()] {
				skip = true
				break
			}
		}
		if !skip {
			reported[k.String()] = true
			out = append(out, k)
		}
	}
	return out
}

func unknownKeyError(key toml.Key) error {
	table := strings.Join(key[:len(key)-1], ".")
	last := key[len(key)-1]
	best, bestDist := "", 3 // suggest only close matches
	for _, known := range knownKeys[table] {
		if d := editDistance(last, known); d < bestDist {
			best, bestDist = known, d
		}
	}
	if best != "" {
		full := best
		if table != "" {
			full = table + "." + best
		}
		return fmt.Errorf("config: unknown key %q (did you mean %q? see config.toml for every key)", key.String(), full)
	}
	return fmt.Errorf("config: unknown key %q (check the spelling; see config.toml for every key)", key.String())
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkTypes reports known keys holding values of the wrong TOML type, as
// decoded into a generic map. Unknown keys are left to the unknown-key check.
func checkTypes(m map[string]any) []error {
	var errs []error
	table := func(key string) map[string]any {
		v, ok := m[key]
		if !ok {
			return nil
		}
		t, ok := v.(map[string]any)
		if !ok {
			errs = append(errs, fmt.Errorf("config: %s is %s, not a table: write it as a [%s] section", key, typeName(v), key))
		}
		return t
	}
	if t := table("storage"); t != nil {
		errs = append(errs, checkStrings("storage.", t, "path")...)
	}
	if t := table("discord"); t != nil {
		errs = append(errs, checkStrings("discord.", t, "token", "api_url", "link_verification")...)
		errs = append(errs, checkDurations("discord.", t, "outbox_keep")...)
		if v, ok := t["command_guilds"]; ok {
			list, ok := v.([]any)
			for _, g := range list {
				if _, isString := g.(string); !isString {
					ok = false
				}
			}
			if !ok {
				errs = append(errs, errors.New(`config: discord.command_guilds must be a list of quoted guild ids, like ["123456789012345678"]`))
			}
		}
	}
	if t := table("command_log"); t != nil {
		if v, ok := t["keep_days"]; ok {
			if n, ok := v.(int64); !ok || n < 0 || n > 36500 {
				errs = append(errs, errors.New("config: command_log.keep_days must be a whole number of days up to 36500, like 90 (no quotes), or 0 to record no commands"))
				delete(t, "keep_days")
			}
		}
	}
	if t := table("timing"); t != nil {
		errs = append(errs, checkDurations("timing.", t, "slow_step", "slow_network")...)
		if v, ok := t["slow_steps"]; ok {
			st, ok := v.(map[string]any)
			if !ok {
				errs = append(errs, fmt.Errorf(`config: timing.slow_steps is %s, not a table: write it like slow_steps = { leaderboard = "250ms", post = "2s" }`, typeName(v)))
				delete(t, "slow_steps")
			} else {
				for k := range st {
					errs = append(errs, checkDurations("timing.slow_steps.", st, k)...)
				}
			}
		}
	}
	if t := table("http"); t != nil {
		errs = append(errs, checkStrings("http.", t, "addr")...)
		errs = append(errs, checkDurations("http.", t, "stale_after")...)
	}
	if v, ok := m["servers"]; ok {
		var entries []map[string]any
		switch v := v.(type) {
		case []map[string]any:
			entries = v
		case []any:
			for _, e := range v {
				t, ok := e.(map[string]any)
				if !ok {
					entries = nil
					errs = append(errs, errors.New("config: servers holds something other than tables: write each server as a [[servers]] section"))
					break
				}
				entries = append(entries, t)
			}
		default:
			errs = append(errs, fmt.Errorf("config: servers is %s, not a list of tables: write each server as a [[servers]] section, with double brackets", typeName(v)))
		}
		for i, t := range entries {
			prefix := fmt.Sprintf("servers[%d].", i)
			if g, ok := t["guild_id"].(int64); ok {
				errs = append(errs, fmt.Errorf("config: %sguild_id is a number, but Discord ids must be quoted: write guild_id = \"%d\"", prefix, g))
				delete(t, "guild_id")
			}
			errs = append(errs, checkStrings(prefix, t, "guild_id", "id", "name", "killfeed_dir", "server_log", "timezone")...)
			errs = append(errs, checkDurations(prefix, t, "poll_interval")...)
			errs = append(errs, checkBools(prefix, t, "demo")...)
			if v, ok := t["posts"]; ok {
				pt, ok := v.(map[string]any)
				if !ok {
					errs = append(errs, fmt.Errorf("config: %sposts is %s, not a table: write it as a [servers.posts] section under its [[servers]]", prefix, typeName(v)))
				} else {
					p := prefix + "posts."
					errs = append(errs, checkDurations(p, pt, "leaderboard_every")...)
					errs = append(errs, checkBools(p, pt, "kills", "suicides", "falls", "relocations", "environment", "server_start")...)
					if d, ok := pt["delay"]; ok {
						if s, _ := d.(string); s != "0" && s != "0s" {
							errs = append(errs, checkDurations(p, pt, "delay")...)
						}
					}
					for _, k := range []string{"missions", "airdrop", "helicrash", "trader", "convoy"} {
						if v, ok := pt[k]; ok {
							list, isList := v.([]any)
							for _, x := range list {
								if _, ok := x.(string); !ok {
									isList = false
								}
							}
							if !isList {
								errs = append(errs, fmt.Errorf(`config: %s%s must be a list of states in quotes, like ["READY"], or [] for none`, p, k))
							}
						}
					}
				}
			}
			if v, ok := t["sftp"]; ok {
				st, ok := v.(map[string]any)
				if !ok {
					errs = append(errs, fmt.Errorf("config: %ssftp is %s, not a table: write it as a [servers.sftp] section under its [[servers]]", prefix, typeName(v)))
					continue
				}
				p := prefix + "sftp."
				errs = append(errs, checkStrings(p, st, "host", "user", "password", "key_file", "key_passphrase", "host_key")...)
				errs = append(errs, checkBools(p, st, "insecure_ignore_host_key", "legacy_algorithms")...)
				errs = append(errs, checkDurations(p, st, "poll_interval", "timeout")...)
				if port, ok := st["port"]; ok {
					if n, ok := port.(int64); !ok || n < 1 || n > 65535 {
						errs = append(errs, fmt.Errorf("config: %sport must be a number from 1 to 65535, like 22 or 8822 (no quotes)", p))
						delete(st, "port")
					}
				}
			}
		}
	}
	return errs
}

// checkStrings reports the given keys of t that are present but not
// strings. It never quotes a value, which might be the token.
func checkStrings(prefix string, t map[string]any, keys ...string) []error {
	var errs []error
	for _, k := range keys {
		v, ok := t[k]
		if !ok {
			continue
		}
		if _, ok := v.(string); !ok {
			errs = append(errs, fmt.Errorf("config: %s%s is %s, not a string: put the value in quotes", prefix, k, typeName(v)))
		}
	}
	return errs
}

// checkDurations reports the given keys of t that are present but not a
// positive duration string like "10s".
func checkDurations(prefix string, t map[string]any, keys ...string) []error {
	var errs []error
	for _, k := range keys {
		v, ok := t[k]
		if !ok {
			continue
		}
		s, _ := v.(string)
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			errs = append(errs, fmt.Errorf(`config: %s%s must be a positive duration in quotes, like "2s", "500ms" or "1m"`, prefix, k))
		}
	}
	return errs
}

// checkBools reports the given keys of t that are present but not booleans.
func checkBools(prefix string, t map[string]any, keys ...string) []error {
	var errs []error
	for _, k := range keys {
		if v, ok := t[k]; ok {
			if _, ok := v.(bool); !ok {
				errs = append(errs, fmt.Errorf("config: %s%s is %s, not true or false: write it without quotes", prefix, k, typeName(v)))
			}
		}
	}
	return errs
}

func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64, float64:
		return "a number"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date or time"
	case []any, []map[string]any:
		return "a list"
	case map[string]any:
		return "a table"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

var (
	snowflake = regexp.MustCompile(`^[0-9]{17,20}$`)
	serverID  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

const guildIDHelp = `a number like "123456789012345678" (Developer Mode, right-click the server, Copy Server ID)`

// validate checks c, fills in per-server defaults and loads each server's
// Location. It returns every problem found.
func (c *Config) validate() []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("config: "+format, args...))
	}

	if strings.TrimSpace(c.Storage.Path) == "" {
		bad(`storage.path is empty: set it to the database file, like %q, or leave it out`, defaultStoragePath)
	}

	if u, err := url.Parse(c.Discord.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		shown := c.Discord.APIURL
		if err == nil {
			shown = u.Redacted()
		}
		bad(`discord.api_url %q is not an absolute http(s) URL: use something like %q, or leave it out`, shown, defaultAPIURL)
	} else {
		c.Discord.APIURL = strings.TrimRight(c.Discord.APIURL, "/")
	}

	for i, g := range c.Discord.CommandGuilds {
		if !snowflake.MatchString(string(g)) {
			bad(`discord.command_guilds[%d] %q is not a Discord id: use the 17 to 20 digit server (guild) id, %s`, i, g, guildIDHelp)
		}
	}
	switch c.Discord.LinkVerification {
	case "relocation", "none":
	default:
		bad(`discord.link_verification %q is not known: use "relocation" (the player respawns from the menu to prove the character is theirs) or "none"`, c.Discord.LinkVerification)
	}

	if a := strings.TrimSpace(c.HTTP.Addr); a != "" {
		if !strings.Contains(a, ":") {
			a = ":" + a
		}
		if strings.HasPrefix(a, ":") {
			a = "127.0.0.1" + a // a port alone: this machine only
		}
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 || host == "" {
			bad(`http.addr %q is not a port or host:port: use "9090" (this machine only), "0.0.0.0:9090" (every interface), or leave it empty to serve nothing`, c.HTTP.Addr)
		}
		c.HTTP.Addr = a
	}

	type key struct {
		guild GuildID
		id    ServerID
	}
	seen := map[key]bool{}
	for i := range c.Servers {
		s := &c.Servers[i]
		name := fmt.Sprintf("servers[%d]", i)
		okGuild, okID := false, false

		switch {
		case s.GuildID == "":
			bad(`%s.guild_id is missing: set it to the Discord server (guild) id, %s`, name, guildIDHelp)
		case !snowflake.MatchString(string(s.GuildID)):
			bad(`%s.guild_id %q is not a Discord id: use the 17 to 20 digit server (guild) id, %s`, name, s.GuildID, guildIDHelp)
		default:
			okGuild = true
		}

		switch {
		case s.ID == "":
			bad(`%s.id is missing: give the server a short id of letters, digits, '-' or '_', like "eu1"`, name)
		case !serverID.MatchString(string(s.ID)):
			bad(`%s.id %q is not valid: use 1 to 64 letters, digits, '-' or '_', like "eu1"`, name, s.ID)
		default:
			okID = true
		}

		if okGuild && okID {
			k := key{s.GuildID, s.ID}
			if seen[k] {
				bad(`%s repeats guild_id %q id %q: server ids must be unique within a guild`, name, s.GuildID, s.ID)
			}
			seen[k] = true
		}

		if s.Name == "" {
			s.Name = string(s.ID)
		}

		if strings.TrimSpace(s.KillfeedDir) == "" {
			bad(`%s.killfeed_dir is missing: set it to the folder with the killfeed CSVs, Deadside/Saved/actual1/deathlogs/world_0`, name)
		}

		if s.PollInterval == 0 {
			s.PollInterval = defaultPoll
		}
		if c := s.SFTP; c != nil {
			c.validate(name, bad)
			if s.Demo {
				bad(`%s.demo writes made-up lines into local files: it cannot be used with [servers.sftp]`, name)
			}
		}

		if c.HTTP.Addr != "" {
			poll, key := s.PollInterval, name+".poll_interval"
			if s.SFTP != nil {
				poll, key = s.SFTP.PollInterval, name+".sftp.poll_interval"
			}
			if c.HTTP.StaleAfter <= poll {
				bad(`http.stale_after %s is not longer than %s %s: /healthz would fail between two reads; make stale_after at least twice it`, c.HTTP.StaleAfter, key, poll)
			}
		}

		if s.Timezone == "" {
			s.Timezone = defaultTimezone
		}
		loc, err := time.LoadLocation(s.Timezone)
		if err != nil {
			bad(`%s.timezone %q is not a known IANA time zone (for example "Europe/London", "America/New_York", "UTC")`, name, s.Timezone)
		} else {
			s.Location = loc
		}
	}
	return errs
}

// validate checks a [servers.sftp] table and fills in its defaults.
func (c *SFTP) validate(name string, bad func(string, ...any)) {
	name += ".sftp"
	if strings.TrimSpace(c.Host) == "" {
		bad(`%s.host is missing: set it to the game host's SFTP address, like "eu1.gamehost.example"`, name)
	}
	if c.Port == 0 {
		c.Port = defaultSFTPPort
	}
	if strings.TrimSpace(c.User) == "" {
		bad(`%s.user is missing: set it to the SFTP user name from your game host's panel`, name)
	}
	if c.Password == "" && c.KeyFile == "" {
		bad(`%s needs password (like "${SFTP_PASSWORD}") or key_file (an OpenSSH private key) to log in`, name)
	}
	if c.KeyPassphrase != "" && c.KeyFile == "" {
		bad(`%s.key_passphrase is set without key_file: add key_file, or remove key_passphrase`, name)
	}
	if c.HostKey != "" && c.InsecureIgnoreHostKey {
		bad(`%s sets both host_key and insecure_ignore_host_key: keep host_key and remove insecure_ignore_host_key`, name)
	}
	if c.PollInterval == 0 {
		c.PollInterval = defaultSFTPPoll
	}
	if c.Timeout == 0 {
		c.Timeout = defaultSFTPTimeout
	}
}
