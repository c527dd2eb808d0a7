package embed

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// Hostile inputs, from the brief and from what Discord renders.
const (
	everyone = "**@everyone**"
	mention  = "<@123>"
	codeName = "`code`"
	quote    = "> quote"
)

var (
	longName  = strings.Repeat("A", 5000)
	longStars = strings.Repeat("*", 5000)
)

// at is a real line's time: 2025.04.30-00.18.37.
var at = time.Date(2025, 4, 30, 0, 18, 37, 0, time.UTC)

// rec returns a killfeed record as storage gives it.
func rec(t time.Time, kind parser.Kind, killer, killerID, victim, victimID, weapon string, dist int32, kp, vp string) *storage.Record {
	return &storage.Record{
		Time: t.Unix(), Seq: 1, Kind: kind, Distance: dist,
		Killer: []byte(killer), KillerID: []byte(killerID),
		Victim: []byte(victim), VictimID: []byte(victimID),
		Weapon: []byte(weapon), KillerPlatform: []byte(kp), VictimPlatform: []byte(vp),
	}
}

const (
	shogunID  = "0002b3c1884e4c10b0c6850466cbff5d"
	angmurID  = "000295d3854249a18ea464d1760050e8"
	hallagID  = "00024d4b8a1c4e2f9d3b7a6c5e4f3a2b"
	kt93141ID = "00022ba2c3d4e5f60718293a4b5c6d7e"
	server    = "EU #1 PvP | Deadside"
)

func fullStats() stats.Stats {
	return stats.Stats{
		ID: shogunID, Name: "OGz Shogun",
		Kills: 57, Deaths: 23, Suicides: 4, Relocations: 19, EnvironmentDeaths: 2,
		KDR: 2.48, LongestKill: 312, BestStreak: 9, CurrentStreak: 3,
		FavouriteWeapon: "IZH-43",
		Nemesis:         &stats.Rival{ID: hallagID, Name: "HallagerTheDane", Count: 5},
		Prey:            &stats.Rival{ID: angmurID, Name: "Angmur", Count: 11},
		LastSeen:        at.Add(-3 * time.Hour),
		Platform:        "XSX",
	}
}

func board(names ...string) []stats.Entry {
	var es []stats.Entry
	for i, n := range names {
		es = append(es, stats.Entry{Rank: i + 1, ID: strings.Repeat("0", 31) + string(rune('a'+i%26)), Name: n, Value: float64(50 - 7*i)})
	}
	return es
}

func serverEvent(kind parser.ServerKind, f func(*parser.ServerEvent)) ServerEvent {
	ev := parser.ServerEvent{Time: at.Add(123 * time.Millisecond), Kind: kind}
	if f != nil {
		f(&ev)
	}
	return ServerEvent{Event: ev, Server: server}
}

