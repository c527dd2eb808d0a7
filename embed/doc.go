// Package embed is the one place that turns values into Discord embeds
// (*discordgo.MessageEmbed): killfeed events, server log events, stats,
// leaderboards, comparisons, the linking steps, status, help, errors and
// confirmations. It depends on domain types only (stats, storage, parser)
// and on small input structs of its own for what those lack (a server's
// display name, a killer's streak after the kill, notable facts); it does
// no I/O and reads no clock: times come in with the values.
//
// # Scheme
//
// One colour per kind: kill red, roadkill orange, suicide, fall and
// relocation grey, a death with no killer dark; server start, player limit
// and joins green, other server events blue; errors red, success green,
// stats and information blurple (see the Color constants). Titles start
// with a small emoji of the kind. The footer reads "killfeed · <server>".
// The timestamp is the event's time (or the time the caller says figures
// hold), never the time of rendering, so the same input always gives the
// same embed; times in the text use Discord's <t:unix:R> markup, which
// every reader sees in their own zone.
//
// # Safety
//
// Player names, weapon, vehicle and mission names, server names, notable
// lines and anything a user typed are untrusted:
//
//   - In titles, descriptions and fields they pass through Escape: every
//     markdown character is backslash-escaped, a leading list marker too,
//     every '@' gets a zero-width space after it, line breaks and other
//     control characters become spaces, and bidirectional controls are
//     dropped. Error, Success and Info take plain text of several lines
//     and escape each line. Footers and author names are not markdown:
//     they are only flattened and their '@'s defused.
//   - Each is clipped to a few dozen characters of its source before
//     escaping, so that a 5000-character name cannot crowd out the rest.
//   - Fit enforces Discord's limits, counted as Discord counts them, in
//     Unicode code points: title 256, description 4096, 25 fields, field
//     name 256 and value 1024, footer 2048, author name 256, and 6000 in
//     all. It cuts between whole escapes, characters and combining
//     sequences, adds "…", and prefers to drop whole lines of a list.
//     Every constructor returns a fitted embed.
//
// What this package cannot do, the sender must: send every message,
// interaction response, follow-up and edit with
// &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
// (an empty slice, not nil: nil is sent as "parse": null), and keep the
// 6000-character total per message, not per embed: Group splits embeds
// into messages that respect it and the 10-embed limit.
package embed
