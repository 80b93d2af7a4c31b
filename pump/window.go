package pump

import "github.com/thecal/thecal/unit"

// StrokeRun is a run of strokes from one uninterrupted course of the delivery
// accumulator at one rate: its first stroke, the accumulator just after it, the
// rate and how many strokes. Every stroke time follows from those alone —
// stroke j (from 0) comes at the first millisecond the accumulator reaches
// j more strokes — so a run of any length is known, counted and searched in
// constant time. A run of rate 0 is a single stroke (a stall retry, or a
// stroke placed after a reset).
//
// Coast returns the run it delivered; the cap window keeps the strokes of the
// last 24 h as runs.
type StrokeRun struct {
	first unit.Time
	acc   int64 // the accumulator just after the first stroke, nL·ms/day
	rate  unit.Rate
	n     int
}

// Len returns how many strokes the run has.
func (r StrokeRun) Len() int { return r.n }

// At returns the time of stroke j (0 ≤ j < Len).
func (r StrokeRun) At(j int) unit.Time {
	if j == 0 || r.rate <= 0 {
		return r.first
	}
	d := int64(j)*strokeScaled - r.acc
	if d <= 0 {
		return r.first
	}
	return r.first.Add(unit.Duration((d + int64(r.rate) - 1) / int64(r.rate)))
}

// Sub returns the run of the n strokes from stroke i on.
func (r StrokeRun) Sub(i, n int) StrokeRun {
	return StrokeRun{first: r.At(i), acc: r.accAfter(i), rate: r.rate, n: n}
}

// Last returns the time of the run's last stroke.
func (r StrokeRun) Last() unit.Time { return r.At(r.n - 1) }

// Through returns how many of the run's strokes come at or before t.
func (r StrokeRun) Through(t unit.Time) int {
	switch {
	case r.n == 0 || t < r.first:
		return 0
	case r.rate <= 0:
		return r.n
	}
	return int(min(int64(r.n), 1+(r.acc+int64(r.rate)*int64(t-r.first))/strokeScaled))
}

// accAfter is the accumulator just after stroke j.
func (r StrokeRun) accAfter(j int) int64 {
	return r.acc + int64(r.rate)*int64(r.At(j)-r.first) - int64(j)*strokeScaled
}

// extends reports whether s continues r: the accumulator course of r, at the
// same rate, puts r's next stroke at s's first with s's accumulator. A run
// pushed stroke by stroke and the same strokes pushed as one run then end up
// as the same run.
func (r StrokeRun) extends(s StrokeRun) bool {
	return r.rate > 0 && r.rate == s.rate && r.At(r.n) == s.first && r.accAfter(r.n) == s.acc
}

// runTail is what the last of a list of runs predicts: its next stroke and
// the accumulator just after it, so that a stroke pushed one at a time joins
// the run with two comparisons (and, in the steady state, no division: q is
// one stroke over the rate, worked out once a run).
type runTail struct {
	t     unit.Time
	acc   int64
	rate  unit.Rate // 0: nothing to continue
	q     int64
	qRate unit.Rate
}

// continues reports whether s continues the run the tail was set from
// (StrokeRun.extends, without its divisions).
func (p *runTail) continues(s StrokeRun) bool {
	return p.rate > 0 && s.rate == p.rate && s.first == p.t && s.acc == p.acc
}

// set makes the tail the one of a run at rate whose last stroke came at t,
// the accumulator acc just after it.
func (p *runTail) set(rate unit.Rate, t unit.Time, acc int64) {
	p.rate = rate
	r := int64(rate)
	if r <= 0 {
		return
	}
	if p.qRate != rate {
		p.q, p.qRate = strokeScaled/r, rate
	}
	var d int64
	if acc >= 0 && acc < r { // after a regular stroke: q or q+1 ms on
		if d = p.q; acc+r*d < strokeScaled {
			d++
		}
	} else if d = strokeScaled - acc; d > 0 {
		d = (d + r - 1) / r
	} else {
		d = 0
	}
	p.t, p.acc = t.Add(unit.Duration(d)), acc+r*d-strokeScaled
}

// setLast sets the tail from run r's last stroke.
func (p *runTail) setLast(r StrokeRun) {
	if r.n == 1 {
		p.set(r.rate, r.first, r.acc)
		return
	}
	p.set(r.rate, r.At(r.n-1), r.accAfter(r.n-1))
}

