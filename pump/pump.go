// Package pump is the firmware core of the TP-20 and TP-40 implanted pumps
// (spec/pump.md): prescription, delivery scheduler, reservoir and battery
// accounting, alarms and tones, the event log and the persistent-memory image.
//
// It is a pure, deterministic state machine in the shape of etcd-io/raft: the
// driver calls Tick(now) with the time, drives the hardware the core asks for
// (a stroke, a level reading) and reports back, applies the memory writes the core
// hands out, and calls the command methods. The core reads no clock, does no I/O,
// starts no goroutine and allocates nothing per tick; Next says when it next needs
// to run, so the cost is per stroke and per event, never per millisecond.
//
// Where the driver can promise nominal hardware (every stroke completes at
// normal outlet pressure) it may call Coast instead: the same strokes with the
// same effects, a batch in one call and a few nanoseconds each, up to whatever
// else is due (TestCoastEquivalence holds it to the stroke-by-stroke run).
//
// All arithmetic is integer: volumes in nL, time in ms, charge in nA·ms. Delivery
// follows one accumulator of programmed volume (in nL·ms/day, exact for every rate
// in nL/day), so delivered volume stays within one stroke of the program over any
// horizon.
package pump

import (
	"errors"
	"math"

	"github.com/thecal/thecal/unit"
)

// Fault and timing constants of the core (device design constants, docs/pump-core.md).
const (
	CriticalTonePeriod    = 10 * unit.Minute
	NonCriticalTonePeriod = 60 * unit.Minute
	CheckpointPeriod      = unit.Hour
	LevelReadPeriod       = unit.Hour
	StallStrokes          = 3
	StallRetryPeriod      = 10 * unit.Minute
	OcclusionStrokes      = 5
	OcclusionPressure     = 100 * unit.Kilopascal
	LeakStrokes           = 10
	LeakFloor             = 2 * unit.Kilopascal
	// MaxCatheterLength and MaxCatheterPerCm bound the catheter so that a priming
	// bolus can never be larger than MaxPrimingVolume (hazard H5).
	MaxCatheterLength = 200 * unit.Centimetre
	MaxCatheterPerCm  = 10 * unit.Microlitre
	MaxPrimingVolume  = TubingVolume + 2*unit.Millilitre
)

const (
	never        = unit.Time(math.MaxInt64)
	strokeScaled = int64(StrokeVolume) * int64(unit.Day)     // one stroke in accumulator units (nL·ms/day)
	maxCap       = int(int64(MaxRate) / int64(StrokeVolume)) // strokes in 24 h at the maximum rate
)

// Errors returned by commands, each declared alone. Refusals of a patient
// bolus are reported as a Reason instead (see PatientBolus).
var ErrHashMismatch = errors.New("pump: the prescription named as replaced is not the one running")
var ErrChecksum = errors.New("pump: prescription checksum does not match")
var ErrStopped = errors.New("pump: delivery is stopped")
var ErrAlarm = errors.New("pump: a critical alarm stops delivery")
var ErrBolusActive = errors.New("pump: a bolus is already running")
var ErrPriming = errors.New("pump: priming is running")
var ErrBridge = errors.New("pump: a bridge is running")
var ErrMax24h = errors.New("pump: would exceed max_24h")
var ErrMaxRate = errors.New("pump: would exceed the maximum rate")
var ErrNoRx = errors.New("pump: no prescription")
var ErrDead = errors.New("pump: battery depleted")
var ErrTime = errors.New("pump: command out of time order (call Tick first)")
var ErrSession = errors.New("pump: session state")

// ErrUnknownCommand is Step's answer to a nil Command.
var ErrUnknownCommand = errors.New("pump: unknown command")

// Config is the hardware the core runs on, fixed at implant.
type Config struct {
	Model          Model
	CatheterLength unit.Length
	CatheterPerCm  unit.Volume
	PressureSensor bool
	LevelSensor    bool
	Battery        unit.Charge   // remaining charge when New is called
	UTCOffset      unit.Duration // pump local time offset when New is called
}

