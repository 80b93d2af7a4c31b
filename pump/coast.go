package pump

import (
	"github.com/thecal/thecal/unit"
)

// Coast is the closed-form fast path of the core: it advances over a span of
// time in which nothing but the core's regular work happens — strokes of the
// running program, the hourly checkpoints, alarm tones at their cadence — in
// time that does not grow with the span: a day or a month of strokes costs
// what one stroke costs, a handful of divisions. It returns the run of strokes
// it delivered (Len 0 if none).
//
// The driver calls it only when it can promise nominal hardware for every
// stroke up to until: each stroke completes, and the outlet pressure (when the
// sensor is fitted) is within the normal band, at or above LeakFloor and at or
// below OcclusionPressure. (A pump that cannot stroke in the span — stopped,
// suspended — needs no promise.) With that promise, every stroke's effects
// are exactly those of Tick and StrokeDone{Completed: true, Pressure: normal}:
// the accumulator, the cap window and its hour buckets, the delivered volume
// and reservoir estimate, the battery, the stall, occlusion and leak counters;
// every tone's are those of Tick (the count, the charge, the cadence), and
// every checkpoint's record is the one Tick would write, byte for byte.
//
// Coast stops before anything else: another deadline (a flex step, a bolus,
// priming or bridge end, a level reading, a stall retry), a stroke that would
// do more than a plain stroke (raise LOW_RESERVOIR or EMPTY_RESERVOIR, be
// refused by the cap window), and the first instant the battery would reach a
// threshold (ERI, EOS, depletion), whether by a stroke, a tone or quiescent
// drain. It leaves everything due at that instant to Tick, and does nothing
// while an action is outstanding, a checkpoint is pending or priming runs.
// Coast and Tick may be mixed freely: a run that coasts wherever it may leaves
// the core, its log and its image byte for byte as the stroke-by-stroke run
// does (TestCoastEquivalence).
//
// With a nil each, Coast goes on through checkpoints and tones. The records of
// the checkpoints of a span are not all encoded: a record is overwritten by
// the next checkpoint but one (the two state slots alternate), and no one can
// look at the image during the call, so only the records the image keeps are
// written (the last in each slot, and an earlier longer one whose tail a
// shorter record leaves in place). Coast then leaves the core at until (or
// just before whatever stopped it).
//
// With an each, Coast stops before the next checkpoint or tone too, and
// delivers stroke by stroke: each is called after each stroke with its time,
// the core then in exactly the state StrokeDone would have left; it may read
// the core but must not call Tick, StrokeDone, LevelRead or any command. The
// driver drives its motor and reads its sensors for the stroke there.
//
// Coast allocates nothing (but for the cap window's ring of runs, which grows
// only while more distinct runs lie in it than ever before).
func (p *Pump) Coast(until unit.Time, each func(t unit.Time)) StrokeRun {
	var run StrokeRun
	for {
		sp, ok := p.plan(until, each != nil)
		if !ok {
			return run
		}
		if each != nil {
			for range sp.strokes {
				t := p.nextStroke
				p.leap(t, &run)
				each(t)
			}
			return run
		}
		p.span(&sp, &run)
		if sp.end >= until || sp.cut {
			return run
		}
	}
}

// maxSpan bounds one span, so that the closed forms stay well inside 64 bits
// (a rate in nL/day times a span in ms).
const maxSpan = 64 * unit.Day

// spanPlan is what plan found: Coast may advance to end, delivering strokes
// strokes; cut says that something other than until or maxSpan ended it.
type spanPlan struct {
	end     unit.Time
	strokes int
	cut     bool
}

// strokesIn returns how many strokes of the running program come in (now, t].
func (p *Pump) strokesIn(t unit.Time) int {
	if p.rate <= 0 || t <= p.now {
		return 0
	}
	return int((p.acc + int64(p.rate)*int64(t-p.now)) / strokeScaled)
}

// strokeAt returns the time of the j-th stroke (from 1) from now on.
func (p *Pump) strokeAt(j int) unit.Time {
	return p.now.Add(unit.Duration((int64(j)*strokeScaled - p.acc + int64(p.rate) - 1) / int64(p.rate)))
}

