package main

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"killfeed/config"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until out holds every one of want.
func waitFor(t *testing.T, out *syncBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := out.String()
		missing := ""
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = w
				break
			}
		}
		if missing == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %q in the output; it is:\n%s", missing, s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const (
	idAlpha = "0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	idBravo = "0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

// killfeed run follows the logs live and, without a token, prints each new
// event: history already in the files is stored but not printed, new kills
// and server events are, and Ctrl-C stops it after committing what it read.
func TestRunLive(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(t.TempDir(), "Deadside.log")
	cfg := writeConfig(t, testServer{guild: guildA, id: "main", dir: dir, log: logPath, extra: `poll_interval = "50ms"`})
	csv := filepath.Join(dir, "2025.05.01-00.00.00.csv")
	appendFile(t, csv, kill("2025.05.01-00.01.00", "Historic", "Victim", 10)+"\n")
	appendFile(t, logPath, "Log file open, 05/01/25 00:00:00\n"+
		"[2025.05.01-00.00.05:100][  1]LogSFPS: AirDrop switched to Flying\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run", "-config", cfg}, &out) }()
	waitFor(t, &out, "killfeed "+dir+" caught up: 1 lines, 1 new events", "server log "+logPath+" caught up", "running offline")

	appendFile(t, csv, kill("2025.05.01-00.02.00", "Alpha", "**@everyone**", 152)+"\n")
	waitFor(t, &out, "Alpha killed **@everyone** with M99 at 152 m")
	appendFile(t, logPath, "[2025.05.01-00.02.30:000][ 20]LogNet: Join request: /Game/Maps/world_0/World_0?login=Bravo?eosid=|"+idBravo+"?nativeplatform=XSX?Name=Bravo?SplitscreenCount=1\n"+
		"[2025.05.01-00.02.31:000][ 21]LogOnline: Warning: Player |"+idBravo+" successfully registered!\n"+
		"[2025.05.01-00.02.32:000][ 22]LogTemp: nothing to see\n"+
		"[2025.05.01-00.03.00:000][ 23]LogSFPS: Mission GA_Military_02_Mis1 switched to READY\n")
	waitFor(t, &out, "Bravo is in the queue (XSX)", "Bravo joined, 1 online", "mission GA_Military_02_Mis1: READY")
	// One departure writes two leave lines: one is printed.
	appendFile(t, logPath, "[2025.05.01-00.04.01:000][ 30]LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 0. Name: [UChannel] ChIndex: 0, Closing: 0 [UNetConnection] RemoteAddr: 1.2.3.4:5, UniqueId: EOS:|"+idBravo+"\n"+
		"[2025.05.01-00.04.01:010][ 31]LogOnline: Warning: Player |"+idBravo+" successfully unregistered from the session.\n"+
		"[2025.05.01-00.04.02:000][ 32]LogSFPS: AirDrop switched to Dropping\n")
	waitFor(t, &out, "Bravo left (closed) after 1m30s, 0 online", "airdrop: Dropping")
	if n := strings.Count(out.String(), "Bravo left"); n != 1 {
		t.Errorf("Bravo left %d times, want once:\n%s", n, out.String())
	}
	// A line half written when the bot stops is not lost: it is read at
	// the next start.
	appendFile(t, csv, kill("2025.05.01-00.04.00", "Bravo", "Alpha", 20)[:30])

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v\n%s", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop within 10s of Ctrl-C")
	}
	got := out.String()
	if !strings.HasSuffix(got, "Stopped.\n") {
		t.Errorf("output does not end with Stopped.:\n%s", got)
	}
	for _, history := range []string{"Historic", "airdrop: Flying"} {
		if strings.Contains(got, history) {
			t.Errorf("history %q was printed as news:\n%s", history, got)
		}
	}

	appendFile(t, csv, kill("2025.05.01-00.04.00", "Bravo", "Alpha", 20)[30:]+"\n")
	mustCLI(t, "run", "-once", "-config", cfg)
	if st := statsJSON(t, cfg, guildA, "main", "alpha"); st.Kills != 1 || st.Deaths != 1 {
		t.Errorf("Alpha: %d kills, %d deaths; want 1 and 1", st.Kills, st.Deaths)
	}
	counts, _ := openCounts(t, cfg, guildA, "main")
	if counts.Events != 3 || counts.Duplicates != 0 || counts.LogEvents != 8 {
		t.Errorf("counts %+v, want 3 killfeed events, 8 server events, no duplicates", counts)
	}
}

// The committed config.toml is valid and runs the demo: a fresh clone's
// "go run ." depends on it.
func TestCommittedConfig(t *testing.T) {
	cfg, err := loadConfig("config.toml")
	if err != nil {
		t.Fatalf("config.toml: %v", err)
	}
	if len(cfg.Servers) != 1 || !cfg.Servers[0].Demo || cfg.Servers[0].ServerLog == "" {
		t.Errorf("config.toml: servers %+v, want one demo server with a server log", cfg.Servers)
	}
	// It shows every key with its default.
	if got, want := cfg.Servers[0].Posts, config.DefaultPosts(); !reflect.DeepEqual(got, want) {
		t.Errorf("config.toml [servers.posts]:\n got %+v\nwant the defaults %+v", got, want)
	}
	if d := config.DefaultConfig().Discord; cfg.Discord.OutboxKeep != d.OutboxKeep || cfg.Discord.LinkVerification != d.LinkVerification || cfg.Discord.APIURL != d.APIURL {
		t.Errorf("config.toml [discord]: %#v, want the defaults", cfg.Discord)
	}
	def := config.DefaultConfig()
	if !reflect.DeepEqual(cfg.CommandLog, def.CommandLog) || !reflect.DeepEqual(cfg.Timing, def.Timing) || !reflect.DeepEqual(cfg.HTTP, def.HTTP) {
		t.Errorf("config.toml [command_log] [timing] [http]:\n got %+v %+v %+v\nwant the defaults %+v %+v %+v",
			cfg.CommandLog, cfg.Timing, cfg.HTTP, def.CommandLog, def.Timing, def.HTTP)
	}
}

// The demo writes history the first time, then lines as time passes, and
// the bot reads them as a game server's.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	kf, logPath := filepath.Join(dir, "deathlogs"), filepath.Join(dir, "Logs", "Deadside.log")
	cfg := writeConfig(t, testServer{guild: guildA, id: "demo", dir: kf, log: logPath, extra: "demo = true"})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"run", "-config", cfg}, &out) }()
	waitFor(t, &out, "killfeed "+kf+" caught up", "server log "+logPath+" caught up")
	// A kill comes every 4s on average.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(out.String(), " killed ") && !strings.Contains(out.String(), " relocated") &&
		!strings.Contains(out.String(), " fell ") && !strings.Contains(out.String(), " died") {
		if time.Now().After(deadline) {
			t.Fatalf("no live kill within 30s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	counts, _ := openCounts(t, cfg, guildA, "demo")
	if counts.Events < 1000 || counts.LogEvents < 100 || counts.Malformed != 0 || counts.LogMalformed != 0 {
		t.Errorf("counts after the demo %+v: want its history (over 1000 kills, 100 server events) and nothing malformed", counts)
	}
}
