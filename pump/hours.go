package pump

import "github.com/thecal/thecal/unit"

// The cap window's hour buckets, kept lazily.
//
// The state record stores, for each of the 25 clock hours a 24 h window
// touches, the strokes counted against max_24h (hourBucket). Counting every
// stroke into its bucket as it comes would cost every span of Coast a bucket
// per hour it covers. Instead the strokes are kept as the runs they came in
// (hourRun, at most maxHourRuns of them after the buckets last brought up to
// date, p.hours), and the buckets they make are worked out only when someone
// needs them — a state record being encoded, the list being full — in time
// that depends on the 25 buckets, not on the strokes: the last stroke of each
// bucket's clock hour is found by walking the runs back from the newest, and
// only that hour's strokes are counted.
//
// A checkpoint's record refers to the buckets and a prefix of the runs
// (pendingState.ver, nRuns, lastN) instead of copying them; before the
// buckets change under it (a fold, a reset of the window) it is encoded
// (materializeHours).

// hourRun is a run of strokes still to count in their hour buckets: the
// run, the accumulator's epoch when it came, and whether the strokes are the
// accumulator's own (run false: placed after a reset, which marks their hour
// as not one run).
type hourRun struct {
	r     StrokeRun
	epoch uint32
	run   bool
}

// maxHourRuns bounds the runs kept before the buckets are brought up to date.
const maxHourRuns = 32

// bucketPush counts a stroke at t in its clock hour (p.acc just after it).
func (p *Pump) bucketPush(t unit.Time, run bool) {
	p.pushHours(StrokeRun{first: t, acc: p.acc, rate: p.rate, n: 1}, p.runEpoch, run)
}

// pushHours counts the strokes of r in their clock hours: r continues the
// last run kept when it follows it (the same accumulator course and epoch),
// as the window's runs do, so a run pushed stroke by stroke and in one go are
// kept alike.
func (p *Pump) pushHours(r StrokeRun, epoch uint32, run bool) {
	if n := p.nHourRuns; n > 0 {
		l := &p.hourRuns[n-1]
		if run && l.run && l.epoch == epoch && p.hourTail.continues(r) {
			l.r.n += r.n
			p.hourTail.setLast(r)
			return
		}
	}
	if p.nHourRuns == maxHourRuns {
		p.foldHours()
	}
	p.hourRuns[p.nHourRuns] = hourRun{r: r, epoch: epoch, run: run}
	p.nHourRuns++
	p.hourTail.setLast(r)
}

// foldHours brings the buckets up to date with the runs kept, and forgets them.
func (p *Pump) foldHours() {
	if p.nHourRuns == 0 {
		return
	}
	p.materializeHours()
	var out [hourBuckets]hourBucket
	last := p.hourRuns[p.nHourRuns-1].r.n
	p.hourIdx, p.hourEnd = foldHours(&p.hours, p.hourIdx, p.hourEnd, p.hourRuns[:p.nHourRuns], last, &out)
	p.hours = out
	p.nHourRuns = 0
	p.hourTail.rate = 0
	p.hoursVer++
}

// clearHours empties the buckets (a new cap window).
func (p *Pump) clearHours() {
	p.materializeHours()
	p.hours = [hourBuckets]hourBucket{}
	p.hourEnd = 0
	p.nHourRuns = 0
	p.hourTail.rate = 0
	p.hoursVer++
}

// materializeHours encodes every pending state record, which refers to the
// buckets and runs, before they change: a fold or a new window comes every
// so many runs, and the records then pending are encoded then instead of
// when the image is read.
func (p *Pump) materializeHours() {
	p.encodeState(0)
	p.encodeState(1)
}

// currentHours writes into out the buckets as counting every stroke so far
// would leave them, and returns the current hour's index and end.
func (p *Pump) currentHours(out *[hourBuckets]hourBucket) (int, unit.Time) {
	last := 0
	if p.nHourRuns > 0 {
		last = p.hourRuns[p.nHourRuns-1].r.n
	}
	return foldHours(&p.hours, p.hourIdx, p.hourEnd, p.hourRuns[:p.nHourRuns], last, out)
}

func hourOf(t unit.Time) int64 { return int64(t) / int64(unit.Hour) }

// foldHours writes into out the buckets base (whose current hour has index
// idx and ends at end) become once the strokes of runs are counted in them
// one by one (with the last run cut to lastN strokes), and returns the new
// current hour's index and end.
//
// Counting a stroke enters its clock hour h, starting the bucket afresh
// unless it already holds h; the bucket's first stroke sets its first stroke,
// accumulator, rate and epoch, and a later one of another rate or epoch (or
// not the accumulator's own) marks the hour as not one run. So each bucket
// ends up holding the last clock hour of its index that had a stroke — found
// walking the runs back from the newest, a bucket at a time — with that
// hour's strokes counted in it, in order, on top of the base's bucket if
// that already held the same hour.
func foldHours(base *[hourBuckets]hourBucket, idx int, end unit.Time, runs []hourRun, lastN int, out *[hourBuckets]hourBucket) (int, unit.Time) {
	*out = *base
	if len(runs) == 0 {
		return idx, end
	}
	get := func(k int) StrokeRun {
		r := runs[k].r
		if k == len(runs)-1 {
			r.n = lastN
		}
		return r
	}
	h1 := hourOf(get(len(runs) - 1).Last())
	var done [hourBuckets]bool
	left := hourBuckets
	for k := len(runs) - 1; k >= 0 && left > 0; k-- {
		rk := get(k)
		for h := hourOf(rk.Last()); h >= hourOf(rk.first) && left > 0; h-- {
			i := floorMod(h, hourBuckets)
			if done[i] {
				continue
			}
			done[i], left = true, left-1
			start := unit.Time(h * int64(unit.Hour))
			// The runs with strokes in hour h: k and those before it that reach it.
			k0 := k
			for k0 > 0 && get(k0-1).Last() >= start {
				k0--
			}
			b := hourBucket{hour: h}
			if base[i].hour == h {
				b = base[i]
			}
			for q := k0; q <= k; q++ {
				rq := get(q)
				j0 := rq.Through(start - 1)
				j1 := rq.Through(start.Add(unit.Hour) - 1)
				if j1 <= j0 {
					continue
				}
				switch {
				case b.n == 0:
					b.first, b.acc, b.rate, b.epoch = rq.At(j0), rq.accAfter(j0), rq.rate, runs[q].epoch
				case b.epoch != runs[q].epoch || b.rate != rq.rate:
					b.rate = 0
				}
				if !runs[q].run {
					b.rate = 0
				}
				b.n += uint32(j1 - j0)
			}
			out[i] = b
		}
	}
	return int(floorMod(h1, hourBuckets)), unit.Time((h1 + 1) * int64(unit.Hour))
}
