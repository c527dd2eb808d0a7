// Package storage owns the bbolt database: killfeed and server log events,
// source cursors and per-server counters, all under
// guild/<guild id>/server/<server id>; the guild's links and settings beside
// them; the outbox of posts waiting for Discord; and the command log, one
// record per interaction answered, for the operator (see commandlog.go).
//
// Exactly once: Commit writes a batch's events, its source's cursor, its
// counters and the posts its new events cause (none for history) in one
// transaction, so after a crash at any instant the cursor, the events and
// the outbox agree. A post leaves the outbox only when the poster deletes
// it, once Discord has accepted it. As a second defence an event's key is
// (time, victim id, hash of its fields), so reading a line again stores
// nothing new and is counted as a duplicate.
//
// Writer is the single writer goroutine: it groups the batches submitted
// while a transaction is running into the next one, and calls AfterCommit
// with what was stored once it is durable.
//
// Caveat: bbolt holds an exclusive file lock while the database is open for
// writing; Open fails after Options.Timeout with ErrLocked rather than wait.
package storage
