package pump

import (
	"encoding/binary"
	"hash/crc32"
	"math"
	"slices"

	"github.com/thecal/thecal/unit"
)

// Persistent memory image. Two slots hold the prescription and two the
// checkpointed state; each slot is
//
//	magic u16 | seq u32 | length u16 | payload | CRC-32C u32 (of all before it)
//
// A write always goes to the older slot, so a power loss at any byte of a write
// leaves the newer slot intact: the pump restarts with the old or the new record,
// never a mix.
const (
	ImageSize = 4096
	rxSlot    = 512  // bytes per prescription slot
	stSlot    = 1024 // bytes per state slot
	rxBase    = 0
	stBase    = 2 * rxSlot
	slotHead  = 8
	magicRx   = 0x5852 // "RX"
	magicSt   = 0x5453 // "ST"
)

// Write is a span of the image that the driver must copy to persistent memory
// before the next Tick or command.
type Write struct {
	Off, Len int
}

// Image returns the core's copy of the persistent-memory image, every record
// written so far encoded in it.
func (p *Pump) Image() *[ImageSize]byte {
	p.encodeState(0)
	p.encodeState(1)
	return &p.image
}

// Writes returns the spans of the image written since the last WritesDone
// (read them through Image).
func (p *Pump) Writes() []Write { return p.writes[:p.nWrites] }

// WritesDone tells the core the driver has persisted every pending write.
func (p *Pump) WritesDone() { p.nWrites = 0 }

func (p *Pump) addWrite(off, n int) {
	for i := range p.nWrites {
		if p.writes[i].Off == off {
			p.writes[i].Len = max(p.writes[i].Len, n)
			return
		}
	}
	if p.nWrites == len(p.writes) {
		p.writes[0], p.nWrites = Write{0, ImageSize}, 1
		return
	}
	p.writes[p.nWrites] = Write{off, n}
	p.nWrites++
}

// writeSlot encodes a record into the older of the two slots at base.
func (p *Pump) writeSlot(base, size int, seqs *[2]uint32, magic uint16, fill func([]byte) []byte) {
	i, seq := nextSlot(seqs)
	off := base + i*size
	n := p.fillSlot(off, size, magic, seq, fill)
	seqs[i] = seq
	p.addWrite(off, n)
}

// nextSlot returns the older of two slots and the sequence number of the record
// written to it next.
func nextSlot(seqs *[2]uint32) (i int, seq uint32) {
	if seqs[1] < seqs[0] {
		i = 1
	}
	return i, max(seqs[0], seqs[1]) + 1
}

// fillSlot encodes a record numbered seq into the slot at off and returns its
// length, CRC included.
func (p *Pump) fillSlot(off, size int, magic uint16, seq uint32, fill func([]byte) []byte) int {
	slot := p.image[off : off+size]
	payload := fill(slot[slotHead : slotHead : size-4])
	n := slotHead + len(payload)
	binary.LittleEndian.PutUint16(slot[0:], magic)
	binary.LittleEndian.PutUint32(slot[2:], seq)
	binary.LittleEndian.PutUint16(slot[6:], uint16(len(payload)))
	binary.LittleEndian.PutUint32(slot[n:], crc32.Checksum(slot[:n], castagnoli))
	return n + 4
}

// readSlot returns the payload and sequence number of the newest valid slot at base.
func readSlot(img []byte, base, size int, magic uint16) (payload []byte, seq uint32, other []byte, ok bool) {
	var best, second []byte
	var bestSeq uint32
	for i := range 2 {
		slot := img[base+i*size : base+(i+1)*size]
		if binary.LittleEndian.Uint16(slot) != magic {
			continue
		}
		n := slotHead + int(binary.LittleEndian.Uint16(slot[6:]))
		if n+4 > size || crc32.Checksum(slot[:n], castagnoli) != binary.LittleEndian.Uint32(slot[n:]) {
			continue
		}
		s := binary.LittleEndian.Uint32(slot[2:])
		if best == nil || s > bestSeq {
			second = best
			best, bestSeq = slot[slotHead:n], s
		} else {
			second = slot[slotHead:n]
		}
	}
	return best, bestSeq, second, best != nil
}

func (p *Pump) writeRx() {
	p.writeSlot(rxBase, rxSlot, &p.rxSeq, magicRx, func(b []byte) []byte { return appendRx(b, &p.rx) })
}

// state flags
const (
	flRunning = 1 << iota
	flHasRx
	flBridge
	flBolus // a bolus or priming was running
)

