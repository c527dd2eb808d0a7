package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"killfeed/internal/discordtest"
	"killfeed/storage"
)

const (
	channelKills  = "700000000000000011"
	channelEvents = "700000000000000012"
	channelBoard  = "700000000000000013"
)

// killfeedLines returns n kills with names that tell their order.
func killfeedLines(from, n int) string {
	var b strings.Builder
	at := time.Now().UTC().Add(-time.Hour)
	for i := from; i < from+n; i++ {
		b.WriteString(kill(at.Add(time.Duration(i)*time.Second).Format("2006.01.02-15.04.05"), fmt.Sprintf("K%05d", i), fmt.Sprintf("V%05d", i), i%400) + "\n")
	}
	return b.String()
}

// posted returns the kill numbers in a channel's messages, in order, and
// the largest number of embeds in one message.
func posted(fake *discordtest.Server, channel string) (kills []int, most int) {
	for _, m := range fake.Messages(channel) {
		most = max(most, len(m.Embeds))
		for _, e := range m.Embeds {
			var k int
			if i := strings.Index(e.Description, "K0"); i >= 0 {
				fmt.Sscanf(e.Description[i+1:], "%05d", &k)
				kills = append(kills, k)
			}
		}
	}
	return kills, most
}

// waitPosted waits until the channel shows n kills.
func waitPosted(t *testing.T, fake *discordtest.Server, channel string, n int) []int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var got []int
	err := fake.Wait(ctx, func() bool {
		got, _ = posted(fake, channel)
		return len(got) >= n
	})
	if err != nil {
		t.Fatalf("%d kills posted in channel %s, want %d", len(got), channel, n)
	}
	return got
}

func checkOrder(t *testing.T, got []int, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d kills posted, want %d", len(got), n)
	}
	for i, k := range got {
		if k != from+i {
			t.Fatalf("post %d is kill %d, want %d: every kill once, in order", i, k, from+i)
		}
	}
}

