// Package source follows a server's logs live: its killfeed folder and its
// Deadside.log, on the local disk or on a game host over SFTP.
//
// A Source wakes on file-system notifications (fsnotify, local folders only)
// and on a poll timer beside them, because network shares (SMB, NFS, FUSE)
// and SFTP deliver no notifications. Each wake-up reads from the stored
// cursor to the end of what is complete, through ingest, so a line is
// committed with the cursor past it exactly once. Notifications are only
// wake-ups: what is read is decided by the cursor, never by the event.
//
// On its very first start a source notes where its files end (its backfill
// horizon): the lines already there are history, stored and counted but
// flagged as backfill so the killfeed does not post them as news.
//
// A remote source that fails is connected again with backoff; its Status
// says whether it is connected, its last error and when a line last came.
package source
