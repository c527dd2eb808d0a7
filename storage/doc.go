// Package storage owns the bbolt database: killfeed events, source cursors
// and per-server counters, all under guild/<guild id>/server/<server id>.
//
// Exactly once: Commit writes a batch's events, its source's cursor and its
// counters in one transaction, so after a crash at any instant the cursor
// and the events agree. As a second defence an event's key is
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
