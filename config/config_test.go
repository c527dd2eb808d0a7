package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// parse is ParseConfig on a string.
func parse(t *testing.T, text string) (Config, error) {
	t.Helper()
	return ParseConfig(strings.NewReader(text))
}

// server is a valid [[servers]] entry with the given extra lines.
func server(guild, id string, extra ...string) string {
	return fmt.Sprintf("[[servers]]\nguild_id = %q\nid = %q\nkillfeed_dir = \"deathlogs\"\n%s\n",
		guild, id, strings.Join(extra, "\n"))
}

const (
	guildA = "123456789012345678"
	guildB = "98765432109876543"
)

func TestDefaultConfig(t *testing.T) {
	d := DefaultConfig()
	if got, want := d.Storage.Path, "killfeed.db"; got != want {
		t.Errorf("storage.path: got %q, want %q", got, want)
	}
	if got, want := d.Discord.APIURL, "https://discord.com"; got != want {
		t.Errorf("discord.api_url: got %q, want %q", got, want)
	}
	if got, want := d.Discord.Token, ""; got != want {
		t.Errorf("discord.token: got %q, want %q", got, want)
	}
	if got, want := len(d.Servers), 0; got != want {
		t.Errorf("len(servers): got %d, want %d", got, want)
	}

	// An empty file gives the defaults.
	cfg, err := parse(t, "")
	if err != nil {
		t.Fatalf("empty config: got error %v, want nil", err)
	}
	if got, want := fmt.Sprint(cfg), fmt.Sprint(d); got != want {
		t.Errorf("empty config: got %s, want %s", got, want)
	}
}

func TestParseConfigFull(t *testing.T) {
	text := `
# a full config
[storage]
path = "/var/lib/killfeed/stats.db"

[discord]
token = "bot-token-123"
api_url = "http://localhost:8080/"

[[servers]]
guild_id = "123456789012345678"
id = "eu1"
name = "EU #1 PvP"
killfeed_dir = "/srv/deadside/Saved/actual1/deathlogs/world_0"
server_log = "/srv/deadside/Saved/Logs/Deadside.log"
timezone = "Europe/London"

[[servers]]
guild_id = "12345678901234567890"
id = "us-east_2"
killfeed_dir = "/srv/us/deathlogs"
`
	cfg, err := parse(t, text)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"storage.path", cfg.Storage.Path, "/var/lib/killfeed/stats.db"},
		{"discord.token", cfg.Discord.Token, "bot-token-123"},
		{"discord.api_url (trailing slash trimmed)", cfg.Discord.APIURL, "http://localhost:8080"},
		{"servers[0].guild_id", string(cfg.Servers[0].GuildID), "123456789012345678"},
		{"servers[0].id", string(cfg.Servers[0].ID), "eu1"},
		{"servers[0].name", cfg.Servers[0].Name, "EU #1 PvP"},
		{"servers[0].killfeed_dir", cfg.Servers[0].KillfeedDir, "/srv/deadside/Saved/actual1/deathlogs/world_0"},
		{"servers[0].server_log", cfg.Servers[0].ServerLog, "/srv/deadside/Saved/Logs/Deadside.log"},
		{"servers[0].timezone", cfg.Servers[0].Timezone, "Europe/London"},
		{"servers[0].location", cfg.Servers[0].Location.String(), "Europe/London"},
		{"servers[1].guild_id", string(cfg.Servers[1].GuildID), "12345678901234567890"},
		{"servers[1].id", string(cfg.Servers[1].ID), "us-east_2"},
		{"servers[1].name (defaults to id)", cfg.Servers[1].Name, "us-east_2"},
		{"servers[1].server_log", cfg.Servers[1].ServerLog, ""},
		{"servers[1].timezone (default)", cfg.Servers[1].Timezone, "UTC"},
		{"servers[1].location", cfg.Servers[1].Location.String(), "UTC"},
	}
	if len(cfg.Servers) != 2 {
		t.Fatalf("len(servers): got %d, want 2", len(cfg.Servers))
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
}

