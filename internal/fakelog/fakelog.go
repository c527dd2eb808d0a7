// Package fakelog generates realistic Deadside killfeed lines for tests,
// benchmarks and the demo: EOS ids of 32 hex digits, names with spaces and
// Unicode, kills with distances, roadkills, relocations, falls, suicides and
// unattributed deaths, in time order, in the 9-field form.
package fakelog

import (
	"fmt"
	"io"
	"math/rand/v2"
	"time"
)

var weapons = []string{"AK-mod", "M99", "MR5", "S85", "IZH-43", "UAG", "RPK-mod", "Berta M9", "Combat Knife", "VSK", "SKS", "FAL", "Folding Knife", "R-5", "Dynamite"}

var platforms = []string{"PS5", "XSX", "PC"}

type player struct{ name, id, platform string }

// Generator produces killfeed lines. It is deterministic for a seed.
type Generator struct {
	r       *rand.Rand
	players []player
	t       time.Time
	// Step is the mean time between two lines (default 20s).
	Step time.Duration
}

// New returns a generator of lines among n players, starting at start.
func New(seed uint64, n int, start time.Time) *Generator {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g := &Generator{r: r, t: start.UTC(), Step: 20 * time.Second}
	prefixes := []string{"", "OGz ", "xX_", "TTV-", "Ж", "O'"}
	for i := range n {
		g.players = append(g.players, player{
			name:     fmt.Sprintf("%sPlayer%d", prefixes[i%len(prefixes)], i),
			id:       fmt.Sprintf("0002%012x%016x", r.Uint64()>>16, r.Uint64()),
			platform: platforms[r.IntN(len(platforms))],
		})
	}
	return g
}

// pick returns a player, the first ones more often, as on a real server;
// now and then the player has renamed.
func (g *Generator) pick() player {
	n := len(g.players)
	i := min(int(float64(n)*g.r.Float64()*g.r.Float64()), n-1)
	if g.r.IntN(2000) == 0 {
		g.players[i].name += "_"
	}
	return g.players[i]
}

// Line returns the next line, ending in '\n'.
func (g *Generator) Line() string {
	g.t = g.t.Add(time.Duration(g.r.Int64N(int64(2 * g.Step))))
	ts := g.t.Format("2006.01.02-15.04.05")
	v := g.pick()
	k := g.pick()
	switch x := g.r.IntN(100); {
	case x < 25:
		return fmt.Sprintf("%s;%s;%s;%s;%s;suicide_by_relocation;0;%s;%s;\n", ts, v.name, v.id, v.name, v.id, v.platform, v.platform)
	case x < 32:
		return fmt.Sprintf("%s;%s;%s;%s;%s;falling;0;%s;%s;\n", ts, v.name, v.id, v.name, v.id, v.platform, v.platform)
	case x < 34:
		return fmt.Sprintf("%s;%s;%s;%s;%s;Dynamite;0;%s;%s;\n", ts, v.name, v.id, v.name, v.id, v.platform, v.platform)
	case x < 37:
		return fmt.Sprintf("%s;;;%s;%s;;1;;%s;\n", ts, v.name, v.id, v.platform)
	case x < 39 && k.id != v.id:
		return fmt.Sprintf("%s;%s;%s;%s;%s;land_vehicle;1;%s;%s;\n", ts, k.name, k.id, v.name, v.id, k.platform, v.platform)
	}
	if k.id == v.id {
		return fmt.Sprintf("%s;%s;%s;%s;%s;suicide_by_relocation;0;%s;%s;\n", ts, v.name, v.id, v.name, v.id, v.platform, v.platform)
	}
	w := weapons[g.r.IntN(len(weapons))]
	return fmt.Sprintf("%s;%s;%s;%s;%s;%s;%d;%s;%s;\n", ts, k.name, k.id, v.name, v.id, w, g.r.IntN(400), k.platform, v.platform)
}

// Write writes n lines to w.
func (g *Generator) Write(w io.Writer, n int) error {
	buf := make([]byte, 0, 64<<10)
	for i := range n {
		buf = append(buf, g.Line()...)
		if len(buf) > 60<<10 || i == n-1 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	return nil
}

// Now returns the time of the last line returned.
func (g *Generator) Now() time.Time { return g.t }

// Resume makes the lines that follow start at t and depend on seed, among
// the same players.
func (g *Generator) Resume(seed uint64, t time.Time) {
	g.r = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	g.t = t.UTC()
}
