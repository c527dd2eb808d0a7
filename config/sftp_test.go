package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSFTPAndPolling(t *testing.T) {
	t.Setenv("KF_SFTP_PASSWORD", "hunter2")
	cfg, err := parse(t, server(guildA, "eu1", `poll_interval = "500ms"`)+server(guildA, "eu2",
		`[servers.sftp]`,
		`host = "eu2.host.example"`,
		`user = "gp123"`,
		`password = "${KF_SFTP_PASSWORD}"`,
		`host_key = "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"`,
		`legacy_algorithms = true`,
	)+server(guildA, "eu3",
		`[servers.sftp]`,
		`host = "eu3.host.example"`,
		`port = 8822`,
		`user = "gp124"`,
		`key_file = "id_ed25519"`,
		`insecure_ignore_host_key = true`,
		`poll_interval = "30s"`,
		`timeout = "5s"`,
	))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	s1, s2, s3 := cfg.Servers[0], cfg.Servers[1], cfg.Servers[2]
	if s1.PollInterval != 500*time.Millisecond || s1.SFTP != nil || s1.Demo {
		t.Errorf("eu1: poll %v, sftp %v, demo %v; want 500ms, none, false", s1.PollInterval, s1.SFTP, s1.Demo)
	}
	if s2.PollInterval != 2*time.Second {
		t.Errorf("eu2: poll_interval %v, want the default 2s", s2.PollInterval)
	}
	want2 := SFTP{Host: "eu2.host.example", Port: 22, User: "gp123", Password: "hunter2",
		HostKey: "SHA256:abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", LegacyAlgorithms: true,
		PollInterval: 10 * time.Second, Timeout: 15 * time.Second}
	if s2.SFTP == nil || *s2.SFTP != want2 {
		t.Errorf("eu2.sftp:\n got %#v\nwant %#v", s2.SFTP, want2)
	}
	want3 := SFTP{Host: "eu3.host.example", Port: 8822, User: "gp124", KeyFile: "id_ed25519",
		InsecureIgnoreHostKey: true, PollInterval: 30 * time.Second, Timeout: 5 * time.Second}
	if s3.SFTP == nil || *s3.SFTP != want3 {
		t.Errorf("eu3.sftp:\n got %+v\nwant %+v", *s3.SFTP, want3)
	}
}

func TestSFTPErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		extra []string
		want  []string
	}{
		{"nothing", []string{"[servers.sftp]"}, []string{
			"servers[0].sftp.host is missing", "servers[0].sftp.user is missing", "servers[0].sftp needs password"}},
		{"bad port", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `port = "22"`},
			[]string{"servers[0].sftp.port must be a number from 1 to 65535"}},
		{"port out of range", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `port = 70000`},
			[]string{"servers[0].sftp.port must be a number from 1 to 65535"}},
		{"bad duration", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `poll_interval = "often"`},
			[]string{`servers[0].sftp.poll_interval must be a positive duration in quotes, like "2s"`}},
		{"duration as a number", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `timeout = 10`},
			[]string{`servers[0].sftp.timeout must be a positive duration`}},
		{"misspelt key", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `pasword = "p"`},
			[]string{`unknown key "servers.sftp.pasword"`, `"servers.sftp.password"`}},
		{"insecure as a string", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `insecure_ignore_host_key = "yes"`},
			[]string{"servers[0].sftp.insecure_ignore_host_key is a string, not true or false"}},
		{"both host key and insecure", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `host_key = "SHA256:x"`, `insecure_ignore_host_key = true`},
			[]string{"sets both host_key and insecure_ignore_host_key"}},
		{"passphrase without key", []string{"[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `key_passphrase = "x"`},
			[]string{"key_passphrase is set without key_file"}},
		{"demo over sftp", []string{"demo = true", "[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`},
			[]string{"servers[0].demo", "cannot be used with [servers.sftp]"}},
		{"sftp not a table", []string{`sftp = "h"`}, []string{"servers[0].sftp is a string, not a table"}},
		{"local poll interval", []string{`poll_interval = "-1s"`}, []string{"servers[0].poll_interval must be a positive duration"}},
		{"demo as a string", []string{`demo = "true"`}, []string{"servers[0].demo is a string, not true or false"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, server(guildA, "eu1", tt.extra...))
			if err == nil {
				t.Fatalf("parse(%q): no error, want one saying %q", tt.extra, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("parse(%q): error %q, want it to contain %q", tt.extra, err, w)
				}
			}
		})
	}
}