// checkpoint writes the state record: the delivered count, reservoir, battery,
// alarms, patient bolus history and the cap window in hourly buckets. The core
// writes one at least every hour and after every change of state.
//
// The record goes to the older slot; what it will hold is taken now, but its
// bytes are encoded only when the image is read (Image), or when the next
// record but one comes to the same slot while this one is longer (its tail
// would stay): a driver that reads the image only when it needs it (a
// simulation, between power losses) pays for the records it keeps, not for
// the ones that are overwritten unread. The image it reads is byte for byte
// the one of eager encoding (TestCoastEquivalence).
func (p *Pump) checkpoint() {
	p.dirty = false
	if p.suspended&susDead == 0 {
		p.nextCheckpoint = p.now.Add(CheckpointPeriod)
	}
	var head stateHead
	p.stateHead(&head)
	i, seq := nextSlot(&p.stSeq)
	size := slotHead + head.len() + stHours + stTail + 4
	// The records still to encode in the slot, oldest (and longest) first: the
	// new one covers those no longer than itself; the tails of longer ones
	// stay, and are encoded in order under it when the image is read.
	n := p.nPending[i]
	for n > 0 && p.pending[i][n-1].size <= size {
		n--
	}
	if n == pendingDepth {
		p.encodeOldest(i)
		n--
	}
	p.nPending[i] = n + 1
	r := &p.pending[i][n]
	r.seq, r.size = seq, size
	r.head = head
	r.ver, r.nRuns, r.lastN = p.hoursVer, p.nHourRuns, 0
	if p.nHourRuns > 0 {
		r.lastN = p.hourRuns[p.nHourRuns-1].r.n
	}
	r.hour = int64(p.now) / int64(unit.Hour)
	p.appendStateTail(r.tail[:0])
	p.stSeq[i] = seq
	p.addWrite(stBase+i*stSlot, size)
}

// pendingDepth bounds the records kept unencoded in a slot: each longer than
// the next (a patient bolus left the last 24 h between them).
const pendingDepth = 5

// pendingState is a state record taken at a checkpoint, not yet encoded.
// Its hour buckets are the pump's buckets and the first nRuns runs still to
// count in them (the last cut to lastN strokes); before those change, the
// record is encoded (materializeHours), so they stand as long as it waits.
type pendingState struct {
	seq   uint32
	size  int // in its slot, CRC included
	head  stateHead
	ver   uint32
	nRuns int
	lastN int
	hour  int64 // the clock hour of the checkpoint
	tail  [stTail]byte
}

// encodeState encodes slot i's pending records, oldest first, into the image.
func (p *Pump) encodeState(i int) {
	for k := range p.nPending[i] {
		p.encodeRecord(i, &p.pending[i][k])
	}
	p.nPending[i] = 0
}

// encodeOldest encodes slot i's oldest pending record and forgets it.
func (p *Pump) encodeOldest(i int) {
	p.encodeRecord(i, &p.pending[i][0])
	n := p.nPending[i]
	copy(p.pending[i][:n-1], p.pending[i][1:n])
	p.nPending[i] = n - 1
}

func (p *Pump) encodeRecord(i int, r *pendingState) {
	if r.ver != p.hoursVer {
		panic("pump: a state record outlived its hour buckets") // materializeHours forgotten
	}
	var hours [hourBuckets]hourBucket
	foldHours(&p.hours, p.hourIdx, p.hourEnd, p.hourRuns[:r.nRuns], r.lastN, &hours)
	p.fillSlot(stBase+i*stSlot, stSlot, magicSt, r.seq, func(b []byte) []byte {
		b = r.head.append(b)
		b = appendHours(b, &hours, r.hour)
		return append(b, r.tail[:]...)
	})
}

// maxRateNow is the highest rate the program can run until the next checkpoint,
// boluses included: what a reset assumes for the time it cannot account for.
func (p *Pump) maxRateNow() unit.Rate {
	r := unit.Rate(0)
	if p.delivering() {
		r = p.schedRx.maxBasalRate() + p.cbolus.rate + max(p.pbolus.rate, unit.RateOf(p.rx.PatientBolus.Volume, p.rx.PatientBolus.Duration))
		if p.prime.active {
			r = MaxRate
		}
	}
	if p.suspended&susStall != 0 {
		r = max(r, unit.RateOf(StrokeVolume, StallRetryPeriod))
	}
	return min(r, MaxRate)
}