// window is the cap window: the last strokes counted against max_24h, at most
// cap of them (the executor refuses a stroke when cap strokes already lie in
// the 24 h before it), kept as runs, oldest first, in a ring of runs. What it
// holds depends only on the strokes pushed, never on how they were grouped.
type window struct {
	runs []StrokeRun // ring of runs; the live ones are len from head on
	head int
	len  int
	skip int     // strokes of the oldest run that have already left the window
	n    int     // strokes in the window
	cap  int     // max_24h in whole strokes
	tail runTail // the last run's next stroke
	// front is the oldest stroke (front.t, the accumulator after it
	// front.acc): a stroke leaving steps it on without a division.
	front runTail
}

func (w *window) reset(cap int) {
	w.head, w.len, w.skip, w.n, w.cap = 0, 0, 0, 0, cap
	w.tail.rate = 0
}

// run returns the i-th live run, oldest first.
func (w *window) run(i int) *StrokeRun {
	j := w.head + i
	if j >= len(w.runs) {
		j -= len(w.runs)
	}
	return &w.runs[j]
}

// oldest returns the time of the oldest stroke in the window (n > 0).
func (w *window) oldest() unit.Time { return w.front.t }

// setFront points front at stroke skip of the oldest run.
func (w *window) setFront() {
	r := w.run(0)
	w.front.t, w.front.acc = r.At(w.skip), r.accAfter(w.skip)
	w.front.rate = r.rate
}

// allows reports whether the executor may count a stroke at t.
func (w *window) allows(t unit.Time) bool {
	if w.n < w.cap {
		return true
	}
	return w.cap > 0 && w.oldest() <= t.Add(-unit.Day)
}

// push counts the strokes of s (all of them allowed), dropping the oldest
// beyond cap.
func (w *window) push(s StrokeRun) {
	if w.cap == 0 || s.n == 0 {
		return
	}
	if w.len > 0 && w.tail.continues(s) {
		w.run(w.len - 1).n += s.n
	} else {
		if w.len == len(w.runs) {
			w.grow()
		}
		w.len++
		*w.run(w.len - 1) = s
		if w.len == 1 {
			w.front.t, w.front.acc, w.front.rate = s.first, s.acc, s.rate
		}
	}
	w.tail.setLast(s)
	w.n += s.n
	if over := w.n - w.cap; over > 0 {
		w.drop(over)
	}
}

// grow doubles the ring of runs: only while more distinct runs lie in the
// window than ever before (a pump's first day, a day of many boluses).
func (w *window) grow() {
	runs := make([]StrokeRun, max(16, 2*len(w.runs)))
	for i := range w.len {
		runs[i] = *w.run(i)
	}
	w.runs, w.head = runs, 0
}

// drop removes the k oldest strokes.
func (w *window) drop(k int) {
	w.n -= k
	if k == 1 && w.skip+1 < w.run(0).n { // the next stroke of the same run
		w.skip++
		w.front.set(w.front.rate, w.front.t, w.front.acc)
		return
	}
	for k > 0 {
		r := w.run(0)
		if left := r.n - w.skip; k < left {
			w.skip += k
			break
		} else {
			k -= left
		}
		w.skip = 0
		if w.head++; w.head == len(w.runs) {
			w.head = 0
		}
		w.len--
	}
	if w.len > 0 {
		w.setFront()
	}
}

// after returns how many strokes in the window come after t.
func (w *window) after(t unit.Time) int {
	c := 0
	for i := w.len - 1; i >= 0; i-- {
		r := w.run(i)
		lo := 0
		if i == 0 {
			lo = w.skip
		}
		k := max(r.Through(t), lo)
		c += r.n - k
		if k > lo {
			break // this run reaches back to t: every older stroke is at or before it
		}
	}
	return c
}

// times appends the window's stroke times, oldest first (tests, and the
// reference the closed form is checked against).
func (w *window) times(dst []unit.Time) []unit.Time {
	for i := range w.len {
		r := w.run(i)
		j := 0
		if i == 0 {
			j = w.skip
		}
		for ; j < r.n; j++ {
			dst = append(dst, r.At(j))
		}
	}
	return dst
}
