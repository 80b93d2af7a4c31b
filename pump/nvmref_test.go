package pump

import (
	"encoding/binary"

	"github.com/thecal/thecal/unit"
)

// appendStateReference is appendState as it was before it was written for
// speed (appends field by field, a division per hour bucket): the state record
// appendState writes must stay byte for byte this one.
func (p *Pump) appendStateReference(b []byte) []byte {
	le := binary.LittleEndian
	flags := p.stateFlags()
	b = le.AppendUint64(b, uint64(p.now))
	b = le.AppendUint64(b, uint64(p.delivered))
	b = le.AppendUint64(b, uint64(p.lastFill))
	b = le.AppendUint64(b, uint64(p.sinceFill))
	b = le.AppendUint64(b, uint64(p.charge))
	b = le.AppendUint16(b, uint16(p.alarms))
	b = append(b, p.suspended, flags)
	b = le.AppendUint64(b, uint64(p.utcOffset))
	b = le.AppendUint64(b, uint64(p.maxRateNow()))
	b = le.AppendUint64(b, uint64(p.bridge.target))
	b = le.AppendUint64(b, uint64(p.bridge.accrued))
	b = le.AppendUint64(b, uint64(p.tonesCritical))
	b = le.AppendUint64(b, uint64(p.tonesNonCrit))
	b = le.AppendUint64(b, uint64(p.fillConc))
	b = append(b, byte(len(p.fillDrug)))
	b = append(b, p.fillDrug...)
	// Patient boluses of the last 24 h (older ones bear on neither lockout nor
	// count), as milliseconds before now.
	n := 0
	for i := range p.pbN {
		if p.now.Sub(p.pbTimes[(p.pbHead+i)%len(p.pbTimes)]) < unit.Day {
			n++
		}
	}
	b = append(b, byte(n))
	for i := p.pbN - n; i < p.pbN; i++ {
		b = le.AppendUint32(b, uint32(p.now.Sub(p.pbTimes[(p.pbHead+i)%len(p.pbTimes)])))
	}
	hours := eagerHours(p)
	h := int64(p.now) / int64(unit.Hour)
	for k := h - hourBuckets + 1; k <= h; k++ {
		var hb hourBucket
		if i := floorMod(k, hourBuckets); hours[i].hour == k {
			hb = hours[i]
		}
		b = le.AppendUint32(b, hb.n)
		b = le.AppendUint32(b, uint32(hb.first-unit.Time(k*int64(unit.Hour))))
		b = le.AppendUint64(b, uint64(hb.acc))
		b = le.AppendUint32(b, uint32(hb.rate))
	}
	// The accumulator's course from now: until the rate next changes on its own,
	// the strokes after this checkpoint follow from acc and rate alone (a change
	// by command writes a new checkpoint).
	stable := min(p.nextFlex, p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end)
	b = le.AppendUint64(b, uint64(p.acc))
	b = le.AppendUint32(b, uint32(p.rate))
	b = le.AppendUint64(b, uint64(stable))
	return b
}

// eagerHours counts the strokes still kept as runs into the hour buckets one
// by one, as the core did before it kept them lazily (the reference foldHours
// is held to).
func eagerHours(p *Pump) [hourBuckets]hourBucket {
	hours, idx, end := p.hours, p.hourIdx, p.hourEnd
	for _, hr := range p.hourRuns[:p.nHourRuns] {
		for j := range hr.r.n {
			t := hr.r.At(j)
			if t >= end {
				h := int64(t) / int64(unit.Hour)
				idx = int(floorMod(h, hourBuckets))
				end = unit.Time((h + 1) * int64(unit.Hour))
				if hours[idx].hour != h {
					hours[idx] = hourBucket{hour: h}
				}
			}
			b := &hours[idx]
			switch {
			case b.n == 0:
				b.first, b.acc, b.rate, b.epoch = t, hr.r.accAfter(j), hr.r.rate, hr.epoch
			case b.epoch != hr.epoch || b.rate != hr.r.rate:
				b.rate = 0
			}
			if !hr.run {
				b.rate = 0
			}
			b.n++
		}
	}
	return hours
}