// PrimingVolume is the volume of pump tubing and catheter.
func (c *Config) PrimingVolume() unit.Volume {
	return TubingVolume + c.CatheterLength.VolumeFor(c.CatheterPerCm)
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if !c.Model.Valid() {
		return invalid("model", "must be TP-20 or TP-40")
	}
	if c.CatheterLength <= 0 || c.CatheterLength > MaxCatheterLength {
		return invalid("catheter_length", "%.1f cm is outside 0 to %.0f cm", c.CatheterLength.Centimetres(), MaxCatheterLength.Centimetres())
	}
	if c.CatheterPerCm <= 0 || c.CatheterPerCm > MaxCatheterPerCm {
		return invalid("catheter_per_cm", "%s is outside 0 to %s per cm", c.CatheterPerCm, MaxCatheterPerCm)
	}
	if c.Battery <= 0 || c.Battery > BatteryCapacity {
		return invalid("battery", "%s is outside 0 to %s", c.Battery, BatteryCapacity)
	}
	if c.UTCOffset < -14*unit.Hour || c.UTCOffset > 14*unit.Hour {
		return invalid("utc_offset", "must be within -14:00 to +14:00")
	}
	return nil
}

// ActionKind is what the core asks the driver to do.
type ActionKind uint8

const (
	ActNone      ActionKind = iota
	ActStroke               // drive one stroke now, then call StrokeDone
	ActReadLevel            // read the reservoir level sensor now, then call LevelRead
)

// Action is the core's request to the hardware at time At.
type Action struct {
	Kind ActionKind
	At   unit.Time
}

// StrokeResult is what the motor and the pressure sensor report for a stroke.
type StrokeResult struct {
	Completed bool
	Pressure  unit.Pressure // peak outlet pressure, when the sensor is fitted
}

// source is a volume delivered at its own rate on top of the basal program (a
// bolus or priming), or counted out of the basal program (a bridge).
type source struct {
	active  bool
	rate    unit.Rate
	target  int64 // volume × Day
	accrued int64 // volume × Day programmed so far
	start   unit.Time
	end     unit.Time
}

func (s *source) begin(now unit.Time, v unit.Volume, r unit.Rate) {
	*s = source{active: true, rate: r, target: int64(v) * int64(unit.Day), start: now}
	s.plan(now)
}

// plan sets end, the time at which accrued reaches target at the current rate.
func (s *source) plan(now unit.Time) {
	if !s.active || s.rate <= 0 {
		s.end = never
		return
	}
	left := s.target - s.accrued
	if left <= 0 {
		s.end = now
		return
	}
	s.end = now.Add(unit.Duration((left + int64(s.rate) - 1) / int64(s.rate)))
}

// suspension bits: why delivery is held.
const (
	susEmpty uint8 = 1 << iota
	susEOS
	susStall
	susOcclusion
	susMemory
	susDead
)