// The state record's layout: a head (fixed fields, the drug name, the patient
// boluses of the last 24 h), the hour buckets of the cap window, a tail (the
// accumulator).
const (
	stFixed    = 101 // now … fill concentration, then the drug name's length
	hourRecord = 20  // one hour bucket: n u32 | first u32 | acc u64 | rate u32
	stHours    = hourBuckets * hourRecord
	stTail     = 20 // acc u64 | rate u32 | stable u64
)

// appendState appends the state record (the layout decodeState reads). It is
// written in place at fixed offsets: it runs every hour of a pump's life.
func (p *Pump) appendState(b []byte) []byte {
	b = p.appendStateHead(b)
	var hours [hourBuckets]hourBucket
	p.currentHours(&hours)
	b = appendHours(b, &hours, int64(p.now)/int64(unit.Hour))
	return p.appendStateTail(b)
}

// stateFlags returns the state record's flags.
func (p *Pump) stateFlags() byte {
	flags := byte(0)
	for _, f := range [...]struct {
		on  bool
		bit byte
	}{{p.running, flRunning}, {p.hasRx, flHasRx}, {p.bridge.active, flBridge},
		{p.cbolus.active || p.pbolus.active || p.prime.active, flBolus}} {
		if f.on {
			flags |= f.bit
		}
	}
	return flags
}

func (p *Pump) appendStateHead(b []byte) []byte {
	var h stateHead
	p.stateHead(&h)
	return h.append(b)
}

// stateHead is the state record's head as values: a checkpoint takes them,
// and encodes them only if its record is ever read (pendingState).
type stateHead struct {
	now                         unit.Time
	delivered, lastFill, since  unit.Volume
	charge                      unit.Charge
	alarms                      Alarms
	suspended, flags            uint8
	utcOffset                   unit.Duration
	maxRate                     unit.Rate
	bridgeTarget, bridgeAccrued int64
	tonesCrit, tonesNon         int64
	fillConc                    unit.Concentration
	fillDrug                    [MaxDrugName]byte // no pointer: records wait in the core's pointer-free tail
	drugLen                     int
	npb                         int
	pb                          [MaxPatientBolusesPer24h]uint32 // ms before now, oldest first
}

// stateHead takes the head's values now.
func (p *Pump) stateHead(h *stateHead) {
	flags := p.stateFlags()
	h.now, h.delivered, h.lastFill, h.since, h.charge = p.now, p.delivered, p.lastFill, p.sinceFill, p.charge
	h.alarms, h.suspended, h.flags, h.utcOffset, h.maxRate = p.alarms, p.suspended, flags, p.utcOffset, p.maxRateNow()
	h.bridgeTarget, h.bridgeAccrued, h.tonesCrit, h.tonesNon = p.bridge.target, p.bridge.accrued, p.tonesCritical, p.tonesNonCrit
	h.fillConc = p.fillConc
	h.drugLen = copy(h.fillDrug[:], p.fillDrug)
	// The patient boluses of the last 24 h (older ones bear on neither
	// lockout nor count), as milliseconds before now.
	h.npb = 0
	for i := range p.pbN {
		if d := p.now.Sub(p.pbTimes[(p.pbHead+i)%len(p.pbTimes)]); d < unit.Day {
			h.pb[h.npb] = uint32(d)
			h.npb++
		}
	}
}

// len is the length of the head's encoding.
func (h *stateHead) len() int { return stFixed + h.drugLen + 1 + 4*h.npb }

// append appends the head's encoding.
func (h *stateHead) append(b []byte) []byte {
	le := binary.LittleEndian
	n0 := len(b)
	b = slices.Grow(b, h.len())[:n0+h.len()]
	out := b[n0:]
	le.PutUint64(out[0:], uint64(h.now))
	le.PutUint64(out[8:], uint64(h.delivered))
	le.PutUint64(out[16:], uint64(h.lastFill))
	le.PutUint64(out[24:], uint64(h.since))
	le.PutUint64(out[32:], uint64(h.charge))
	le.PutUint16(out[40:], uint16(h.alarms))
	out[42], out[43] = h.suspended, h.flags
	le.PutUint64(out[44:], uint64(h.utcOffset))
	le.PutUint64(out[52:], uint64(h.maxRate))
	le.PutUint64(out[60:], uint64(h.bridgeTarget))
	le.PutUint64(out[68:], uint64(h.bridgeAccrued))
	le.PutUint64(out[76:], uint64(h.tonesCrit))
	le.PutUint64(out[84:], uint64(h.tonesNon))
	le.PutUint64(out[92:], uint64(h.fillConc))
	out[100] = byte(h.drugLen)
	copy(out[stFixed:], h.fillDrug[:h.drugLen])
	out = out[stFixed+h.drugLen:]
	out[0] = byte(h.npb)
	out = out[1:]
	for _, d := range h.pb[:h.npb] {
		le.PutUint32(out, d)
		out = out[4:]
	}
	return b
}

