// Package bot is the Discord side of killfeed: a gateway session
// (discordgo) that answers slash commands and autocomplete from the
// in-memory indexes of package stats, and keeps the guild settings that
// commands change (links of members to characters, channels, seasons).
//
// Every interaction is answered by Handle, a plain function from the
// interaction to the reply that reads memory only, so the answer leaves
// within microseconds, far inside Discord's 3 s window. Work that writes
// the database (a link, a channel, a wipe) is deferred: the reply is
// "thinking…" at once, and the work's result edits it. A handler that
// fails or panics still answers, with an ephemeral "something went wrong",
// and the error is logged with the interaction id.
//
// Every message allows no mentions (allowed_mentions parse []), and every
// untrusted string goes through package embed, which escapes markdown: a
// player named @everyone is text.
//
// Commands are registered by bulk overwrite, per guild when
// [discord] command_guilds lists guilds and globally otherwise, only when
// their definition changed since the last registration (its hash is kept
// in the database), so restarts spend none of Discord's rate limit.
//
// A guild only ever sees its own game servers, players and links.
package bot