// goldenCases are every kind of embed, for realistic and hostile inputs.
func goldenCases() []struct {
	name string
	e    *discordgo.MessageEmbed
} {
	type c = struct {
		name string
		e    *discordgo.MessageEmbed
	}
	kill := func(r *storage.Record, streak int, kdr float64, notable ...string) *discordgo.MessageEmbed {
		return Killfeed(Kill{Record: r, Server: server, KillerStreak: streak, KillerKDR: kdr, Notable: notable})
	}
	newPlayer := stats.Stats{ID: kt93141ID, Name: "KT93141", Deaths: 1, KDR: 0}
	hostileStats := fullStats()
	hostileStats.Name = everyone
	hostileStats.Nemesis = &stats.Rival{ID: hallagID, Name: mention, Count: 2}
	hostileStats.Prey = &stats.Rival{ID: angmurID, Name: quote, Count: 1}
	hostileStats.FavouriteWeapon = codeName
	hostileStats.Platform = "@here"
	longStats := fullStats()
	longStats.Name = longName
	longStats.Nemesis.Name = longStars

	return []c{
		// Killfeed.
		{"kill", kill(rec(at, parser.Kill, "OGz Shogun", shogunID, "Angmur", angmurID, "S85", 83, "XSX", "XSX"), 3, 2.5)},
		{"kill_notable", kill(rec(at, parser.Kill, "HallagerTheDane", hallagID, "KT93141", kt93141ID, "M99", 152, "PS5", "XSX"), 5, 3.25,
			"Longest kill this week", "Ended KT93141's streak of 7")},
		{"kill_old_format", kill(rec(time.Date(2025, 3, 27, 10, 12, 5, 0, time.UTC), parser.Kill, "Robbie FTW420", "0002d702203e47889460138c10e6df76", "paix-du_06", "000240310c0f4e169efcdec038e79e8f", "Woodcutter's Axe", 2, "", ""), 0, 0)},
		{"roadkill_car", kill(rec(at, parser.Kill, "ShamXyZ", "0002aafb42c14af6a293d32ccf53c8df", "HATERSWATCH", "00024afed387453195c040bb85708405", "land_vehicle", 1, "PS5", "PS5"), 2, 1)},
		{"roadkill_boat", kill(rec(at, parser.Kill, "Dixyp", "0002b4a7d2404166aeb8f7cae78daba6", "Jte-OnE-TaPe-57", "0002cf0aff214629a915e18a4f3f122f", "boat", 1, "", ""), 1, 0.5)},
		{"suicide", kill(rec(at, parser.SelfDeath, "I-KiaN-Mc", "0002471843a243398e480b19a4b51800", "I-KiaN-Mc", "0002471843a243398e480b19a4b51800", "R-5", 0, "WIN64", "WIN64"), 0, 0)},
		{"fall", kill(rec(at, parser.SelfDeath, "cuhslice", "00026a6207f5474985e018da4ea98b8f", "cuhslice", "00026a6207f5474985e018da4ea98b8f", "falling", 0, "PS5", "PS5"), 0, 0)},
		{"relocation", kill(rec(at, parser.SelfDeath, "attacker92", "0002f53bddbb4b45845d423ee4787691", "attacker92", "0002f53bddbb4b45845d423ee4787691", "suicide_by_relocation", 0, "XSX", "XSX"), 0, 0)},
		{"environment", kill(rec(at, parser.Unattributed, "", "", "adzqi", "00028d58842e4d8c9b96300c2df8f9b9", "", 1, "", "XSX"), 0, 0)},
		{"environment_old_format", kill(rec(at, parser.Unattributed, "", "", "ELECTRIC_LAVA_05", "0002cb6bed4d47eb96b5f171767ce945", "", 1, "", ""), 0, 0)},
		{"kill_hostile", Killfeed(Kill{
			Record: rec(at, parser.Kill, everyone, shogunID, mention, angmurID, quote, 40, "@here", "PS5"),
			Server: "[evil](https://example.com) @here", KillerStreak: 1, KillerKDR: 1,
			Notable: []string{codeName, "||spoiler|| ~~gone~~ __under__", "# heading", "-# subtext", "1. list", "line\nbreak"},
		})},
		{"kill_long_names", kill(rec(at, parser.Kill, longName, shogunID, longStars, angmurID, strings.Repeat("_", 300), 2000, "PS5", "XSX"), 12, 12, strings.Repeat("@", 600))},
		{"kill_unicode", kill(rec(at, parser.Kill, "Влад 🇺🇦", shogunID, "naïve é 👨‍👩‍👧 Łukasz", angmurID, "Mosin-K", 415, "PS5", "XSX"), 4, 1.75, "Третий подряд")},
		{"kill_control", kill(rec(at, parser.Kill, "line1\nline2\r\n# heading", shogunID, "tab\there\u202eevil", angmurID, "1. list", 7, "", ""), 1, 1)},
		{"kill_no_record", Killfeed(Kill{Server: server})},

		// Stats.
		{"stats", Stats(Player{Stats: fullStats(), Period: stats.Week, Server: server, At: at, Playtime: 27*time.Hour + 14*time.Minute})},
		{"stats_new_player", Stats(Player{Stats: newPlayer, Period: stats.AllTime, Server: server, At: at})},
		{"stats_hostile", Stats(Player{Stats: hostileStats, Period: stats.Day, Server: server, At: at})},
		{"stats_long_name", Stats(Player{Stats: longStats, Period: stats.Month, Server: server, At: at})},
		{"stats_unknown_period", Stats(Player{Stats: fullStats(), Period: "season", Server: server, At: at})},

		// Leaderboards.
		{"leaderboard_kills", Leaderboard(Board{Metric: stats.Kills, Period: stats.Week, Server: server, At: at,
			Entries: board("OGz Shogun", "HallagerTheDane", "Angmur", "cuhslice", "attacker92")})},
		{"leaderboard_kdr", Leaderboard(Board{Metric: stats.KDR, Period: stats.AllTime, Server: server, At: at,
			Entries: []stats.Entry{{Rank: 1, ID: shogunID, Name: "OGz Shogun", Value: 4.5}, {Rank: 2, ID: hallagID, Name: "HallagerTheDane", Value: 2.13}, {Rank: 3, ID: angmurID, Name: "Angmur", Value: 1}, {Rank: 4, ID: kt93141ID, Name: "KT93141", Value: 0.33}}})},
		{"leaderboard_longest", Leaderboard(Board{Metric: stats.LongestKill, Period: stats.Month, Server: server, At: at,
			Entries: []stats.Entry{{Rank: 1, ID: hallagID, Name: "HallagerTheDane", Value: 412}, {Rank: 2, ID: shogunID, Name: "OGz Shogun", Value: 312}}})},
		{"leaderboard_streak", Leaderboard(Board{Metric: stats.BestStreak, Period: stats.Day, Server: server, At: at,
			Entries: []stats.Entry{{Rank: 1, ID: shogunID, Name: "OGz Shogun", Value: 9}, {Rank: 2, ID: angmurID, Name: "Angmur", Value: 1}}})},
		{"leaderboard_suicides", Leaderboard(Board{Metric: stats.Suicides, Period: stats.AllTime, Server: server, At: at,
			Entries: []stats.Entry{{Rank: 1, ID: shogunID, Name: "I-KiaN-Mc", Value: 1}}})},
		{"leaderboard_deaths", Leaderboard(Board{Metric: stats.Deaths, Period: stats.AllTime, Server: server, At: at,
			Entries: board("KT93141", "Angmur")})},
		{"leaderboard_empty", Leaderboard(Board{Metric: stats.Kills, Period: stats.Day, Server: server, At: at})},
		{"leaderboard_hostile", Leaderboard(Board{Metric: stats.Kills, Period: stats.Week, Server: server, At: at,
			Entries: board(everyone, mention, codeName, quote, "1. list", longName)})},

		// Compare.
		{"compare", Compare(Versus{A: fullStats(), B: stats.Stats{ID: hallagID, Name: "HallagerTheDane", Kills: 40, Deaths: 30, KDR: 1.33, LongestKill: 412, BestStreak: 6, FavouriteWeapon: "M99"},
			AKilledB: 3, BKilledA: 1, Period: stats.AllTime, Server: server, At: at})},
		{"compare_hostile", Compare(Versus{A: stats.Stats{Name: codeName, FavouriteWeapon: everyone}, B: stats.Stats{Name: mention, Kills: 1, KDR: 1, LongestKill: 5},
			AKilledB: 0, BKilledA: 2, Period: stats.Week, Server: server, At: at})},

		// Server log.
		{"server_start", ServerLog(serverEvent(parser.ServerStart, nil))},
		{"player_limit", ServerLog(serverEvent(parser.PlayerLimit, func(e *parser.ServerEvent) { e.Count = 50 }))},
		{"queue", ServerLog(serverEvent(parser.Queue, func(e *parser.ServerEvent) {
			e.PlayerID, e.Player, e.Platform = "000240ecc1ba45d59962bc2d34e0177e", "ExHyper", "PS5"
		}))},
		{"join", func() *discordgo.MessageEmbed {
			s := serverEvent(parser.Join, func(e *parser.ServerEvent) { e.PlayerID = "000240ecc1ba45d59962bc2d34e0177e" })
			s.Player, s.Platform, s.Online, s.Limit = "ExHyper", "PS5", 12, 50
			return ServerLog(s)
		}()},
		{"join_id_only", ServerLog(serverEvent(parser.Join, func(e *parser.ServerEvent) { e.PlayerID = "000240ecc1ba45d59962bc2d34e0177e" }))},
		{"leave_timed_out", func() *discordgo.MessageEmbed {
			s := serverEvent(parser.Leave, func(e *parser.ServerEvent) { e.PlayerID, e.State = "000240ecc1ba45d59962bc2d34e0177e", "timed_out" })
			s.Player, s.Online, s.Limit = "ExHyper", 11, 50
			return ServerLog(s)
		}()},
		{"leave_quit", func() *discordgo.MessageEmbed {
			s := serverEvent(parser.Leave, func(e *parser.ServerEvent) { e.Player, e.State = "ExHyper", "quit" })
			s.Online = 3
			return ServerLog(s)
		}()},
		{"mission", ServerLog(serverEvent(parser.Mission, func(e *parser.ServerEvent) { e.Name, e.State = "GA_Military_02_Mis1", "READY" }))},
		{"mission_in_progress", ServerLog(serverEvent(parser.Mission, func(e *parser.ServerEvent) { e.Name, e.State = "GA_Airport_Mis1", "IN_PROGRESS" }))},
		{"mission_hostile", ServerLog(serverEvent(parser.Mission, func(e *parser.ServerEvent) { e.Name, e.State = everyone+"_"+mention, "[x](y)" }))},
		{"airdrop", ServerLog(serverEvent(parser.Airdrop, func(e *parser.ServerEvent) { e.Name, e.State = "AirDrop", "Flying" }))},
		{"helicrash", ServerLog(serverEvent(parser.Helicrash, func(e *parser.ServerEvent) { e.Name, e.State = "BP_HelicrashEvent_C_2147", "INITIAL" }))},
		{"trader", ServerLog(serverEvent(parser.Trader, func(e *parser.ServerEvent) { e.Name, e.State = "BP_RoamingTraderEvent_C_2147", "IN_PROGRESS" }))},
		{"convoy", ServerLog(serverEvent(parser.Convoy, func(e *parser.ServerEvent) { e.Name, e.State = "BP_ConvoyEvent_C_2147", "COMPLETED" }))},
		{"vehicle_add", ServerLog(serverEvent(parser.VehicleAdd, func(e *parser.ServerEvent) {
			e.Name, e.Count = "BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394", 1
		}))},
		{"vehicle_del", ServerLog(serverEvent(parser.VehicleDel, func(e *parser.ServerEvent) {
			e.Name, e.Count = "BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394", 0
		}))},

		// Linking.
		{"link_pending", LinkPending(Link{Player: "OGz Shogun", Server: server, Within: 10 * time.Minute, Deadline: at.Add(10 * time.Minute), At: at})},
		{"linked", Linked(Link{Player: "OGz Shogun", PlayerID: shogunID, Server: server, At: at.Add(4 * time.Minute)})},
		{"link_expired", LinkExpired(Link{Player: "OGz Shogun", Server: server, Within: 10 * time.Minute, At: at.Add(10 * time.Minute)})},
		{"unlinked", Unlinked(Link{Player: "OGz Shogun", Server: server, At: at})},
		{"links", Links([]Link{
			{Player: "OGz Shogun", PlayerID: shogunID, Server: server, At: at.Add(-48 * time.Hour)},
			{Player: "Angmur", PlayerID: angmurID, Server: "EU #2 PvE", At: at.Add(-time.Hour)},
		}, at)},
		{"links_empty", Links(nil, at)},
		{"link_hostile", LinkPending(Link{Player: everyone, Server: mention, Within: 90 * time.Second, Deadline: at.Add(90 * time.Second), At: at})},

		// Status.
		{"status", Status(Health{Version: "v0.4.1", Uptime: 50*time.Hour + 7*time.Minute, At: at, Sources: []Source{
			{Server: server, Connected: true, LastLine: at.Add(-4 * time.Second), Lag: 180 * time.Millisecond, Lines: 1_204_311, Skipped: 3},
			{Server: "EU #2 PvE", Connected: true, LastLine: at.Add(-2 * time.Minute), Lag: 2*time.Second + 400*time.Millisecond, Lines: 88_020},
		}})},
		{"status_down", Status(Health{Version: "v0.4.1", Uptime: 12 * time.Minute, At: at, Sources: []Source{
			{Server: server, Connected: true, LastLine: at.Add(-4 * time.Second), Lag: 90 * time.Millisecond, Lines: 520},
			{Server: "US West", Connected: false, Err: "sftp: dial 203.0.113.7:8822: connection refused"},
		}})},
		{"status_empty", Status(Health{Version: "dev", At: at})},
		{"status_bot", Status(Health{Version: "v0.4.1", Uptime: 3 * time.Hour, At: at, Bot: &Figures{
			Online: true, Since: at.Add(-3 * time.Hour), Commands: [4]int64{12_480, 31, 2, 0}, Failed: 1,
			Waiting: 4, Sent: 1_830, RateLimited: 1, Logging: true, Logged: 12_509, LogDropped: 0,
		}, Sources: []Source{
			{Server: server, Connected: true, LastLine: at.Add(-4 * time.Second), Lag: 180 * time.Millisecond, Lines: 1_204_311, Skipped: 3},
		}})},
		{"status_bot_no_log", Status(Health{Version: "v0.4.1", Uptime: time.Minute, At: at, Bot: &Figures{Online: true, Since: at.Add(-time.Minute)}})},
		{"status_bot_offline", Status(Health{Version: "v0.4.1", Uptime: 3 * time.Hour, At: at, Bot: &Figures{
			Since: at.Add(-2 * time.Minute), Waiting: 120, Logging: true, LogFailing: true, LogDropped: 17,
		}})},

		// Replies.
		{"help", Help([]Command{
			{Name: "stats", Options: "player:<name> [period]", Description: "A player's kills, deaths, KDR, streaks, nemesis and prey."},
			{Name: "leaderboard", Options: "metric:<kills|kdr|longest_kill|…> [period]", Description: "The top players by one figure."},
			{Name: "compare", Options: "a:<name> b:<name>", Description: "Two players side by side, and who killed whom."},
			{Name: "link", Options: "player:<name>", Description: "Link your character: relocate in game to prove it is yours."},
			{Name: "status", Description: "Log sources, lag and version."},
		})},
		{"error", Error("No player named KT9314 on this server.")},
		{"error_hostile", Error("No player named " + everyone + " " + mention + "\n> and more")},
		{"success", Success("Killfeed channel set.")},
		{"info", Info("Backfill", "Reading 14 old files; progress will be posted in this channel.")},
		{"info_lines", Info("Game servers", "EU #1 PvP | Deadside (eu1): killfeed in #kills\r\n- EU #2 PvE (eu2)\n\n1. "+everyone+"\n"+quote)},
	}
}

