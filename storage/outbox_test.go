package storage

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"killfeed/parser"
	"killfeed/tail"
)

// serverSample are real Deadside.log lines: the first five make posts, the
// last three (slots, vehicles) are bookkeeping and make none.
var serverSample = []string{
	"Log file open, 05/17/25 02:01:30\r\n",
	"[2025.05.17-02.01.58:366][309]LogOnline: Warning: Player |0002548521ba4271a497e39d5bfe5611 successfully registered!\n",
	"[2025.05.17-03.00.00:001][100]LogSFPS: Mission GA_Military_02_Mis1 switched to READY\n",
	"[2025.05.17-04.58.04:590][501]LogOnline: Warning: Player |0002548521ba4271a497e39d5bfe5611 successfully unregistered from the session.\n",
	"[2025.05.17-02.01.58:164][302]LogNet: Join request: /Game/Maps/world_0/World_0?logintype=eos?login=ExHyper?password=*?eosid=|0002548521ba4271a497e39d5bfe5611?ver=1.3.2.24846c?nativeplatform=PS5?platformid=PS5:3566759921101398874?Name=ExHyper?SplitscreenCount=1\n",
	"[2025.05.17-02.01.30:012][  0]LogInit: Command Line: -log -port=7777 -queryport=27015 -playersmaxcount=50 -nosteam\n",
	"[2025.05.17-03.00.00:001][100]LogSFPS: [ASFPSGameMode::NewVehicle_Add] Add vehicle BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394 Total 1\n",
	"[2025.05.17-03.00.00:002][100]LogSFPS: [ASFPSGameMode::NewVehicle_Del] Del vehicle BP_SFPSVehicle_Ural_M6736_Sidecar_C_2147482394 Total 0\n",
}

const serverSamplePosts = 4