// Pump is the core. It is not safe for concurrent use.
type Pump struct {
	cfg    Config
	now    unit.Time
	log    *Log
	action ActionKind // outstanding request to the driver

	// Prescription.
	rx        Prescription
	hasRx     bool
	rxHash    Hash
	running   bool // clinician stop/resume
	utcOffset unit.Duration

	// The basal schedule in force (the old program during a bridge); its
	// table, sched, is with the large arrays at the end.
	schedRx   Prescription
	schedIdx  int
	nextFlex  unit.Time
	basal     unit.Rate
	suspended uint8

	// Delivery accumulator: programmed volume not yet stroked, in nL·ms/day.
	acc        int64
	tAcc       unit.Time
	rate       unit.Rate
	nextStroke unit.Time

	cbolus, pbolus, prime, bridge source
	bridgeRx                      Prescription // the new program waiting for the bridge to end

	// Cap window: the strokes counted against max_24h, as runs.
	win     window
	hourIdx int       // bucket of the current hour (of hours)
	hourEnd unit.Time // end of the current hour (of hours)
	// Strokes not yet counted in hours (hours.go), and the version of hours
	// (it changes whenever hours does under a state record that refers to it).
	nHourRuns int
	hourTail  runTail // the last of hourRuns's next stroke
	hoursVer  uint32
	// runEpoch changes whenever the accumulator leaves its regular course (a
	// rate change, a reset, a stroke spent without being counted), so a bucket
	// knows whether its strokes came from one uninterrupted run.
	runEpoch uint32

	// Patient bolus history (pbTimes, at the end): start times of given
	// boluses, oldest first.
	pbHead int
	pbN    int

	// Reservoir.
	delivered  unit.Volume // all completed strokes since implant, priming included
	lastFill   unit.Volume
	sinceFill  unit.Volume
	fillDrug   string
	fillConc   unit.Concentration
	nextLevel  unit.Time
	levelFresh bool // a level read is due right now (after a refill)

	// Battery: remaining charge at tBat; quiescent current drains it between events.
	charge       unit.Charge
	tBat         unit.Time
	eriThreshold unit.Charge
	nextBattery  unit.Time

	// Alarms and tones.
	alarms        Alarms
	nextCritTone  unit.Time
	nextTone      unit.Time
	tonesCritical int64
	tonesNonCrit  int64

	// Faults.
	stallCount int
	nextRetry  unit.Time
	highCount  int
	lowCount   int

	// Sessions.
	session     bool
	sessionRole Reason

	// Persistent memory (the image and the records not yet encoded in it are
	// at the end).
	rxSeq, stSeq   [2]uint32
	writes         [4]Write
	nWrites        int
	nextCheckpoint unit.Time
	dirty          bool // state changed since the last checkpoint: write one when this step ends
	nPending       [2]int

	// The large tables, none holding a pointer, last: a new core's collector
	// metadata covers only the fields above.
	sched    schedule
	hours    [hourBuckets]hourBucket // strokes per clock hour, for the memory image, up to hourRuns
	hourRuns [maxHourRuns]hourRun
	pbTimes  [MaxPatientBolusesPer24h]unit.Time
	scratch  [rxEncodedMax]byte
	pending  [2][pendingDepth]pendingState // state records taken, not yet encoded, by slot (checkpoint)
	image    [ImageSize]byte
}

// New returns the core of a pump fresh from the factory at time now: no
// prescription, an empty reservoir estimate. log receives its events.
func New(cfg Config, now unit.Time, log *Log) (*Pump, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := newCore(cfg, now, log)
	p.checkBattery()
	p.checkpoint()
	return p, nil
}

// newCore builds the core's idle state without logging or writing anything.
func newCore(cfg Config, now unit.Time, log *Log) *Pump {
	p := &Pump{cfg: cfg, now: now, log: log, utcOffset: cfg.UTCOffset}
	p.charge, p.tBat = cfg.Battery, now
	p.tAcc = now
	p.nextStroke, p.nextFlex, p.nextRetry, p.nextBattery = never, never, never, never
	p.nextCritTone, p.nextTone = never, never
	p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end = never, never, never, never
	p.nextLevel = never
	if cfg.LevelSensor {
		p.nextLevel = now.Add(LevelReadPeriod)
	}
	p.rx.Mode = ModeStopped
	p.schedRx = p.rx
	p.sched.build(&p.schedRx)
	p.eriThreshold = BatteryReserve + eriNeed(&p.rx)
	p.running = true
	p.nextCheckpoint = now.Add(CheckpointPeriod)
	return p
}

// Next returns the time the core next needs Tick, or the maximum Time if nothing
// is scheduled.
func (p *Pump) Next() unit.Time {
	t := min(p.nextStroke, p.nextFlex, p.nextCheckpoint, p.nextBattery, p.nextCritTone, p.nextTone,
		p.nextLevel, p.nextRetry)
	return min(t, p.cbolus.end, p.pbolus.end, p.prime.end, p.bridge.end)
}

