// Package ingest is the path from log files to the database: it reads
// complete lines with tail, parses them with parser and submits each run of
// lines, with the cursor just past it, to the storage Writer as one Batch.
//
// Live sources and imports go through the same Read function, so a line
// imported by hand and a line tailed live are counted the same way.
package ingest
