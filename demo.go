package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"killfeed/config"
	"killfeed/internal/fakelog"
	"killfeed/parser"
	"killfeed/tail"
)

// demo brings a demo server's logs to life (servers with demo = true): the
// first time it writes three days of killfeed history, then it appends a
// made-up kill every few seconds, and server log lines between them, as a
// Deadside server would. At each start the server log is "restarted": the
// old one becomes a backup copy, as the game does.
type demo struct {
	csv, logPath string
	kills        *fakelog.Generator
	log          *fakelog.ServerLog
	logLine      []byte // the next server log line, due at log.Now()
}

// Demo pacing and size.
const (
	demoPlayers   = 60
	demoHistory   = 72 * time.Hour
	demoKillEvery = 4 * time.Second // on average
	demoBackups   = 3               // old server logs kept
	demoUptime    = 3 * time.Hour   // the first time, the server has been up this long
)

// newDemo prepares a demo server's files at now: history the first time,
// a new killfeed file and a new server log.
func newDemo(s *config.Server, now time.Time) (*demo, error) {
	now = now.UTC().Truncate(time.Second)
	if err := os.MkdirAll(s.KillfeedDir, 0o755); err != nil {
		return nil, err
	}
	names, err := tail.Files(tail.OS, s.KillfeedDir)
	if err != nil {
		return nil, err
	}
	kills := fakelog.New(1, demoPlayers, now.Add(-demoHistory))
	if len(names) == 0 {
		kills.Step = 2 * time.Minute
		var b strings.Builder
		for kills.Now().Before(now.Add(-time.Minute)) {
			b.WriteString(kills.Line())
		}
		name := filepath.Join(s.KillfeedDir, now.Add(-demoHistory).Format(parser.TimeLayout)+".csv")
		if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
			return nil, err
		}
	}
	// A new file for this run, as a restarted game server starts one.
	d := &demo{csv: filepath.Join(s.KillfeedDir, now.Format(parser.TimeLayout)+".csv"), kills: kills}
	kills.Resume(uint64(now.UnixNano()), now)
	kills.Step = demoKillEvery / 2
	if err := appendTo(d.csv, ""); err != nil {
		return nil, err
	}

	if s.ServerLog != "" {
		d.logPath = s.ServerLog
		if err := os.MkdirAll(filepath.Dir(s.ServerLog), 0o755); err != nil {
			return nil, err
		}
		// The first time, the server has been up for a while, with players
		// on it; later starts are server restarts.
		start := now.Add(-demoUptime)
		if _, err := os.Stat(s.ServerLog); err == nil {
			start = now
			if err := rotateLog(s.ServerLog, now); err != nil {
				return nil, err
			}
		}
		d.log = fakelog.NewServerLog(uint64(now.UnixNano()), demoPlayers/2, start)
		b := d.log.Restart()
		for d.logLine = d.log.Line(); d.log.Now().Before(now); d.logLine = d.log.Line() {
			b = append(b, d.logLine...)
		}
		if err := appendTo(s.ServerLog, string(b)); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Run appends lines, each at its time, until ctx is done.
func (d *demo) Run(ctx context.Context) error {
	kill := d.kills.Line()
	for {
		path, line, at := d.csv, kill, d.kills.Now()
		if d.log != nil && d.log.Now().Before(at) {
			path, line, at = d.logPath, string(d.logLine), d.log.Now()
		}
		t := time.NewTimer(time.Until(at))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		if err := appendTo(path, line); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if path == d.csv {
			kill = d.kills.Line()
		} else {
			d.logLine = d.log.Line()
		}
	}
}

func appendTo(path, s string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(s)
	return errors.Join(err, f.Close())
}

// rotateLog does what the game does at a server start: the log becomes a
// backup copy named for the time, and only the newest backups are kept.
func rotateLog(path string, now time.Time) error {
	dir, base := filepath.Dir(path), filepath.Base(path)
	stem := strings.TrimSuffix(base, filepath.Ext(base))
	err := os.Rename(path, filepath.Join(dir, stem+"-backup-"+now.Format(parser.TimeLayout)+filepath.Ext(base)))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var backups []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stem+"-backup-") && e.Type().IsRegular() {
			backups = append(backups, e.Name())
		}
	}
	slices.Sort(backups)
	for _, b := range backups[:max(len(backups)-demoBackups, 0)] {
		if err := os.Remove(filepath.Join(dir, b)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
