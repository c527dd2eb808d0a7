package timing

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Kind is what a flow times.
type Kind int

// The kinds of flow.
const (
	Command      Kind = iota // a slash command, named by its command
	Autocomplete             // choices offered as a member types, named "stats autocomplete"
	Ingest                   // a batch of lines, named by its server ("guild/server")
	Post                     // a killfeed message, named by its channel
	kinds
)

func (k Kind) String() string { return [...]string{"command", "autocomplete", "ingest", "post"}[k] }

// Class sums up how long a flow took.
type Class int

// The classes, from Classify.
const (
	Fast     Class = iota // under 500 ms
	OK                    // under 1 s
	Slow                  // under 3 s
	Critical              // 3 s or more
	classes
)

func (c Class) String() string { return [...]string{"FAST", "OK", "SLOW", "CRITICAL"}[c] }

// Classify returns the class of a flow that took d.
func Classify(d time.Duration) Class {
	switch {
	case d < 500*time.Millisecond:
		return Fast
	case d < time.Second:
		return OK
	case d < 3*time.Second:
		return Slow
	}
	return Critical
}

// Thresholds of a step when none is configured: of the bot's own work,
// and of a request to Discord.
const (
	DefaultSlowStep    = 100 * time.Millisecond
	DefaultSlowNetwork = time.Second
)

// warnEvery is how often one flow name may log a slow-step warning; the
// warnings in between are counted and reported with the next one.
const warnEvery = time.Minute

// Tracker starts flows and keeps their figures. Its methods are safe for
// concurrent use; a nil Tracker starts nil flows, which time nothing.
type Tracker struct {
	log     *slog.Logger
	slow    time.Duration            // a step's threshold by default
	steps   map[string]time.Duration // thresholds by command name, or "ingest" and "post"
	network time.Duration            // the threshold of a step that waits for Discord

	counts   [kinds][classes]atomic.Int64
	commands *prometheus.CounterVec   // by command and outcome
	cmdTime  *prometheus.HistogramVec // by command
	batch    *prometheus.HistogramVec // by guild and server
	post     prometheus.Histogram
	flows    *prometheus.CounterVec // by kind and class

	mu     sync.Mutex
	warned map[string]warned // by kind and name
}

type warned struct {
	at     time.Time
	hushed int // warnings not logged since
}

// New returns a tracker that logs slow steps to log. A step of the bot's
// own work is slow past slow (DefaultSlowStep when 0) or past its flow's
// own threshold in steps, keyed by command name, or by "ingest" or "post";
// a step that waits for Discord (marked with MarkRemote) is slow past
// network (DefaultSlowNetwork when 0).
func New(log *slog.Logger, slow, network time.Duration, steps map[string]time.Duration) *Tracker {
	if slow <= 0 {
		slow = DefaultSlowStep
	}
	if network <= 0 {
		network = DefaultSlowNetwork
	}
	// From 50 µs (a command answered from memory, before the network) to
	// 10 s (a Discord outage's retries).
	buckets := []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	return &Tracker{
		log: log, slow: slow, network: network, steps: steps, warned: map[string]warned{},
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "killfeed_commands_total", Help: "Interactions answered (commands and autocompletes), by command and outcome (ok, invalid, error, failed).",
		}, []string{"command", "outcome"}),
		cmdTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "killfeed_command_duration_seconds", Help: "Time from an interaction's arrival to its answer (deferred commands: to their final edit), by command.",
			Buckets: buckets,
		}, []string{"command"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "killfeed_ingest_batch_duration_seconds", Help: "Time from reading a batch of log lines to the indexes holding them, by server.",
			Buckets: buckets,
		}, []string{"guild", "server"}),
		post: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "killfeed_post_duration_seconds", Help: "Time from rendering a killfeed message to its removal from the outbox, per attempt.",
			Buckets: buckets,
		}),
		flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "killfeed_flows_total", Help: "Flows by kind (command, autocomplete, ingest, post) and class (FAST < 500ms, OK < 1s, SLOW < 3s, CRITICAL).",
		}, []string{"kind", "class"}),
	}
}

// Describe implements prometheus.Collector.
func (t *Tracker) Describe(ch chan<- *prometheus.Desc) {
	t.commands.Describe(ch)
	t.cmdTime.Describe(ch)
	t.batch.Describe(ch)
	t.post.Describe(ch)
	t.flows.Describe(ch)
}

// Collect implements prometheus.Collector.
func (t *Tracker) Collect(ch chan<- prometheus.Metric) {
	t.commands.Collect(ch)
	t.cmdTime.Collect(ch)
	t.batch.Collect(ch)
	t.post.Collect(ch)
	t.flows.Collect(ch)
}

// Counts returns how many flows of kind ended in each class since start.
func (t *Tracker) Counts(kind Kind) [4]int64 {
	var out [4]int64
	if t == nil {
		return out
	}
	for c := range out {
		out[c] = t.counts[kind][c].Load()
	}
	return out
}

