package pump

import "github.com/thecal/thecal/unit"

// Step carries out command c at time now, after Tick(now): the core's one
// entry for commands, as raft's Step is for messages. It answers with plain
// data (Result, as the command table's Response says) or an error: ErrTime
// for a command out of time order, ErrDead for a command that would change a
// depleted pump (reading its status or log still works), or the command's
// own refusal. A command is accepted or refused whole.
//
// Step switches on the command's type rather than calling a method of it, so
// that a command value passed in does not escape: no command allocates.
func (p *Pump) Step(now unit.Time, c Command) (Result, error) {
	if now < p.now || p.Next() < now || p.action != ActNone {
		return Result{}, ErrTime
	}
	switch c.(type) {
	case ReadStatus:
		p.advance(now)
		return Result{Status: p.Status()}, nil
	case ReadLog, SilenceTone:
		return Result{}, nil
	}
	if p.suspended&susDead != 0 {
		return Result{}, ErrDead
	}
	p.advance(now)
	var err error
	switch c := c.(type) {
	case Interrogate:
		p.logEv(EvInterrogate, AlarmNone, ReasonNone, 0, 0)
		return Result{Status: p.Status()}, nil
	case Program:
		err = p.program(now, &c)
	case Bridge:
		err = p.bridgeTo(now, (*Program)(&c))
	case ClinicianBolus:
		err = p.clinicianBolus(now, c.Volume, c.Duration)
	case PatientActivation:
		return Result{Bolus: p.patientBolus(now)}, nil
	case Prime:
		err = p.startPriming(now, c.Volume)
	case Refill:
		err = p.refill(now, &c)
	case Stop:
		p.stop()
	case Resume:
		p.resume()
	case SetMinimumRate:
		err = p.minimumRate(now)
	case SetClock:
		err = p.setClock(c.UTCOffset)
	case Acknowledge:
		p.acknowledge(c.Alarm)
	case OpenSession:
		err = p.openSession(c.Role)
	case CloseSession:
		err = p.closeSession(c.Radio)
	case Drain:
		err = p.drain(c.Charge)
	default:
		err = ErrUnknownCommand // a nil Command: the set is sealed
	}
	return Result{}, err
}

// Program is a prescription change as a programmer sends it: the whole new
// prescription, its checksum, and the hash of the prescription it replaces.
type Program struct {
	Rx       Prescription
	Checksum uint32
	Replaces Hash
}

// NewProgram builds the Program that replaces the prescription with hash replaces.
func NewProgram(rx Prescription, replaces Hash) Program {
	return Program{Rx: rx, Checksum: Checksum(&rx), Replaces: replaces}
}

// checkProgram validates a program command whole.
func (p *Pump) checkProgram(c *Program) error {
	if err := c.Rx.Validate(p.cfg.Model); err != nil {
		p.logEv(EvProgramRefused, AlarmNone, ReasonInvalid, 0, 0)
		return err
	}
	if checksumInto(&p.scratch, &c.Rx) != c.Checksum {
		p.logEv(EvProgramRefused, AlarmNone, ReasonChecksum, 0, 0)
		return ErrChecksum
	}
	if c.Replaces != p.rxHash {
		p.logEv(EvProgramRefused, AlarmNone, ReasonHashMismatch, 0, 0)
		return ErrHashMismatch
	}
	return nil
}

// Program replaces the prescription (Step with c).
func (p *Pump) Program(now unit.Time, c Program) error {
	_, err := p.Step(now, c)
	return err
}

// program replaces the prescription. It is accepted only whole and is stored
// to persistent memory (a write in Writes) before it takes effect.
func (p *Pump) program(now unit.Time, c *Program) error {
	if err := p.checkProgram(c); err != nil {
		return err
	}
	p.store(&c.Rx)
	if p.bridge.active {
		p.logEv(EvBridgeEnd, AlarmNone, ReasonReplaced, p.bridge.accrued/int64(unit.Day), int64(now-p.bridge.start))
		p.bridge = source{end: never}
	}
	p.apply(&c.Rx)
	p.logEv(EvProgram, AlarmNone, ReasonNone, int64(c.Rx.Mode), int64(c.Rx.Max24h))
	p.checkpoint()
	return nil
}

