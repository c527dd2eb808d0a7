package storage

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	db := MustOpenDB(t)
	const g1, g2, char = "100000000000000001", "100000000000000002", "0002aaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	at := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	if err := db.PutPending(g1, Pending{CharacterID: char, UserID: "u1", Server: "eu1", Expires: at.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if ps, err := db.Pendings(g1); err != nil || len(ps) != 1 || ps[0].Server != "eu1" {
		t.Fatalf("Pendings: %+v, %v; want the one request", ps, err)
	}
	l := Link{CharacterID: char, Name: "Alpha", UserID: "u1", At: at}
	if err := db.PutLink(g1, l, false); err != nil {
		t.Fatal(err)
	}
	if ps, _ := db.Pendings(g1); len(ps) != 0 {
		t.Errorf("Pendings after the link: %+v, want none", ps)
	}
	if err := db.PutLink(g1, Link{CharacterID: char, UserID: "u2"}, false); !errors.Is(err, ErrLinked) {
		t.Errorf("linking another user's character: error %v, want ErrLinked", err)
	}
	// Another guild is another world.
	if err := db.PutLink(g2, Link{CharacterID: char, UserID: "u2"}, false); err != nil {
		t.Errorf("the same character in another guild: %v", err)
	}
	if got, err := db.Links(g1); err != nil || !reflect.DeepEqual(got, []Link{l}) {
		t.Errorf("Links(g1) = %+v, %v; want %+v", got, err, l)
	}
	// An admin may give it to another user.
	l3 := Link{CharacterID: char, Name: "Alpha", UserID: "u3", At: at, ByAdmin: "admin"}
	if err := db.PutLink(g1, l3, true); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Links(g1); err != nil || !reflect.DeepEqual(got, []Link{l3}) {
		t.Errorf("Links(g1) after an admin's link = %+v, %v; want %+v", got, err, l3)
	}
	if err := db.PutLink(g1, l, true); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Links(g1); err != nil || !reflect.DeepEqual(got, []Link{l}) {
		t.Errorf("Links(g1) = %+v, %v; want %+v", got, err, l)
	}
	got, found, err := db.DeleteLink(g1, char)
	if err != nil || !found || got.UserID != "u1" {
		t.Errorf("DeleteLink = %+v, %v, %v; want u1's link", got, found, err)
	}
	if _, found, _ := db.DeleteLink(g1, char); found {
		t.Error("DeleteLink twice: found it again")
	}
	if ls, _ := db.Links(g2); len(ls) != 1 || ls[0].UserID != "u2" {
		t.Errorf("Links(g2) = %+v, want u2's link untouched", ls)
	}
	if ls, err := db.Links("100000000000000003"); err != nil || len(ls) != 0 {
		t.Errorf("Links of a guild without data = %+v, %v", ls, err)
	}
}

func TestSettingsAndMeta(t *testing.T) {
	db := MustOpenDB(t)
	const g = "100000000000000001"
	for k, v := range map[string]string{"channel/eu1/killfeed": "42", "season/eu1": "2025-05-01T00:00:00Z"} {
		if err := db.SetSetting(g, k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.SetSetting(g, "season/eu1", ""); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Settings(g); err != nil || !reflect.DeepEqual(got, map[string]string{"channel/eu1/killfeed": "42"}) {
		t.Errorf("Settings = %v, %v", got, err)
	}
	if v, _ := db.Meta("commands/global"); v != "" {
		t.Errorf("Meta before SetMeta = %q", v)
	}
	if err := db.SetMeta("commands/global", "abc"); err != nil {
		t.Fatal(err)
	}
	if v, _ := db.Meta("commands/global"); v != "abc" {
		t.Errorf("Meta = %q, want abc", v)
	}
	// Guild buckets without servers are not scopes.
	if sc, err := db.Scopes(); err != nil || len(sc) != 0 {
		t.Errorf("Scopes = %v, %v; want none", sc, err)
	}
}