// periodic returns how many times a timer next due at next with period d fires
// in (now, t].
func periodic(next unit.Time, d unit.Duration, t unit.Time) int64 {
	if next > t {
		return 0
	}
	return int64(t.Sub(next)/d) + 1
}

// batteryTarget is the charge whose crossing checkBattery acts on next: ERI's
// threshold, the end-of-service reserve, or empty.
func (p *Pump) batteryTarget() unit.Charge {
	switch {
	case !p.alarms.Has(ERI):
		return p.eriThreshold
	case p.suspended&susEOS == 0:
		return BatteryReserve
	}
	return 0
}

// chargeAt is the battery at t after everything regular in (now, t]: quiescent
// drain, strokes and tones.
func (p *Pump) chargeAt(t unit.Time) unit.Charge {
	tones := periodic(p.nextTone, NonCriticalTonePeriod, t) + periodic(p.nextCritTone, CriticalTonePeriod, t)
	return p.charge - unit.Charge(QuiescentCurrent)*unit.Charge(t-p.now) -
		unit.Charge(p.strokesIn(t))*StrokeCharge - unit.Charge(tones)*ToneCharge
}

// plan finds how far Coast may go from now: up to until, before every other
// deadline, before the first stroke that would not be a plain one, and before
// the battery reaches its next threshold. With each (stroke by stroke), before
// the next checkpoint and tone too.
func (p *Pump) plan(until unit.Time, each bool) (spanPlan, bool) {
	if p.action != ActNone || p.dirty || p.prime.active || p.suspended&susDead != 0 || p.tAcc != p.now ||
		p.nextBattery == never { // a battery deadline never planned (a reset of a pump never programmed): Tick's
		return spanPlan{}, false
	}
	delivering := p.delivering() && p.rate > 0
	if p.nextCheckpoint <= p.now || p.nextTone <= p.now || p.nextCritTone <= p.now || delivering && p.nextStroke <= p.now {
		return spanPlan{}, false // something is due now: Tick's
	}
	other := min(p.nextFlex, p.nextLevel, p.nextRetry, p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end, p.nextBattery)
	end := min(until, other-1, p.now.Add(maxSpan))
	if each {
		end = min(end, p.nextCheckpoint-1, p.nextTone-1, p.nextCritTone-1)
	}
	if end <= p.now {
		return spanPlan{}, false
	}
	sp := spanPlan{end: end, cut: end < until && end < p.now.Add(maxSpan)}
	if delivering {
		n := p.strokesIn(end)
		k := min(n, p.reservoirAllows(), p.capAllows(n))
		if k < n {
			sp.end, sp.cut = p.strokeAt(k+1)-1, true
		}
		sp.strokes = k
	}
	if p.chargeAt(sp.end) <= p.batteryTarget() {
		// The first instant the battery reaches its threshold: Tick's.
		lo, hi := p.now, sp.end // chargeAt(lo) > target ≥ chargeAt(hi)
		for hi-lo > 1 {
			m := lo + (hi-lo)/2
			if p.chargeAt(m) <= p.batteryTarget() {
				hi = m
			} else {
				lo = m
			}
		}
		sp.end, sp.cut = lo, true
		sp.strokes = min(sp.strokes, p.strokesIn(lo))
	}
	if sp.end <= p.now || sp.strokes == 0 && periodic(p.nextCheckpoint, CheckpointPeriod, sp.end) == 0 &&
		periodic(p.nextTone, NonCriticalTonePeriod, sp.end) == 0 && periodic(p.nextCritTone, CriticalTonePeriod, sp.end) == 0 {
		return spanPlan{}, false // nothing to do before Tick's next thing
	}
	return sp, true
}

// reservoirAllows is how many plain strokes the reservoir estimate allows: the
// next would raise LOW_RESERVOIR (unless raised) or EMPTY_RESERVOIR.
func (p *Pump) reservoirAllows() int {
	floor := EmptyVolume
	if !p.alarms.Has(LowReservoir) {
		floor = max(floor, p.rx.lowReservoir())
	}
	est := p.Reservoir()
	if est <= floor {
		return 0
	}
	return int((int64(est-floor)+int64(StrokeVolume)-1)/int64(StrokeVolume)) - 1
}