// store writes rx to the older prescription slot and makes it the pump's
// prescription of record.
func (p *Pump) store(rx *Prescription) {
	p.rx = *rx
	p.hasRx = true
	p.rxHash = hashInto(&p.scratch, rx)
	p.writeRx()
	if p.suspended&susMemory != 0 {
		p.clear(MemoryError)
		p.suspended &^= susMemory
	}
}

// apply makes rx the running program from now: a fresh cap window, a fresh
// accumulator, the new basal schedule and ERI threshold.
func (p *Pump) apply(rx *Prescription) {
	p.resetWindow()
	p.acc = 0
	p.setBasal(rx)
	if rx.PatientBolus.Volume == 0 && p.pbolus.active {
		p.endSource(&p.pbolus, EvPatientBolusEnd, ReasonInterrupted)
	}
	if rx.Mode != ModeStopped && p.running {
		p.clear(PumpStopped)
	}
	p.eriThreshold = BatteryReserve + eriNeed(rx)
	p.replan()
	p.checkBattery()
	p.checkReservoir()
}

// Bridge programs c's prescription after a bridge (Step with Bridge(c)).
func (p *Pump) Bridge(now unit.Time, c Program) error {
	_, err := p.Step(now, Bridge(c))
	return err
}

// bridgeTo programs c's prescription to start once the drug already in
// tubing and catheter has been delivered at the old program's rate (after a
// refill that changed the concentration).
func (p *Pump) bridgeTo(now unit.Time, c *Program) error {
	if err := p.checkProgram(c); err != nil {
		return err
	}
	if !p.hasRx || p.rx.maxBasalRate() == 0 {
		p.logEv(EvCommandRefused, AlarmNone, ReasonStopped, int64(EvBridgeStart), 0)
		return ErrStopped
	}
	switch {
	case p.prime.active:
		return ErrPriming
	case p.bridge.active:
		// The program the catheter's old drug needs is in the other memory slot;
		// a second bridge would overwrite it. Program instead, which ends the bridge.
		p.logEv(EvCommandRefused, AlarmNone, ReasonBridge, int64(EvBridgeStart), 0)
		return ErrBridge
	}
	old := p.schedRx
	p.store(&c.Rx)
	p.bridge.begin(now, p.cfg.PrimingVolume(), 0)
	p.schedRx = old
	p.logEv(EvBridgeStart, AlarmNone, ReasonNone, int64(p.cfg.PrimingVolume()), int64(c.Rx.Mode))
	p.replan()
	p.checkReservoir() // the new prescription may set a higher low-reservoir threshold
	p.checkpoint()
	return nil
}

// deliveryRefusal says why no bolus may start now, or ReasonNone.
func (p *Pump) deliveryRefusal() Reason {
	switch {
	case !p.hasRx || !p.running || p.rx.Mode == ModeStopped:
		return ReasonStopped
	case p.suspended != 0:
		return ReasonAlarm
	case p.prime.active:
		return ReasonPriming
	case p.bridge.active:
		return ReasonBridge
	}
	return ReasonNone
}

var reasonErr = [numReasons]error{ReasonStopped: ErrStopped, ReasonAlarm: ErrAlarm, ReasonPriming: ErrPriming,
	ReasonBridge: ErrBridge, ReasonBolusActive: ErrBolusActive, ReasonMax24h: ErrMax24h}

// ClinicianBolus starts a bolus of v over d (Step with ClinicianBolus).
func (p *Pump) ClinicianBolus(now unit.Time, v unit.Volume, d unit.Duration) error {
	_, err := p.Step(now, ClinicianBolus{Volume: v, Duration: d})
	return err
}