// Tick advances the core to now, handling in time order everything due at or
// before now, and returns at the first thing the hardware must do. The driver does
// it and reports back (StrokeDone or LevelRead), then calls Tick again until it
// returns ActNone.
func (p *Pump) Tick(now unit.Time) Action {
	if p.action != ActNone {
		return Action{p.action, p.now}
	}
	for {
		t := p.Next()
		if t > now || t == never {
			if now > p.now {
				p.advance(now)
			}
			return Action{}
		}
		p.advance(t)
		if a := p.due(t); a != ActNone {
			p.action = a
			return Action{a, t}
		}
		p.flush()
	}
}

// advance moves the accumulators and the battery to t.
func (p *Pump) advance(t unit.Time) {
	if t <= p.now {
		return
	}
	dt := int64(t - p.tAcc)
	if p.rate > 0 && dt > 0 {
		p.acc += int64(p.rate) * dt
		p.accrueSources(dt)
	}
	p.tAcc = t
	if p.suspended&susDead == 0 {
		p.charge -= unit.Charge(QuiescentCurrent) * unit.Charge(t-p.tBat)
	}
	p.tBat = t
	p.now = t
}

// accrueSources moves the running sources' accruals on by dt ms of delivery
// (the accumulator itself is the caller's).
func (p *Pump) accrueSources(dt int64) {
	if p.rate != p.basal { // a bolus or priming is running
		for _, s := range [...]*source{&p.cbolus, &p.pbolus, &p.prime} {
			if s.active {
				s.accrued += int64(s.rate) * dt
			}
		}
	}
	if p.bridge.active && !p.prime.active {
		p.bridge.accrued += int64(p.basal) * dt
	}
}

// due handles everything scheduled at t, the current time.
func (p *Pump) due(t unit.Time) ActionKind {
	changed := false
	if p.prime.active && p.prime.end <= t {
		p.endSource(&p.prime, EvPrimeEnd, ReasonCompleted)
		changed = true
	}
	if p.cbolus.active && p.cbolus.end <= t {
		p.endSource(&p.cbolus, EvClinicianBolusEnd, ReasonCompleted)
		changed = true
	}
	if p.pbolus.active && p.pbolus.end <= t {
		p.endSource(&p.pbolus, EvPatientBolusEnd, ReasonCompleted)
		changed = true
	}
	if p.bridge.active && p.bridge.end <= t {
		p.endBridge()
		changed = true
	}
	if p.nextFlex <= t {
		p.flexStep()
		changed = true
	}
	if p.nextBattery <= t {
		p.checkBattery()
	}
	if p.nextCritTone <= t {
		p.tone(true)
		p.nextCritTone = t.Add(CriticalTonePeriod)
	}
	if p.nextTone <= t {
		p.tone(false)
		p.nextTone = t.Add(NonCriticalTonePeriod)
	}
	if p.nextCheckpoint <= t {
		p.dirty = true // written once this instant's stroke, if any, is done
	}
	if changed {
		p.replan()
	}
	if p.nextStroke <= t {
		if !p.delivering() {
			// Unreachable while replan keeps the rate at zero when delivery is
			// held; kept so that no state can make Tick spin at one instant.
			p.acc, p.rate, p.nextStroke = 0, 0, never
		} else if p.acc >= strokeScaled {
			if p.prime.active || p.winAllows(t) {
				return ActStroke
			}
			// Defence in depth: the executor refuses a stroke over max_24h. The
			// volume is dropped, never made up.
			p.acc -= strokeScaled
			p.runEpoch++
			p.logEv(EvCapFault, AlarmNone, ReasonMax24h, int64(p.win.n), int64(p.win.cap))
			p.raise(DailyCap)
		}
		p.planStroke()
	}
	if p.nextLevel <= t {
		p.nextLevel = t.Add(LevelReadPeriod)
		return ActReadLevel
	}
	if p.nextRetry <= t {
		p.nextRetry = t.Add(StallRetryPeriod)
		// Retry only while the stall is all that holds delivery: not while stopped,
		// occluded, empty or at end of service.
		if p.running && p.hasRx && p.suspended == susStall && p.winAllows(t) {
			return ActStroke
		}
	}
	return ActNone
}

