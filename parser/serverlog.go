package parser

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// ServerKind is what a Deadside.log line records.
type ServerKind uint8

// The kinds of server log event.
const (
	// ServerStart: "Log file open, 05/17/25 02:01:30", the first line of
	// the log a server writes at every start.
	ServerStart ServerKind = iota + 1
	// Queue: a join request ("LogNet: Join request: ...?eosid=|ID?...").
	Queue
	// Join: the player is in ("Player |ID successfully registered!", or in
	// newer builds "Join succeeded: NAME").
	Join
	// Leave: the player left (connection closed, unregistered, timed out,
	// or in newer builds "has logged out by reason: Quit").
	Leave
	// Mission: a mission changed state ("Mission GA_Military_02_Mis1
	// switched to READY").
	Mission
	// Airdrop: the airdrop changed state (Flying, Dropping, Dead, Waiting).
	Airdrop
	// Helicrash, Trader and Convoy: gameplay events changing state.
	Helicrash
	Trader
	Convoy
	// VehicleAdd and VehicleDel: a vehicle spawned or was removed.
	VehicleAdd
	VehicleDel
	// PlayerLimit: the server's slot count, from the start's
	// "LogInit: Command Line: ... -playersmaxcount=50" line.
	PlayerLimit
)

var serverKindNames = [...]string{
	ServerStart: "server_start",
	Queue:       "queue",
	Join:        "join",
	Leave:       "leave",
	Mission:     "mission",
	Airdrop:     "airdrop",
	Helicrash:   "helicrash",
	Trader:      "trader",
	Convoy:      "convoy",
	VehicleAdd:  "vehicle_add",
	VehicleDel:  "vehicle_del",
	PlayerLimit: "player_limit",
}

// String returns the kind's name, as used in config and JSON.
func (k ServerKind) String() string {
	if int(k) < len(serverKindNames) && serverKindNames[k] != "" {
		return serverKindNames[k]
	}
	return fmt.Sprintf("ServerKind(%d)", uint8(k))
}

// ErrNotEvent is returned by ParseServerLine for a log line that is none of
// the events above: most of Deadside.log. Such lines are skipped and not
// counted as malformed.
var ErrNotEvent = errors.New("not a server event")

// ServerEvent is one parsed Deadside.log line.
type ServerEvent struct {
	Time time.Time // to the millisecond
	Kind ServerKind

	// Players (Queue, Join, Leave). A line may carry the id, the name or
	// both: "Join succeeded: NAME" and "has logged out" lines have the
	// name only, "successfully registered" lines the id only.
	PlayerID string // EOS id, without the leading '|'
	Player   string // name
	Platform string // Queue: the nativeplatform (PS5, XSX, WIN64...)

	// Name is the mission id (Mission), the event's object name (Airdrop,
	// Helicrash, Trader, Convoy) or the vehicle's class (VehicleAdd/Del).
	Name string
	// State is the new state (Mission, Airdrop, Helicrash, Trader, Convoy),
	// or for Leave how the player left: "closed", "unregistered",
	// "timed_out" or "quit".
	State string
	// Count is the vehicle total after the change (VehicleAdd/Del) or the
	// slot count (PlayerLimit); 0 otherwise.
	Count int32
}

// ParseServerLine parses one Deadside.log line. line may end in "\n" or
// "\r\n" and may start with a UTF-8 byte order mark; lineNo is only used in
// errors. Times are read in loc (UTC when nil).
//
// Most of the log is not an event: such lines give ErrNotEvent. A line that
// has an event's shape but carries a broken field (an event line without a
// player id, a name with control characters or invalid UTF-8, a count that
// is not a number) gives a *LineError; an empty line gives ErrEmpty.
func ParseServerLine(line []byte, lineNo int, loc *time.Location) (ServerEvent, error) {
	line = bytes.TrimPrefix(line, bom)
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return ServerEvent{}, ErrEmpty
	}
	if loc == nil {
		loc = time.UTC
	}
	if rest, ok := bytes.CutPrefix(line, []byte("Log file open, ")); ok {
		t, err := time.ParseInLocation("01/02/06 15:04:05", string(rest), loc)
		if err != nil {
			return ServerEvent{}, &LineError{Line: lineNo, Reason: fmt.Sprintf("bad server start time %q, want MM/DD/YY HH:MM:SS", rest)}
		}
		return ServerEvent{Time: t, Kind: ServerStart}, nil
	}
	if len(line) > MaxLineLen || !stamped(line) {
		return ServerEvent{}, ErrNotEvent // long dumps and continuation lines
	}
	end := bytes.IndexByte(line[26:], ']')
	if end < 0 {
		return ServerEvent{}, ErrNotEvent
	}
	text := line[26+end+1:]
	p := serverLineParser{lineNo: lineNo}
	e, ok := p.event(text)
	if !ok {
		return ServerEvent{}, ErrNotEvent
	}
	if p.err != "" {
		return ServerEvent{}, &LineError{Line: lineNo, Reason: p.err}
	}
	if e.Time, ok = LineTime(line, loc); !ok {
		return ServerEvent{}, &LineError{Line: lineNo, Reason: fmt.Sprintf("bad timestamp %q, want [YYYY.MM.DD-HH.MM.SS:mmm]", line[:25])}
	}
	return e, nil
}