// clinicianBolus starts a bolus of volume v over d on top of the running program.
func (p *Pump) clinicianBolus(now unit.Time, v unit.Volume, d unit.Duration) error {
	if v < StrokeVolume || v > MaxRate.Over(unit.Day) {
		return invalid("volume", "%s is outside %s to %s", v, StrokeVolume, MaxRate.Over(unit.Day))
	}
	if d < unit.Minute || d > unit.Day {
		return invalid("duration", "%s is outside 1m to 1d", d)
	}
	r := unit.RateOf(v, d)
	why := p.deliveryRefusal()
	switch {
	case why != ReasonNone:
	case p.cbolus.active:
		why = ReasonBolusActive
	case p.rx.maxBasalRate()+r+p.pbolus.rate > MaxRate:
		p.logEv(EvClinicianBolusRefused, AlarmNone, ReasonNone, int64(v), int64(d))
		return ErrMaxRate
	case p.inWindow()+v > p.rx.Max24h:
		why = ReasonMax24h
	}
	if why != ReasonNone {
		p.logEv(EvClinicianBolusRefused, AlarmNone, why, int64(v), int64(d))
		return reasonErr[why]
	}
	p.cbolus.begin(now, v, r)
	p.logEv(EvClinicianBolusStart, AlarmNone, ReasonNone, int64(v), int64(d))
	p.replan()
	p.checkpoint()
	return nil
}

// PatientBolus is a patient's activation (Step with PatientActivation): it
// returns ReasonNone when the bolus starts, or the reason it is refused.
func (p *Pump) PatientBolus(now unit.Time) (Reason, error) {
	r, err := p.Step(now, PatientActivation{})
	return r.Bolus.Reason, err
}

// patientBolus is a patient's activation: the bolus starts, or is refused with
// its reason. Refused activations are logged and do not count against
// max_per_24h.
func (p *Pump) patientBolus(now unit.Time) BolusResult {
	pb := p.rx.PatientBolus
	why := p.deliveryRefusal()
	switch {
	case why != ReasonNone:
	case pb.Volume == 0:
		why = ReasonNotPrescribed
	case p.pbolus.active || p.cbolus.active:
		why = ReasonBolusActive
	case p.pbN > 0 && now < p.pbTimes[(p.pbHead+p.pbN-1)%len(p.pbTimes)].Add(pb.Lockout):
		why = ReasonLockout
	case p.pbGiven(now) >= pb.MaxPer24h:
		why = ReasonMaxCount
	case p.inWindow()+pb.Volume > p.rx.Max24h:
		why = ReasonMax24h
	}
	if why != ReasonNone {
		p.logEv(EvPatientBolusRefused, AlarmNone, why, int64(pb.Volume), 0)
		return BolusResult{Reason: why, Volume: pb.Volume, Next: p.NextPatientBolus()}
	}
	// Boluses older than 24 h no longer bear on lockout (at most 24 h) or count.
	for p.pbN > 0 && (p.pbN == len(p.pbTimes) || p.pbTimes[p.pbHead] <= now.Add(-unit.Day)) {
		p.pbHead = (p.pbHead + 1) % len(p.pbTimes)
		p.pbN--
	}
	p.pbTimes[(p.pbHead+p.pbN)%len(p.pbTimes)] = now
	p.pbN++
	p.pbolus.begin(now, pb.Volume, unit.RateOf(pb.Volume, pb.Duration))
	p.logEv(EvPatientBolusStart, AlarmNone, ReasonNone, int64(pb.Volume), int64(pb.Duration))
	p.replan()
	p.checkpoint()
	return BolusResult{Volume: pb.Volume, Next: p.NextPatientBolus()}
}

// pbGiven counts patient boluses given in (now-24h, now].
func (p *Pump) pbGiven(now unit.Time) int {
	n := 0
	for i := range p.pbN {
		if p.pbTimes[(p.pbHead+i)%len(p.pbTimes)] > now.Add(-unit.Day) {
			n++
		}
	}
	return n
}

// NextPatientBolus returns the earliest time a patient bolus could be given as far
// as lockout and count allow (other refusals aside).
func (p *Pump) NextPatientBolus() unit.Time {
	pb := p.rx.PatientBolus
	t := p.now
	if p.pbN > 0 {
		t = max(t, p.pbTimes[(p.pbHead+p.pbN-1)%len(p.pbTimes)].Add(pb.Lockout))
	}
	if pb.MaxPer24h > 0 && p.pbGiven(p.now) >= pb.MaxPer24h {
		// The oldest of the last max_per_24h leaves the window 24 h after it started.
		k := p.pbN - pb.MaxPer24h
		t = max(t, p.pbTimes[(p.pbHead+k)%len(p.pbTimes)].Add(unit.Day))
	}
	return t
}