// render is the golden form of an embed: indented JSON, as sent, without
// HTML escaping so the files read as Discord shows them, and with the
// invisible zero-width space written as \u200b so that a reader sees it.
func render(t *testing.T, e *discordgo.MessageEmbed) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		t.Fatalf("encode %+v: %v", e, err)
	}
	return bytes.ReplaceAll(b.Bytes(), []byte(zwsp), []byte(`\u200b`))
}

func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			if seen[c.name] {
				t.Fatalf("duplicate case %q", c.name)
			}
			seen[c.name] = true
			checkLimits(t, c.e)
			got := render(t, c.e)
			path := filepath.Join("testdata", c.name+".golden.json")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./embed/ -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: embed differs from %s (run go test ./embed/ -update and review the diff)\ngot:\n%s\nwant:\n%s", c.name, path, got, want)
			}
		})
	}
	if *update {
		return
	}
	// No golden file is left over from a removed case.
	files, _ := filepath.Glob(filepath.Join("testdata", "*.golden.json"))
	for _, f := range files {
		if n := strings.TrimSuffix(filepath.Base(f), ".golden.json"); !seen[n] {
			t.Errorf("%s has no test case: delete it", f)
		}
	}
}

// defang replaces every escape and every defused '@' of s with "□", so
// that what is left is what Discord would parse.
func defang(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			_, n := utf8.DecodeRuneInString(s[i+1:])
			b.WriteString("□")
			i += 1 + n
		case strings.HasPrefix(s[i:], "@"+zwsp):
			b.WriteString("□")
			i += 1 + len(zwsp)
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

// listLine matches a line that Discord shows as a list item.
var listLine = regexp.MustCompile(`^ *([0-9]+[.)]|[-+*])( |$)`)

// TestHostileStaysText checks that no hostile input reaches an embed as
// markdown or mention syntax: once escapes are set aside, none of it is
// left.
func TestHostileStaysText(t *testing.T) {
	for _, c := range goldenCases() {
		check := func(s string, markdown bool) {
			d := defang(s)
			for _, bad := range []string{"@everyone", "@here", "<@"} {
				if strings.Contains(d, bad) {
					t.Errorf("%s: text %q mentions: %q", c.name, s, bad)
				}
			}
			if !markdown {
				return
			}
			for _, bad := range []string{everyone, codeName, "](", "||", "~~", "__", "https:"} {
				if strings.Contains(d, bad) {
					t.Errorf("%s: text %q holds markdown %q", c.name, s, bad)
				}
			}
			for _, line := range strings.Split(d, "\n") {
				if strings.HasPrefix(line, ">") || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "-#") || listLine.MatchString(line) {
					t.Errorf("%s: line %q starts a quote, heading or list", c.name, line)
				}
			}
		}
		check(c.e.Title, true)
		check(c.e.Description, true)
		for _, f := range c.e.Fields {
			check(f.Name, true)
			check(f.Value, true)
		}
		if c.e.Footer != nil {
			check(c.e.Footer.Text, false) // footers are not markdown
		}
	}
}