// stamped reports whether line starts like "[2025.04.14-02.01.58:164][".
func stamped(line []byte) bool {
	return len(line) >= 26 && line[0] == '[' && line[20] == ':' && line[24] == ']' && line[25] == '['
}

// LineTime returns the time a Deadside.log line starts with, in loc (UTC
// when nil), and whether it has a valid one.
//
// The game may write the "Log file open" line of a start in the host's
// local time and the other lines in UTC: a server start is best dated by
// the first stamped line after it.
func LineTime(line []byte, loc *time.Location) (time.Time, bool) {
	if !stamped(line) {
		return time.Time{}, false
	}
	t, ok := parseTime(line[1:20], loc)
	ms, ok2 := digits(line[21:24])
	if !ok || !ok2 {
		return time.Time{}, false
	}
	return t.Add(time.Duration(ms) * time.Millisecond), true
}

// serverLineParser reads the text of a log line after its time and frame.
// err collects the first broken field of a line that is an event.
type serverLineParser struct {
	lineNo int
	err    string
}

// Markers of the events, after "Category: ".
var (
	mJoinRequest = []byte("LogNet: Join request: ")
	mJoinOK      = []byte("LogNet: Join succeeded: ")
	mChannelShut = []byte("LogNet: UChannel::Close: ")
	mTimedOut    = []byte("Connection TIMED OUT")
	mOnline      = []byte("LogOnline: ")
	mRegistered  = []byte(" successfully registered")
	mUnreg       = []byte(" successfully unregistered")
	mLoggedOut   = []byte(" has logged out by reason: ")
	mUniqueID    = []byte("UniqueId: EOS:|")
	mSFPS        = []byte("LogSFPS: ")
	mSwitched    = []byte(" switched to ")
	mVehicleAdd  = []byte("[ASFPSGameMode::NewVehicle_Add] Add vehicle ")
	mVehicleDel  = []byte("[ASFPSGameMode::NewVehicle_Del] Del vehicle ")
	mCommandLine = []byte("LogInit: Command Line: ")
	mMaxPlayers  = []byte("-playersmaxcount=")
)

// event recognises text; ok is false when it is no event.
func (p *serverLineParser) event(text []byte) (e ServerEvent, ok bool) {
	switch {
	case bytes.HasPrefix(text, mJoinRequest):
		e.Kind = Queue
		q := text[len(mJoinRequest):]
		e.PlayerID = p.id(strings.TrimPrefix(queryParam(q, "eosid"), "|"))
		e.Player = queryParam(q, "Name")
		if e.Player == "" {
			e.Player = queryParam(q, "login")
		}
		e.Player = p.text(e.Player, "player name")
		e.Platform = p.text(queryParam(q, "nativeplatform"), "platform")
		return e, true
	case bytes.HasPrefix(text, mJoinOK):
		e.Kind = Join
		e.Player = p.name(string(text[len(mJoinOK):]))
		return e, true
	case bytes.HasPrefix(text, mChannelShut):
		i := bytes.Index(text, mUniqueID)
		if i < 0 {
			return e, false // a channel that is not a player's connection
		}
		e.Kind, e.State = Leave, "closed"
		e.PlayerID = p.id(firstWord(text[i+len(mUniqueID):]))
		return e, true
	case bytes.Contains(text, mTimedOut):
		i := bytes.Index(text, mUniqueID)
		if i < 0 {
			return e, false
		}
		e.Kind, e.State = Leave, "timed_out"
		e.PlayerID = p.id(firstWord(text[i+len(mUniqueID):]))
		return e, true
	case bytes.HasPrefix(text, mOnline):
		return p.online(text[len(mOnline):])
	case bytes.HasPrefix(text, mSFPS):
		return p.sfps(text[len(mSFPS):])
	case bytes.HasPrefix(text, mCommandLine):
		i := bytes.Index(text, mMaxPlayers)
		if i < 0 {
			return e, false
		}
		e.Kind = PlayerLimit
		e.Count = p.count(firstWord(text[i+len(mMaxPlayers):]), "playersmaxcount")
		return e, true
	}
	return e, false
}

