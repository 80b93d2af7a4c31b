package pump

import (
	"math"

	"github.com/thecal/thecal/unit"
)

// Coast is the batched fast path of the stroke loop: it delivers, in one call,
// the strokes that the driver would otherwise get one by one from Tick and
// report back with StrokeDone, and returns how many it delivered.
//
// The driver calls it only when it can promise nominal hardware for every stroke
// up to until: each stroke completes, and the outlet pressure (when the sensor
// is fitted) is within the normal band, at or above LeakFloor and at or below
// OcclusionPressure. With that promise each stroke's effects are exactly those
// of Tick and StrokeDone{Completed: true, Pressure: normal}: the accumulator,
// the cap window and its hour buckets (run epochs included), the delivered
// volume and reservoir estimate, the battery debit and the battery deadline,
// the stall, occlusion and leak counters. A coasted stroke logs nothing.
//
// Coast delivers the strokes due at or before until and strictly before every
// other thing the core has scheduled (a bolus, priming or bridge end, a flex
// step, a tone, the hourly checkpoint (but see a nil each below), a level
// reading, a stall retry, the battery deadline). It stops before a stroke that would do more than a plain stroke
// (raise an alarm at a reservoir or battery threshold, or be refused by the cap
// window) and delivers nothing while an action is outstanding, delivery is held
// or priming runs. The driver then carries on with Tick as usual, which handles
// whatever stopped the batch. Coast and Tick may be mixed freely: a run that
// coasts wherever it may leaves the core, its log and its image byte for byte
// as the stroke-by-stroke run does (TestCoastEquivalence).
//
// each, if not nil, is called after each stroke with its time, the core then in
// exactly the state StrokeDone would have left; it may read the core but must
// not call Tick, StrokeDone, LevelRead or any command. The driver drives its
// motor and reads its sensors for the stroke there.
//
// With a nil each, Coast goes on through the hourly checkpoints it meets, as
// Tick would take them (nothing else due at the checkpoint's instant but
// perhaps a stroke, which comes first), and carries on coasting after each; the
// driver applies Writes after Coast as after Tick. As no one can look at the
// core during such a call, a checkpoint's record is written only if no later
// checkpoint of the same call overwrites it (see checkpointAlone): the image
// Coast leaves is the stroke-by-stroke run's, byte for byte, and a call that
// spans months encodes two records, not one an hour. With an each, Coast stops
// before a checkpoint, so that each sees every record written as in a
// stroke-by-stroke run.
//
// Coast allocates nothing and costs a few nanoseconds a stroke: the interval
// to the next stroke is qi or qi+1 ms (qi = one stroke ÷ rate, once a batch),
// chosen by an add, a compare and a mask; the reservoir, battery and cap window
// bounds are worked out once a batch.
func (p *Pump) Coast(until unit.Time, each func(t unit.Time)) int {
	n := 0
	if each != nil {
		return p.coast(until, math.MaxInt, p.nextCheckpoint, each)
	}
	for {
		n += p.coast(until, math.MaxInt, p.nextCheckpoint, nil)
		k, ok := p.checkpointAlone(until)
		n += k
		if !ok {
			break
		}
	}
	p.writeDeferred(0)
	p.writeDeferred(1)
	return n
}

// checkpointAlone takes the hourly checkpoint, as Tick would, when it is due at
// or before until and nothing else is due until after it but, perhaps, a stroke
// at its very instant: Tick would advance to it, mark the state dirty, deliver
// that stroke (StrokeDone then flushes the checkpoint) or else flush it, and do
// nothing more. It reports whether it took the checkpoint, and the stroke it
// delivered (0 or 1).
//
// The record itself is deferred: two hours on, the next checkpoint but one
// goes to the same slot and overwrites it, and within one call of Coast no one
// can look in between. So the slot, its sequence number and the write are
// taken now, with what the record needs of now (its head and tail, and the
// three hour buckets the strokes of the next two hours may change), and the
// record is encoded only if Coast returns before it is overwritten (or a
// shorter record would leave some of its bytes in place).
func (p *Pump) checkpointAlone(until unit.Time) (strokes int, ok bool) {
	t := p.nextCheckpoint
	if t > until || t <= p.now || p.action != ActNone || p.dirty {
		return 0, false
	}
	others := min(p.nextFlex, p.nextBattery, p.nextCritTone, p.nextTone, p.nextLevel, p.nextRetry,
		p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end)
	if t >= others || p.nextStroke < t {
		return 0, false
	}
	if p.nextStroke == t {
		if strokes = p.coast(t, 1, never, nil); strokes != 1 {
			return 0, false
		}
	}
	p.advance(t)
	// checkpoint(), the record deferred.
	p.dirty = false
	if p.suspended&susDead == 0 {
		p.nextCheckpoint = p.now.Add(CheckpointPeriod)
	}
	i, seq := nextSlot(&p.stSeq)
	size := slotHead + p.stateLen() + 4
	d := &p.deferred[i]
	if d.valid && d.size > size {
		p.writeDeferred(i)
	}
	d.valid, d.seq, d.size = true, seq, size
	d.headN = len(p.appendStateHead(d.head[:0]))
	p.appendStateTail(d.tail[:0])
	d.hour = int64(p.now) / int64(unit.Hour)
	for j, i := 0, int(floorMod(d.hour, hourBuckets)); j < len(d.saved); j++ {
		d.saved[j] = p.hours[i]
		if i++; i == hourBuckets {
			i = 0
		}
	}
	p.stSeq[i] = seq
	p.addWrite(stBase+i*stSlot, size)
	return strokes, true
}

