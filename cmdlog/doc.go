// Package cmdlog owns the command log: one storage.CommandEntry per Discord
// interaction, kept in the database for the operator's analytics, and the
// Summary that sums it up (calls, errors and handler times by command and
// by guild).
//
// Add is on the command path: it never blocks and never fails the command.
// It puts the entry on a bounded in-memory queue, or drops it (counted)
// when the queue is full. Run is the one writer: it writes the queue in
// batches of up to Options.Batch entries, at least every Options.Every, and
// deletes entries older than Options.Keep at start and then hourly.
//
// When the database fails, the writer keeps the batch it holds and retries
// it with backoff, and takes nothing more from the queue meanwhile: memory
// stays bounded (Queue + Batch entries), and once the queue is full new
// entries are dropped. Nothing is written twice: a batch is one
// transaction, written whole or not at all.
//
// Caveats: entries still queued when the process dies are lost (at most
// Every's worth in normal running); Run gives up after about 5 s when the
// database keeps failing at shutdown, and says how many entries were lost.
package cmdlog
