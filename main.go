// Command killfeed is a self-hosted Discord killfeed and stats bot for
// Deadside game servers: one binary, one embedded database.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "killfeed:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand; with none it runs the bot.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	cmd := "run"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return runBot(ctx, args, stdout)
	case "import":
		return runImport(ctx, args, stdout)
	case "stats":
		return runStats(ctx, args, stdout)
	case "leaderboard":
		return runLeaderboard(ctx, args, stdout)
	case "commands":
		return runCommands(ctx, args, stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(os.Stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

const usage = `killfeed: a Discord killfeed and stats bot for Deadside servers

Usage:
  killfeed [run] [-config config.toml]        run the bot
  killfeed import -guild G -server S FILE...  backfill killfeed CSV files, in order
  killfeed stats -guild G -server S [-period all|season|day|week|month] [-at RFC3339] [-json] PLAYER
  killfeed leaderboard -guild G -server S [-metric kills] [-period all] [-limit 10] [-json]
  killfeed commands [-since 24h] [-list] [-json]   the commands answered: calls, errors, p50/p99 time

Every command takes -config (default config.toml). Run "killfeed COMMAND -h" for its flags.
`