// The killfeed as a server owner sees it: history is not posted, a burst of
// 1,000 kills reaches the channel once each and in order, ten to a message,
// through rate limits and server errors; a deleted channel pauses its
// posts only, and /setchannel resumes them.
func TestKillfeedPosting(t *testing.T) {
	fake := discordtest.New(t, discordtest.WithGuild(guildA, "Guild A", channelA, channelKills, channelEvents, channelBoard))
	dir, logPath := t.TempDir(), filepath.Join(t.TempDir(), "Deadside.log")
	cfg := writeConfigWith(t, fmt.Sprintf("[discord]\ntoken = \"test-token\"\napi_url = %q\n", fake.URL),
		testServer{guild: guildA, id: "main", dir: dir, log: logPath, extra: "poll_interval = \"50ms\"\n[servers.posts]\nleaderboard_every = \"1s\"\n"})
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	appendFile(t, csv, killfeedLines(0, 20)) // history
	appendFile(t, logPath, "Log file open, 05/01/25 00:00:00\n")

	b := startBot(t, fake, cfg)
	set := func(kind, channel string) {
		t.Helper()
		cb := b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "setchannel", Permissions: adminPerm,
			Options: []*discordgo.ApplicationCommandInteractionDataOption{discordtest.Opt("kind", kind), {Name: "channel", Type: discordgo.ApplicationCommandOptionChannel, Value: channel}}})
		b.answer(cb, "Saved")
	}
	set("killfeed", channelKills)
	set("events", channelEvents)
	waitFor(t, b.out, "killfeed "+dir+" caught up")

	// A burst, while Discord answers some sends with 429s (per route and
	// global) and 500s.
	fake.Fail(discordtest.Rule{Method: "POST", Path: "/channels/" + channelKills + "/messages", Skip: 3, Times: 2, Status: http.StatusTooManyRequests, RetryAfter: 300 * time.Millisecond})
	fake.Fail(discordtest.Rule{Method: "POST", Path: "/channels/" + channelKills + "/messages", Skip: 8, Times: 2, Status: http.StatusInternalServerError})
	fake.Fail(discordtest.Rule{Method: "POST", Path: "/channels/**", Skip: 12, Status: http.StatusTooManyRequests, RetryAfter: 200 * time.Millisecond, Global: true})
	appendFile(t, csv, killfeedLines(20, 1000))
	got := waitPosted(t, fake, channelKills, 1000)
	time.Sleep(200 * time.Millisecond) // nothing more comes
	got, most := posted(fake, channelKills)
	checkOrder(t, got, 20, 1000)
	if most > 10 {
		t.Errorf("a message holds %d embeds, want at most 10", most)
	}
	if n := len(fake.Messages(channelKills)); n > 150 {
		t.Errorf("1000 kills in %d messages: the burst was not grouped", n)
	}
	for _, r := range fake.RequestsTo("POST", "/channels/*/messages") {
		noMentions(t, "POST "+r.Route, r.Body)
	}
	// /status counts the messages sent and the 429s.
	status := callbackText(t, b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "status"}))
	if m := regexp.MustCompile(`Killfeed: \*\*([0-9,]+)\*\* messages sent · 0 waiting · ([0-9]+) rate limits`).FindStringSubmatch(status); m == nil ||
		m[1] != strconv.Itoa(len(fake.Messages(channelKills))) || m[2] == "0" {
		t.Errorf("/status: %q, want the %d messages sent, none waiting, and the 429s", status, len(fake.Messages(channelKills)))
	}

	// Discord is down for a while: the kills are read and stored meanwhile,
	// and posted once it is back.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fake.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	fake.SetDown(true)
	appendFile(t, csv, killfeedLines(1020, 30))
	time.Sleep(time.Second)
	fake.SetDown(false)
	checkOrder(t, waitPosted(t, fake, channelKills, 1030)[1000:], 1020, 30)

	// The events channel is deleted: its posts pause, the killfeed goes on.
	set("connections", channelEvents)
	appendFile(t, logPath, "[2025.05.01-00.09.00:000][  2]LogNet: Join request: /Game/Maps/world_0/World_0?login=Bravo?eosid=|"+idBravo+"?nativeplatform=XSX?Name=Bravo?SplitscreenCount=1\n"+
		"[2025.05.01-00.09.01:000][  3]LogOnline: Warning: Player |"+idBravo+" successfully registered!\n")
	if err := fake.Wait(ctx, func() bool { return len(fake.Messages(channelEvents)) == 1 }); err != nil {
		t.Fatal("the join was not posted")
	}
	gone := fake.Fail(discordtest.UnknownChannel(channelEvents))
	appendFile(t, logPath, "[2025.05.01-00.10.00:000][  1]LogSFPS: Mission GA_Military_02_Mis1 switched to READY\n"+
		"[2025.05.01-00.12.00:000][  4]LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 0. UniqueId: EOS:|"+idBravo+"\n"+
		"[2025.05.01-00.12.00:010][  5]LogOnline: Warning: Player |"+idBravo+" successfully unregistered from the session.\n")
	if err := fake.Wait(ctx, func() bool { return gone.Hits() > 0 }); err != nil {
		t.Fatal("the mission was never sent")
	}
	appendFile(t, csv, killfeedLines(1050, 5))
	checkOrder(t, waitPosted(t, fake, channelKills, 1035)[1030:], 1050, 5)
	cb := b.ask(discordtest.InteractionSpec{GuildID: guildA, ChannelID: channelA, Command: "status"})
	if text := callbackText(t, cb); !strings.Contains(text, "paused") {
		t.Errorf("/status does not show the paused channel: %q", text)
	}
	hits := gone.Hits()
	time.Sleep(300 * time.Millisecond)
	if gone.Hits() != hits {
		t.Errorf("a paused channel was still sent to")
	}
	// The leaderboard message is posted, edited in place, and posted again
	// when it was deleted.
	set("leaderboard", channelBoard)
	board := func() *discordgo.Message {
		t.Helper()
		var m *discordgo.Message
		if err := fake.Wait(ctx, func() bool {
			ms := fake.Messages(channelBoard)
			if len(ms) == 1 && len(ms[0].Embeds) == 1 && strings.Contains(embedText(ms[0].Embeds[0]), "K01054") {
				m = ms[0]
			}
			return m != nil
		}); err != nil {
			t.Fatalf("no leaderboard message: %d messages", len(fake.Messages(channelBoard)))
		}
		return m
	}
	first := board()
	edits := len(fake.RequestsTo("PATCH", "/channels/"+channelBoard+"/messages/*"))
	if err := fake.Wait(ctx, func() bool { return len(fake.RequestsTo("PATCH", "/channels/"+channelBoard+"/messages/*")) > edits }); err != nil {
		t.Fatal("the leaderboard is not kept up to date")
	}
	if m := board(); m.ID != first.ID {
		t.Errorf("the leaderboard was posted again instead of edited")
	}
	req, _ := http.NewRequest(http.MethodDelete, fake.URL+"/api/v9/channels/"+channelBoard+"/messages/"+first.ID, nil)
	req.Header.Set("Authorization", "Bot test-token")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete the leaderboard: %v %v", resp, err)
	}
	if m := board(); m.ID == first.ID {
		t.Errorf("the deleted leaderboard was not posted again")
	}

	// Fixed, and set again: the mission, the join and one leave (of the
	// two lines a departure writes) are posted.
	gone.Remove()
	set("events", channelEvents)
	count := func(what string) int {
		n := 0
		for _, m := range fake.Messages(channelEvents) {
			for _, e := range m.Embeds {
				if strings.Contains(embedText(e), what) {
					n++
				}
			}
		}
		return n
	}
	if err := fake.Wait(ctx, func() bool { return count("Military") == 1 && count("Joined") == 1 && count("Left") == 1 }); err != nil {
		t.Fatalf("after /setchannel: %d missions, %d joins, %d leaves posted; want one each", count("Military"), count("Joined"), count("Left"))
	}
	time.Sleep(300 * time.Millisecond)
	if n := count("Left"); n != 1 {
		t.Errorf("%d leaves posted for one departure", n)
	}
	for _, r := range fake.Requests() {
		if r.Method == "POST" || r.Method == "PATCH" {
			if strings.Contains(r.Route, "/channels/") {
				noMentions(t, r.Method+" "+r.Route, r.Body)
			}
		}
	}
}