// Prime starts priming with the pump's own volume (Step with Prime).
func (p *Pump) Prime(now unit.Time) error {
	_, err := p.Step(now, Prime{})
	return err
}

// startPriming fills pump tubing and catheter at the maximum rate; priming is
// excluded from max_24h and the basal program waits for it. v, if not zero,
// must be the pump's own priming volume.
func (p *Pump) startPriming(now unit.Time, v unit.Volume) error {
	if own := p.cfg.PrimingVolume(); v != 0 && v != own {
		return invalid("volume", "%s is not this pump's priming volume %s (tubing %s + catheter %s at %s per cm)",
			v, own, TubingVolume, p.cfg.CatheterLength, p.cfg.CatheterPerCm)
	}
	why := ReasonNone
	switch {
	case !p.hasRx:
		why = ReasonNotPrescribed
	case !p.running:
		why = ReasonStopped
	case p.suspended != 0:
		why = ReasonAlarm
	case p.prime.active:
		why = ReasonPriming
	}
	if why != ReasonNone {
		p.logEv(EvCommandRefused, AlarmNone, why, int64(EvPrimeStart), 0)
		if why == ReasonNotPrescribed {
			return ErrNoRx
		}
		return reasonErr[why]
	}
	if p.cbolus.active {
		p.endSource(&p.cbolus, EvClinicianBolusEnd, ReasonInterrupted)
	}
	if p.pbolus.active {
		p.endSource(&p.pbolus, EvPatientBolusEnd, ReasonInterrupted)
	}
	v = p.cfg.PrimingVolume()
	p.acc = 0
	p.prime.begin(now, v, MaxRate)
	p.logEv(EvPrimeStart, AlarmNone, ReasonNone, int64(v), 0)
	p.replan()
	p.checkpoint()
	return nil
}

// Refill records a refill: the volume withdrawn, the volume now in the reservoir,
// and its drug and concentration. It clears the reservoir alarms.
type Refill struct {
	Withdrawn     unit.Volume
	Added         unit.Volume
	Drug          string
	Concentration unit.Concentration
}

// Refill applies a refill (Step with r).
func (p *Pump) Refill(now unit.Time, r Refill) error {
	_, err := p.Step(now, r)
	return err
}

// refill applies a refill. The expected residual and the discrepancy are logged.
func (p *Pump) refill(now unit.Time, r *Refill) error {
	if r.Added <= EmptyVolume || r.Added > p.cfg.Model.Reservoir() {
		return invalid("added", "%s is outside %s to %s (the %s reservoir)", r.Added, EmptyVolume, p.cfg.Model.Reservoir(), p.cfg.Model)
	}
	if r.Withdrawn < 0 || r.Withdrawn > p.cfg.Model.Reservoir()+p.cfg.Model.DiscrepancyLimit() {
		return invalid("withdrawn", "%s is outside 0 to %s", r.Withdrawn, p.cfg.Model.Reservoir()+p.cfg.Model.DiscrepancyLimit())
	}
	if r.Drug == "" || len(r.Drug) > MaxDrugName || r.Concentration <= 0 {
		return invalid("drug", "a refill names the drug (1 to %d bytes) and a positive concentration", MaxDrugName)
	}
	if !Printable(r.Drug) {
		return invalid("drug", "must be printable text")
	}
	expected := p.Reservoir()
	p.logEv(EvRefill, AlarmNone, ReasonNone, int64(r.Added), int64(r.Withdrawn-expected))
	p.lastFill, p.sinceFill = r.Added, 0
	p.fillDrug, p.fillConc = r.Drug, r.Concentration
	p.clear(LowReservoir)
	p.clear(VolumeDiscrepancy)
	if p.alarms.Has(EmptyReservoir) {
		p.clear(EmptyReservoir)
		p.unsuspend(susEmpty)
	}
	if p.hasRx && (r.Drug != p.rx.Drug || r.Concentration != p.rx.Concentration) {
		p.logEv(EvConcentrationMismatch, AlarmNone, ReasonNone, int64(p.rx.Concentration), int64(r.Concentration))
	}
	p.checkReservoir()
	if p.cfg.LevelSensor {
		p.nextLevel = now // the post-refill level check
	}
	p.checkpoint()
	return nil
}

