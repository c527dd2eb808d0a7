package stats_test

import (
	"strings"
	"testing"
	"time"
)

func TestKillContext(t *testing.T) {
	s := newServer(t, time.UTC)
	a, b := pl{"Alpha", eos(1)}, pl{"Bravo", eos(2)}
	day := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	lines := []string{
		envLine(day, a), // not a kill
		killLine(day.Add(1*time.Minute), b, a, "M99", 100),  // first blood of the day
		killLine(day.Add(2*time.Minute), b, a, "M99", 100),  // Bravo: nemesis of Alpha
		killLine(day.Add(3*time.Minute), a, b, "AK-mod", 5), // revenge
	}
	for i := range 4 {
		lines = append(lines, killLine(day.Add(time.Duration(4+i)*time.Minute), a, pl{"Victim", eos(10 + i)}, "AK-mod", 5+245*(i/3)))
	}
	lines = append(lines, killLine(day.Add(24*time.Hour), b, a, "M99", 1)) // the next day
	recs := s.commit(lines...).Added
	for i, want := range []struct {
		streak  int
		kdr     float64
		notable string
	}{
		{-1, 0, ""},
		{1, 1, "First blood of the day"},
		{2, 2, ""},
		{1, 0.5, "Revenge on their nemesis, who killed them 2 times"},
		{2, 1, ""}, {3, 1.5, ""}, {4, 2, ""},
		{5, 2.5, "5 kills in a row; Longest kill of the server so far: 250 m"},
		{1, 3, "First blood of the day"},
	} {
		c, ok := s.idx.KillContext(&recs[i])
		if want.streak < 0 {
			if ok {
				t.Errorf("line %d is no kill: got context %+v", i, c)
			}
			continue
		}
		notable := strings.Join(c.Notable, "; ")
		if !ok || c.Streak != want.streak || c.KDR != want.kdr || notable != want.notable {
			t.Errorf("KillContext(line %d) = %+v, %v; want streak %d, KDR %.2f, notable %q", i, c, ok, want.streak, want.kdr, want.notable)
		}
	}
	// After a wipe the record counts from the season's first kill.
	s.idx.SetSeason(day.Add(5*time.Minute + 30*time.Second))
	for i, want := range map[int]string{5: "", 6: "", 7: "Longest kill of the season so far: 250 m"} {
		c, _ := s.idx.KillContext(&recs[i])
		if got := strings.Join(c.Notable, "; "); !strings.Contains(got, want) || want == "" && strings.Contains(got, "Longest") {
			t.Errorf("after a wipe, KillContext(line %d).Notable = %q, want %q", i, got, want)
		}
	}
}