// The bot killed with SIGKILL at random points while it posts a burst, and
// started again each time: every kill reaches the channel exactly once, in
// order (a message sent again after a crash carries the same nonce, and
// Discord answers it with the message it already has).
func TestKillfeedCrashWhilePosting(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test is slow")
	}
	fake := discordtest.New(t, discordtest.WithGuild(guildA, "Guild A", channelKills))
	// 20 messages a second: posting the burst takes a few seconds, time
	// for the kills to land in the middle of it.
	fake.SetRateLimit("POST", "/channels/*/messages", 10, 500*time.Millisecond)
	dir := t.TempDir()
	cfg := writeConfigWith(t, fmt.Sprintf("[discord]\ntoken = \"test-token\"\napi_url = %q\n", fake.URL),
		testServer{guild: guildA, id: "main", dir: dir, extra: `poll_interval = "50ms"`})
	// The channel is set as /setchannel would.
	c, err := loadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(c.Storage.Path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetSetting(guildA, "channel/*/killfeed", channelKills); err != nil {
		t.Fatal(err)
	}
	db.Close()

	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "KILLFEED_TEST_ARGS="+strings.Join([]string{"run", "-config", cfg}, "\n"))
		return cmd
	}
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	appendFile(t, csv, "") // the folder's first file, empty: nothing is history
	const n = 1000
	r := rand.New(rand.NewPCG(3, 4))
	crashes := 0
	for i := range 10 {
		cmd := child()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := fake.WaitReady(ctx, len(fake.Identifies())+1)
		cancel()
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("run %d did not connect: %v", i, err)
		}
		if i == 0 {
			appendFile(t, csv, killfeedLines(0, n))
		}
		time.Sleep(time.Duration(200+r.IntN(600)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		got, _ := posted(fake, channelKills)
		if len(got) > 0 && len(got) < n {
			crashes++
		}
		t.Logf("kill %d: %d of %d kills posted", i, len(got), n)
		if len(got) >= n {
			break
		}
	}
	cmd := child()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	got := waitPosted(t, fake, channelKills, n)
	time.Sleep(300 * time.Millisecond) // nothing more comes
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	got, _ = posted(fake, channelKills)
	checkOrder(t, got, 0, n)
	if crashes < 3 {
		t.Errorf("only %d kills landed while posting: the test proved little", crashes)
	}
}