// TestColors checks the scheme: one colour per kind.
func TestColors(t *testing.T) {
	r := func(kind parser.Kind, weapon string) *storage.Record {
		return rec(at, kind, "a", "1", "b", "2", weapon, 10, "", "")
	}
	for _, c := range []struct {
		name string
		e    *discordgo.MessageEmbed
		want int
	}{
		{"kill", Killfeed(Kill{Record: r(parser.Kill, "M99")}), ColorKill},
		{"car", Killfeed(Kill{Record: r(parser.Kill, parser.WeaponCar)}), ColorRoadkill},
		{"boat", Killfeed(Kill{Record: r(parser.Kill, parser.WeaponBoat)}), ColorRoadkill},
		{"suicide", Killfeed(Kill{Record: r(parser.SelfDeath, "R-5")}), ColorSelfDeath},
		{"fall", Killfeed(Kill{Record: r(parser.SelfDeath, parser.WeaponFalling)}), ColorSelfDeath},
		{"relocation", Killfeed(Kill{Record: r(parser.SelfDeath, parser.WeaponRelocation)}), ColorSelfDeath},
		{"environment", Killfeed(Kill{Record: r(parser.Unattributed, "")}), ColorEnvironment},
		{"start", ServerLog(serverEvent(parser.ServerStart, nil)), ColorServerUp},
		{"join", ServerLog(serverEvent(parser.Join, nil)), ColorServerUp},
		{"leave", ServerLog(serverEvent(parser.Leave, nil)), ColorServer},
		{"mission", ServerLog(serverEvent(parser.Mission, nil)), ColorServer},
		{"error", Error("x"), ColorError},
		{"success", Success("x"), ColorSuccess},
		{"info", Info("x", "y"), ColorInfo},
		{"stats", Stats(Player{}), ColorInfo},
	} {
		if c.e.Color != c.want {
			t.Errorf("%s: Color = %#06x, want %#06x", c.name, c.e.Color, c.want)
		}
	}
}

