// Package stats owns the in-process indexes that commands read: per-player
// figures, leaderboards and name lookup for one game server.
//
// An Index is built from the database at start (Load) and then updated by
// the writer after each commit (Add), so it always equals what a rebuild
// would give; there is no cache and nothing expires. Every figure follows
// one definition, Totals.add, whichever period or query asks for it:
//
//   - kills: kills of another player (roadkills included)
//   - deaths: times killed by another player
//   - suicides: self-deaths other than relocations (falls included)
//   - relocations: suicide_by_relocation self-deaths (menu respawns)
//   - environment deaths: deaths with no killer
//   - KDR: kills / max(deaths, 1), rounded to 2 decimals
//   - longest kill: the largest distance of the player's kills
//   - best streak: most kills without a death of any kind in between
//   - current streak: kills since the player's last death of any kind
//   - favourite weapon: most kills; ties go to the first in byte order
//   - nemesis / prey: who killed them most / whom they killed most; ties go
//     to the smallest EOS id
//
// Players are keyed by EOS id; the display name is the name of the latest
// event, and every name a player used resolves to them.
//
// Periods are calendar day, ISO week (Monday 00:00) and month in the
// server's time zone, and all time. Events are ordered by time, then by
// their arrival in storage (Seq); events arriving out of that order (an old
// file imported late) trigger a recomputation from memory.
package stats