// delivering reports whether delivery may run now.
func (p *Pump) delivering() bool { return p.running && p.suspended == 0 && p.hasRx }

// Delivering reports whether the program is delivering now: no stroke can
// come until it is, but a stall retry (Status().Delivering, without the copy).
func (p *Pump) Delivering() bool { return p.delivering() }

// replan recomputes the total rate, the end of each source and the next stroke.
func (p *Pump) replan() {
	p.runEpoch++
	switch {
	case !p.delivering():
		p.rate = 0
	case p.prime.active:
		p.rate = MaxRate
	default:
		p.rate = p.basal + p.cbolus.rate + p.pbolus.rate
	}
	for _, s := range [...]*source{&p.cbolus, &p.pbolus, &p.prime} {
		if s.active {
			s.plan(p.now)
		}
	}
	if p.bridge.active {
		p.bridge.rate = p.basal
		if p.prime.active || !p.delivering() {
			p.bridge.rate = 0
		}
		p.bridge.plan(p.now)
	}
	p.planStroke()
}

// planStroke sets the time the accumulator reaches one stroke at the current rate.
func (p *Pump) planStroke() {
	switch {
	case p.rate <= 0:
		p.nextStroke = never
	case p.acc >= strokeScaled:
		p.nextStroke = p.now
	default:
		p.nextStroke = p.now.Add(unit.Duration((strokeScaled - p.acc + int64(p.rate) - 1) / int64(p.rate)))
	}
}

// StrokeDone reports the outcome of the stroke the last Tick asked for.
func (p *Pump) StrokeDone(r StrokeResult) {
	if p.action != ActStroke {
		return
	}
	p.action = ActNone
	t := p.now
	retry := p.suspended&susStall != 0
	if !retry {
		p.acc -= strokeScaled // the program's stroke is spent, completed or not: no catch-up
	}
	p.debitStroke()
	if !r.Completed || retry {
		p.runEpoch++ // a stroke the program spent without a counted stroke, or a retry outside it
	}
	if !r.Completed {
		p.stallCount++
		if p.stallCount >= StallStrokes && !retry {
			p.logEv(EvMotorStall, AlarmNone, ReasonNone, int64(p.stallCount), 0)
			p.suspend(susStall) // first, so the alarm sounds as critical while stalled
			p.raise(MotorStall)
			p.nextRetry = t.Add(StallRetryPeriod)
		}
		p.planStroke()
		p.flush()
		return
	}
	p.stallCount = 0
	p.delivered += StrokeVolume
	p.sinceFill += StrokeVolume
	if !p.prime.active {
		p.winPush(t)
	}
	if retry {
		p.nextRetry = never
		p.logEv(EvMotorStallRecovery, AlarmNone, ReasonNone, 0, 0)
		p.unsuspend(susStall) // MOTOR_STALL stays raised until a clinician acknowledges it
		p.retone()
		p.dirty = true
	}
	if p.cfg.PressureSensor {
		p.pressure(r.Pressure)
	}
	p.checkReservoir()
	p.planStroke()
	p.flush()
}

func (p *Pump) pressure(pr unit.Pressure) {
	if pr > OcclusionPressure {
		p.highCount++
	} else {
		p.highCount = 0
	}
	if pr < LeakFloor {
		p.lowCount++
	} else {
		p.lowCount = 0
	}
	if p.highCount >= OcclusionStrokes && p.suspended&susOcclusion == 0 {
		p.raise(Occlusion)
		p.suspend(susOcclusion)
	}
	if p.lowCount >= LeakStrokes {
		p.raise(CatheterIntegrity)
	}
}