// TestTimestampIsEventTime checks that embeds carry the event's time, not
// the time of rendering.
func TestTimestampIsEventTime(t *testing.T) {
	k := Killfeed(Kill{Record: rec(at, parser.Kill, "a", "1", "b", "2", "M99", 10, "", "")})
	if want := "2025-04-30T00:18:37Z"; k.Timestamp != want {
		t.Errorf("Killfeed timestamp = %q, want %q", k.Timestamp, want)
	}
	s := ServerLog(serverEvent(parser.Mission, nil))
	if want := "2025-04-30T00:18:37Z"; s.Timestamp != want {
		t.Errorf("ServerLog timestamp = %q, want %q", s.Timestamp, want)
	}
	if e := Stats(Player{}); e.Timestamp != "" {
		t.Errorf("Stats without At: timestamp = %q, want none", e.Timestamp)
	}
}

// TestStatsFigures checks that the stats card shows every figure of the
// stats table, formatted as DESIGN.md says.
func TestStatsFigures(t *testing.T) {
	s := fullStats()
	s.KDR = 2.5
	e := Stats(Player{Stats: s, Period: stats.Week, At: at})
	want := map[string]string{
		"Kills": "57", "Deaths": "23", "KDR": "2.50", "Suicides": "4", "Relocations": "19",
		"Environment deaths": "2", "Longest kill": "312 m", "Best streak": "9", "Current streak": "3",
		"Favourite weapon": `IZH\-43`, "Nemesis": "HallagerTheDane (5)", "Prey": "Angmur (11)",
	}
	got := map[string]string{}
	for _, f := range e.Fields {
		got[f.Name] = f.Value
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Stats field %q = %q, want %q", k, got[k], v)
		}
	}
	seen := fmt.Sprintf("last seen <t:%d:R>", s.LastSeen.Unix())
	for _, part := range []string{"This week", "XSX", seen} {
		if !strings.Contains(e.Description, part) {
			t.Errorf("Stats description %q lacks %q", e.Description, part)
		}
	}

	empty := Stats(Player{Stats: stats.Stats{Name: "x"}})
	for _, f := range empty.Fields {
		switch f.Name {
		case "Nemesis", "Prey", "Favourite weapon", "Longest kill":
			if f.Value != "—" {
				t.Errorf("Stats of a new player: %s = %q, want —", f.Name, f.Value)
			}
		}
	}
}

