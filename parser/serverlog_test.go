package parser

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const (
	idA = "000240ecc1ba45d59962bc2d34e0177e"
	idB = "0002f53bddbb4b45845d423ee4787691"
)

// serverLines are Deadside.log lines in every shape seen on real servers,
// with the event each one is.
var serverLines = []struct {
	name string
	line string
	want ServerEvent
}{
	{"server start", "Log file open, 05/17/25 02:01:30\r\n",
		ServerEvent{Kind: ServerStart, Time: time.Date(2025, 5, 17, 2, 1, 30, 0, time.UTC)}},
	{"slots", "[2025.05.17-02.01.30:012][  0]LogInit: Command Line: -log -port=7777 -queryport=27015 -playersmaxcount=50 -nosteam\n",
		ServerEvent{Kind: PlayerLimit, Count: 50}},
	{"queue", "[2025.04.14-02.01.58:164][302]LogNet: Join request: /Game/Maps/world_0/World_0?logintype=eos?login=ExHyper?password=*?eosid=|" + idA + "?ver=1.3.2.24846c?nativeplatform=PS5?platformid=PS5:3566759921101398874?Name=ExHyper?SplitscreenCount=1\n",
		ServerEvent{Kind: Queue, PlayerID: idA, Player: "ExHyper", Platform: "PS5"}},
	{"queue, name with spaces and Unicode", "[2025.04.14-02.01.58:164][302]LogNet: Join request: /Game/Maps/world_0/World_0?logintype=eos?login=O'Brien Ж?password=*?eosid=|" + idB + "?nativeplatform=WIN64?Name=O'Brien Ж?SplitscreenCount=1",
		ServerEvent{Kind: Queue, PlayerID: idB, Player: "O'Brien Ж", Platform: "WIN64"}},
	{"join", "[2025.04.14-02.01.58:366][309]LogOnline: Warning: Player |" + idA + " successfully registered!\n",
		ServerEvent{Kind: Join, PlayerID: idA}},
	{"join, newer build", "[2025.04.14-02.01.58:366][309]LogNet: Join succeeded: **@everyone** x\n",
		ServerEvent{Kind: Join, Player: "**@everyone** x"}},
	{"leave, channel closed", "[2025.04.14-04.58.04:582][500]LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 0. Name: [UChannel] ChIndex: 0, Closing: 0 [UNetConnection] RemoteAddr: 86.170.123.32:60819, Name: IpConnection_2147428157, Driver: GameNetDriver IpNetDriver_2147482385, IsServer: YES, PC: SFPSPlayerControllerBP_C_2147428149, Owner: SFPSPlayerControllerBP_C_2147428149, UniqueId: EOS:|" + idA + "\n",
		ServerEvent{Kind: Leave, PlayerID: idA, State: "closed"}},
	{"leave, unregistered", "[2025.04.14-04.58.04:590][501]LogOnline: Warning: Player |" + idA + " successfully unregistered from the session.\n",
		ServerEvent{Kind: Leave, PlayerID: idA, State: "unregistered"}},
	{"leave, timed out", "[2025.04.14-04.58.04:582][ 12]LogNet: Warning: UNetConnection::Tick: Connection TIMED OUT. Closing connection.. Elapsed: 60.01, Real: 60.01, Good: 60.01, DriverElapsed: 0.00, Threshold: 60.00, [UNetConnection] RemoteAddr: 1.2.3.4:5, Name: IpConnection_1, Driver: GameNetDriver IpNetDriver_2, IsServer: YES, PC: SFPSPlayerControllerBP_C_3, Owner: SFPSPlayerControllerBP_C_3, UniqueId: EOS:|" + idB + "\n",
		ServerEvent{Kind: Leave, PlayerID: idB, State: "timed_out"}},
	{"leave, newer build", "[2025.04.14-04.58.04:582][500]LogOnline: Player ltEOS Some One has logged out by reason: Quit\n",
		ServerEvent{Kind: Leave, Player: "Some One", State: "quit"}},
	{"mission", "[2025.04.14-03.00.00:001][100]LogSFPS: Mission GA_Military_02_Mis1 switched to READY\n",
		ServerEvent{Kind: Mission, Name: "GA_Military_02_Mis1", State: "READY"}},
	{"airdrop", "[2025.04.14-03.00.00:001][100]LogSFPS: AirDrop switched to Flying\n",
		ServerEvent{Kind: Airdrop, Name: "AirDrop", State: "Flying"}},
	{"helicrash", "[2025.04.14-03.00.00:001][100]LogSFPS: GameplayEvent BP_HelicrashEvent_C_2147 switched to INITIAL\n",
		ServerEvent{Kind: Helicrash, Name: "BP_HelicrashEvent_C_2147", State: "INITIAL"}},
	{"trader", "[2025.04.14-03.00.00:001][100]LogSFPS: GameplayEvent BP_RoamingTraderEvent_C_2 switched to ACTIVE\n",
		ServerEvent{Kind: Trader, Name: "BP_RoamingTraderEvent_C_2", State: "ACTIVE"}},
	{"convoy", "[2025.04.14-03.00.00:001][100]LogSFPS: GameplayEvent BP_ConvoyEvent_C_7 switched to INITIAL\n",
		ServerEvent{Kind: Convoy, Name: "BP_ConvoyEvent_C_7", State: "INITIAL"}},
	{"vehicle added", "[2025.04.14-03.00.00:001][100]LogSFPS: [ASFPSGameMode::NewVehicle_Add] Add vehicle BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394 Total 1\n",
		ServerEvent{Kind: VehicleAdd, Name: "BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394", Count: 1}},
	{"vehicle removed", "[2025.04.14-03.00.00:001][100]LogSFPS: [ASFPSGameMode::NewVehicle_Del] Del vehicle BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394 Total 0\n",
		ServerEvent{Kind: VehicleDel, Name: "BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394", Count: 0}},
}

