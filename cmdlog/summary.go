package cmdlog

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"killfeed/storage"
)

// Summary sums up the command log since a time.
type Summary struct {
	Since    time.Time
	Calls    int
	Errors   int   // outcomes error and failed
	Invalid  int   // outcome invalid
	Commands []Row // by command, most calls first (ties by name)
	Guilds   []Row // by guild id, most calls first (ties by id); no handler times
}

// Row sums up the calls of one command or one guild.
type Row struct {
	Name    string        `json:"name"`
	Calls   int           `json:"calls"`
	Errors  int           `json:"errors"`
	Invalid int           `json:"invalid"`
	P50     time.Duration `json:"-"` // handler time, nearest rank; commands only
	P99     time.Duration `json:"-"`
}

// ErrorRate returns Errors / Calls, or 0 when there are no calls.
func (r Row) ErrorRate() float64 { return rate(r.Errors, r.Calls) }

func (r *Row) add(e *storage.CommandEntry) {
	r.Calls++
	switch e.Outcome {
	case storage.OutcomeError, storage.OutcomeFailed:
		r.Errors++
	case storage.OutcomeInvalid:
		r.Invalid++
	}
}

func rate(errors, calls int) float64 {
	if calls == 0 {
		return 0
	}
	return float64(errors) / float64(calls)
}

// Builder makes a Summary from entries added one at a time, as
// storage.DB.Commands reads them. It keeps counters per command and guild
// and one time.Duration per entry (for the percentiles): a few million
// entries take tens of megabytes.
type Builder struct {
	since    time.Time
	total    Row
	commands map[string]*commandTally
	guilds   map[string]*Row
}

type commandTally struct {
	row   Row
	times []time.Duration
}

// NewBuilder returns a Builder of the summary since since.
func NewBuilder(since time.Time) *Builder {
	return &Builder{since: since, commands: map[string]*commandTally{}, guilds: map[string]*Row{}}
}

// Add counts e, unless it is older than the Builder's since.
func (b *Builder) Add(e storage.CommandEntry) {
	if e.Time.Before(b.since) {
		return
	}
	b.total.add(&e)
	c := b.commands[e.Command]
	if c == nil {
		c = &commandTally{row: Row{Name: e.Command}}
		b.commands[e.Command] = c
	}
	c.row.add(&e)
	c.times = append(c.times, e.Handler)
	g := b.guilds[e.Guild]
	if g == nil {
		g = &Row{Name: e.Guild}
		b.guilds[e.Guild] = g
	}
	g.add(&e)
}

// Summary returns the summary of the entries added so far.
func (b *Builder) Summary() Summary {
	s := Summary{
		Since:    b.since,
		Calls:    b.total.Calls,
		Errors:   b.total.Errors,
		Invalid:  b.total.Invalid,
		Commands: make([]Row, 0, len(b.commands)),
		Guilds:   make([]Row, 0, len(b.guilds)),
	}
	for _, c := range b.commands {
		slices.Sort(c.times)
		r := c.row
		r.P50 = percentile(c.times, 50)
		r.P99 = percentile(c.times, 99)
		s.Commands = append(s.Commands, r)
	}
	for _, g := range b.guilds {
		s.Guilds = append(s.Guilds, *g)
	}
	slices.SortFunc(s.Commands, byCalls)
	slices.SortFunc(s.Guilds, byCalls)
	return s
}

func byCalls(a, b Row) int {
	if c := cmp.Compare(b.Calls, a.Calls); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

// percentile returns the nearest-rank pth percentile of sorted: the value
// at index ceil(p/100·n)−1, or 0 when it is empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	return sorted[(p*n+99)/100-1]
}