// LevelRead reports the level sensor's reading asked for by the last Tick.
func (p *Pump) LevelRead(measured unit.Volume) {
	if p.action != ActReadLevel {
		return
	}
	p.action = ActNone
	est := p.Reservoir()
	diff := measured - est
	if diff < 0 {
		diff = -diff
	}
	if diff > p.cfg.Model.DiscrepancyLimit() && !p.alarms.Has(VolumeDiscrepancy) {
		p.raiseWith(VolumeDiscrepancy, int64(measured), int64(est))
	}
	p.flush()
}

// flush writes a checkpoint if the state changed since the last one.
func (p *Pump) flush() {
	if p.dirty {
		p.checkpoint()
	}
}

// Reservoir returns the reservoir estimate: the volume entered at the last refill
// less the volume delivered since.
func (p *Pump) Reservoir() unit.Volume { return p.lastFill - p.sinceFill }

func (p *Pump) checkReservoir() {
	est := p.Reservoir()
	if est <= p.rx.lowReservoir() {
		p.raise(LowReservoir)
	}
	if est <= EmptyVolume && p.suspended&susEmpty == 0 {
		p.raise(EmptyReservoir)
		p.suspend(susEmpty)
	}
}

// suspend holds delivery for reason bit b: boluses and priming end, the bridge
// pauses, and the accumulator is emptied (no catch-up).
func (p *Pump) suspend(b uint8) {
	was := p.delivering()
	p.suspended |= b
	if was {
		p.halt()
	}
}

func (p *Pump) unsuspend(b uint8) {
	p.suspended &^= b
	if p.delivering() {
		p.acc = 0
		p.replan()
	}
}

// halt ends what cannot survive a stop of delivery.
func (p *Pump) halt() {
	if p.prime.active {
		p.endSource(&p.prime, EvPrimeEnd, ReasonInterrupted)
	}
	if p.cbolus.active {
		p.endSource(&p.cbolus, EvClinicianBolusEnd, ReasonInterrupted)
	}
	if p.pbolus.active {
		p.endSource(&p.pbolus, EvPatientBolusEnd, ReasonInterrupted)
	}
	p.acc = 0
	p.replan()
}

// endSource stops s. A source that completed has programmed exactly its volume:
// the accrual past its end (less than one millisecond of its rate) is taken back.
func (p *Pump) endSource(s *source, kind EventKind, why Reason) {
	if why == ReasonCompleted && s.accrued > s.target {
		p.acc -= s.accrued - s.target
	}
	p.logEv(kind, AlarmNone, why, (s.accrued+int64(unit.Day)/2)/int64(unit.Day), int64(p.now-s.start))
	s.active, s.rate, s.end = false, 0, never
}

func (p *Pump) endBridge() {
	p.logEv(EvBridgeEnd, AlarmNone, ReasonCompleted, p.bridge.target/int64(unit.Day), int64(p.now-p.bridge.start))
	p.bridge = source{end: never}
	p.setBasal(&p.rx)
	p.resetWindow()
	p.dirty = true
}

// flexStep moves the basal schedule to the entry now in force.
func (p *Pump) flexStep() {
	w := weekOffset(p.now, p.utcOffset)
	p.schedIdx = p.sched.at(w)
	p.basal = p.sched.rate[p.schedIdx]
	if d := p.sched.untilNext(p.schedIdx, w); d > 0 {
		p.nextFlex = p.now.Add(d)
	} else {
		p.nextFlex = never
	}
}

// setBasal makes rx's schedule the basal program from now.
func (p *Pump) setBasal(rx *Prescription) {
	p.schedRx = *rx
	p.sched.build(&p.schedRx)
	p.flexStep()
	// The maximum rate is of all delivery together: a bolus still running for
	// which the new schedule's highest rate leaves no room ends now, as at a
	// stop (a patient bolus cut short still counts against lockout and count).
	if rx.maxBasalRate()+p.cbolus.rate+p.pbolus.rate > MaxRate {
		if p.cbolus.active {
			p.endSource(&p.cbolus, EvClinicianBolusEnd, ReasonInterrupted)
		}
		if p.pbolus.active {
			p.endSource(&p.pbolus, EvPatientBolusEnd, ReasonInterrupted)
		}
	}
}