// threshold is the slowest a step of the flow may be without a warning.
func (t *Tracker) threshold(kind Kind, name string) time.Duration {
	key := kind.String()
	if kind == Command {
		key = name
	}
	if d, ok := t.steps[key]; ok {
		return d
	}
	return t.slow
}

// Start starts a flow of kind named name at start (the time its input
// arrived). It returns nil for a nil Tracker.
func (t *Tracker) Start(kind Kind, name string, start time.Time) *Flow {
	if t == nil {
		return nil
	}
	return &Flow{t: t, kind: kind, Name: name, start: start}
}

// maxSteps is the most checkpoints a flow records; later marks are
// ignored.
const maxSteps = 8

// Flow is one timed flow. Its methods are not safe for concurrent use, but
// a flow may be handed from one goroutine to another; a nil Flow does
// nothing.
type Flow struct {
	t     *Tracker
	kind  Kind
	start time.Time
	steps [maxSteps]step
	n     int
	// Name is the flow's name: a command's may be set once it is known.
	Name string
	// Labels are added to the warning of a slow step (the guild, the
	// interaction id).
	Labels []any
}

type step struct {
	name   string
	at     time.Time
	remote bool // the step waited for Discord
}

// Mark records that the flow reached the checkpoint name now.
func (f *Flow) Mark(name string) {
	if f != nil {
		f.mark(name, time.Now(), false)
	}
}

// MarkRemote is Mark for a step that waited for Discord (an answer sent,
// a message posted): its threshold is the network's.
func (f *Flow) MarkRemote(name string) {
	if f != nil {
		f.mark(name, time.Now(), true)
	}
}

// MarkAt records that the flow reached the checkpoint name at at.
func (f *Flow) MarkAt(name string, at time.Time) {
	f.mark(name, at, false)
}

func (f *Flow) mark(name string, at time.Time, remote bool) {
	if f == nil || f.n == maxSteps {
		return
	}
	f.steps[f.n] = step{name, at, remote}
	f.n++
}

// Started returns when the flow started.
func (f *Flow) Started() time.Time {
	if f == nil {
		return time.Time{}
	}
	return f.start
}

// Took returns the time from the flow's start to its last checkpoint.
func (f *Flow) Took() time.Duration {
	if f == nil || f.n == 0 {
		return 0
	}
	return f.steps[f.n-1].at.Sub(f.start)
}

// Done ends the flow: it is classified and counted, its duration observed
// (for a command, with its outcome), and a step slower than its threshold
// logs a warning with every step. It returns the flow's class.
func (f *Flow) Done(outcome string) Class {
	if f == nil {
		return Fast
	}
	t := f.t
	took := f.Took()
	class := Classify(took)
	t.counts[f.kind][class].Add(1)
	t.flows.WithLabelValues(f.kind.String(), class.String()).Inc()
	switch f.kind {
	case Command, Autocomplete:
		t.commands.WithLabelValues(f.Name, outcome).Inc()
		t.cmdTime.WithLabelValues(f.Name).Observe(took.Seconds())
	case Ingest:
		guild, server, _ := strings.Cut(f.Name, "/")
		t.batch.WithLabelValues(guild, server).Observe(took.Seconds())
	case Post:
		t.post.Observe(took.Seconds())
	}
	own := t.threshold(f.kind, f.Name)
	prev := f.start
	for _, s := range f.steps[:f.n] {
		limit := own
		if s.remote {
			limit = t.network
		}
		if s.at.Sub(prev) > limit {
			f.warn(s.name, took, class, limit)
			break
		}
		prev = s.at
	}
	return class
}

// warn logs a slow step, at most once a minute for each flow name.
func (f *Flow) warn(slowest string, took time.Duration, class Class, limit time.Duration) {
	t := f.t
	key := f.kind.String() + "/" + f.Name
	now := time.Now()
	t.mu.Lock()
	w := t.warned[key]
	if !w.at.IsZero() && now.Sub(w.at) < warnEvery {
		w.hushed++
		t.warned[key] = w
		t.mu.Unlock()
		return
	}
	hushed := w.hushed
	t.warned[key] = warned{at: now}
	t.mu.Unlock()
	args := []any{f.kind.String(), f.Name, "step", slowest, "limit", limit, "took", took, "class", class.String(), "steps", f.Breakdown()}
	if hushed > 0 {
		args = append(args, "slow before, not logged", hushed)
	}
	t.log.Warn(fmt.Sprintf("slow %s step", f.kind), append(args, f.Labels...)...)
}

// Breakdown describes the flow's steps and their times, like
// "resolved 12µs, gathered 140ms, rendered 40µs, responded 180ms".
func (f *Flow) Breakdown() string {
	if f == nil {
		return ""
	}
	var b strings.Builder
	prev := f.start
	for i, s := range f.steps[:f.n] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.name)
		b.WriteByte(' ')
		b.WriteString(round(s.at.Sub(prev)).String())
		prev = s.at
	}
	return b.String()
}

// round keeps a duration's three most significant digits.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}