// appendHours appends the hour buckets of the cap window ending with clock
// hour h, oldest first; an hour with no bucket is a zero bucket (its first
// stroke at 0, i.e. -k h into hour k).
func appendHours(b []byte, hours *[hourBuckets]hourBucket, h int64) []byte {
	le := binary.LittleEndian
	n0 := len(b)
	b = slices.Grow(b, stHours)[:n0+stHours]
	out := b[n0:]
	k := h - hourBuckets + 1
	hourStart := uint32(k * int64(unit.Hour)) // first is written less its hour's start, mod 2^32
	var none hourBucket
	for i, j := int(floorMod(k, hourBuckets)), 0; j < hourBuckets; j++ {
		hb := &hours[i]
		if hb.hour != k {
			hb = &none
		}
		r := out[j*hourRecord : j*hourRecord+hourRecord]
		le.PutUint32(r, hb.n)
		le.PutUint32(r[4:], uint32(hb.first)-hourStart)
		le.PutUint64(r[8:], uint64(hb.acc))
		le.PutUint32(r[16:], uint32(hb.rate))
		k++
		hourStart += uint32(unit.Hour)
		if i++; i == hourBuckets {
			i = 0
		}
	}
	return b
}

// appendStateTail appends the accumulator's course from now: until the rate
// next changes on its own, the strokes after this checkpoint follow from acc and
// rate alone (a change by command writes a new checkpoint).
func (p *Pump) appendStateTail(b []byte) []byte {
	le := binary.LittleEndian
	stable := min(p.nextFlex, p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end)
	b = le.AppendUint64(b, uint64(p.acc))
	b = le.AppendUint32(b, uint32(p.rate))
	return le.AppendUint64(b, uint64(stable))
}

// Restore starts the core after a reset (power-on after a brown-out) from a
// persistent-memory image, at time now. The newest valid prescription slot wins;
// the time since the last checkpoint is counted as delivered at the highest rate
// the program had, so the reservoir estimate errs low. With no valid prescription
// (or no valid state for one) the pump raises MEMORY_ERROR and stays stopped.
func Restore(cfg Config, image []byte, log *Log, now unit.Time) (*Pump, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := newCore(cfg, now, log)
	copy(p.image[:], image)
	rxb, rxSeq, oldb, rxOK := readSlot(p.image[:], rxBase, rxSlot, magicRx)
	stb, stSeq, _, stOK := readSlot(p.image[:], stBase, stSlot, magicSt)
	p.rxSeq, p.stSeq = [2]uint32{rxSeq, 0}, [2]uint32{stSeq, 0}
	p.recountSeqs()
	var rx Prescription
	if rxOK {
		var ok bool
		if rx, ok = decodeRx(rxb); !ok || rx.Validate(cfg.Model) != nil {
			rxOK = false
		}
	}
	st, stDecoded := decodeState(stb)
	stOK = stOK && stDecoded
	switch {
	case stOK && st.flags&flHasRx == 0 && !rxOK:
		// A pump never programmed: factory state, nothing lost.
		p.restoreState(&st, now)
		p.logEv(EvReset, AlarmNone, ReasonNone, 0, int64(now-st.at))
		p.checkpoint()
		return p, nil
	case !rxOK || !stOK:
		p.logEv(EvReset, AlarmNone, ReasonNone, 0, 0)
		p.suspended |= susMemory
		p.running = false
		p.raise(MemoryError)
		p.replan()
		return p, nil
	}
	p.rx, p.hasRx, p.rxHash = rx, true, HashOf(&rx)
	p.restoreState(&st, now)
	basal := rx
	if st.flags&flBridge != 0 {
		if old, ok := decodeRx(oldb); ok && old.Validate(cfg.Model) == nil {
			basal = old
			p.bridge = source{active: true, target: st.bridgeTarget, accrued: st.bridgeAccrued, start: now}
		}
	}
	p.schedRx = basal
	p.resetWindow()
	p.setBasal(&basal)
	p.eriThreshold = BatteryReserve + eriNeed(&rx)

	// Conservative accounting of the time since the checkpoint.
	gap := max(now.Sub(st.at), 0) // a clock behind the checkpoint assumes no time passed
	strokes := (int64(st.maxRate.Over(gap)) + int64(StrokeVolume) - 1) / int64(StrokeVolume)
	lost := unit.Volume(strokes) * StrokeVolume
	p.delivered += lost
	p.sinceFill += lost
	if p.suspended&susDead == 0 {
		p.charge = st.charge - unit.Charge(QuiescentCurrent)*unit.Charge(gap) - unit.Charge(strokes)*StrokeCharge
		if st.alarms != 0 {
			p.charge -= unit.Charge(int64(gap/CriticalTonePeriod)+1) * ToneCharge
		}
	}
	p.rebuildWindow(&st, lost)
	p.logEv(EvReset, AlarmNone, ReasonNone, int64(lost), int64(gap))
	if st.flags&flBolus != 0 {
		p.logEv(EvBolusAborted, AlarmNone, ReasonInterrupted, 0, 0)
	}
	p.acc = 0
	p.replan()
	p.checkBattery()
	p.checkReservoir()
	p.checkpoint()
	return p, nil
}