func TestLeaderboardValues(t *testing.T) {
	for _, c := range []struct {
		m    stats.Metric
		v    float64
		want string
	}{
		{stats.Kills, 42, "42 kills"},
		{stats.Kills, 1, "1 kill"},
		{stats.Deaths, 3, "3 deaths"},
		{stats.KDR, 1.5, "1.50 KDR"},
		{stats.KDR, 2.126, "2.13 KDR"},
		{stats.LongestKill, 312, "312 m"},
		{stats.BestStreak, 7, "7 in a row"},
		{stats.Suicides, 2, "2 suicides"},
	} {
		if got := metricValue(c.m, c.v); got != c.want {
			t.Errorf("metricValue(%s, %v) = %q, want %q", c.m, c.v, got, c.want)
		}
	}
}

// TestLeaderboard25LongNames checks that the longest board, 25 entries,
// with 256-character names of the worst kinds, keeps every line and fits.
func TestLeaderboard25LongNames(t *testing.T) {
	fills := []string{"W", "*", "@", "\\", "é", "👨‍👩‍👧", "<@1>", "\u0301"}
	var es []stats.Entry
	for i := range 25 {
		f := fills[i%len(fills)]
		n := strings.Repeat(f, 256)
		for utf8Len(n) > 256 {
			n = strings.TrimSuffix(n, f)
		}
		es = append(es, stats.Entry{Rank: i + 1, ID: strings.Repeat("0", 30) + string(rune('a'+i)), Name: n, Value: float64(1000 - i)})
	}
	for _, m := range stats.Metrics {
		e := Leaderboard(Board{Metric: m, Period: stats.Week, Entries: es, Server: strings.Repeat("S", 300), At: at})
		checkLimits(t, e)
		if n := Len(e); n > MaxTotal {
			t.Errorf("Leaderboard(%s, 25 × 256) Len = %d, want ≤ %d", m, n, MaxTotal)
		}
		lines := strings.Split(e.Description, "\n")
		if len(lines) != 25 || !strings.HasPrefix(lines[24], `25\. `) {
			t.Errorf("Leaderboard(%s, 25 × 256): %d lines, last %q; want 25 lines ending with rank 25", m, len(lines), lines[len(lines)-1])
		}
	}
}

