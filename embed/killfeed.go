package embed

import (
	"strconv"
	"strings"

	"github.com/bwmarrin/discordgo"

	"killfeed/parser"
	"killfeed/storage"
)

// Kill is one killfeed line to post, with what its embed shows beyond the
// stored record. Whatever its name, it stands for every death the killfeed
// records: the record's Kind and Weapon decide the embed (see Killfeed).
type Kill struct {
	Record *storage.Record
	Server string // the game server's display name, for the footer
	// KillerStreak and KillerKDR are the killer's current streak and KDR
	// (all time) counting this kill; 0 hides them. Kills and roadkills only.
	KillerStreak int
	KillerKDR    float64
	// Notable are facts worth a line, such as "Longest kill this week",
	// as plain text: they are escaped. At most 5 are shown.
	Notable []string
}

// Killfeed returns the embed of one killfeed line, timestamped with the
// line's time:
//
//   - a kill (red): killer, victim, weapon, distance, the killer's streak
//     and KDR, platforms and notable lines;
//   - a roadkill, weapon land_vehicle or boat (orange): the same, without
//     weapon and distance;
//   - a suicide, a fall or a relocation (grey): the player, and the weapon
//     of a suicide;
//   - a death with no killer (dark): the player, and the cause if the line
//     names one.
func Killfeed(k Kill) *discordgo.MessageEmbed {
	e := &discordgo.MessageEmbed{Footer: footer(k.Server)}
	r := k.Record
	if r == nil {
		e.Title, e.Color = "Killfeed", ColorInfo
		e.Description = "No event."
		return Fit(e)
	}
	e.Timestamp = timestamp(unixTime(r.Time))
	weapon := strings.TrimSpace(string(r.Weapon))
	killer := who(r.Killer, r.KillerID)
	victim := who(r.Victim, r.VictimID)

	switch {
	case r.Kind == parser.Kill && (weapon == parser.WeaponCar || weapon == parser.WeaponBoat):
		e.Title, e.Color = "🚗 Roadkill", ColorRoadkill
		if weapon == parser.WeaponBoat {
			e.Description = bold(killer) + " ran down " + bold(victim) + " with a boat"
		} else {
			e.Description = bold(killer) + " ran over " + bold(victim)
		}
		e.Fields = killerFields(k, nil)
		e.Fields = append(e.Fields, platforms(r, true)...)
		e.Fields = append(e.Fields, notable(k.Notable)...)
	case r.Kind == parser.Kill:
		e.Title, e.Color = "💀 Kill", ColorKill
		e.Description = bold(killer) + " killed " + bold(victim)
		e.Fields = killerFields(k, []*discordgo.MessageEmbedField{
			field("Weapon", weaponName(weapon), true),
			field("Distance", metres(int(r.Distance)), true),
		})
		e.Fields = append(e.Fields, platforms(r, true)...)
		e.Fields = append(e.Fields, notable(k.Notable)...)
	case r.Kind == parser.SelfDeath && weapon == parser.WeaponRelocation:
		e.Title, e.Color = "🔄 Relocation", ColorSelfDeath
		e.Description = bold(victim) + " relocated"
		e.Fields = platforms(r, false)
	case r.Kind == parser.SelfDeath && weapon == parser.WeaponFalling:
		e.Title, e.Color = "🪂 Fall", ColorSelfDeath
		e.Description = bold(victim) + " fell to their death"
		e.Fields = platforms(r, false)
	case r.Kind == parser.SelfDeath:
		e.Title, e.Color = "☠️ Suicide", ColorSelfDeath
		e.Description = bold(victim) + " killed themselves"
		e.Fields = []*discordgo.MessageEmbedField{field("Weapon", weaponName(weapon), true)}
		e.Fields = append(e.Fields, platforms(r, false)...)
	default: // parser.Unattributed
		e.Title, e.Color = "🌲 Death", ColorEnvironment
		e.Description = bold(victim) + " died"
		if weapon != "" {
			e.Fields = []*discordgo.MessageEmbedField{field("Cause", weaponName(weapon), true)}
		}
		e.Fields = append(e.Fields, platforms(r, false)...)
	}
	return Fit(e)
}

// who returns a player's name, or their EOS id when the line has no name.
func who(name, id []byte) string {
	if s := strings.TrimSpace(string(name)); s != "" {
		return s
	}
	if s := strings.TrimSpace(string(id)); s != "" {
		return s
	}
	return "unknown player"
}

// weaponName returns a weapon for display, "unknown" when the line has none.
func weaponName(w string) string {
	if w == "" {
		return "unknown"
	}
	return text(w, maxName)
}

// killerFields appends the killer's streak and KDR to fs, when known.
func killerFields(k Kill, fs []*discordgo.MessageEmbedField) []*discordgo.MessageEmbedField {
	if k.KillerStreak > 0 {
		fs = append(fs, field("Killer streak", strconv.Itoa(k.KillerStreak), true))
	}
	if k.KillerKDR > 0 {
		fs = append(fs, field("Killer KDR", ratio(k.KillerKDR), true))
	}
	return fs
}

// platforms returns the platforms field, if the line has platforms (the
// older 7-field lines have none): killer's and victim's for a kill, the
// player's otherwise.
func platforms(r *storage.Record, kill bool) []*discordgo.MessageEmbedField {
	kp := strings.TrimSpace(string(r.KillerPlatform))
	vp := strings.TrimSpace(string(r.VictimPlatform))
	switch {
	case kill && (kp != "" || vp != ""):
		return []*discordgo.MessageEmbedField{field("Platforms", text(kp, maxName)+" vs "+text(vp, maxName), true)}
	case !kill && vp != "":
		return []*discordgo.MessageEmbedField{field("Platform", text(vp, maxName), true)}
	}
	return nil
}

// notable returns a field listing up to maxNotable facts, or nothing.
func notable(lines []string) []*discordgo.MessageEmbedField {
	var b strings.Builder
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(oneLine(l)) == "" {
			continue
		}
		if n == maxNotable {
			break
		}
		if n > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("• " + text(l, maxPhrase))
		n++
	}
	if n == 0 {
		return nil
	}
	return []*discordgo.MessageEmbedField{field("Notable", b.String(), false)}
}