func mustParseServer(tb testing.TB, lines ...string) []parser.ServerEvent {
	tb.Helper()
	var evs []parser.ServerEvent
	for i, l := range lines {
		e, err := parser.ParseServerLine([]byte(l), i+1, time.UTC)
		if err != nil {
			tb.Fatalf("ParseServerLine(%q): %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// clock is an injectable DB.Now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func withClock(db *DB, t time.Time) *clock {
	c := &clock{t: t}
	db.Now = c.now
	return c
}

var t0 = time.Date(2025, 5, 17, 12, 0, 0, 0, time.UTC)

func mustPosts(tb testing.TB, db *DB, after uint64, limit int) []Post {
	tb.Helper()
	ps, err := db.Posts(after, limit)
	if err != nil {
		tb.Fatalf("Posts(%d, %d): %v", after, limit, err)
	}
	return ps
}

func mustOutboxLen(tb testing.TB, db *DB) int {
	tb.Helper()
	n, err := db.OutboxLen()
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func postKeys(ps []Post) []uint64 {
	keys := []uint64{}
	for _, p := range ps {
		keys = append(keys, p.Key)
	}
	return keys
}

// reopen closes db and opens its file again, keeping its clock.
func reopen(tb testing.TB, db *DB) *DB {
	tb.Helper()
	if err := db.Close(); err != nil {
		tb.Fatal(err)
	}
	db2, err := Open(db.Path(), Options{})
	if err != nil {
		tb.Fatal(err)
	}
	db2.Now = db.Now
	tb.Cleanup(func() { db2.Close() })
	return db2
}

func TestLiveBatchQueuesPosts(t *testing.T) {
	db := MustOpenDB(t)
	withClock(db, t0)
	kb := &Batch{Scope: scopeA, Source: "killfeed", Cursor: tail.Cursor{Offset: 1}, Events: mustParse(t, sample...), Lines: len(sample)}
	sb := &Batch{Scope: scopeA, Source: "serverlog", ServerLog: true, ServerEvents: mustParseServer(t, serverSample...)}
	if err := db.Commit(kb, sb); err != nil {
		t.Fatal(err)
	}
	if len(kb.Added) != len(sample) || len(sb.AddedServer) != len(serverSample) {
		t.Fatalf("Added %d and %d, want %d and %d", len(kb.Added), len(sb.AddedServer), len(sample), len(serverSample))
	}
	ps := mustPosts(t, db, 0, 100)
	if want := len(sample) + serverSamplePosts; len(ps) != want {
		t.Fatalf("Posts(0, 100) returned %d posts, want %d (every new killfeed event, and server events but slots and vehicles)", len(ps), want)
	}
	for i, p := range ps {
		if p.Key != uint64(i+1) || p.Scope != scopeA || !p.Queued.Equal(t0) {
			t.Errorf("post %d: key %d, scope %v, queued %v; want key %d, scope %v, queued %v", i, p.Key, p.Scope, p.Queued, i+1, scopeA, t0)
		}
		if i < len(sample) {
			if p.Server != nil || p.Record == nil || !reflect.DeepEqual(*p.Record, kb.Added[i]) {
				t.Errorf("post %d = record %+v, server %+v; want record %+v", i, p.Record, p.Server, kb.Added[i])
				continue
			}
			if want := kb.Events[i].Time; p.Record == nil || p.Record.Time != want.Unix() {
				t.Errorf("post %d: record %+v, want one at %v", i, p.Record, want)
			}
			continue
		}
		j := i - len(sample)
		if p.Record != nil || p.Server == nil || !reflect.DeepEqual(*p.Server, sb.AddedServer[j]) {
			t.Errorf("post %d = record %+v, server %+v; want server %+v", i, p.Record, p.Server, sb.AddedServer[j])
			continue
		}
		if want := sb.ServerEvents[j].Time; p.Server == nil || !p.Server.Time.Equal(want) {
			t.Errorf("post %d: server event %+v, want one at %v", i, p.Server, want)
		}
	}
}

// A Post's records are its own: they outlive the transaction, later writes
// and the database's memory map. (The buckets must be too big to be inline,
// or bbolt would hand out copies anyway.)
func TestPostsOwnTheirBytes(t *testing.T) {
	db := MustOpenDB(t)
	b := &Batch{Scope: scopeA, Events: benchEvents(500, t0)}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	ps := mustPosts(t, db, 0, 1000)
	if len(ps) != len(b.Added) {
		t.Fatalf("Posts = %d, want %d", len(ps), len(b.Added))
	}
	if err := db.Commit(&Batch{Scope: scopeA, Events: benchEvents(500, t0.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePosts(postKeys(ps)...); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		if !reflect.DeepEqual(*p.Record, b.Added[i]) {
			t.Fatalf("post %d after more writes and Close = %+v, want %+v", i, *p.Record, b.Added[i])
		}
	}
}

func TestBookkeepingServerEventsQueueNoPosts(t *testing.T) {
	db := MustOpenDB(t)
	lines := serverSample[serverSamplePosts:]
	b := &Batch{Scope: scopeA, ServerLog: true, ServerEvents: mustParseServer(t, lines...)}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if len(b.AddedServer) != len(lines) {
		t.Fatalf("AddedServer = %d, want %d", len(b.AddedServer), len(lines))
	}
	for _, e := range b.AddedServer {
		if e.Kind != parser.PlayerLimit && e.Kind != parser.VehicleAdd && e.Kind != parser.VehicleDel && e.Kind != parser.Queue {
			t.Fatalf("sample line of kind %v, want only queue, slots and vehicles", e.Kind)
		}
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen after queue, slot and vehicle events = %d, want 0", n)
	}
}

func TestBackfillAndDuplicatesQueueNoPosts(t *testing.T) {
	db := MustOpenDB(t)
	// History: stored, never posted.
	hist := &Batch{Scope: scopeA, Backfill: true, Events: mustParse(t, sample[:3]...)}
	histLog := &Batch{Scope: scopeA, Backfill: true, ServerLog: true, ServerEvents: mustParseServer(t, serverSample[:3]...)}
	if err := db.Commit(hist, histLog); err != nil {
		t.Fatal(err)
	}
	if len(hist.Added) != 3 || len(histLog.AddedServer) != 3 {
		t.Fatalf("backfill stored %d and %d events, want 3 and 3", len(hist.Added), len(histLog.AddedServer))
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen after a backfill batch = %d, want 0", n)
	}
	// A live batch that re-reads the history and adds news: only the news
	// is posted.
	live := &Batch{Scope: scopeA, Events: mustParse(t, sample...)}
	liveLog := &Batch{Scope: scopeA, ServerLog: true, ServerEvents: mustParseServer(t, serverSample...)}
	if err := db.Commit(live, liveLog); err != nil {
		t.Fatal(err)
	}
	if live.Duplicates != 3 || liveLog.Duplicates != 3 {
		t.Fatalf("Duplicates = %d and %d, want 3 and 3", live.Duplicates, liveLog.Duplicates)
	}
	ps := mustPosts(t, db, 0, 100)
	if want := (len(sample) - 3) + (serverSamplePosts - 3); len(ps) != want {
		t.Fatalf("Posts after a live batch over backfilled lines: %d, want %d (the new events only)", len(ps), want)
	}
	if !reflect.DeepEqual(*ps[0].Record, live.Added[0]) || !reflect.DeepEqual(*ps[2].Server, liveLog.AddedServer[0]) {
		t.Errorf("Posts = %+v / %+v, want %+v / %+v", *ps[0].Record, *ps[2].Server, live.Added[0], liveLog.AddedServer[0])
	}
	// The same lines again (a file read twice): nothing new to post.
	again := &Batch{Scope: scopeA, Events: mustParse(t, sample...)}
	againLog := &Batch{Scope: scopeA, ServerLog: true, ServerEvents: mustParseServer(t, serverSample...)}
	if err := db.Commit(again, againLog); err != nil {
		t.Fatal(err)
	}
	if len(again.Added)+len(againLog.AddedServer) != 0 {
		t.Fatalf("re-read added %d events, want 0", len(again.Added)+len(againLog.AddedServer))
	}
	if n := mustOutboxLen(t, db); n != len(ps) {
		t.Errorf("OutboxLen after re-reading = %d, want %d (no post twice)", n, len(ps))
	}
}

func TestPostsPagesAndDeletes(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.Commit(&Batch{Scope: scopeA, Events: mustParse(t, sample...)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		after uint64
		limit int
		want  []uint64
	}{
		{0, 2, []uint64{1, 2}},
		{2, 2, []uint64{3, 4}},
		{4, 2, []uint64{5}},
		{5, 2, []uint64{}},
		{1, 100, []uint64{2, 3, 4, 5}},
		{0, 0, []uint64{}},
		{^uint64(0), 10, []uint64{}},
	} {
		if got := postKeys(mustPosts(t, db, tt.after, tt.limit)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Posts(%d, %d) keys = %v, want %v", tt.after, tt.limit, got, tt.want)
		}
	}

	if err := db.DeletePosts(1, 3, 99); err != nil {
		t.Fatal(err)
	}
	if got, want := postKeys(mustPosts(t, db, 0, 100)), []uint64{2, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("Posts after DeletePosts(1, 3, 99) = %v, want %v", got, want)
	}
	if n := mustOutboxLen(t, db); n != 3 {
		t.Errorf("OutboxLen = %d, want 3", n)
	}
	if err := db.DeletePosts(2, 4, 5); err != nil {
		t.Fatal(err)
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen after deleting all = %d, want 0", n)
	}

	// Keys are never reused: not after deletes, not after a reopen (the
	// poster's nonces derive from them).
	next := func(line string) uint64 {
		t.Helper()
		if err := db.Commit(&Batch{Scope: scopeA, Events: mustParse(t, line)}); err != nil {
			t.Fatal(err)
		}
		ps := mustPosts(t, db, 0, 100)
		if len(ps) != 1 {
			t.Fatalf("Posts = %v, want the one new post", postKeys(ps))
		}
		if err := db.DeletePosts(ps[0].Key); err != nil {
			t.Fatal(err)
		}
		return ps[0].Key
	}
	if k := next("2025.05.16-00.00.00;A;0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa;B;0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb;M4;5;;;"); k != 6 {
		t.Errorf("key after deleting 1..5 = %d, want 6", k)
	}
	db = reopen(t, db)
	if k := next("2025.05.16-00.00.01;A;0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa;B;0002bbbbbbbbbbbbbbbbbbbbbbbbbbbb;M4;5;;;"); k != 7 {
		t.Errorf("key after a reopen = %d, want 7", k)
	}
}

// A failed transaction leaves no post behind, and no event of any of its
// batches (invariant 1: the posts go with the events and the cursor).
func TestFailedCommitQueuesNothing(t *testing.T) {
	db := MustOpenDB(t)
	good := &Batch{Scope: scopeA, Source: "killfeed", Cursor: tail.Cursor{Offset: 99}, Events: mustParse(t, sample...)}
	goodLog := &Batch{Scope: scopeA, ServerLog: true, ServerEvents: mustParseServer(t, serverSample...)}
	bad := &Batch{Scope: Scope{Guild: "", Server: "main"}, Events: mustParse(t, sample[0])}
	if err := db.Commit(good, goodLog, bad); err == nil {
		t.Fatal("Commit with an empty guild id succeeded, want an error")
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen after a failed commit = %d, want 0", n)
	}
	if ps := mustPosts(t, db, 0, 100); len(ps) != 0 {
		t.Errorf("Posts after a failed commit = %v, want none", postKeys(ps))
	}
	if evs := storedEvents(t, db, scopeA); len(evs) != 0 {
		t.Errorf("stored %d events after a failed commit, want 0", len(evs))
	}
	var n int
	db.ForEachServerEvent(scopeA, func(*ServerRecord) error { n++; return nil })
	if n != 0 {
		t.Errorf("stored %d server events after a failed commit, want 0", n)
	}
	// The same batches then commit, and post, normally: the failed
	// transaction consumed no sequence.
	if err := db.Commit(good, goodLog); err != nil {
		t.Fatal(err)
	}
	if got := postKeys(mustPosts(t, db, 0, 100)); len(got) != len(sample)+serverSamplePosts || got[0] != 1 {
		t.Errorf("Posts after the retry = %v, want keys 1..%d", got, len(sample)+serverSamplePosts)
	}
}

func TestOutboxSurvivesReopen(t *testing.T) {
	db := MustOpenDB(t)
	withClock(db, t0)
	b := &Batch{Scope: scopeA, Events: mustParse(t, sample...)}
	lb := &Batch{Scope: scopeA, ServerLog: true, ServerEvents: mustParseServer(t, serverSample...)}
	if err := db.Commit(b, lb); err != nil {
		t.Fatal(err)
	}
	if err := db.DeletePosts(2); err != nil {
		t.Fatal(err)
	}
	before := mustPosts(t, db, 0, 100)
	db = reopen(t, db)
	after := mustPosts(t, db, 0, 100)
	if len(after) != len(sample)+serverSamplePosts-1 || !reflect.DeepEqual(after, before) {
		t.Errorf("Posts after reopen:\n%+v\nwant\n%+v", after, before)
	}
}

func TestDropPosts(t *testing.T) {
	db := MustOpenDB(t)
	c := withClock(db, t0)
	for i, line := range sample {
		c.t = t0.Add(time.Duration(i) * time.Hour)
		if err := db.Commit(&Batch{Scope: scopeA, Events: mustParse(t, line)}); err != nil {
			t.Fatal(err)
		}
	}
	// Queued at t0, +1h, +2h, +3h, +4h: those before t0+2h are old.
	n, err := db.DropPosts(t0.Add(2 * time.Hour))
	if err != nil || n != 2 {
		t.Errorf("DropPosts(t0+2h) = %d, %v; want 2, nil", n, err)
	}
	ps := mustPosts(t, db, 0, 100)
	if got, want := postKeys(ps), []uint64{3, 4, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("Posts after DropPosts = %v, want %v", got, want)
	}
	for _, p := range ps {
		if want := t0.Add(time.Duration(p.Key-1) * time.Hour); !p.Queued.Equal(want) {
			t.Errorf("post %d queued %v, want %v", p.Key, p.Queued, want)
		}
	}
	if n, err := db.DropPosts(t0.Add(2 * time.Hour)); err != nil || n != 0 {
		t.Errorf("DropPosts again = %d, %v; want 0, nil", n, err)
	}
	if n, err := db.DropPosts(t0.Add(100 * time.Hour)); err != nil || n != 3 {
		t.Errorf("DropPosts(far future) = %d, %v; want 3, nil", n, err)
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen = %d, want 0", n)
	}
}

func TestPostsCarryTheirScope(t *testing.T) {
	db := MustOpenDB(t)
	scopeB := Scope{Guild: "100000000000000002", Server: "main"}
	scopeA2 := Scope{Guild: scopeA.Guild, Server: "eu2"}
	// The same line in three scopes: three events, three posts.
	batches := []*Batch{
		{Scope: scopeA, Events: mustParse(t, sample[0])},
		{Scope: scopeB, Events: mustParse(t, sample[0], sample[1])},
		{Scope: scopeA2, ServerLog: true, ServerEvents: mustParseServer(t, serverSample[1])},
	}
	if err := db.Commit(batches...); err != nil {
		t.Fatal(err)
	}
	if err := db.Commit(&Batch{Scope: scopeA, Events: mustParse(t, sample[2])}); err != nil {
		t.Fatal(err)
	}
	ps := mustPosts(t, db, 0, 100)
	want := []struct {
		scope  Scope
		victim string
	}{
		{scopeA, batches[0].Events[0].VictimID},
		{scopeB, batches[1].Events[0].VictimID},
		{scopeB, batches[1].Events[1].VictimID},
		{scopeA2, ""},
		{scopeA, mustParse(t, sample[2])[0].VictimID},
	}
	if len(ps) != len(want) {
		t.Fatalf("Posts = %d, want %d", len(ps), len(want))
	}
	for i, w := range want {
		p := ps[i]
		victim := ""
		if p.Record != nil {
			victim = string(p.Record.VictimID)
		}
		if p.Scope != w.scope || victim != w.victim || (w.victim == "") != (p.Server != nil) {
			t.Errorf("post %d: scope %v victim %q server %v; want scope %v victim %q", i, p.Scope, victim, p.Server != nil, w.scope, w.victim)
		}
	}
	if !reflect.DeepEqual(*ps[3].Server, batches[2].AddedServer[0]) {
		t.Errorf("server post = %+v, want %+v", *ps[3].Server, batches[2].AddedServer[0])
	}
}

// A post whose event is gone (it should not happen) or whose record is
// unreadable is skipped and deleted, and the rest still come.
func TestPostsSkipUnresolvable(t *testing.T) {
	db := MustOpenDB(t)
	b := &Batch{Scope: scopeA, Events: mustParse(t, sample...)}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		sb, err := scopeBucket(tx, scopeA, false)
		if err != nil {
			return err
		}
		e := b.Events[1]
		if err := sb.Bucket(bucketEvents).Delete(eventKey(&e)); err != nil {
			return err
		}
		ob := tx.Bucket(bucketOutbox)
		if err := ob.Put(binary.BigEndian.AppendUint64(nil, 4), []byte{outboxVersion, postKillfeed, 1}); err != nil {
			return err
		}
		// A post for a scope that has no bucket.
		o := &outbox{tx: tx, b: ob}
		return o.add(postServer, Scope{Guild: "9", Server: "none"}, make([]byte, 16))
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := postKeys(mustPosts(t, db, 0, 2)), []uint64{1, 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("Posts(0, 2) = %v, want %v (2 skipped, the limit still filled)", got, want)
	}
	if got, want := postKeys(mustPosts(t, db, 0, 100)), []uint64{1, 3, 5}; !reflect.DeepEqual(got, want) {
		t.Errorf("Posts(0, 100) = %v, want %v", got, want)
	}
	if n := mustOutboxLen(t, db); n != 3 {
		t.Errorf("OutboxLen = %d, want 3 (the unresolvable posts deleted)", n)
	}
}

func TestDecodePostRejectsCorruptRecords(t *testing.T) {
	db := MustOpenDB(t)
	if err := db.Commit(&Batch{Scope: scopeA, Events: mustParse(t, sample[0])}); err != nil {
		t.Fatal(err)
	}
	var v []byte
	db.bolt.View(func(tx *bolt.Tx) error {
		_, v = tx.Bucket(bucketOutbox).Cursor().First()
		v = append([]byte(nil), v...)
		return nil
	})
	var e outboxEntry
	if err := decodePost(v, &e); err != nil || e.kind != postKillfeed || e.scope != scopeA {
		t.Fatalf("decodePost(%x) = %+v, %v", v, e, err)
	}
	for i := range len(v) - 1 {
		if err := decodePost(v[:i], &e); err == nil {
			t.Errorf("decodePost of a record cut to %d of %d bytes succeeded, want an error", i, len(v))
		}
	}
	if err := decodePost(append([]byte{outboxVersion + 1}, v[1:]...), &e); err == nil {
		t.Error("decodePost of an unknown version succeeded, want an error")
	}
}

// benchEvents returns n killfeed events of 1,000 players, one a second from
// start, all different.
func benchEvents(n int, start time.Time) []parser.Event {
	evs := make([]parser.Event, n)
	for i := range evs {
		k, v := i%1000, (i*7+1)%1000
		evs[i] = parser.Event{
			Time: start.Add(time.Duration(i) * time.Second), Kind: parser.Kill,
			Killer: fmt.Sprintf("player%d", k), KillerID: fmt.Sprintf("0002%028x", k),
			Victim: fmt.Sprintf("player%d", v), VictimID: fmt.Sprintf("0002%028x", v),
			Weapon: "AK-mod", Distance: int32(i % 300), KillerPlatform: "PS5", VictimPlatform: "XSX",
		}
	}
	return evs
}

// benchmarkCommit commits durable batches of 10,000 new events and reports
// the rate.
func benchmarkCommit(b *testing.B, backfill bool) {
	const batch = 10_000
	db := MustOpenDB(b)
	start := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	var n int
	for b.Loop() {
		b.StopTimer()
		bt := &Batch{Scope: scopeA, Source: "killfeed", Backfill: backfill, Events: benchEvents(batch, start.Add(time.Duration(n)*time.Second)), Lines: batch}
		b.StartTimer()
		if err := db.Commit(bt); err != nil {
			b.Fatal(err)
		}
		if len(bt.Added) != batch {
			b.Fatalf("added %d events, want %d", len(bt.Added), batch)
		}
		n += batch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
	if q, _ := db.OutboxLen(); backfill && q != 0 || !backfill && q != n {
		b.Fatalf("outbox holds %d posts, want %d", q, map[bool]int{true: 0, false: n}[backfill])
	}
}

// BenchmarkCommitLive commits live batches: each event also writes a post.
func BenchmarkCommitLive(b *testing.B) { benchmarkCommit(b, false) }

// BenchmarkCommitBackfill is the same without posts, for comparison.
func BenchmarkCommitBackfill(b *testing.B) { benchmarkCommit(b, true) }

// Without a poster (the bot runs offline) nothing is queued.
func TestNoPostsQueuesNothing(t *testing.T) {
	db := MustOpenDB(t)
	db.NoPosts = true
	b := &Batch{Scope: scopeA, Events: mustParse(t, sample[0], sample[1])}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if len(b.Added) != 2 {
		t.Fatalf("Added = %d, want the 2 events stored", len(b.Added))
	}
	if n := mustOutboxLen(t, db); n != 0 {
		t.Errorf("OutboxLen with NoPosts = %d, want 0", n)
	}
}

// A commit says up to which post its transaction queued, and the database
// remembers the last key ever given.
func TestLastPost(t *testing.T) {
	db := MustOpenDB(t)
	if k, err := db.LastPostKey(); err != nil || k != 0 {
		t.Fatalf("LastPostKey of a new database = %d, %v; want 0", k, err)
	}
	a := &Batch{Scope: scopeA, Events: mustParse(t, sample[0], sample[1])}
	b := &Batch{Scope: scopeA, Events: mustParse(t, sample[2]), Backfill: true}
	if err := db.Commit(a, b); err != nil {
		t.Fatal(err)
	}
	if a.LastPost != 2 || b.LastPost != 2 {
		t.Errorf("LastPost = %d and %d, want 2 for both batches of the transaction", a.LastPost, b.LastPost)
	}
	if err := db.DeletePosts(1, 2); err != nil {
		t.Fatal(err)
	}
	if k, err := db.LastPostKey(); err != nil || k != 2 {
		t.Errorf("LastPostKey after deleting every post = %d, %v; want 2", k, err)
	}
}