func TestParseServerLine(t *testing.T) {
	for _, tt := range serverLines {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseServerLine([]byte(tt.line), 7, time.UTC)
			if err != nil {
				t.Fatalf("ParseServerLine(%q): error %v, want %+v", tt.line, err, tt.want)
			}
			want := tt.want
			if want.Time.IsZero() {
				// Every other line is stamped 2025.04.14 or 2025.05.17 with
				// milliseconds: check them apart from the fields.
				if got.Time.Nanosecond()%int(time.Millisecond) != 0 || got.Time.Year() != 2025 {
					t.Errorf("ParseServerLine(%q).Time = %v, want a 2025 time to the millisecond", tt.line, got.Time)
				}
				want.Time = got.Time
			}
			if got != want {
				t.Errorf("ParseServerLine(%q)\n got %+v\nwant %+v", tt.line, got, want)
			}
		})
	}
}

func TestParseServerLineTime(t *testing.T) {
	line := "[2025.04.14-02.01.58:164][302]LogSFPS: AirDrop switched to Dead"
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []*time.Location{nil, time.UTC, paris} {
		got, err := ParseServerLine([]byte(line), 1, loc)
		if err != nil {
			t.Fatal(err)
		}
		l := loc
		if l == nil {
			l = time.UTC
		}
		if want := time.Date(2025, 4, 14, 2, 1, 58, 164e6, l); !got.Time.Equal(want) {
			t.Errorf("ParseServerLine(%q, %v).Time = %v, want %v", line, loc, got.Time, want)
		}
	}
}

