package parser

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseLine(t *testing.T) {
	utc := func(s string) time.Time {
		tm, err := time.Parse(TimeLayout, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name string
		line string
		want Event
	}{
		{
			name: "7-field kill",
			line: "2025.03.27-10.42.18;LankDank42;000209660add4ab488f3c1e30e386dcc;MRG_Lazar_;000277fe717347e39fa0a80e0266d7d0;Folding Knife;1;\n",
			want: Event{Time: utc("2025.03.27-10.42.18"), Kind: Kill, Killer: "LankDank42", KillerID: "000209660add4ab488f3c1e30e386dcc", Victim: "MRG_Lazar_", VictimID: "000277fe717347e39fa0a80e0266d7d0", Weapon: "Folding Knife", Distance: 1},
		},
		{
			name: "9-field kill with platforms and CRLF",
			line: "2025.05.15-00.11.53;Fatalben0;0002548521ba4271a497e39d5bfe5611;MidS_Nate;000258ffecc24a53a5381fa95ee99769;MR5;15;XSX;PS5;\r\n",
			want: Event{Time: utc("2025.05.15-00.11.53"), Kind: Kill, Killer: "Fatalben0", KillerID: "0002548521ba4271a497e39d5bfe5611", Victim: "MidS_Nate", VictimID: "000258ffecc24a53a5381fa95ee99769", Weapon: "MR5", Distance: 15, KillerPlatform: "XSX", VictimPlatform: "PS5"},
		},
		{
			name: "relocation with BOM",
			line: "\xef\xbb\xbf2025.04.30-00.24.19;attacker92;0002f53bddbb4b45845d423ee4787691;attacker92;0002f53bddbb4b45845d423ee4787691;suicide_by_relocation;0;XSX;XSX;",
			want: Event{Time: utc("2025.04.30-00.24.19"), Kind: SelfDeath, Killer: "attacker92", KillerID: "0002f53bddbb4b45845d423ee4787691", Victim: "attacker92", VictimID: "0002f53bddbb4b45845d423ee4787691", Weapon: WeaponRelocation, KillerPlatform: "XSX", VictimPlatform: "XSX"},
		},
		{
			name: "fall",
			line: "2025.04.30-00.16.49;cuhslice;00026a6207f5474985e018da4ea98b8f;cuhslice;00026a6207f5474985e018da4ea98b8f;falling;0;PS5;PS5;",
			want: Event{Time: utc("2025.04.30-00.16.49"), Kind: SelfDeath, Killer: "cuhslice", KillerID: "00026a6207f5474985e018da4ea98b8f", Victim: "cuhslice", VictimID: "00026a6207f5474985e018da4ea98b8f", Weapon: WeaponFalling, KillerPlatform: "PS5", VictimPlatform: "PS5"},
		},
		{
			name: "unattributed",
			line: "2025.03.27-11.00.00;;;Some One;00024afed387453195c040bb85708405;;1;",
			want: Event{Time: utc("2025.03.27-11.00.00"), Kind: Unattributed, Victim: "Some One", VictimID: "00024afed387453195c040bb85708405", Distance: 1},
		},
		{
			name: "roadkill, names with spaces, apostrophes and Unicode",
			line: "2025.05.01-00.07.23;O'Brien Ж;0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa;**@everyone**;0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb;land_vehicle;1;PC;PS5;",
			want: Event{Time: utc("2025.05.01-00.07.23"), Kind: Kill, Killer: "O'Brien Ж", KillerID: "0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa", Victim: "**@everyone**", VictimID: "0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb", Weapon: WeaponCar, Distance: 1, KillerPlatform: "PC", VictimPlatform: "PS5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLine([]byte(tt.line), 1, time.UTC)
			if err != nil {
				t.Fatalf("ParseLine(%q) error %v", tt.line, err)
			}
			if got != tt.want {
				t.Errorf("ParseLine(%q)\n got %+v\nwant %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseLineKinds(t *testing.T) {
	e, _ := ParseLine([]byte("2025.05.01-00.07.23;A;1;B;2;boat;1;"), 1, nil)
	if !e.IsRoadkill() || e.IsSuicide() {
		t.Errorf("boat kill: roadkill %v suicide %v, want true false", e.IsRoadkill(), e.IsSuicide())
	}
	e, _ = ParseLine([]byte("2025.05.01-00.07.23;A;1;A;1;RGD-5;0;"), 1, nil)
	if !e.IsSuicide() || e.IsRelocation() || e.IsFall() {
		t.Errorf("own grenade: suicide %v relocation %v fall %v, want true false false", e.IsSuicide(), e.IsRelocation(), e.IsFall())
	}
	e, _ = ParseLine([]byte("2025.05.01-00.07.23;A;1;A;1;falling;0;"), 1, nil)
	if !e.IsSuicide() || !e.IsFall() {
		t.Errorf("fall: suicide %v fall %v, want true true", e.IsSuicide(), e.IsFall())
	}
}

func TestParseLineTimezone(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata:", err)
	}
	e, err := ParseLine([]byte("2025.05.01-12.00.00;A;1;B;2;M99;3;"), 1, loc)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC); !e.Time.Equal(want) {
		t.Errorf("time in Europe/Berlin = %v, want %v", e.Time.UTC(), want)
	}
}

func TestParseLineMalformed(t *testing.T) {
	tests := []struct{ line, reason string }{
		{"2025.05.01-00.07.23;A;1;B;2;M99", "fields"},
		{"garbage", "fields"},
		{"2025.13.01-00.07.23;A;1;B;2;M99;3;", "timestamp"},
		{"1969.12.31-23.59.59;A;1;B;2;M99;3;", "timestamp"},
		{"2025.02.30-00.07.23;A;1;B;2;M99;3;", "timestamp"},
		{"2025/05/01 00:07:23;A;1;B;2;M99;3;", "timestamp"},
		{"2025.05.01-00.07.23;A;1;B;;M99;3;", "victim id"},
		{"2025.05.01-00.07.23;A;1;B;2;M99;3.5;", "whole number"},
		{"2025.05.01-00.07.23;A;1;B;2;M99;-3;", "whole number"},
		{"2025.05.01-00.07.23;A;1;B;2;M99;;", "whole number"},
		{"2025.05.01-00.07.23;A\x00;1;B;2;M99;3;", "control"},
		{"2025.05.01-00.07.23;A\xff\xfe;1;B;2;M99;3;", "UTF-8"},
		{"2025.05.01-00.07.23;" + strings.Repeat("x", MaxLineLen) + ";1;B;2;M99;3;", "longer"},
	}
	for _, tt := range tests {
		_, err := ParseLine([]byte(tt.line), 42, time.UTC)
		var le *LineError
		if !errors.As(err, &le) {
			t.Errorf("ParseLine(%.40q) error = %v, want *LineError", tt.line, err)
			continue
		}
		if le.Line != 42 || !strings.Contains(le.Error(), tt.reason) || !strings.Contains(le.Error(), "42") {
			t.Errorf("ParseLine(%.40q) error = %q, want line 42 and %q", tt.line, le.Error(), tt.reason)
		}
	}
	for _, empty := range []string{"", "\n", "\r\n", "\xef\xbb\xbf\n"} {
		if _, err := ParseLine([]byte(empty), 1, nil); !errors.Is(err, ErrEmpty) {
			t.Errorf("ParseLine(%q) error = %v, want ErrEmpty", empty, err)
		}
	}
}

// sampleLines returns the lines of the real killfeed files in testdata.
func sampleLines(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../testdata/deadside/*.csv")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no sample files: %v", err)
	}
	var lines [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	return lines
}

func TestParseSamples(t *testing.T) {
	lines := sampleLines(t)
	for i, l := range lines {
		if _, err := ParseLine(l, i+1, time.UTC); err != nil {
			t.Errorf("sample line %q: %v", l, err)
		}
	}
}

func FuzzParseLine(f *testing.F) {
	for _, l := range sampleLines(f) {
		f.Add(l)
	}
	f.Add([]byte("\xef\xbb\xbf;;;;;;;;;;\r\n"))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line, 1, time.UTC)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("ParseLine(%q) error %v is neither *LineError nor ErrEmpty", line, err)
			}
			return
		}
		if e.VictimID == "" || e.Distance < 0 || e.Kind < Kill || e.Kind > Unattributed {
			t.Fatalf("ParseLine(%q) = %+v: invalid event accepted", line, e)
		}
		if e.Kind == Kill && (e.KillerID == "" || e.KillerID == e.VictimID) {
			t.Fatalf("ParseLine(%q) = %+v: bad kill classification", line, e)
		}
	})
}

func BenchmarkParseLine(b *testing.B) {
	lines := sampleLines(b)
	var n, bytes int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		l := lines[i%len(lines)]
		if _, err := ParseLine(l, i, time.UTC); err != nil {
			b.Fatal(err)
		}
		n++
		bytes += len(l)
	}
	b.SetBytes(int64(bytes / max(n, 1)))
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}
