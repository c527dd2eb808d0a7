package cmdlog

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"killfeed/storage"
)

const (
	guildA = "100000000000000001"
	guildB = "100000000000000002"
)

// call returns an entry of command in guild, d after t0.
func call(d time.Duration, guild, command, outcome string, handler time.Duration) storage.CommandEntry {
	return storage.CommandEntry{Time: t0.Add(d), Guild: guild, Command: command, Outcome: outcome, Handler: handler}
}

// sampleLog: "stats" 100 calls in guild A taking 1..100 ms, 2 errors and
// 1 failure, 5 refused; "leaderboard" 3 calls in guild B, 1 error;
// "admin link" 3 calls in guild B, all ok; one "stats" call before since.
func sampleLog() []storage.CommandEntry {
	var out []storage.CommandEntry
	out = append(out, call(-time.Minute, guildA, "stats", storage.OutcomeError, time.Hour)) // before since
	for i := 1; i <= 100; i++ {
		outcome := storage.OutcomeOK
		switch {
		case i <= 2:
			outcome = storage.OutcomeError
		case i == 3:
			outcome = storage.OutcomeFailed
		case i <= 8:
			outcome = storage.OutcomeInvalid
		}
		// In no particular order of handler time.
		h := time.Duration((i*37)%100+1) * time.Millisecond
		out = append(out, call(time.Duration(i)*time.Second, guildA, "stats", outcome, h))
	}
	out = append(out,
		call(time.Hour, guildB, "leaderboard", storage.OutcomeOK, 400*time.Microsecond),
		call(time.Hour, guildB, "leaderboard", storage.OutcomeError, 1200*time.Millisecond),
		call(time.Hour, guildB, "leaderboard", storage.OutcomeOK, 12*time.Millisecond),
		call(time.Hour, guildB, "admin link", storage.OutcomeOK, 2*time.Millisecond),
		call(time.Hour, guildB, "admin link", storage.OutcomeOK, 2*time.Millisecond),
		call(time.Hour, guildB, "admin link", storage.OutcomeOK, 2*time.Millisecond),
	)
	return out
}

// summarize sums up the entries at or after since.
func summarize(since time.Time, entries []storage.CommandEntry) Summary {
	b := NewBuilder(since)
	for _, e := range entries {
		b.Add(e)
	}
	return b.Summary()
}

func TestSummary(t *testing.T) {
	s := summarize(t0, sampleLog())
	want := Summary{
		Since:   t0,
		Calls:   106,
		Errors:  4,
		Invalid: 5,
		Commands: []Row{
			{Name: "stats", Calls: 100, Errors: 3, Invalid: 5, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond},
			{Name: "admin link", Calls: 3, P50: 2 * time.Millisecond, P99: 2 * time.Millisecond}, // a tie: by name
			{Name: "leaderboard", Calls: 3, Errors: 1, P50: 12 * time.Millisecond, P99: 1200 * time.Millisecond},
		},
		Guilds: []Row{
			{Name: guildA, Calls: 100, Errors: 3, Invalid: 5},
			{Name: guildB, Calls: 6, Errors: 1},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("summarize(sample) =\n%+v\nwant\n%+v", s, want)
	}
	if got, want := s.Commands[0].ErrorRate(), 0.03; got != want {
		t.Errorf("stats ErrorRate() = %v, want %v", got, want)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, tc := range []struct {
		sorted   []time.Duration
		p50, p99 time.Duration
	}{
		{nil, 0, 0},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond},
		{ms(1, 2), 1 * time.Millisecond, 2 * time.Millisecond},
		{ms(1, 2, 3), 2 * time.Millisecond, 3 * time.Millisecond},
		{ms(1, 2, 3, 4), 2 * time.Millisecond, 4 * time.Millisecond},
	} {
		if p50, p99 := percentile(tc.sorted, 50), percentile(tc.sorted, 99); p50 != tc.p50 || p99 != tc.p99 {
			t.Errorf("percentiles of %v = %v, %v; want %v, %v", tc.sorted, p50, p99, tc.p50, tc.p99)
		}
	}
	// 200 values: p99 is the 198th (nearest rank ceil(0.99·200) = 198).
	var v []time.Duration
	for i := 1; i <= 200; i++ {
		v = append(v, time.Duration(i))
	}
	if got := percentile(v, 99); got != 198 {
		t.Errorf("p99 of 1..200 = %d, want 198", got)
	}
	if got := percentile(v, 50); got != 100 {
		t.Errorf("p50 of 1..200 = %d, want 100", got)
	}
}

// The builder, fed by storage.DB.Commands, gives what summarize gives.
func TestBuilderFromDB(t *testing.T) {
	db := mustOpenDB(t)
	if err := db.AppendCommands(sampleLog()); err != nil {
		t.Fatal(err)
	}
	b := NewBuilder(t0)
	if err := db.Commands(t0, func(e storage.CommandEntry) error { b.Add(e); return nil }); err != nil {
		t.Fatal(err)
	}
	got, want := b.Summary(), summarize(t0, sampleLog())
	got.Since, want.Since = time.Time{}, time.Time{} // the database's time is not in UTC
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Builder fed from the database =\n%+v\nwant\n%+v", got, want)
	}
}