func TestServerLookup(t *testing.T) {
	cfg, err := parse(t, server(guildA, "eu1")+server(guildA, "us1")+server(guildB, "eu1"))
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	tests := []struct {
		guild  GuildID
		id     ServerID
		wantOK bool
		want   int // index into cfg.Servers
	}{
		{guildA, "eu1", true, 0},
		{guildA, "us1", true, 1},
		{guildB, "eu1", true, 2},
		{guildB, "us1", false, -1},
		{"1", "eu1", false, -1},
	}
	for _, tt := range tests {
		s, ok := cfg.Server(tt.guild, tt.id)
		if ok != tt.wantOK {
			t.Errorf("Server(%q, %q): got ok %v, want %v", tt.guild, tt.id, ok, tt.wantOK)
			continue
		}
		if !ok {
			if s != nil {
				t.Errorf("Server(%q, %q): got %v, want nil", tt.guild, tt.id, s)
			}
			continue
		}
		if s != &cfg.Servers[tt.want] {
			t.Errorf("Server(%q, %q): got %p, want &cfg.Servers[%d]", tt.guild, tt.id, s, tt.want)
		}
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Setenv("KF_TOKEN", "secret-from-env")
	t.Setenv("KF_DIR", "/data/deathlogs")
	t.Setenv("KF_EMPTY", "")
	os.Unsetenv("KF_UNSET_FOR_TEST")

	tests := []struct {
		name  string
		token string // the TOML text after token =
		want  string
	}{
		{"braced reference", `"${KF_TOKEN}"`, "secret-from-env"},
		{"inside text", `"a-${KF_TOKEN}-b"`, "a-secret-from-env-b"},
		{"two references", `"${KF_TOKEN}${KF_TOKEN}"`, "secret-from-envsecret-from-env"},
		{"unset variable is empty", `"${KF_UNSET_FOR_TEST}"`, ""},
		{"empty variable", `"${KF_EMPTY}"`, ""},
		{"bare dollar left alone", `"pa$$word$"`, "pa$$word$"},
		{"unbraced name left alone", `"$KF_TOKEN"`, "$KF_TOKEN"},
		{"invalid name left alone", `"${1KF}"`, "${1KF}"},
		{"unclosed brace left alone", `"${KF_TOKEN"`, "${KF_TOKEN"},
		{"literal string", `'${KF_TOKEN}'`, "secret-from-env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse(t, "[discord]\ntoken = "+tt.token+"\n")
			if err != nil {
				t.Fatalf("got error %v, want nil", err)
			}
			if cfg.Discord.Token != tt.want {
				t.Errorf("token: got %q, want %q", cfg.Discord.Token, tt.want)
			}
		})
	}

	// A reference also works for keys of other tables, and in comments.
	cfg, err := parse(t, "# dir is ${KF_DIR}\n"+
		"[[servers]]\nguild_id = \""+guildA+"\"\nid = \"eu1\"\nkillfeed_dir = \"${KF_DIR}\"\n")
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if got, want := cfg.Servers[0].KillfeedDir, "/data/deathlogs"; got != want {
		t.Errorf("killfeed_dir: got %q, want %q", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Setenv("KF_BAD_TOKEN", "tok-\"broken")
	tests := []struct {
		name string
		text string
		want []string // substrings of the error message
	}{
		{
			name: "unknown server key",
			text: server(guildA, "eu1", `timezon = "UTC"`),
			want: []string{`unknown key "servers.timezon"`, `"servers.timezone"`},
		},
		{
			name: "unknown top-level key",
			text: "colour = \"red\"\n",
			want: []string{`unknown key "colour"`, "check the spelling"},
		},
		{
			name: "unknown table reported once",
			text: "[extras]\na = 1\nb = 2\n",
			want: []string{`unknown key "extras"`},
		},
		{
			name: "unknown storage key",
			text: "[storage]\npth = \"x.db\"\n",
			want: []string{`unknown key "storage.pth"`},
		},
		{
			name: "keep_days not a number",
			text: "[command_log]\nkeep_days = \"90\"\n",
			want: []string{"command_log.keep_days must be a whole number of days"},
		},
		{
			name: "slow step not a duration",
			text: "[timing]\nslow_step = \"fast\"\nslow_steps = { leaderboard = 250 }\n",
			want: []string{"timing.slow_step must be a positive duration", "timing.slow_steps.leaderboard must be a positive duration"},
		},
		{
			name: "http addr not a port",
			text: "[http]\naddr = \"localhost:http-alt\"\n",
			want: []string{`http.addr "localhost:http-alt" is not a port or host:port`},
		},
		{
			name: "stale_after shorter than a poll",
			text: "[http]\naddr = \"9090\"\nstale_after = \"1m\"\n" + server(guildA, "eu1", `poll_interval = "5m"`),
			want: []string{"http.stale_after 1m0s is not longer than servers[0].poll_interval 5m0s"},
		},
		{
			name: "keep_days too large",
			text: "[command_log]\nkeep_days = 200000\n",
			want: []string{"command_log.keep_days must be a whole number of days up to 36500"},
		},
		{
			name: "unknown http key",
			text: "[http]\nadr = \":9090\"\n",
			want: []string{`unknown key "http.adr"`, `"http.addr"`},
		},
		{
			name: "syntax error",
			text: "[storage]\npath = \"x.db\"\nthis is not toml\n",
			want: []string{"line 3"},
		},
		{
			name: "guild_id missing",
			text: "[[servers]]\nid = \"eu1\"\nkillfeed_dir = \"d\"\n",
			want: []string{"servers[0].guild_id is missing", "Copy Server ID"},
		},
		{
			name: "guild_id not a snowflake",
			text: server(guildA, "eu1") + server("abc", "eu2"),
			want: []string{`servers[1].guild_id "abc" is not a Discord id`},
		},
		{
			name: "guild_id too short",
			text: server("1234567890123456", "eu1"),
			want: []string{`servers[0].guild_id "1234567890123456" is not a Discord id`},
		},
		{
			name: "guild_id too long",
			text: server("123456789012345678901", "eu1"),
			want: []string{`servers[0].guild_id "123456789012345678901" is not a Discord id`},
		},
		{
			name: "guild_id written as an integer",
			text: server(guildA, "eu1") + "[[servers]]\nguild_id = 123456789012345678\nid = \"eu2\"\nkillfeed_dir = \"d\"\n",
			want: []string{"servers[1].guild_id", "quoted", `guild_id = "123456789012345678"`},
		},
		{
			name: "guild_id integer too big for int64",
			text: "[[servers]]\nguild_id = 12345678901234567890\nid = \"eu1\"\nkillfeed_dir = \"d\"\n",
			want: []string{"line 2", "guild_id", "in quotes"},
		},
		{
			name: "id missing",
			text: "[[servers]]\nguild_id = \"" + guildA + "\"\nkillfeed_dir = \"d\"\n",
			want: []string{"servers[0].id is missing"},
		},
		{
			name: "id invalid",
			text: server(guildA, "eu one"),
			want: []string{`servers[0].id "eu one" is not valid`, "letters, digits"},
		},
		{
			name: "id too long",
			text: server(guildA, strings.Repeat("a", 65)),
			want: []string{"servers[0].id", "1 to 64"},
		},
		{
			name: "id written as an integer",
			text: "[[servers]]\nguild_id = \"" + guildA + "\"\nid = 1\nkillfeed_dir = \"d\"\n",
			want: []string{"servers[0].id is a number", "quotes"},
		},
		{
			name: "duplicate guild and id",
			text: server(guildA, "eu1") + server(guildB, "eu1") + server(guildA, "eu1"),
			want: []string{`servers[2] repeats guild_id "` + guildA + `" id "eu1": server ids must be unique within a guild`},
		},
		{
			name: "bad timezone",
			text: server(guildA, "eu1", `timezone = "Europe/Londn"`),
			want: []string{`servers[0].timezone "Europe/Londn" is not a known IANA time zone`, `"Europe/London"`},
		},
		{
			name: "killfeed_dir missing",
			text: "[[servers]]\nguild_id = \"" + guildA + "\"\nid = \"eu1\"\n",
			want: []string{"servers[0].killfeed_dir is missing", "deathlogs/world_0"},
		},
		{
			name: "storage.path empty",
			text: "[storage]\npath = \"\"\n",
			want: []string{"storage.path is empty"},
		},
		{
			name: "storage not a table",
			text: "storage = \"x.db\"\n",
			want: []string{"storage is a string, not a table", "[storage]"},
		},
		{
			name: "api_url relative",
			text: "[discord]\napi_url = \"discord.com\"\n",
			want: []string{`discord.api_url "discord.com" is not an absolute http(s) URL`},
		},
		{
			name: "api_url wrong scheme",
			text: "[discord]\napi_url = \"ftp://discord.com\"\n",
			want: []string{"discord.api_url", "http(s)"},
		},
		{
			name: "api_url empty",
			text: "[discord]\napi_url = \"\"\n",
			want: []string{"discord.api_url"},
		},
		{
			name: "servers as a single table",
			text: "[servers]\nguild_id = \"" + guildA + "\"\n",
			want: []string{"servers is a table", "[[servers]]"},
		},
		{
			name: "token not a string",
			text: "[discord]\ntoken = 12345\n",
			want: []string{"discord.token is a number"},
		},
		{
			name: "several problems reported together",
			text: "[storage]\npath = \"\"\n" + server("abc", "eu1", `timezone = "Nowhere/Town"`),
			want: []string{"storage.path", "servers[0].guild_id", "servers[0].timezone"},
		},
		{
			name: "broken token from environment",
			text: "[discord]\ntoken = \"${KF_BAD_TOKEN}\"\n",
			want: []string{"line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.text)
			if err == nil {
				t.Fatalf("got nil error, want one containing %q", tt.want)
			}
			msg := err.Error()
			t.Logf("error: %s", msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("got error %q, want it to contain %q", msg, w)
				}
			}
			checkErrorStyle(t, msg)
			if strings.Contains(msg, "broken") {
				t.Errorf("got error %q, want no part of the token in it", msg)
			}
		})
	}
}

// checkErrorStyle checks every line of a (possibly joined) error message:
// it starts with "config: " and a lowercase letter, and has no trailing
// period.
func checkErrorStyle(t *testing.T, msg string) {
	t.Helper()
	for line := range strings.SplitSeq(msg, "\n") {
		rest, ok := strings.CutPrefix(line, "config: ")
		if !ok {
			t.Errorf("got error line %q, want it to start with %q", line, "config: ")
			continue
		}
		if r := []rune(rest); len(r) == 0 || unicode.IsUpper(r[0]) {
			t.Errorf("got error line %q, want a lowercase start after %q", line, "config: ")
		}
		if strings.HasSuffix(line, ".") {
			t.Errorf("got error line %q, want no trailing period", line)
		}
	}
}

// The optional tables: defaults merged with what is set, and an address
// given as a port alone listens on this machine only.
func TestObservabilityConfig(t *testing.T) {
	cfg, err := parse(t, "[command_log]\nkeep_days = 7\n[timing]\nslow_steps = { leaderboard = \"250ms\" }\n[http]\naddr = \"9090\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CommandLog.KeepDays != 7 {
		t.Errorf("keep_days = %d, want 7", cfg.CommandLog.KeepDays)
	}
	want := map[string]time.Duration{"leaderboard": 250 * time.Millisecond, "ingest": time.Second, "post": time.Second}
	if !reflect.DeepEqual(cfg.Timing.SlowSteps, want) || cfg.Timing.SlowStep != 100*time.Millisecond || cfg.Timing.SlowNetwork != time.Second {
		t.Errorf("timing = %+v, want slow_step 100ms and slow_steps %v", cfg.Timing, want)
	}
	if cfg.HTTP.Addr != "127.0.0.1:9090" || cfg.HTTP.StaleAfter != 2*time.Minute {
		t.Errorf("http = %+v, want addr 127.0.0.1:9090 and stale_after 2m", cfg.HTTP)
	}
	for in, want := range map[string]string{":9100": "127.0.0.1:9100", "0.0.0.0:9100": "0.0.0.0:9100", "[::1]:9100": "[::1]:9100", "": ""} {
		cfg, err := parse(t, "[http]\naddr = \""+in+"\"\n")
		if err != nil || cfg.HTTP.Addr != want {
			t.Errorf("http.addr %q = %q (%v), want %q", in, cfg.HTTP.Addr, err, want)
		}
	}
	// The defaults of one parse are not another's.
	if d := DefaultConfig().Timing.SlowSteps; len(d) != 2 {
		t.Errorf("DefaultConfig().Timing.SlowSteps = %v after parsing, want ingest and post only", d)
	}
}

func TestUnknownKeyReportedOnce(t *testing.T) {
	_, err := parse(t, "[extras]\na = 1\nb = 2\n")
	if err == nil {
		t.Fatal("got nil error, want an unknown key error")
	}
	if got, want := strings.Count(err.Error(), "unknown key"), 1; got != want {
		t.Errorf("got %d unknown key errors in %q, want %d", got, err, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(t.TempDir(), "abs", "deathlogs")
	text := fmt.Sprintf(`
[[servers]]
guild_id = %q
id = "eu1"
killfeed_dir = "logs/deathlogs"
server_log = "logs/Deadside.log"

[[servers]]
guild_id = %q
id = "eu2"
killfeed_dir = '%s'
`, guildA, guildA, abs)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	checks := []struct {
		name      string
		got, want string
	}{
		{"storage.path (default)", cfg.Storage.Path, filepath.Join(dir, "killfeed.db")},
		{"servers[0].killfeed_dir", cfg.Servers[0].KillfeedDir, filepath.Join(dir, "logs", "deathlogs")},
		{"servers[0].server_log", cfg.Servers[0].ServerLog, filepath.Join(dir, "logs", "Deadside.log")},
		{"servers[1].killfeed_dir (absolute)", cfg.Servers[1].KillfeedDir, abs},
		{"servers[1].server_log (unset)", cfg.Servers[1].ServerLog, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}

	// An explicit relative storage path is resolved too.
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(sub, "other.toml")
	if err := os.WriteFile(path2, []byte("[storage]\npath = \"../data/kf.db\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = Load(path2)
	if err != nil {
		t.Fatalf("got error %v, want nil", err)
	}
	if got, want := cfg.Storage.Path, filepath.Join(dir, "data", "kf.db"); got != want {
		t.Errorf("storage.path: got %q, want %q", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte(server("abc", "eu1")), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.toml")

	tests := []struct {
		name   string
		path   string
		want   []string
		wantIs error
	}{
		{"invalid config", bad, []string{fmt.Sprintf("load config %q: config: ", bad), "servers[0].guild_id"}, nil},
		{"missing file", missing, []string{fmt.Sprintf("load config %q: ", missing)}, fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatalf("got nil error, want one containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("got error %q, want it to contain %q", err, w)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("got error %v, want errors.Is(err, %v)", err, tt.wantIs)
			}
		})
	}
}

func TestTokenNeverShown(t *testing.T) {
	const token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.secret.token"
	d := Discord{Token: token, APIURL: "https://discord.com"}
	cfg := DefaultConfig()
	cfg.Discord = d

	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "discord", d, "config", cfg)
	var text bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("start", "discord", d)

	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("json.Marshal: got error %v, want nil", err)
	}

	outputs := []struct {
		name string
		got  string
	}{
		{"String", d.String()},
		{"%v", fmt.Sprintf("%v", d)},
		{"%+v", fmt.Sprintf("%+v", d)},
		{"%#v", fmt.Sprintf("%#v", d)},
		{"%s pointer", fmt.Sprintf("%s", &d)},
		{"config %v", fmt.Sprintf("%v", cfg)},
		{"config %+v", fmt.Sprintf("%+v", cfg)},
		{"config %#v", fmt.Sprintf("%#v", cfg)},
		{"slog JSON", logged.String()},
		{"slog text", text.String()},
		{"JSON", string(js)},
	}
	for _, o := range outputs {
		if strings.Contains(o.got, token) || strings.Contains(o.got, "secret") {
			t.Errorf("%s: got %q, want no token in it", o.name, o.got)
		}
	}
	if got, want := d.String(), "https://discord.com (token set)"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	if got, want := (Discord{APIURL: "https://discord.com"}).String(), "https://discord.com (no token)"; got != want {
		t.Errorf("String without token: got %q, want %q", got, want)
	}
	if !strings.Contains(text.String(), "token set") {
		t.Errorf("slog text: got %q, want it to say the token is set", text.String())
	}

	// Errors from a config holding the token do not show it either.
	t.Setenv("KF_SECRET_TOKEN", token)
	_, err = parse(t, "[discord]\ntoken = \"${KF_SECRET_TOKEN}\"\napi_url = \"nope\"\n"+server("abc", "bad id!"))
	if err == nil {
		t.Fatal("got nil error, want validation errors")
	}
	if strings.Contains(err.Error(), token) {
		t.Errorf("got error %q, want no token in it", err)
	}
}
