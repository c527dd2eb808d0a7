// Package tail reads the complete lines appended to log files, starting from
// a durable Cursor.
//
// A Cursor names a file, its identity (inode where the system has one, and a
// fingerprint of its first KiB) and the byte offset just past the last
// complete line consumed. Opening a file with a cursor checks the identity:
// a file shorter than the offset (truncated) or whose first bytes changed
// (truncated and regrown, or replaced) is read again from the start, and the
// returned Reset says why. Only lines ending in '\n' are returned; a
// half-written last line waits for its end.
//
// Dir orders the CSV files of a Deadside killfeed folder by the time in their
// names (YYYY.MM.DD-HH.MM.SS.csv sorts the same by name and by time) and
// reads each to its end before the next.
//
// The package does no parsing and no storage: callers commit the lines and
// the cursor together.
package tail
