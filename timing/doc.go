// Package timing tracks where the time of each flow goes: a command from
// the interaction's arrival to its answer, an ingest batch from its read to
// the indexes, a killfeed message from its rendering to its removal from
// the outbox.
//
// A Flow is marked at named checkpoints. When it is done, each step (the
// time between two checkpoints) slower than its threshold logs a warning
// with the whole breakdown, the flow is classified FAST (under 500 ms), OK
// (under 1 s), SLOW (under 3 s) or CRITICAL, and its duration goes into a
// Prometheus histogram. A Tracker is a prometheus.Collector of those
// histograms and counters.
package timing
