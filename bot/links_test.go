package bot

import (
	"strings"
	"testing"
	"time"

	"killfeed/storage"
)

const idAlpha = "0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// relocated is a batch in which Alpha relocates at t on server.
func relocated(t *testing.T, server string, at time.Time, backfill bool) []*storage.Batch {
	line := at.UTC().Format("2006.01.02-15.04.05") + ";Alpha;" + idAlpha + ";Alpha;" + idAlpha + ";suicide_by_relocation;0;PS5;PS5;"
	return []*storage.Batch{{Scope: storage.Scope{Guild: testGuild, Server: server}, Added: records(t, []string{line}), Backfill: backfill}}
}

// The proof of a link is Alpha relocating on the server asked for, after
// the request and before it expires; nothing else links it, and a request
// not proven in time ends.
func TestLinkProof(t *testing.T) {
	b := newTestBot(t, sample)
	now := b.Now()
	r := b.Handle(interaction(testGuild, "link", 0, opt("character", "alpha")))
	if r.Later == nil {
		t.Fatalf("/link: %q", text(r))
	}
	r.Later()

	// Another member cannot take over the request.
	other := interaction(testGuild, "link", 0, opt("character", "alpha"))
	other.Member.User.ID = "900000000000000002"
	if r := b.Handle(other); !isEphemeral(r) || !strings.Contains(text(r), "Another member") {
		t.Errorf("a second member's /link: %q", text(r))
	}

	linked := func() bool {
		b.later.Wait()
		_, ok := b.linkOf(testGuild, idAlpha)
		return ok
	}
	for name, batches := range map[string][]*storage.Batch{
		"a relocation before the request": relocated(t, "main", now.Add(-5*time.Minute), false),
		"a relocation after it expired":   relocated(t, "main", now.Add(linkWithin+5*time.Minute), false),
		"a relocation on another server":  relocated(t, "other", now.Add(time.Minute), false),
		"history read at first start":     relocated(t, "main", now.Add(time.Minute), true),
	} {
		b.OnCommitted(batches)
		if linked() {
			t.Fatalf("%s linked the character", name)
		}
	}
	b.OnCommitted(relocated(t, "main", now.Add(2*time.Minute), false))
	if !linked() {
		t.Fatal("a relocation within the time limit did not link the character")
	}
	if ls, _ := b.db.Links(testGuild); len(ls) != 1 || ls[0].UserID != "900000000000000001" || ls[0].Server != "main" {
		t.Errorf("stored links: %+v", ls)
	}
	if ps, _ := b.db.Pendings(testGuild); len(ps) != 0 {
		t.Errorf("requests left after the proof: %+v", ps)
	}
	// /stats without a player is now the member's character.
	if r := b.Handle(interaction(testGuild, "stats", 0)); isEphemeral(r) || !strings.Contains(text(r), "Alpha") {
		t.Errorf("/stats of the linked member: %q", text(r))
	}

	// A request for Bravo that nobody proves ends after its time and grace.
	r = b.Handle(interaction(testGuild, "link", 0, opt("character", "bravo")))
	r.Later()
	b.Now = func() time.Time { return now.Add(linkWithin + linkGrace - time.Second) }
	b.expireLinks()
	if ps, _ := b.db.Pendings(testGuild); len(ps) != 1 {
		t.Fatalf("requests before the end of the grace: %+v, want Bravo's", ps)
	}
	b.Now = func() time.Time { return now.Add(linkWithin + linkGrace + time.Second) }
	b.expireLinks()
	if ps, _ := b.db.Pendings(testGuild); len(ps) != 0 {
		t.Errorf("requests after the grace: %+v, want none", ps)
	}
	b.mu.RLock()
	n := len(b.pending[testGuild])
	b.mu.RUnlock()
	if n != 0 {
		t.Errorf("%d requests held in memory after the grace", n)
	}

	// A bot started again knows the links.
	again, err := New(b.cfg, b.db, []*Server{b.servers[testGuild][0]}, b.log)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := again.linkOf(testGuild, idAlpha); !ok {
		t.Error("a new bot does not know the stored link")
	}
}