func TestParseServerLineNotEvents(t *testing.T) {
	for _, line := range []string{
		"[2025.04.14-02.01.58:164][302]LogTemp: Display: something happened",
		"[2025.04.14-02.01.58:164][302]LogNet: UChannel::Close: Sending CloseBunch. ChIndex == 3. Name: [UChannel] ChIndex: 3",
		"[2025.04.14-02.01.58:164][302]LogSFPS: GameplayEvent BP_WeatherEvent_C_1 switched to INITIAL",
		"[2025.04.14-02.01.58:164][302]LogSFPS: Mission GA_Town_01 will respawn in 1800",
		"[2025.04.14-02.01.58:164][302]LogInit: Command Line: -log",
		"LogInit: Display: a line without a time",
		"    continuation of a multi-line message",
		"[2025.04.14-02.01.58:164][302]LogTemp: " + strings.Repeat("x", MaxLineLen),
	} {
		if e, err := ParseServerLine([]byte(line), 1, time.UTC); !errors.Is(err, ErrNotEvent) {
			t.Errorf("ParseServerLine(%q) = %+v, %v; want ErrNotEvent", line, e, err)
		}
	}
	for _, line := range []string{"", "\n", "\r\n", "\xef\xbb\xbf\n"} {
		if _, err := ParseServerLine([]byte(line), 1, time.UTC); !errors.Is(err, ErrEmpty) {
			t.Errorf("ParseServerLine(%q): error %v, want ErrEmpty", line, err)
		}
	}
}

func TestParseServerLineMalformed(t *testing.T) {
	for _, tt := range []struct{ line, reason string }{
		{"Log file open, 13/45/25 02:01:30", "bad server start time"},
		{"[2025.13.14-02.01.58:164][302]LogSFPS: AirDrop switched to Flying", "bad timestamp"},
		{"[2025.04.14-02.01.58:1x4][302]LogSFPS: AirDrop switched to Flying", "bad timestamp"},
		{"[2025.04.14-02.01.58:164][302]LogOnline: Warning: Player |not-hex! successfully registered!", "bad EOS id"},
		{"[2025.04.14-02.01.58:164][302]LogNet: Join request: /Game/Maps/world_0/World_0?login=x?Name=x", "bad EOS id"},
		{"[2025.04.14-02.01.58:164][302]LogNet: Join succeeded: \x1b[31mred", "control character"},
		{"[2025.04.14-02.01.58:164][302]LogNet: Join succeeded: \xff\xfe", "invalid UTF-8"},
		{"[2025.04.14-02.01.58:164][302]LogNet: Join succeeded:  ", "empty player name"},
		{"[2025.04.14-02.01.58:164][302]LogSFPS: [ASFPSGameMode::NewVehicle_Add] Add vehicle BP_X Total many", "not a whole number"},
		{"[2025.04.14-02.01.58:164][302]LogSFPS: Mission GA_X switched to ", "empty state"},
	} {
		_, err := ParseServerLine([]byte(tt.line), 42, time.UTC)
		var le *LineError
		if !errors.As(err, &le) || le.Line != 42 || !strings.Contains(le.Reason, tt.reason) {
			t.Errorf("ParseServerLine(%q): error %v, want a *LineError at line 42 saying %q", tt.line, err, tt.reason)
		}
	}
}

func FuzzParseServerLine(f *testing.F) {
	for _, tt := range serverLines {
		f.Add([]byte(tt.line))
	}
	f.Add([]byte("[2025.04.14-02.01.58:164][302]LogTemp: x"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseServerLine(line, 1, time.UTC)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) && !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrNotEvent) {
				t.Fatalf("ParseServerLine(%q) error %v is not a *LineError, ErrEmpty or ErrNotEvent", line, err)
			}
			return
		}
		if e.Kind < ServerStart || e.Kind > PlayerLimit || e.Time.IsZero() {
			t.Fatalf("ParseServerLine(%q) = %+v: invalid event accepted", line, e)
		}
		switch e.Kind {
		case Queue:
			if e.PlayerID == "" {
				t.Fatalf("ParseServerLine(%q) = %+v: queue without a player id", line, e)
			}
		case Join, Leave:
			if e.PlayerID == "" && e.Player == "" {
				t.Fatalf("ParseServerLine(%q) = %+v: no player", line, e)
			}
		}
	})
}

func BenchmarkParseServerLine(b *testing.B) {
	lines := make([][]byte, 0, len(serverLines)+1)
	for _, tt := range serverLines {
		lines = append(lines, []byte(tt.line))
	}
	// Most of a real log is not an event.
	for range 3 * len(serverLines) {
		lines = append(lines, []byte("[2025.04.14-02.01.58:164][302]LogTemp: Display: ticking along with nothing to report\n"))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ParseServerLine(lines[i%len(lines)], i, time.UTC)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