// recountSeqs places the newest sequence numbers so that the next write goes to
// the slot not holding the newest record.
func (p *Pump) recountSeqs() {
	for _, r := range []struct {
		seqs       *[2]uint32
		base, size int
		magic      uint16
	}{{&p.rxSeq, rxBase, rxSlot, magicRx}, {&p.stSeq, stBase, stSlot, magicSt}} {
		newest := r.seqs[0]
		*r.seqs = [2]uint32{}
		for i := range 2 {
			slot := p.image[r.base+i*r.size:]
			if binary.LittleEndian.Uint16(slot) == r.magic && binary.LittleEndian.Uint32(slot[2:]) == newest && newest != 0 {
				r.seqs[i] = newest
			}
		}
	}
}

type state struct {
	at                          unit.Time
	delivered, lastFill, since  unit.Volume
	charge                      unit.Charge
	alarms                      Alarms
	suspended, flags            uint8
	utcOffset                   unit.Duration
	maxRate                     unit.Rate
	bridgeTarget, bridgeAccrued int64
	tonesCrit, tonesNon         int64
	fillConc                    unit.Concentration
	fillDrug                    string
	pb                          []unit.Time
	hours                       [hourBuckets]hourBucket // the hours up to the checkpoint's, oldest first
	acc                         int64
	rate                        unit.Rate
	stableUntil                 unit.Time
}

func decodeState(b []byte) (state, bool) {
	var s state
	r := reader{b: b}
	s.at = unit.Time(r.i64())
	s.delivered, s.lastFill, s.since = unit.Volume(r.i64()), unit.Volume(r.i64()), unit.Volume(r.i64())
	s.charge = unit.Charge(r.i64())
	s.alarms = Alarms(r.u16())
	s.suspended, s.flags = r.u8(), r.u8()
	s.utcOffset = unit.Duration(r.i64())
	s.maxRate = unit.Rate(r.i64())
	s.bridgeTarget, s.bridgeAccrued = r.i64(), r.i64()
	s.tonesCrit, s.tonesNon = r.i64(), r.i64()
	s.fillConc = unit.Concentration(r.i64())
	n := int(r.u8())
	if n > MaxDrugName {
		return s, false
	}
	s.fillDrug = string(r.take(n))
	n = int(r.u8())
	if n > MaxPatientBolusesPer24h {
		return s, false
	}
	for range n {
		ago := unit.Duration(r.u32())
		if ago >= unit.Day {
			return s, false
		}
		s.pb = append(s.pb, s.at.Add(-ago))
	}
	h := int64(s.at) / int64(unit.Hour)
	for i := range s.hours {
		k := h - hourBuckets + 1 + int64(i)
		s.hours[i] = hourBucket{hour: k, n: r.u32(), first: unit.Time(k*int64(unit.Hour) + int64(r.u32())), acc: r.i64(), rate: unit.Rate(r.u32())}
	}
	s.acc, s.rate, s.stableUntil = r.i64(), unit.Rate(r.u32()), unit.Time(r.i64())
	if s.rate < 0 || s.rate > MaxRate || s.acc < -strokeScaled || s.acc > 2*strokeScaled {
		return s, false
	}
	for _, hb := range s.hours {
		if hb.rate < 0 || hb.rate > MaxRate || hb.n > uint32(maxCap) || hb.first < 0 {
			return s, false
		}
	}
	if s.maxRate < 0 || s.maxRate > MaxRate || s.lastFill < 0 || s.since < 0 || s.alarms >= 1<<numAlarms {
		return s, false
	}
	return s, r.done()
}

