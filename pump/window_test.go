package pump

import (
	"slices"
	"testing"

	"github.com/thecal/thecal/unit"
	"pgregory.net/rapid"
)

// TestWindowKeepsEveryStrokeTime: strokes pushed one by one and in runs, at
// rates that change, with accumulators that are and are not on a run's line,
// leave the window holding exactly the last cap stroke times pushed; a run
// gives every stroke time its own accumulator would, and counts them.
func TestWindowKeepsEveryStrokeTime(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		var w window
		w.reset(rapid.IntRange(1, 300).Draw(rt, "cap"))
		var all []unit.Time
		now := t0
		for range rapid.IntRange(1, 40).Draw(rt, "pushes") {
			rate := unit.Rate(rapid.Int64Range(int64(MinRate), int64(MaxRate)).Draw(rt, "rate"))
			acc := rapid.Int64Range(0, int64(rate)-1).Draw(rt, "acc")
			if rapid.IntRange(0, 9).Draw(rt, "offLine") == 0 {
				acc = rapid.Int64Range(0, strokeScaled-1).Draw(rt, "bigAcc") // a rate that fell at the stroke
			}
			now = now.Add(unit.Duration(rapid.Int64Range(0, int64(unit.Hour)).Draw(rt, "gap")))
			r := StrokeRun{first: now, acc: acc, rate: rate, n: rapid.IntRange(1, 200).Draw(rt, "n")}
			// The run's strokes, stepped as the accumulator would.
			a, tt := acc, now
			for j := range r.n {
				if j > 0 {
					d := (strokeScaled - a + int64(rate) - 1) / int64(rate)
					d = max(d, 0)
					tt, a = tt.Add(unit.Duration(d)), a+int64(rate)*d-strokeScaled
				}
				if got := r.At(j); got != tt {
					rt.Fatalf("stroke %d of %+v at %v, the accumulator says %v", j, r, got, tt)
				}
				if r.Through(tt) < j+1 {
					rt.Fatalf("Through(%v) = %d, want at least %d", tt, r.Through(tt), j+1)
				}
			}
			if rapid.Bool().Draw(rt, "oneByOne") {
				for j := range r.n {
					w.push(r.Sub(j, 1))
				}
			} else {
				w.push(r)
			}
			for j := range r.n {
				all = append(all, r.At(j))
			}
			now = r.Last()
			want := all[max(0, len(all)-w.cap):]
			if got := w.times(nil); !slices.Equal(got, want) {
				rt.Fatalf("the window holds %d strokes, want the last %d of %d pushed", len(got), len(want), len(all))
			}
			if w.n != len(want) {
				rt.Fatalf("n = %d, want %d", w.n, len(want))
			}
			if w.oldest() != want[0] {
				rt.Fatalf("the oldest stroke is %v, want %v", w.oldest(), want[0])
			}
		}
	})
}