// With [servers.sftp], the log paths are on the game host and stay as they
// are; a key file and a known_hosts file are local.
func TestLoadSFTPPaths(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	text := server(guildA, "eu1", "[servers.sftp]", `host = "h"`, `user = "u"`, `key_file = "keys/id"`, `host_key = "known_hosts"`) +
		server(guildA, "eu2", "[servers.sftp]", `host = "h"`, `user = "u"`, `password = "p"`, `host_key = "SHA256:abc"`)
	text = strings.Replace(text, `killfeed_dir = "deathlogs"`, `killfeed_dir = "Deadside/Saved/actual1/deathlogs/world_0"`, 1)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Servers[0]
	if want := "Deadside/Saved/actual1/deathlogs/world_0"; s.KillfeedDir != want {
		t.Errorf("remote killfeed_dir: got %q, want %q unchanged", s.KillfeedDir, want)
	}
	if want := filepath.Join(dir, "keys", "id"); s.SFTP.KeyFile != want {
		t.Errorf("key_file: got %q, want %q", s.SFTP.KeyFile, want)
	}
	if want := filepath.Join(dir, "known_hosts"); s.SFTP.HostKey != want {
		t.Errorf("host_key file: got %q, want %q", s.SFTP.HostKey, want)
	}
	if want := "SHA256:abc"; cfg.Servers[1].SFTP.HostKey != want {
		t.Errorf("host_key fingerprint: got %q, want %q unchanged", cfg.Servers[1].SFTP.HostKey, want)
	}
}

func TestSFTPSecretsNeverShown(t *testing.T) {
	const secret = "s3cret-pass"
	t.Setenv("KF_SFTP_SECRET", secret)
	cfg, err := parse(t, server(guildA, "eu1", "[servers.sftp]", `host = "h"`, `user = "u"`,
		`password = "${KF_SFTP_SECRET}"`, `key_file = "k"`, `key_passphrase = "${KF_SFTP_SECRET}"`))
	if err != nil {
		t.Fatal(err)
	}
	c := *cfg.Servers[0].SFTP
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("start", "sftp", c, "server", cfg.Servers[0])
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string]string{
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"config %+v": fmt.Sprintf("%+v", cfg), "slog": logged.String(), "JSON": string(js),
	} {
		if strings.Contains(got, secret) {
			t.Errorf("%s: got %q, want no password in it", name, got)
		}
	}
	if got, want := c.String(), "sftp://u@h:22"; got != want {
		t.Errorf("String: got %q, want %q", got, want)
	}
	_, err = parse(t, server(guildA, "eu1", "[servers.sftp]", `host = ""`, `user = "u"`, `password = "${KF_SFTP_SECRET}"`, `port = 0`))
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v: want one, without the password", err)
	}
}

func TestDiscordCommandsConfig(t *testing.T) {
	cfg, err := parse(t, "[discord]\ncommand_guilds = [\""+guildA+"\"]\nlink_verification = \"none\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Discord.CommandGuilds) != 1 || cfg.Discord.CommandGuilds[0] != guildA || cfg.Discord.LinkVerification != "none" {
		t.Errorf("discord: %#v", cfg.Discord)
	}
	if d := DefaultConfig().Discord; d.LinkVerification != "relocation" || d.CommandGuilds != nil {
		t.Errorf("defaults: %#v, want relocation and global commands", d)
	}
	for text, want := range map[string]string{
		"[discord]\ncommand_guilds = [123456789012345678]\n": "discord.command_guilds must be a list of quoted guild ids",
		"[discord]\ncommand_guilds = \"" + guildA + "\"\n":   "discord.command_guilds must be a list of quoted guild ids",
		"[discord]\ncommand_guilds = [\"abc\"]\n":            `discord.command_guilds[0] "abc" is not a Discord id`,
		"[discord]\nlink_verification = \"photo\"\n":         `discord.link_verification "photo" is not known`,
	} {
		if _, err := parse(t, text); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q): error %v, want one saying %q", text, err, want)
		}
	}
}

func TestPostsConfig(t *testing.T) {
	cfg, err := parse(t, server(guildA, "eu1")+server(guildA, "eu2",
		"[servers.posts]", `delay = "5m"`, "relocations = true", "missions = []", `airdrop = ["Flying", "Dropping"]`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cfg.Servers[0].Posts, DefaultPosts(); !reflect.DeepEqual(got, want) {
		t.Errorf("posts without a table:\n got %+v\nwant %+v", got, want)
	}
	want := DefaultPosts()
	want.Delay, want.Relocations, want.Missions, want.Airdrop = 5*time.Minute, true, []string{}, []string{"Flying", "Dropping"}
	if got := cfg.Servers[1].Posts; !reflect.DeepEqual(got, want) {
		t.Errorf("posts with some keys:\n got %+v\nwant %+v", got, want)
	}
	if d := DefaultPosts(); d.Relocations || !d.Kills || d.LeaderboardEvery != 30*time.Minute || d.Missions[0] != "READY" {
		t.Errorf("defaults: %+v", d)
	}
	for extra, want := range map[string]string{
		`delay = "soon"`:           "servers[0].posts.delay must be a positive duration",
		`missions = "READY"`:       `servers[0].posts.missions must be a list of states in quotes, like ["READY"]`,
		`kills = "yes"`:            "servers[0].posts.kills is a string, not true or false",
		`leaderboard_every = "0s"`: "servers[0].posts.leaderboard_every must be a positive duration",
		`kils = true`:              `unknown key "servers.posts.kils"`,
	} {
		if _, err := parse(t, server(guildA, "eu1", "[servers.posts]", extra)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("posts with %s: error %v, want one saying %q", extra, err, want)
		}
	}
	if _, err := parse(t, server(guildA, "eu1", "[servers.posts]", `delay = "0s"`)); err != nil {
		t.Errorf("delay 0s: %v", err)
	}
}