// deferredState is a state record Coast has taken but not yet written.
type deferredState struct {
	valid bool
	seq   uint32
	size  int             // in its slot, CRC included
	head  [stHeadMax]byte // appendStateHead then
	headN int
	tail  [stTail]byte  // appendStateTail then
	hour  int64         // the clock hour then
	saved [3]hourBucket // the buckets of that hour and the next two, then
}

// writeDeferred writes the deferred state record of slot i, if any, as
// checkpoint would have written it. The cap window's buckets are as they were
// then but for the hour of the record and the two after it: Coast's strokes
// since (less than two hours of them) changed no others.
func (p *Pump) writeDeferred(i int) {
	d := &p.deferred[i]
	if !d.valid {
		return
	}
	d.valid = false
	hours := p.hours
	for j, i := 0, int(floorMod(d.hour, hourBuckets)); j < len(d.saved); j++ {
		hours[i] = d.saved[j]
		if i++; i == hourBuckets {
			i = 0
		}
	}
	p.fillSlot(stBase+i*stSlot, stSlot, magicSt, d.seq, func(b []byte) []byte {
		b = append(b, d.head[:d.headN]...)
		b = appendHours(b, &hours, d.hour)
		return append(b, d.tail[:]...)
	})
}

// coast delivers up to most strokes as Coast does, before the checkpoint due
// at ckpt.
func (p *Pump) coast(until unit.Time, most int, ckpt unit.Time, each func(unit.Time)) int {
	// Priming (a few minutes at most) and a cap of no strokes are left to Tick.
	if p.action != ActNone || p.dirty || !p.delivering() || p.rate <= 0 || p.prime.active || p.winCap == 0 ||
		p.nextBattery == never {
		return 0
	}
	next := p.nextStroke
	// The last instant a stroke may come: before any other deadline (the
	// battery's moves with each stroke, see below).
	last := min(p.nextFlex, ckpt, p.nextCritTone, p.nextTone, p.nextLevel, p.nextRetry,
		p.cbolus.end, p.pbolus.end, p.bridge.end) - 1
	last = min(last, until)
	if next > last || next < p.now {
		return 0
	}
	rate := int64(p.rate)
	qi := strokeScaled / rate // every interval is qi or qi+1 ms (see below)
	rq := rate * qi
	// The accumulator at the first stroke. The stroke leaves it in [0, rate),
	// and from there the next is qi or qi+1 ms on, where it is in
	// [S, S+rate) again, and so on. (The first holds a stroke and no more than
	// that unless the rate has just fallen; Tick takes those.)
	acc := p.acc + rate*int64(next-p.tAcc)
	if acc < strokeScaled || acc >= strokeScaled+rate {
		return 0
	}

	// Reservoir: strokes that leave the estimate above every threshold that
	// would raise an alarm.
	floor := EmptyVolume
	if !p.alarms.Has(LowReservoir) {
		floor = max(floor, p.rx.lowReservoir())
	}
	est := p.Reservoir()
	if est <= floor {
		return 0
	}
	left := min(most, int((int64(est-floor)+int64(StrokeVolume)-1)/int64(StrokeVolume))-1)

	// Battery. The k-th stroke of the batch, at t, leaves the charge at
	// charge − q(t−tBat) − k×StrokeCharge, which must stay above thr (else
	// checkBattery raises ERI or EOS): t + k×shift < tBat + ceil((charge−thr)/q).
	// And as debitStroke moves the battery deadline on by shift a stroke, the
	// k-th must come before it: t + k×shift < nextBattery + shift. With
	// intervals of at most qi+1 ms, the first kb strokes meet both bounds.
	c0 := coastBase{charge: p.charge, tBat: p.tBat, nb: p.nextBattery, thr: p.eriThreshold}
	if p.alarms.Has(ERI) {
		c0.thr = BatteryReserve
	}
	if c0.charge <= c0.thr {
		return 0 // checkBattery has a threshold to raise: Tick's
	}
	bound := min(c0.tBat.Add(unit.Duration((c0.charge-c0.thr+coastQ-1)/coastQ)), c0.nb+coastShift)
	switch d, per := int64(bound-next)+qi, qi+1+int64(coastShift); {
	case d < 0:
		return 0
	case d < int64(left)*per: // the battery bounds the batch: kb = d/per strokes (rarely: no division otherwise)
		left = int(d / per)
	}
	n0 := left

	var (
		t         unit.Time // the last stroke
		lim       = next    // the next stroke at or after lim is the first of its hour (or past last)
		win       = p.win[:p.winCap]
		winN, pos = p.winN, p.winHead + p.winN // pos: where the next stroke goes in the ring
		b         *hourBucket                  // the hour bucket the batch counts into
		hourLeft  int                          // left when b's first stroke of the batch came
		done      int                          // strokes folded into p (with each, after each stroke)
	)
	if pos >= len(win) {
		pos -= len(win)
	}
	for left > 0 {
		slow := next >= lim
		if slow && next > last {
			break
		}
		// winAllows, then ringPush.
		if winN == len(win) {
			if win[pos] > next.Add(-unit.Day) {
				break // the executor refuses it: Tick logs the cap fault
			}
		} else {
			winN++
		}
		win[pos] = next
		if pos++; pos == len(win) {
			pos = 0
		}
		// The stroke is delivered: StrokeDone's effects follow.
		t = next
		left--
		acc -= strokeScaled
		if slow { // bucketPush(t, true): the batch's first stroke, or its hour's
			if b != nil {
				b.n += uint32(hourLeft - left - 1)
			}
			if t >= p.hourEnd {
				p.enterHour(t)
			}
			b, hourLeft = &p.hours[p.hourIdx], left+1
			switch {
			case b.n == 0:
				b.first, b.acc, b.rate, b.epoch = t, acc, p.rate, p.runEpoch
			case b.epoch != p.runEpoch || b.rate != p.rate:
				b.rate = 0
			}
			lim = min(last+1, p.hourEnd) // later strokes of the batch in this hour change nothing else
		}
		// planStroke: ceil((S−acc)/rate) is qi+1 if acc+rate×qi < S, else qi.
		// Which of the two follows the rate's fractional part, so no branch:
		// m is -1 for qi+1, 0 for qi.
		acc += rq
		m := (acc - strokeScaled) >> 63
		acc += rate & m
		next = t.Add(unit.Duration(qi - m))
		if each != nil {
			b.n += uint32(hourLeft - left)
			hourLeft = left
			p.coasted(&c0, n0-left, n0-left-done, t, acc-rate*int64(next-t), next, winN, pos)
			done = n0 - left
			each(t)
		}
	}
	n := n0 - left
	if n == done {
		return n
	}
	b.n += uint32(hourLeft - left)
	p.coasted(&c0, n, n-done, t, acc-rate*int64(next-t), next, winN, pos)
	return n
}

