// Package config reads and validates config.toml, the one file that tells
// the killfeed bot where its database lives, how to reach Discord and which
// Deadside game servers to watch.
//
// A config file looks like this:
//
//	[storage]
//	path = "killfeed.db"
//
//	[discord]
//	token = "${DISCORD_TOKEN}"
//
//	[[servers]]
//	guild_id = "123456789012345678"
//	id = "eu1"
//	name = "EU #1 PvP"
//	killfeed_dir = "D:/Deadside/Saved/actual1/deathlogs/world_0"
//	server_log = "D:/Deadside/Saved/Logs/Deadside.log"
//	timezone = "Europe/London"
//
// Before decoding, every ${NAME} in the text is replaced by the value of the
// environment variable NAME (an unset variable becomes the empty string), so
// secrets such as the bot token can stay out of the file. Only the braced
// form is expanded: a bare "$" is left alone, so passwords may contain it.
// The value is pasted into the text as it is, so a value holding a backslash
// (a Windows path) or a double quote belongs in a single-quoted literal
// string, like '${KILLFEED_DIR}'.
//
// [ParseConfig] fills in defaults, decodes and validates; [Load] does the same
// for a file on disk and also resolves relative paths against the directory
// holding the file. Unknown keys are errors, so a misspelt key is reported
// instead of silently ignored. Every error message starts with "config: " and
// names the offending key, for example servers[0].guild_id, along with how to
// fix it. The Discord token never appears in error messages or in the
// formatted or logged value of [Discord].
//
// The package embeds the IANA time zone database (time/tzdata), so time zone
// names work on hosts without one, such as Windows machines or minimal
// containers.
package config