// benchBot runs the bot against a fake Discord with its killfeed channel
// set and returns the fake and the killfeed file to append to.
func benchBot(b *testing.B) (*discordtest.Server, string) {
	fake := discordtest.New(b, discordtest.WithGuild(guildA, "Guild A", channelKills))
	dir := b.TempDir()
	cfgText := fmt.Sprintf("[storage]\npath = %q\n[discord]\ntoken = \"test-token\"\napi_url = %q\n\n[[servers]]\nguild_id = %q\nid = \"main\"\nkillfeed_dir = %q\n",
		filepath.Join(b.TempDir(), "k.db"), fake.URL, guildA, dir)
	cfgPath := filepath.Join(b.TempDir(), "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		b.Fatal(err)
	}
	c, err := loadConfig(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	db, err := storage.Open(c.Storage.Path, storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	db.SetSetting(guildA, "channel/*/killfeed", channelKills)
	db.Close()
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	if err := os.WriteFile(csv, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out syncBuffer
	go func() { done <- run(ctx, []string{"run", "-config", cfgPath}, &out) }()
	b.Cleanup(func() { cancel(); <-done })
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := fake.WaitReady(wctx, 1); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the sources are watching
	return fake, csv
}

// BenchmarkAppendToPost measures the time from a kill appended to a local
// killfeed file to its message accepted by a fake Discord on 127.0.0.1:
// notification, read, commit (fsync), outbox, poster, POST. Reports p50
// and p99.
func BenchmarkAppendToPost(b *testing.B) {
	fake, csv := benchBot(b)
	lat := make([]time.Duration, 0, b.N)
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		f, err := os.OpenFile(csv, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		f.WriteString(killfeedLines(i, 1))
		f.Close()
		wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = fake.Wait(wctx, func() bool { got, _ := posted(fake, channelKills); return len(got) > i })
		wcancel()
		if err != nil {
			b.Fatalf("kill %d not posted within 10s", i)
		}
		lat = append(lat, time.Since(start))
		// One kill at a time, within the fake's rate limit (50 messages a
		// second): the figure is the pipeline's, not a rate limit's.
		b.StopTimer()
		time.Sleep(25 * time.Millisecond)
		b.StartTimer()
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)*99/100, len(lat)-1)].Microseconds())/1000, "p99-ms")
}

// BenchmarkPostingBurst measures how fast a burst of 1,000 kills appended
// at once reaches the channel, against a fake Discord that allows 50
// messages a second per channel (Discord's own limits are stricter: the
// figure shows what grouping gains).
func BenchmarkPostingBurst(b *testing.B) {
	fake, csv := benchBot(b)
	const burst = 1000
	total := 0
	var took time.Duration
	for b.Loop() {
		start := time.Now()
		appendFile(b, csv, killfeedLines(total, burst))
		total += burst
		wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := fake.Wait(wctx, func() bool { got, _ := posted(fake, channelKills); return len(got) >= total })
		wcancel()
		if err != nil {
			b.Fatal("the burst was not posted within 60s")
		}
		took += time.Since(start)
	}
	b.ReportMetric(float64(total)/took.Seconds(), "posts/s")
	b.ReportMetric(float64(len(fake.Messages(channelKills)))/float64(total/burst), "messages/burst")
}