// Stop stops all delivery until Resume (Step with Stop).
func (p *Pump) Stop(now unit.Time) error {
	_, err := p.Step(now, Stop{})
	return err
}

func (p *Pump) stop() {
	p.logEv(EvStop, AlarmNone, ReasonNone, 0, 0)
	if p.running {
		p.running = false
		p.halt()
	}
	p.checkpoint()
}

// Resume restarts delivery from now (Step with Resume).
func (p *Pump) Resume(now unit.Time) error {
	_, err := p.Step(now, Resume{})
	return err
}

// resume restarts delivery from now and clears an occlusion stop.
func (p *Pump) resume() {
	p.logEv(EvResume, AlarmNone, ReasonNone, 0, 0)
	p.running = true
	p.highCount = 0
	if p.alarms.Has(Occlusion) {
		p.clear(Occlusion)
	}
	p.unsuspend(susOcclusion)
	if p.hasRx && p.rx.Mode != ModeStopped {
		p.clear(PumpStopped)
	}
	p.acc = 0
	p.replan()
	p.checkpoint()
}

// minimumRate switches to the minimum-rate prescription of the one running:
// the same drug, concentration and low-reservoir threshold, no patient bolus,
// and a cap no lower than a day at the minimum rate. It is programmed as a
// Program naming the running prescription, so it is validated, stored and
// logged as one; a clinician's stop stays in force.
func (p *Pump) minimumRate(now unit.Time) error {
	if !p.hasRx {
		return ErrNoRx
	}
	c := Program{Rx: Prescription{Mode: ModeMinimum, Max24h: max(p.rx.Max24h, CapFor(MinRate.Over(unit.Day))),
		LowReservoir: p.rx.LowReservoir, Drug: p.rx.Drug, Concentration: p.rx.Concentration}, Replaces: p.rxHash}
	c.Checksum = checksumInto(&p.scratch, &c.Rx) // NewProgram's, in the core's own buffer: no allocation
	return p.program(now, &c)
}

// CapFor returns the smallest max_24h that lets v through in any 24 h: v
// rounded up to whole strokes (the executor counts whole strokes), and at
// least one stroke.
func CapFor(v unit.Volume) unit.Volume {
	return max((v+StrokeVolume-1)/StrokeVolume*StrokeVolume, StrokeVolume)
}

// Acknowledge acknowledges alarm a, or every active alarm when a is AlarmNone
// (Step with Acknowledge).
func (p *Pump) Acknowledge(now unit.Time, a Alarm) error {
	_, err := p.Step(now, Acknowledge{Alarm: a})
	return err
}

// acknowledge acknowledges alarm a (or every active alarm when a is
// AlarmNone). A latched alarm whose condition has passed (a recovered motor
// stall, a volume discrepancy, a catheter integrity warning, a cap fault)
// clears; others stay until their condition ends.
func (p *Pump) acknowledge(a Alarm) {
	p.alarms.Each(func(b Alarm) {
		if a != AlarmNone && a != b {
			return
		}
		p.logEv(EvAlarmAcknowledge, b, ReasonNone, 0, 0)
		switch b {
		case MotorStall:
			if p.suspended&susStall == 0 {
				p.clear(b)
			}
		case VolumeDiscrepancy, CatheterIntegrity, DailyCap:
			p.clear(b)
			p.lowCount = 0
		}
	})
	p.checkpoint()
}

// SetClock sets the pump's UTC offset (Step with SetClock).
func (p *Pump) SetClock(now unit.Time, offset unit.Duration) error {
	_, err := p.Step(now, SetClock{UTCOffset: offset})
	return err
}

// setClock sets the pump's UTC offset; the flex schedule follows local time.
func (p *Pump) setClock(offset unit.Duration) error {
	if offset < -14*unit.Hour || offset > 14*unit.Hour {
		return invalid("utc_offset", "must be within -14:00 to +14:00")
	}
	p.logEv(EvSetClock, AlarmNone, ReasonNone, int64(p.utcOffset), int64(offset))
	p.utcOffset = offset
	p.flexStep()
	p.replan()
	p.checkpoint()
	return nil
}

