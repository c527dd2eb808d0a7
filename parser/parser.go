package parser

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// MaxLineLen is the longest line, in bytes, that is still parsed; longer
// lines are malformed.
const MaxLineLen = 4096

// TimeLayout is the layout of the time field in killfeed lines.
const TimeLayout = "2006.01.02-15.04.05"

// Weapons with a meaning of their own.
const (
	WeaponRelocation = "suicide_by_relocation"
	WeaponFalling    = "falling"
	WeaponCar        = "land_vehicle"
	WeaponBoat       = "boat"
)

// Kind is what a killfeed line records.
type Kind uint8

// The kinds of killfeed event.
const (
	// Kill: a player killed another player (roadkills included).
	Kill Kind = iota + 1
	// SelfDeath: killer and victim are the same player (relocation, fall,
	// own grenade).
	SelfDeath
	// Unattributed: a death with no killer (environment or AI).
	Unattributed
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case Kill:
		return "kill"
	case SelfDeath:
		return "self-death"
	case Unattributed:
		return "unattributed"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Event is one parsed killfeed line.
type Event struct {
	Time           time.Time
	Kind           Kind
	Killer         string // display name; empty for Unattributed
	KillerID       string // EOS id; empty for Unattributed
	Victim         string
	VictimID       string
	Weapon         string
	Distance       int32  // metres
	KillerPlatform string // empty in the older 7-field form
	VictimPlatform string
}

// IsRelocation reports whether e is a menu respawn (suicide_by_relocation).
func (e *Event) IsRelocation() bool {
	return e.Kind == SelfDeath && e.Weapon == WeaponRelocation
}

// IsSuicide reports whether e is a self-death other than a relocation
// (falls included).
func (e *Event) IsSuicide() bool {
	return e.Kind == SelfDeath && e.Weapon != WeaponRelocation
}

// IsFall reports whether e is a death by falling.
func (e *Event) IsFall() bool {
	return e.Kind == SelfDeath && e.Weapon == WeaponFalling
}

// IsRoadkill reports whether e is a kill with a vehicle.
func (e *Event) IsRoadkill() bool {
	return e.Kind == Kill && (e.Weapon == WeaponCar || e.Weapon == WeaponBoat)
}

// ErrEmpty is returned by ParseLine for an empty line, which is not counted
// as malformed.
var ErrEmpty = errors.New("empty line")

// LineError describes a malformed line.
type LineError struct {
	Line   int    // 1-based line number in its file, 0 if unknown
	Reason string // what is wrong, for example "bad timestamp"
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return "malformed killfeed line: " + e.Reason
	}
	return fmt.Sprintf("malformed killfeed line %d: %s", e.Line, e.Reason)
}

var bom = []byte("\xef\xbb\xbf")

// ParseLine parses one killfeed line. line may end in "\n" or "\r\n" and may
// start with a UTF-8 byte order mark. lineNo is only used in errors. Times
// are read in loc (UTC when nil). A malformed line gives a *LineError, an
// empty one ErrEmpty.
func ParseLine(line []byte, lineNo int, loc *time.Location) (Event, error) {
	line = bytes.TrimPrefix(line, bom)
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return Event{}, ErrEmpty
	}
	bad := func(reason string) (Event, error) {
		return Event{}, &LineError{Line: lineNo, Reason: reason}
	}
	if len(line) > MaxLineLen {
		return bad(fmt.Sprintf("longer than %d bytes", MaxLineLen))
	}
	for _, c := range line {
		if c < 0x20 || c == 0x7f {
			return bad("control character")
		}
	}
	if !utf8.Valid(line) {
		return bad("invalid UTF-8")
	}

	var f [9][]byte
	n := 0
	rest := line
	for n < len(f) {
		i := bytes.IndexByte(rest, ';')
		if i < 0 {
			f[n] = rest
			n++
			rest = nil
			break
		}
		f[n] = rest[:i]
		n++
		rest = rest[i+1:]
	}
	if n < 7 {
		return bad(fmt.Sprintf("%d fields, want at least 7", n))
	}

	t, ok := parseTime(f[0], loc)
	if !ok {
		return bad(fmt.Sprintf("bad timestamp %q, want YYYY.MM.DD-HH.MM.SS", f[0]))
	}
	if len(f[4]) == 0 {
		return bad("empty victim id")
	}
	dist, ok := parseDistance(f[6])
	if !ok {
		return bad(fmt.Sprintf("distance %q is not a whole number", f[6]))
	}

	e := Event{
		Time:     t,
		Killer:   string(f[1]),
		KillerID: string(f[2]),
		Victim:   string(f[3]),
		VictimID: string(f[4]),
		Weapon:   string(f[5]),
		Distance: dist,
	}
	if n >= 9 {
		e.KillerPlatform = string(f[7])
		e.VictimPlatform = string(f[8])
	}
	switch {
	case e.KillerID == "":
		e.Kind = Unattributed
		e.Killer = ""
	case e.KillerID == e.VictimID:
		e.Kind = SelfDeath
	default:
		e.Kind = Kill
	}
	return e, nil
}

// parseTime reads "2006.01.02-15.04.05" without the cost of time.Parse.
func parseTime(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) != len(TimeLayout) || b[4] != '.' || b[7] != '.' || b[10] != '-' || b[13] != '.' || b[16] != '.' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	min, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return time.Time{}, false
	}
	if year < 2000 || year > 2100 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	return time.Date(year, time.Month(month), day, hour, min, sec, 0, loc), true
}

func daysIn(month, year int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// parseDistance reads a non-negative whole number of metres.
func parseDistance(b []byte) (int32, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v, ok := digits(b)
	return int32(v), ok
}