const (
	coastQ     = unit.Charge(QuiescentCurrent)
	coastShift = unit.Time(StrokeCharge / coastQ) // see debitStroke
)

// coastBase is the battery as a batch of Coast found it.
type coastBase struct {
	charge unit.Charge
	tBat   unit.Time
	nb     unit.Time   // the battery deadline
	thr    unit.Charge // the threshold the deadline aims at: ERI's, or the reserve after ERI
}

// coasted folds n strokes of a batch of Coast, the last at t, into the core:
// the state Tick and StrokeDone would have left after it. pos is where the
// cap window's ring takes its next stroke.
func (p *Pump) coasted(c0 *coastBase, n, k int, t unit.Time, acc int64, next unit.Time, winN, pos int) {
	if dt := int64(t - p.tAcc); dt > 0 { // advance
		p.accrueSources(dt)
	}
	p.acc, p.tAcc, p.now = acc, t, t
	// The battery after n strokes: quiescent drain to t and n stroke charges.
	// debitStroke moved the deadline on by shift a stroke while the charge
	// stayed above the ERI threshold; once at or below it (after ERI: the
	// charge only falls, so from some stroke on) checkBattery planned it
	// afresh, and the last stroke's plan stands.
	c := c0.charge - coastQ*unit.Charge(t-c0.tBat) - unit.Charge(n)*StrokeCharge
	if c > p.eriThreshold {
		p.nextBattery = c0.nb - unit.Time(n)*coastShift
	} else {
		p.nextBattery = t.Add(unit.Duration((c - c0.thr + coastQ - 1) / coastQ))
	}
	p.charge, p.tBat = c, t
	v := unit.Volume(k) * StrokeVolume
	p.delivered += v
	p.sinceFill += v
	// The ring's head moves only once it is full, and then stands where the
	// next stroke goes.
	if winN == p.winCap {
		p.winHead = pos
	}
	p.winN = winN
	p.stallCount = 0
	if p.cfg.PressureSensor { // pressure(normal)
		p.highCount, p.lowCount = 0, 0
	}
	p.nextStroke = next
}