// Role is who opened a telemetry session.
type Role = Reason

// Session roles.
const (
	RoleClinician = ReasonRoleClinician
	RolePatient   = ReasonRolePatient
	RoleMonitor   = ReasonRoleMonitor
	RoleEmergency = ReasonRoleEmergency
)

// OpenSession records a telemetry session opening (Step with OpenSession).
func (p *Pump) OpenSession(now unit.Time, role Role) error {
	_, err := p.Step(now, OpenSession{Role: role})
	return err
}

func (p *Pump) openSession(role Role) error {
	if p.session {
		return ErrSession
	}
	p.session, p.sessionRole = true, role
	p.logEv(EvSessionStart, AlarmNone, role, 0, 0)
	return nil
}

// CloseSession records the session's end (Step with CloseSession).
func (p *Pump) CloseSession(now unit.Time, radio unit.Duration) error {
	_, err := p.Step(now, CloseSession{Radio: radio})
	return err
}

// closeSession records the session's end and charges its radio time. A
// clinician session that leaves the pump stopped raises PUMP_STOPPED.
func (p *Pump) closeSession(radio unit.Duration) error {
	if !p.session {
		return ErrSession
	}
	p.session = false
	p.logEv(EvSessionEnd, AlarmNone, p.sessionRole, int64(radio), 0)
	p.debit(RadioCurrent.Over(radio))
	// The guard against the incomplete session seen in the field: a clinician (or
	// an emergency stop) leaving a programmed pump stopped. A pump never
	// programmed, or a patient's or monitor's session, changes nothing.
	byClinic := p.sessionRole == RoleClinician || p.sessionRole == RoleEmergency
	if byClinic && p.hasRx && (!p.running || p.rx.Mode == ModeStopped) {
		p.raise(PumpStopped)
	}
	p.checkpoint()
	return nil
}

// Status is what an interrogation reads.
type Status struct {
	At                unit.Time
	Model             Model
	Rx                Prescription
	RxHash            Hash
	HasRx             bool
	Running           bool
	Delivering        bool
	Priming           bool
	Bridging          bool
	Basal             unit.Rate
	Reservoir         unit.Volume
	Delivered         unit.Volume
	Battery           unit.Charge
	ERIThreshold      unit.Charge
	Alarms            Alarms
	FillDrug          string
	FillConcentration unit.Concentration
	UTCOffset         unit.Duration
	NextPatientBolus  unit.Time
	LogNext           uint64
}

// Status returns the pump's state now, without logging.
func (p *Pump) Status() Status {
	return Status{At: p.now, Model: p.cfg.Model, Rx: p.rx, RxHash: p.rxHash, HasRx: p.hasRx, Running: p.running,
		Delivering: p.delivering(), Priming: p.prime.active, Bridging: p.bridge.active, Basal: p.basal,
		Reservoir: p.Reservoir(), Delivered: p.delivered, Battery: p.charge, ERIThreshold: p.eriThreshold,
		Alarms: p.alarms, FillDrug: p.fillDrug, FillConcentration: p.fillConc, UTCOffset: p.utcOffset,
		NextPatientBolus: p.NextPatientBolus(), LogNext: p.log.Next()}
}

// Interrogate logs an interrogation and returns the status (Step with Interrogate).
func (p *Pump) Interrogate(now unit.Time) (Status, error) {
	r, err := p.Step(now, Interrogate{})
	return r.Status, err
}

// Log returns the event log.
func (p *Pump) Log() *Log { return p.log }

// Drain records charge lost outside the core's own accounting (Step with Drain).
func (p *Pump) Drain(now unit.Time, c unit.Charge) error {
	_, err := p.Step(now, Drain{Charge: c})
	return err
}

func (p *Pump) drain(c unit.Charge) error {
	if c <= 0 {
		return invalid("charge", "a drain must be positive")
	}
	p.debit(c)
	p.checkpoint()
	return nil
}