// Window of strokes counted against max_24h.

func (p *Pump) resetWindow() {
	cap := p.rx.capStrokes()
	if p.bridge.active {
		cap = p.schedRx.capStrokes()
	}
	p.win.reset(cap)
	p.clearHours()
}

func (p *Pump) winAllows(t unit.Time) bool { return p.win.allows(t) }

// winPush counts a stroke the accumulator delivered at t (p.acc just after it).
func (p *Pump) winPush(t unit.Time) {
	p.win.push(StrokeRun{first: t, acc: p.acc, rate: p.rate, n: 1})
	p.bucketPush(t, true)
}

// floorMod is a mod b in [0, b), for times before 1970 too.
func floorMod(a, b int64) int64 {
	if m := a % b; m < 0 {
		return m + b
	}
	return a % b
}

// hourBuckets is how many clock hours a 24 h window touches: (t-24h, t] reaches
// back into a 25th hour unless t is on the hour.
const hourBuckets = 25

// hourBucket counts the strokes of one clock hour that count against max_24h.
// When all of them came from one uninterrupted run of the accumulator at one
// rate (rate > 0), the first stroke's time, the accumulator just after it and the
// rate regenerate every stroke time exactly.
type hourBucket struct {
	hour  int64
	n     uint32
	first unit.Time
	acc   int64
	rate  unit.Rate
	epoch uint32
}

// inWindow returns the volume counted against max_24h in (now-24h, now].
func (p *Pump) inWindow() unit.Volume {
	return unit.Volume(p.win.after(p.now.Add(-unit.Day))) * StrokeVolume
}

// Battery.

// Battery returns the remaining charge now.
func (p *Pump) Battery() unit.Charge { return p.charge }

func (p *Pump) debit(c unit.Charge) {
	p.charge -= c
	p.checkBattery()
}

// debitStroke charges one stroke. Unless it crosses a threshold, the time
// quiescent drain reaches the next one moves earlier by exactly the stroke's
// charge at the quiescent current (30 s): no division on the stroke path.
func (p *Pump) debitStroke() {
	const shift = unit.Duration(StrokeCharge / unit.Charge(QuiescentCurrent))
	// The shift is exact only if a stroke's charge is a whole number of ms of
	// quiescent drain; this line fails to compile otherwise.
	var _ [0]struct{} = [StrokeCharge % unit.Charge(QuiescentCurrent)]struct{}{}
	p.charge -= StrokeCharge
	if p.charge > p.eriThreshold && p.nextBattery != never {
		p.nextBattery -= unit.Time(shift)
		return
	}
	p.checkBattery()
}

// eriNeed is what 90 days at rx's basal program need, the ERI alarm's own hourly
// tones included.
func eriNeed(rx *Prescription) unit.Charge {
	var s schedule
	s.build(rx)
	days := int64(ERILead / unit.Day)
	vol90 := s.integral(0, unit.Week) / 7 * days // nL·ms/day over 90 days
	strokes := (vol90 + strokeScaled - 1) / strokeScaled
	return unit.Charge(QuiescentCurrent)*unit.Charge(ERILead) +
		unit.Charge(strokes)*StrokeCharge +
		unit.Charge(days*24)*ToneCharge
}

