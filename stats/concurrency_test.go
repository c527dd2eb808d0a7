package stats_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"killfeed/stats"
)

// TestConcurrentQueries runs every kind of query while batches, some out of
// time order, are committed and added (run it with -race). Each query sees
// the index between two Adds, never in the middle of one.
func TestConcurrentQueries(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	loc := mustLoc(t, "Europe/Berlin")
	g := genLog(r, 3000, 40, time.Date(2025, 3, 15, 0, 0, 0, 0, loc), 60*24*time.Hour)
	q := newQueries(g, r)
	s := newServer(t, loc)
	batches := deliveries(r, g.lines)

	// The event counts an index can show: one after each Add.
	var mu sync.Mutex
	states := map[int]bool{0: true}
	var done atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	report := func(format string, args ...any) {
		select {
		case errs <- fmt.Sprintf(format, args...):
		default:
		}
	}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			last := 0
			for n := 0; !done.Load() || n < 50; n++ {
				at := q.ats[r.IntN(len(q.ats))]
				p := stats.Periods[r.IntN(len(stats.Periods))]
				switch r.IntN(5) {
				case 0:
					sum := s.idx.Summary()
					mu.Lock()
					ok := states[sum.Events]
					mu.Unlock()
					if !ok {
						report("Summary().Events = %d, a state between two Adds", sum.Events)
					}
					if sum.Events < last {
						report("Summary().Events went back from %d to %d", last, sum.Events)
					}
					last = sum.Events
					if k := sum.Kills; k < sum.Roadkills || sum.Kills+sum.Suicides+sum.Relocations+sum.Unattributed != sum.Events {
						report("Summary inconsistent: %+v", sum)
					}
				case 1:
					id := q.ids[r.IntN(len(q.ids))]
					st, err := s.idx.Stats(id, p, at)
					if err == nil && (st.ID != id || st.BestStreak < st.CurrentStreak || st.Kills < st.BestStreak) {
						report("Stats(%s, %s): inconsistent %+v", id, p, st)
					}
				case 2:
					m := stats.Metrics[r.IntN(len(stats.Metrics))]
					b := s.idx.Leaderboard(m, p, at, 1+r.IntN(20))
					for i := range b {
						if b[i].Rank != i+1 || i > 0 && b[i].Value > b[i-1].Value {
							report("Leaderboard(%s, %s) out of order:%s", m, p, entriesString(b))
							break
						}
					}
				case 3:
					prefix := q.prefixes[r.IntN(len(q.prefixes))]
					for _, m := range s.idx.Search(prefix, 10) {
						if id, err := s.idx.Lookup(m.ID); err != nil || id != m.ID {
							report("Search(%q) found %s, Lookup says %q, %v", prefix, m.ID, id, err)
						}
					}
				case 4:
					n := q.names[r.IntN(len(q.names))]
					if id, err := s.idx.Lookup(strings.ToUpper(n)); err == nil {
						if _, err := s.idx.Stats(id, p, at); err != nil {
							report("Lookup(%q) = %s, but Stats: %v", n, id, err)
						}
					}
				}
			}
		}()
	}

	total := 0
	for _, b := range batches {
		recs := s.store(b...).Added
		mu.Lock()
		total += len(recs)
		states[total] = true
		mu.Unlock()
		s.idx.Add(recs)
	}
	done.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if d := compareIndexes(s.idx, s.load(), q, 10); len(d) > 0 {
		t.Errorf("after concurrent queries, Add and Load differ:\n%s", strings.Join(d, "\n"))
	}
}