func TestWriteText(t *testing.T) {
	var buf bytes.Buffer
	if err := summarize(t0, sampleLog()).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	want := `Commands since 2026-11-23 10:00 UTC: 106 calls, 4 errors (3.77%), 5 refused

Command      Calls  Errors  Error rate    p50    p99
stats          100       3       3.00%   50ms   99ms
admin link       3       0          0%  2.0ms  2.0ms
leaderboard      3       1       33.3%   12ms   1.2s

Guild               Calls  Errors  Error rate
100000000000000001    100       3       3.00%
100000000000000002      6       1       16.7%
`
	if got := buf.String(); got != want {
		t.Errorf("WriteText =\n%s\nwant\n%s", got, want)
	}
}

func TestWriteTextThousands(t *testing.T) {
	s := Summary{Since: t0, Calls: 1234, Errors: 12, Invalid: 3,
		Commands: []Row{{Name: "stats", Calls: 1234, Errors: 12, Invalid: 3, P50: 400 * time.Microsecond, P99: 12 * time.Millisecond}},
		Guilds:   []Row{{Name: "", Calls: 1234, Errors: 12, Invalid: 3}},
	}
	var buf bytes.Buffer
	if err := s.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Commands since 2026-11-23 10:00 UTC: 1,234 calls, 12 errors (0.97%), 3 refused\n",
		"stats    1,234      12       0.97%  0.4ms  12ms\n",
		"(none)  1,234      12       0.97%\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("WriteText =\n%s\nwant a line %q", buf.String(), want)
		}
	}
}

func TestWriteTextEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := summarize(t0, nil).WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "No commands since 2026-11-23 10:00 UTC.\n"; got != want {
		t.Errorf("WriteText of no commands = %q, want %q", got, want)
	}
}

func TestWriteJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := summarize(t0, sampleLog()).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name      string   `json:"name"`
		Calls     int      `json:"calls"`
		Errors    int      `json:"errors"`
		Invalid   int      `json:"invalid"`
		ErrorRate float64  `json:"error_rate"`
		P50       *float64 `json:"p50_ms"`
		P99       *float64 `json:"p99_ms"`
	}
	var got struct {
		Since     time.Time `json:"since"`
		Calls     int       `json:"calls"`
		Errors    int       `json:"errors"`
		Invalid   int       `json:"invalid"`
		ErrorRate float64   `json:"error_rate"`
		Commands  []row     `json:"commands"`
		Guilds    []row     `json:"guilds"`
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("WriteJSON wrote JSON that does not decode: %v", err)
	}
	if !got.Since.Equal(t0) || got.Calls != 106 || got.Errors != 4 || got.Invalid != 5 || got.ErrorRate != 4.0/106 {
		t.Errorf("WriteJSON totals = since %v, %d calls, %d errors, %d invalid, rate %v; want %v, 106, 4, 5, %v",
			got.Since, got.Calls, got.Errors, got.Invalid, got.ErrorRate, t0, 4.0/106)
	}
	if len(got.Commands) != 3 || len(got.Guilds) != 2 {
		t.Fatalf("WriteJSON: %d commands and %d guilds, want 3 and 2", len(got.Commands), len(got.Guilds))
	}
	c := got.Commands[2]
	if c.Name != "leaderboard" || c.Calls != 3 || c.Errors != 1 || c.Invalid != 0 || c.ErrorRate != 1.0/3 ||
		c.P50 == nil || *c.P50 != 12 || c.P99 == nil || *c.P99 != 1200 {
		t.Errorf("WriteJSON leaderboard = %+v (p50 %v, p99 %v), want 3 calls, 1 error, rate 1/3, p50 12, p99 1200", c, c.P50, c.P99)
	}
	g := got.Guilds[0]
	if g.Name != guildA || g.Calls != 100 || g.Errors != 3 || g.Invalid != 5 || g.ErrorRate != 0.03 || g.P50 != nil || g.P99 != nil {
		t.Errorf("WriteJSON first guild = %+v, want %s with 100 calls, 3 errors, 5 invalid, rate 0.03, no percentiles", g, guildA)
	}
}

func TestWriteJSONEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := summarize(t0, nil).WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got["error_rate"] != 0.0 || !reflect.DeepEqual(got["commands"], []any{}) || !reflect.DeepEqual(got["guilds"], []any{}) {
		t.Errorf("WriteJSON of no commands = %s, want a rate of 0 and empty lists", buf.String())
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0"},
		{45 * time.Microsecond, "45µs"},
		{400 * time.Microsecond, "0.4ms"},
		{2500 * time.Microsecond, "2.5ms"},
		{9990 * time.Microsecond, "10ms"},
		{12 * time.Millisecond, "12ms"},
		{999700 * time.Microsecond, "1.0s"},
		{1200 * time.Millisecond, "1.2s"},
		{15 * time.Second, "15s"},
		{125 * time.Second, "2m5s"},
	} {
		if got := duration(tc.d); got != tc.want {
			t.Errorf("duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for _, tc := range []struct {
		errors, calls int
		want          string
	}{
		{0, 0, "0%"},
		{0, 10, "0%"},
		{1, 100000, "<0.01%"},
		{12, 1234, "0.97%"},
		{1, 3, "33.3%"},
		{5, 5, "100%"},
	} {
		if got := percent(tc.errors, tc.calls); got != tc.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tc.errors, tc.calls, got, tc.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