// checkBattery raises ERI and EOS when the charge has fallen to them, and plans
// the time quiescent drain alone would reach the next threshold.
func (p *Pump) checkBattery() {
	if p.suspended&susDead != 0 {
		p.nextBattery = never
		return
	}
	if p.charge <= 0 {
		p.die()
		return
	}
	// Raising an alarm sounds a tone, which draws charge and comes back here:
	// after each raise, what it may have done is checked again.
	if p.charge <= p.eriThreshold && !p.alarms.Has(ERI) {
		p.raise(ERI)
	}
	if p.charge <= BatteryReserve && p.suspended&(susEOS|susDead) == 0 {
		p.suspend(susEOS)
		p.raise(EOS)
	}
	if p.suspended&susDead != 0 {
		return
	}
	thr := unit.Charge(0)
	switch {
	case !p.alarms.Has(ERI):
		thr = p.eriThreshold
	case p.suspended&susEOS == 0:
		thr = BatteryReserve
	}
	q := unit.Charge(QuiescentCurrent)
	p.nextBattery = p.now.Add(unit.Duration((p.charge - thr + q - 1) / q))
}

// die is the battery's end: the charge is gone, the pump falls silent and keeps
// no more time. Its last state is written so that a reset does not revive it.
func (p *Pump) die() {
	p.charge = 0 // a battery holds nothing less than nothing
	p.logEv(EvBatteryDepleted, AlarmNone, ReasonNone, 0, 0)
	p.suspend(susDead)
	p.sleep()
	p.dirty = true
}

// sleep stops every timer of a depleted pump.
func (p *Pump) sleep() {
	p.nextCritTone, p.nextTone, p.nextBattery, p.nextLevel, p.nextCheckpoint, p.nextRetry = never, never, never, never, never, never
}

// Alarms.

// Alarms returns the active alarms.
func (p *Pump) Alarms() Alarms { return p.alarms }

func (p *Pump) raise(a Alarm) { p.raiseWith(a, 0, 0) }

func (p *Pump) raiseWith(a Alarm, v1, v2 int64) {
	if p.alarms.Has(a) {
		return
	}
	p.alarms |= 1 << a
	p.dirty = true
	p.logEv(EvAlarmRaise, a, ReasonNone, v1, v2)
	p.tone(p.soundsCritical(a))
	p.retone()
}

func (p *Pump) clear(a Alarm) {
	if !p.alarms.Has(a) {
		return
	}
	p.alarms &^= 1 << a
	p.dirty = true
	p.logEv(EvAlarmClear, a, ReasonNone, 0, 0)
	p.retone()
}

// soundsCritical reports whether a raised alarm sounds the critical pattern: a
// critical alarm while its condition lasts. A motor stall that has recovered
// stays raised until a clinician acknowledges it, as an hourly reminder.
func (p *Pump) soundsCritical(a Alarm) bool {
	if a == MotorStall {
		return p.suspended&susStall != 0
	}
	return a.Critical()
}

// retone starts or stops the two tone timers to match the raised alarms. A
// running timer keeps its cadence.
func (p *Pump) retone() {
	crit, non := false, false
	for a := Alarm(1); a < numAlarms; a++ {
		if p.alarms.Has(a) {
			if p.soundsCritical(a) {
				crit = true
			} else {
				non = true
			}
		}
	}
	switch {
	case !crit:
		p.nextCritTone = never
	case p.nextCritTone == never:
		p.nextCritTone = p.now.Add(CriticalTonePeriod)
	}
	switch {
	case !non:
		p.nextTone = never
	case p.nextTone == never:
		p.nextTone = p.now.Add(NonCriticalTonePeriod)
	}
}

// tone sounds one tone (a two-tone pattern when critical) and charges it.
func (p *Pump) tone(critical bool) {
	if p.suspended&susDead != 0 {
		return
	}
	if critical {
		p.tonesCritical++
	} else {
		p.tonesNonCrit++
	}
	p.debit(ToneCharge)
}

// Tones returns how many critical and non-critical tones have sounded.
func (p *Pump) Tones() (critical, nonCritical int64) { return p.tonesCritical, p.tonesNonCrit }

func (p *Pump) logEv(k EventKind, a Alarm, r Reason, v1, v2 int64) {
	p.log.add(Entry{At: p.now, Kind: k, Alarm: a, Reason: r, A: v1, B: v2})
}