func (p *Pump) restoreState(s *state, now unit.Time) {
	p.delivered, p.lastFill, p.sinceFill = s.delivered, s.lastFill, s.since
	p.charge, p.tBat = s.charge, now
	p.alarms = s.alarms
	p.suspended = s.suspended &^ (susStall) // a stall is re-detected; its alarm stays raised
	if p.suspended&susDead != 0 {
		p.charge = 0
		p.sleep()
	}
	p.running = s.flags&flRunning != 0
	p.hasRx = s.flags&flHasRx != 0
	p.utcOffset = s.utcOffset
	p.tonesCritical, p.tonesNonCrit = s.tonesCrit, s.tonesNon
	p.fillDrug, p.fillConc = s.fillDrug, s.fillConc
	p.pbN, p.pbHead = 0, 0
	for _, t := range s.pb {
		p.pbTimes[p.pbN] = t
		p.pbN++
	}
	p.nextCritTone, p.nextTone = never, never
	p.retone()
}

// rebuildWindow refills the cap window after a reset. An hour whose strokes
// came from one uninterrupted run of the accumulator is regenerated exactly; any
// other hour's strokes are placed as late as they could have been (so they stay
// counted longest). The strokes since the checkpoint are regenerated from the
// checkpointed accumulator when the rate cannot have changed since — the real
// strokes are among them (a stall or a cap fault only removes some) — and
// otherwise placed as late as possible before the reset.
func (p *Pump) rebuildWindow(s *state, lost unit.Volume) {
	from := p.now.Add(-unit.Day)
	// A regenerated stroke carries its run (the accumulator after it and the
	// rate), so the window keeps a regenerated hour as one run; a stroke placed
	// late is a run of its own (rate 0).
	push := func(t unit.Time, acc int64, rate unit.Rate) {
		if t > from && t <= p.now {
			p.win.push(StrokeRun{first: t, acc: acc, rate: rate, n: 1})
		}
	}
	// The shortest possible gap between two strokes, less a millisecond of rounding.
	gap := unit.Duration(strokeScaled/int64(MaxRate)) - unit.Millisecond
	late := func(end unit.Time, n int64) {
		for j := n - 1; j >= 0; j-- {
			push(end.Add(-unit.Duration(j)*gap), 0, 0)
		}
	}
	p.hourEnd = 0
	for _, hb := range s.hours {
		switch {
		case hb.n == 0:
		case hb.rate > 0:
			generate(hb.first, hb.acc, hb.rate, int64(hb.n), unit.Time(math.MaxInt64), func(t unit.Time, acc int64) { push(t, acc, hb.rate) })
		default:
			late(min(unit.Time((hb.hour+1)*int64(unit.Hour))-1, s.at), int64(hb.n))
		}
		if i := floorMod(hb.hour, hourBuckets); true {
			p.hours[i] = hb
			p.hours[i].rate = 0 // after a reset no hour is known to be one run
		}
	}
	since := func(t unit.Time, acc int64, rate unit.Rate) { // strokes after the checkpoint also count in their hour
		push(t, acc, rate)
		p.bucketPush(t, false)
	}
	if s.rate > 0 && p.now <= s.stableUntil {
		generate(s.at, s.acc-strokeScaled, s.rate, math.MaxInt64, p.now, func(t unit.Time, acc int64) { since(t, acc, s.rate) })
	} else {
		for j := int64(lost/StrokeVolume) - 1; j >= 0; j-- {
			since(p.now.Add(-unit.Duration(j)*gap), 0, 0)
		}
	}
}

// generate calls f with the times of up to n strokes of an accumulator that
// holds acc + one stroke at t (so the first is at t) and runs at rate, up to
// until, and with the accumulator just after each.
func generate(t unit.Time, acc int64, rate unit.Rate, n int64, until unit.Time, f func(unit.Time, int64)) {
	acc += strokeScaled
	for ; n > 0; n-- {
		if acc < strokeScaled {
			t = t.Add(unit.Duration((strokeScaled - acc + int64(rate) - 1) / int64(rate)))
			acc += int64(rate) * ((strokeScaled - acc + int64(rate) - 1) / int64(rate))
		}
		if t > until {
			return
		}
		acc -= strokeScaled
		f(t, acc)
	}
}