// capAllows is how many of the next n strokes the cap window allows before it
// refuses one. Stroke m (from 1) is refused when the window is full and its
// oldest stroke — the stroke cap places back, in the window or in this span —
// lies within 24 h before it. The gap e(m) between the two is, over any
// stretch where the older stroke comes from one run, two ceilings of linear
// functions of m apart, so it is never less than the smaller of its values at
// the ends of the stretch less 1: a stretch whose ends are both at least
// 24 h + 1 ms apart is clear without looking inside, and only the strokes
// within a millisecond or two of the cap are looked at one by one.
func (p *Pump) capAllows(n int) int {
	w := &p.win
	if n == 0 {
		return 0
	}
	if w.cap == 0 {
		return 0
	}
	free := w.cap - w.n // strokes 1..free find room without looking back
	if n <= free {
		return n
	}
	first := n + 1 // the first refused stroke, if any
	// The window's own strokes: stroke m looks back to the window's stroke
	// m - free (from 1, oldest first), for m in [free+1, min(n, cap)].
	m := free + 1
	for i := 0; i < w.len && m <= min(n, w.cap); i++ {
		r := w.run(i)
		lo := 0
		if i == 0 {
			lo = w.skip
		}
		// The run's live strokes lo..r.n-1 are looked back to by m .. m+r.n-1-lo.
		k0 := lo
		last := min(m+(r.n-1-lo), min(n, w.cap))
		// A run's first stroke may carry an accumulator beyond its rate (the rate
		// fell at it); it is not on the run's line: look at it alone.
		if k0 == 0 && r.rate > 0 && r.acc >= int64(r.rate) || r.rate <= 0 {
			if p.strokeAt(m).Sub(r.At(k0)) < unit.Day {
				return m - 1
			}
			m++
			k0++
			if m > last {
				continue
			}
		}
		base := m - k0 // stroke m looks back to stroke m - base of the run
		if f := firstClose(m, last, func(j int) unit.Duration { return p.strokeAt(j).Sub(r.At(j - base)) }); f > 0 {
			return f - 1
		}
		m = last + 1
	}
	// Strokes of the span itself: stroke m looks back to stroke m - cap.
	if n > w.cap {
		c := w.cap
		if f := firstClose(w.cap+1, n, func(j int) unit.Duration { return p.strokeAt(j).Sub(p.strokeAt(j - c)) }); f > 0 {
			first = f
		}
	}
	return first - 1
}

// firstClose returns the first j in [lo, hi] with e(j) < 24 h, or 0, where e
// is never less than min(e(a), e(b)) - 1 for a ≤ j ≤ b (see capAllows).
func firstClose(lo, hi int, e func(int) unit.Duration) int {
	elo := e(lo)
	if elo < unit.Day {
		return lo
	}
	if lo == hi {
		return 0
	}
	ehi := e(hi)
	if min(elo, ehi)-unit.Millisecond >= unit.Day {
		return 0
	}
	if hi == lo+1 {
		if ehi < unit.Day {
			return hi
		}
		return 0
	}
	mid := lo + (hi-lo)/2
	if f := firstClose(lo+1, mid, e); f > 0 {
		return f
	}
	return firstClose(mid+1, hi, e)
}