// online reads LogOnline lines: registrations and log-outs.
func (p *serverLineParser) online(text []byte) (e ServerEvent, ok bool) {
	text = bytes.TrimPrefix(text, []byte("Warning: "))
	rest, ok := bytes.CutPrefix(text, []byte("Player "))
	if !ok {
		return e, false
	}
	switch {
	case bytes.Contains(rest, mRegistered) && !bytes.Contains(rest, mUnreg):
		e.Kind = Join
		e.PlayerID = p.id(strings.TrimPrefix(firstWord(rest), "|"))
		return e, true
	case bytes.Contains(rest, mUnreg):
		e.Kind, e.State = Leave, "unregistered"
		e.PlayerID = p.id(strings.TrimPrefix(firstWord(rest), "|"))
		return e, true
	}
	if i := bytes.Index(rest, mLoggedOut); i >= 0 {
		// "Player ltEOS NAME has logged out by reason: Quit"
		name := bytes.TrimPrefix(rest[:i], []byte("ltEOS "))
		e.Kind = Leave
		e.Player = p.name(string(name))
		e.State = p.text(strings.ToLower(strings.ReplaceAll(strings.TrimSpace(string(rest[i+len(mLoggedOut):])), " ", "_")), "reason")
		if e.State == "" {
			e.State = "quit"
		}
		return e, true
	}
	return e, false
}

// sfps reads LogSFPS lines: missions, airdrops, gameplay events, vehicles.
func (p *serverLineParser) sfps(text []byte) (e ServerEvent, ok bool) {
	for _, v := range []struct {
		marker []byte
		kind   ServerKind
	}{{mVehicleAdd, VehicleAdd}, {mVehicleDel, VehicleDel}} {
		if rest, found := bytes.CutPrefix(text, v.marker); found {
			// "BP_SFPSVehicle_..._C_2147482394 Total 1"
			name, total, found := bytes.Cut(rest, []byte(" Total "))
			if !found {
				return e, false
			}
			e.Kind = v.kind
			e.Name = p.text(string(name), "vehicle")
			e.Count = p.count(string(bytes.TrimSpace(total)), "vehicle total")
			return e, true
		}
	}
	subject, state, found := bytes.Cut(text, mSwitched)
	if !found {
		return e, false
	}
	switch {
	case bytes.HasPrefix(subject, []byte("Mission ")):
		e.Kind, e.Name = Mission, p.text(string(subject[len("Mission "):]), "mission")
	case bytes.Equal(subject, []byte("AirDrop")):
		e.Kind, e.Name = Airdrop, "AirDrop"
	case bytes.HasPrefix(subject, []byte("GameplayEvent ")):
		e.Name = p.text(string(subject[len("GameplayEvent "):]), "event")
		switch {
		case strings.Contains(e.Name, "HelicrashEvent"):
			e.Kind = Helicrash
		case strings.Contains(e.Name, "RoamingTraderEvent"):
			e.Kind = Trader
		case strings.Contains(e.Name, "ConvoyEvent"):
			e.Kind = Convoy
		default:
			return e, false
		}
	default:
		return e, false
	}
	e.State = p.text(string(bytes.TrimSpace(state)), "state")
	if e.State == "" {
		p.fail("empty state")
	}
	return e, true
}

func (p *serverLineParser) fail(reason string) {
	if p.err == "" {
		p.err = reason
	}
}

// id checks an EOS id: hex digits, 32 of them on every line seen so far.
func (p *serverLineParser) id(s string) string {
	if len(s) == 0 || len(s) > 64 {
		p.fail(fmt.Sprintf("bad EOS id %q", clip(s)))
		return ""
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			p.fail(fmt.Sprintf("bad EOS id %q", clip(s)))
			return ""
		}
	}
	return s
}

// name checks a player name: not empty, and text.
func (p *serverLineParser) name(s string) string {
	s = p.text(strings.TrimSpace(s), "player name")
	if s == "" {
		p.fail("empty player name")
	}
	return s
}

// text checks that a field is valid UTF-8 without control characters.
func (p *serverLineParser) text(s, what string) string {
	if !utf8.ValidString(s) {
		p.fail(what + ": invalid UTF-8")
		return ""
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			p.fail(what + ": control character")
			return ""
		}
	}
	return s
}

func (p *serverLineParser) count(s, what string) int32 {
	v, ok := digits([]byte(s))
	if !ok || s == "" || len(s) > 9 {
		p.fail(fmt.Sprintf("%s %q is not a whole number", what, clip(s)))
		return 0
	}
	return int32(v)
}

// queryParam returns the value of key in a "?k=v?k=v" join request URL.
func queryParam(q []byte, key string) string {
	for part := range bytes.SplitSeq(q, []byte("?")) {
		if k, v, ok := bytes.Cut(part, []byte("=")); ok && string(k) == key {
			return string(v)
		}
	}
	return ""
}

// firstWord returns b up to its first space or comma.
func firstWord(b []byte) string {
	if i := bytes.IndexAny(b, " ,"); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// clip shortens s, for an error message, to about 40 bytes without
// splitting a character.
func clip(s string) string {
	if len(s) <= 40 {
		return s
	}
	n := 40
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