func utf8Len(s string) int { return len([]rune(s)) }

func TestGroup(t *testing.T) {
	var es []*discordgo.MessageEmbed
	for i := range 23 {
		k := Kill{Record: rec(at, parser.Kill, strings.Repeat("k", i), "1", "v", "2", "M99", 1, "", "")}
		if i%5 == 0 {
			k.Notable = []string{strings.Repeat("n", 180), strings.Repeat("m", 180), strings.Repeat("o", 180), strings.Repeat("p", 180), strings.Repeat("q", 180)}
		}
		es = append(es, Killfeed(k), Info(strings.Repeat("t", 100), strings.Repeat("x", 1400)))
	}
	groups := Group(es)
	n := 0
	for gi, g := range groups {
		total := 0
		for _, e := range g {
			total += Len(e)
		}
		if len(g) > MaxPerMessage || total > MaxTotal || len(g) == 0 {
			t.Errorf("group %d: %d embeds, %d characters; want 1–%d and ≤ %d", gi, len(g), total, MaxPerMessage, MaxTotal)
		}
		for _, e := range g {
			if e != es[n] {
				t.Fatalf("group %d: embed out of order", gi)
			}
			n++
		}
	}
	if n != len(es) {
		t.Errorf("Group kept %d embeds of %d", n, len(es))
	}
}