// WriteText writes s as a header line and aligned tables by command and
// by guild.
func (s Summary) WriteText(w io.Writer) error {
	var sb strings.Builder
	since := "since " + s.Since.UTC().Format("2006-01-02 15:04 UTC")
	if s.Since.IsZero() {
		since = "ever"
	}
	if s.Calls == 0 {
		fmt.Fprintf(&sb, "No commands %s.\n", since)
		_, err := io.WriteString(w, sb.String())
		return err
	}
	fmt.Fprintf(&sb, "Commands %s: %s, %s (%s), %s refused\n",
		since, plural(s.Calls, "call"), plural(s.Errors, "error"), percent(s.Errors, s.Calls), thousands(s.Invalid))

	rows := [][]string{{"Command", "Calls", "Errors", "Error rate", "p50", "p99"}}
	for _, r := range s.Commands {
		rows = append(rows, []string{name(r.Name), thousands(r.Calls), thousands(r.Errors), percent(r.Errors, r.Calls), duration(r.P50), duration(r.P99)})
	}
	sb.WriteByte('\n')
	table(&sb, rows)

	rows = [][]string{{"Guild", "Calls", "Errors", "Error rate"}}
	for _, r := range s.Guilds {
		rows = append(rows, []string{name(r.Name), thousands(r.Calls), thousands(r.Errors), percent(r.Errors, r.Calls)})
	}
	sb.WriteByte('\n')
	table(&sb, rows)
	_, err := io.WriteString(w, sb.String())
	return err
}

// table writes rows as columns two spaces apart, the first aligned left
// and the others right.
func table(sb *strings.Builder, rows [][]string) {
	var width []int
	for _, row := range rows {
		for i, cell := range row {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		for i, cell := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			switch {
			case i == 0 && len(row) == 1:
				sb.WriteString(cell)
			case i == 0:
				sb.WriteString(cell + pad)
			default:
				sb.WriteString("  " + pad + cell)
			}
		}
		sb.WriteByte('\n')
	}
}

// name shows an empty command or guild (a direct message) as "(none)".
func name(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// thousands formats n with commas: 1,234,567.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

// percent formats errors/calls as a percentage: 0%, 0.97%, 12.5%, 100%.
func percent(errors, calls int) string {
	p := 100 * rate(errors, calls)
	switch {
	case p == 0:
		return "0%"
	case p < 0.01:
		return "<0.01%"
	case p < 10:
		return fmt.Sprintf("%.2f%%", p)
	case p < 100:
		return fmt.Sprintf("%.1f%%", p)
	}
	return "100%"
}

// duration formats a handler time to two or three significant digits:
// 45µs, 0.4ms, 2.5ms, 12ms, 1.2s, 15s, 2m5s.
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0"
	case d < 100*time.Microsecond:
		return fmt.Sprintf("%dµs", d.Round(time.Microsecond)/time.Microsecond)
	case d < 9950*time.Microsecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < 999500*time.Microsecond:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < 9950*time.Millisecond:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < 59500*time.Millisecond:
		return fmt.Sprintf("%ds", d.Round(time.Second)/time.Second)
	}
	return d.Round(time.Second).String()
}

// WriteJSON writes s as JSON: {"since", "calls", "errors", "invalid",
// "error_rate", "commands": [{"name", "calls", "errors", "invalid",
// "error_rate", "p50_ms", "p99_ms"}], "guilds": [{"name", "calls",
// "errors", "invalid", "error_rate"}]}. Rates are fractions.
func (s Summary) WriteJSON(w io.Writer) error {
	type guild struct {
		Row
		ErrorRate float64 `json:"error_rate"`
	}
	type command struct {
		guild
		P50 float64 `json:"p50_ms"`
		P99 float64 `json:"p99_ms"`
	}
	out := struct {
		Since     time.Time `json:"since"`
		Calls     int       `json:"calls"`
		Errors    int       `json:"errors"`
		Invalid   int       `json:"invalid"`
		ErrorRate float64   `json:"error_rate"`
		Commands  []command `json:"commands"`
		Guilds    []guild   `json:"guilds"`
	}{
		Since:     s.Since,
		Calls:     s.Calls,
		Errors:    s.Errors,
		Invalid:   s.Invalid,
		ErrorRate: rate(s.Errors, s.Calls),
		Commands:  []command{},
		Guilds:    []guild{},
	}
	for _, r := range s.Commands {
		out.Commands = append(out.Commands, command{guild{r, r.ErrorRate()}, millis(r.P50), millis(r.P99)})
	}
	for _, r := range s.Guilds {
		out.Guilds = append(out.Guilds, guild{r, r.ErrorRate()})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// millis returns d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
