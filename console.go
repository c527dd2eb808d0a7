package main

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"killfeed/parser"
	"killfeed/stats"
	"killfeed/storage"
)

// printNews prints the events of batches that are news (not backfill), a
// line each, as the offline bot's feed.
func (m *Main) printNews(batches []*storage.Batch) {
	var b strings.Builder
	for _, batch := range batches {
		if batch.Backfill {
			continue
		}
		s := m.servers[batch.Scope]
		if s == nil {
			continue
		}
		name, loc := s.Name, s.Location
		for i := range batch.Added {
			r := &batch.Added[i]
			fmt.Fprintf(&b, "%s  %-12s  %s\n", time.Unix(r.Time, 0).In(loc).Format(time.DateTime), clean(name), killLine(r))
		}
		sessions := m.Sessions[batch.Scope]
		for i := range batch.AddedServer {
			r := &batch.AddedServer[i]
			if r.Kind == parser.Join || r.Kind == parser.Leave {
				if m.left == nil {
					m.left = make(map[string]bool)
				}
				key := batch.Scope.String() + "/" + r.PlayerID + "/" + r.Player
				if r.Kind == parser.Leave && m.left[key] {
					continue // the same departure again
				}
				m.left[key] = r.Kind == parser.Leave
			}
			if line := serverLine(r, sessions); line != "" {
				fmt.Fprintf(&b, "%s  %-12s  %s\n", r.Time.In(loc).Format(time.DateTime), clean(name), line)
			}
		}
	}
	if b.Len() > 0 {
		m.printf("%s", b.String())
	}
}

// killLine describes a killfeed event.
func killLine(r *storage.Record) string {
	victim := clean(string(r.Victim))
	switch {
	case r.Kind == parser.Unattributed:
		return victim + " died"
	case r.Relocation():
		return victim + " relocated"
	case r.Kind == parser.SelfDeath && string(r.Weapon) == parser.WeaponFalling:
		return victim + " fell to their death"
	case r.Kind == parser.SelfDeath:
		return fmt.Sprintf("%s killed themselves with %s", victim, clean(string(r.Weapon)))
	}
	killer := clean(string(r.Killer))
	switch string(r.Weapon) {
	case parser.WeaponCar, parser.WeaponBoat:
		return fmt.Sprintf("%s ran over %s (%s)", killer, victim, clean(string(r.Weapon)))
	}
	return fmt.Sprintf("%s killed %s with %s at %d m", killer, victim, clean(string(r.Weapon)), r.Distance)
}

// serverLine describes a server event, or returns "" for one not worth a
// line (vehicles). sessions names players that the line gives by id only.
func serverLine(r *storage.ServerRecord, sessions *stats.Sessions) string {
	who := r.Player
	if who == "" {
		if p, ok := sessions.Player(r.PlayerID); ok {
			who = p.Name
		}
	}
	if who == "" {
		who = r.PlayerID
	}
	who = clean(who)
	switch r.Kind {
	case parser.ServerStart:
		return "server started"
	case parser.PlayerLimit:
		return fmt.Sprintf("%d player slots", r.Count)
	case parser.Queue:
		return fmt.Sprintf("%s is in the queue (%s)", who, clean(r.Platform))
	case parser.Join:
		return who + " joined" + online(sessions)
	case parser.Leave:
		line := fmt.Sprintf("%s left (%s)", who, strings.ReplaceAll(r.State, "_", " "))
		if p, ok := sessions.Player(r.PlayerID); ok && p.Sessions > 0 && !p.Online {
			line += " after " + p.LastSession.Round(time.Second).String()
		}
		return line + online(sessions)
	case parser.Mission:
		return fmt.Sprintf("mission %s: %s", clean(r.Name), clean(r.State))
	case parser.Airdrop:
		return "airdrop: " + clean(r.State)
	case parser.Helicrash, parser.Trader, parser.Convoy:
		return fmt.Sprintf("%s: %s", r.Kind, clean(r.State))
	}
	return ""
}

// clean keeps untrusted text on one line of a terminal: control characters
// (escape sequences) become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}

// online says how many players are on the server, as ", 7/50 online".
func online(sessions *stats.Sessions) string {
	n, _ := sessions.Count()
	if limit := sessions.PlayerLimit(); limit > 0 {
		return fmt.Sprintf(", %d/%d online", n, limit)
	}
	return fmt.Sprintf(", %d online", n)
}