// span advances over the span plan found: the checkpoints whose records the
// image keeps are written on the way, with the core as it stood at each.
//
// Checkpoint j (from 1) comes at t0 + (j-1) h and goes to slot (s0 + j - 1)
// mod 2 with sequence number base + j. A record is overwritten by the next
// checkpoint but one, and within a span records only shrink (a patient bolus
// leaving the last 24 h takes 4 bytes out), so the image keeps, of each run of
// same-sized records, the last one in each slot: those are written, in order,
// and the others only counted.
func (p *Pump) span(sp *spanPlan, run *StrokeRun) {
	k := periodic(p.nextCheckpoint, CheckpointPeriod, sp.end)
	if k == 0 {
		p.leap(sp.end, run)
		return
	}
	t0 := p.nextCheckpoint
	s0, _ := nextSlot(&p.stSeq)
	base := max(p.stSeq[0], p.stSeq[1])
	slot := func(j int64) int { return int((int64(s0) + j - 1) % 2) }

	// The last checkpoint of each size: k, and the last before each patient
	// bolus leaves the 24 h a record looks back (the record at t holds the
	// boluses less than 24 h before t).
	var keep [2*MaxPatientBolusesPer24h + 2]int64
	nk := 0
	add := func(j int64) {
		if j < 1 || j > k {
			return
		}
		for i := range nk {
			if keep[i] == j {
				return
			}
		}
		keep[nk] = j
		nk++
	}
	ends := func(e int64) { add(e); add(e - 1) }
	ends(k)
	for i := range p.pbN {
		if d := p.pbTimes[(p.pbHead+i)%len(p.pbTimes)].Add(unit.Day).Sub(t0); d > 0 {
			if e := int64((d + CheckpointPeriod - 1) / CheckpointPeriod); e < k {
				ends(e) // checkpoints 1..e still hold that bolus
			}
		}
	}
	for i := 1; i < nk; i++ { // in time order
		for j := i; j > 0 && keep[j] < keep[j-1]; j-- {
			keep[j], keep[j-1] = keep[j-1], keep[j]
		}
	}
	for _, j := range keep[:nk] {
		p.leap(t0.Add(unit.Duration(j-1)*CheckpointPeriod), run)
		if j > 1 { // the slots as checkpoint j finds them
			p.stSeq[1-slot(j)] = base + uint32(j) - 1
			p.stSeq[slot(j)] = base + uint32(j) - 2
		}
		p.checkpoint()
	}
	p.leap(sp.end, run)
	p.stSeq[slot(k)] = base + uint32(k)
	if k > 1 {
		p.stSeq[1-slot(k)] = base + uint32(k) - 1
	}
	p.nextCheckpoint = t0.Add(unit.Duration(k) * CheckpointPeriod)
	p.dirty = false
}

// leap advances the core to t (now ≤ t ≤ a span's end) with everything
// regular in (now, t] done: the strokes (added to run), the tones, quiescent
// drain; not the checkpoints (span writes those).
func (p *Pump) leap(t unit.Time, run *StrokeRun) {
	if t <= p.now {
		return
	}
	dt := int64(t - p.now)
	n := p.strokesIn(t)
	crit := periodic(p.nextCritTone, CriticalTonePeriod, t)
	non := periodic(p.nextTone, NonCriticalTonePeriod, t)
	p.charge -= unit.Charge(QuiescentCurrent)*unit.Charge(dt) + unit.Charge(n)*StrokeCharge + unit.Charge(crit+non)*ToneCharge
	p.tBat = t
	if crit > 0 {
		p.tonesCritical += crit
		p.nextCritTone = p.nextCritTone.Add(unit.Duration(crit) * CriticalTonePeriod)
	}
	if non > 0 {
		p.tonesNonCrit += non
		p.nextTone = p.nextTone.Add(unit.Duration(non) * NonCriticalTonePeriod)
	}
	if n > 0 {
		r := StrokeRun{first: p.strokeAt(1), rate: p.rate, n: n}
		r.acc = p.acc + int64(p.rate)*int64(r.first-p.now) - strokeScaled
		p.win.push(r)
		p.pushHours(r, p.runEpoch, true)
		if run.n == 0 {
			*run = r
		} else {
			run.n += n
		}
		v := unit.Volume(n) * StrokeVolume
		p.delivered += v
		p.sinceFill += v
		p.stallCount = 0
		if p.cfg.PressureSensor {
			p.highCount, p.lowCount = 0, 0
		}
	}
	if p.rate > 0 {
		p.acc += int64(p.rate)*dt - int64(n)*strokeScaled
		p.accrueSources(dt)
	}
	p.tAcc, p.now = t, t
	if p.rate > 0 {
		p.planStroke()
	}
	// checkBattery's plan, which every stroke and tone of the span left
	// (the charge above its target all along).
	q := unit.Charge(QuiescentCurrent)
	p.nextBattery = t.Add(unit.Duration((p.charge - p.batteryTarget() + q - 1) / q))
}
