// Package parser turns Deadside killfeed CSV lines into typed events.
//
// It owns the bytes → event step and nothing else: no files, no clock, no
// storage. A killfeed line looks like
//
//	2025.05.01-00.07.23;Killer;0002…;Victim;0002…;M99;152;PS5;XSX;
//
// with seven fields in older server builds and nine (two platforms) in newer
// ones, separated by ';', with no quoting and a trailing ';'. ParseLine
// classifies a line as a kill, a self-death (relocation, fall or own weapon)
// or an unattributed (environment) death, and returns a *LineError for a
// malformed line so callers can count it and go on.
//
// Caveat: the time in a line has no zone; callers pass the server's
// *time.Location. File names are never trusted for a line's date.
package parser
