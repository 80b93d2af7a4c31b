package sim

import (
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/scenario"
	"github.com/thecal/thecal/unit"
)

// The safety invariants of spec/pump.md that a fault campaign checks on every
// run, by name. Each is checked from what the pump itself reports (its event
// log, its status) against what the simulated world knows (every stroke the
// motor completed and when), never from the core's private state.
const (
	// InvStopped: no stroke while a critical alarm that stops delivery is raised
	// (EMPTY_RESERVOIR, EOS, OCCLUSION, MEMORY_ERROR, or MOTOR_STALL before its
	// recovery), while a clinician has stopped the pump, or after the battery died.
	// The one exception is the stall retry stroke whose completion is the recovery.
	InvStopped = "stopped_when_critical"
	// InvCap: the strokes counted against max_24h (priming excluded, under the
	// current prescription) in any rolling 24 h never exceed max_24h.
	InvCap = "max_24h"
	// InvNoCatchUp: from any logged event on, until the next, delivery never runs
	// ahead of the highest rate the program could ask for (highest basal rate of
	// the prescription in force plus the running boluses, or the maximum rate
	// while priming) by more than one stroke: volume missed while stopped,
	// stalled, occluded or empty is never made up.
	InvNoCatchUp = "no_catch_up"
	// InvAlarmDue: whenever the pump is observed (after every stroke and every
	// event), LOW_RESERVOIR is raised if the estimate is at or below the
	// threshold, EMPTY_RESERVOIR at or below 0.5 mL, ERI at or below the ERI
	// threshold, EOS at or below the reserve: the crossing stroke raises them.
	InvAlarmDue = "alarm_when_due"
	// InvConservation: the reservoir estimate plus the volume of the strokes
	// completed since the last refill equals the volume the refill entered;
	// after a reset (power loss) the estimate errs low, never high, by no more
	// than the resets assumed delivered, and each reset found a checkpoint at
	// most an hour old.
	InvConservation = "reservoir_conservation"
	// InvAlarmLogged: replaying the log's alarm raises and clears gives the
	// pump's alarm set: no alarm changes without a log entry.
	InvAlarmLogged = "alarm_logged"
	// InvInjected is a violation reported by an extra check (tests use it to
	// exercise the shrinker).
	InvInjected = "injected"
)

// Violation is one breach of an invariant.
type Violation struct {
	Invariant string `json:"invariant"`
	At        string `json:"at"`
	Detail    string `json:"detail"`
	at        unit.Time
}

// ExtraCheck is an additional invariant checked after every event: it returns a
// description of the violation, or "".
type ExtraCheck func(e *scenario.Event, st pump.Status) string

// checker follows one run and records the violations it sees.
type checker struct {
	r     *run
	extra ExtraCheck

	cursor uint64 // next log sequence number to read
	cur    *scenario.Event

	// The pump's state as its log tells it.
	alarms   pump.Alarms
	running  bool
	stalled  bool
	dead     bool
	priming  bool
	cbRate   unit.Rate
	pbRate   unit.Rate
	rxRate   unit.Rate // highest basal rate of the prescription in force
	pendRate unit.Rate // the same for a prescription waiting for its bridge to end
	pendCap  unit.Volume
	pending  []pump.Entry

	// max_24h window of counted stroke times in the current prescription epoch.
	capStrokes int
	win        []unit.Time
	winHead    int

	// no catch-up: strokes since the last logged event.
	segStart unit.Time
	segCount int64

	// Reservoir conservation.
	added, counted, assumed unit.Volume

	// Thresholds, read from the status after each event.
	lowThr unit.Volume
	eriThr unit.Charge

	strokes    int64
	violations []Violation
}

const maxViolations = 8

func (c *checker) fail(inv string, at unit.Time, format string, args ...any) {
	if len(c.violations) >= maxViolations {
		return
	}
	for _, v := range c.violations {
		if v.Invariant == inv {
			return // the first of each kind is the one that matters
		}
	}
	c.violations = append(c.violations, Violation{Invariant: inv, At: rfc(at), Detail: fmt.Sprintf(format, args...), at: at})
}

// duringStroke reports whether entry e, logged at the stroke time t, may have
// been logged by that stroke's StrokeDone rather than before the stroke.
func duringStroke(e *pump.Entry, t unit.Time) bool {
	if e.At != t {
		return false
	}
	switch e.Kind {
	case pump.EvAlarmRaise, pump.EvMotorStallRecovery, pump.EvBatteryDepleted:
		return true
	case pump.EvPrimeEnd, pump.EvClinicianBolusEnd, pump.EvPatientBolusEnd:
		return e.Reason == pump.ReasonInterrupted
	}
	return false
}

// read applies the log entries written since the last read; with before set,
// only those that came before the stroke at t, the rest stay pending.
func (c *checker) read(before bool, t unit.Time) {
	log := c.r.dev.Log
	if next := log.Next(); next > c.cursor {
		c.pending = log.Since(c.cursor, c.pending)
		c.cursor = next
	}
	i := 0
	for ; i < len(c.pending); i++ {
		e := &c.pending[i]
		if before && duringStroke(e, t) {
			break
		}
		c.apply(e)
	}
	c.pending = append(c.pending[:0], c.pending[i:]...)
}

func (c *checker) rxOf(p *scenario.Prescription) pump.Prescription { return rxOf(p, c.r.res) }

func maxBasal(rx *pump.Prescription) unit.Rate {
	switch rx.Mode {
	case pump.ModeContinuous:
		return rx.Rate
	case pump.ModeMinimum:
		return pump.MinRate
	case pump.ModeFlex:
		var m unit.Rate
		for _, s := range rx.Flex[:rx.FlexSteps] {
			m = max(m, s.Rate)
		}
		return m
	}
	return 0
}

func bolusRate(v, d int64) unit.Rate {
	if d <= 0 {
		return pump.MaxRate
	}
	return unit.Rate((v*int64(unit.Day)+d-1)/d) + 1
}

func (c *checker) newEpoch(capVol unit.Volume) {
	c.capStrokes = int(capVol / pump.StrokeVolume)
	c.win, c.winHead = c.win[:0], 0
}

func (c *checker) apply(e *pump.Entry) {
	c.segStart, c.segCount = e.At, 0
	switch e.Kind {
	case pump.EvAlarmRaise:
		c.alarms |= 1 << e.Alarm
	case pump.EvAlarmClear:
		c.alarms &^= 1 << e.Alarm
	case pump.EvStop:
		c.running = false
	case pump.EvResume:
		c.running = true
	case pump.EvMotorStall:
		c.stalled = true
	case pump.EvMotorStallRecovery:
		c.stalled = false
	case pump.EvBatteryDepleted:
		c.dead = true
	case pump.EvReset:
		// The core restarts without a running bolus or priming, and re-detects a stall.
		c.stalled, c.priming, c.cbRate, c.pbRate = false, false, 0, 0
		c.assumed += unit.Volume(e.A)
		if e.B > int64(pump.CheckpointPeriod) && !c.dead { // a dead pump checkpoints no more
			c.fail(InvConservation, e.At, "the reset found its checkpoint %s old, more than %s", unit.Duration(e.B), pump.CheckpointPeriod)
		}
	case pump.EvProgram:
		rx := c.rxOf(&c.r.sc.Prescription)
		if c.cur != nil && c.cur.Prescription != nil {
			rx = c.rxOf(c.cur.Prescription)
		}
		c.rxRate = maxBasal(&rx)
		c.newEpoch(unit.Volume(e.B))
	case pump.EvBridgeStart:
		if c.cur != nil && c.cur.Prescription != nil {
			rx := c.rxOf(c.cur.Prescription)
			c.pendRate, c.pendCap = maxBasal(&rx), rx.Max24h
		}
	case pump.EvBridgeEnd:
		if e.Reason == pump.ReasonCompleted {
			c.rxRate = c.pendRate
			c.newEpoch(c.pendCap)
		}
	case pump.EvPrimeStart:
		c.priming = true
	case pump.EvPrimeEnd:
		c.priming = false
	case pump.EvClinicianBolusStart:
		c.cbRate = bolusRate(e.A, e.B)
	case pump.EvClinicianBolusEnd:
		c.cbRate = 0
	case pump.EvPatientBolusStart:
		c.pbRate = bolusRate(e.A, e.B)
	case pump.EvPatientBolusEnd:
		c.pbRate = 0
	case pump.EvRefill:
		c.added, c.counted, c.assumed = unit.Volume(e.A), 0, 0
	}
}

// stroke checks one completed stroke at t.
func (c *checker) stroke(t unit.Time, _ unit.Volume) {
	c.strokes++
	c.read(true, t)
	// Was this the stall retry whose completion recovers? Its entry is pending.
	retry := false
	for i := range c.pending {
		if c.pending[i].Kind == pump.EvMotorStallRecovery {
			retry = true
		}
	}
	const stops = 1<<pump.EmptyReservoir | 1<<pump.EOS | 1<<pump.Occlusion | 1<<pump.MemoryError
	switch {
	case c.alarms&stops != 0:
		c.fail(InvStopped, t, "a stroke while %v is raised", alarmList(c.alarms&stops))
	case !c.running:
		c.fail(InvStopped, t, "a stroke while a clinician has stopped the pump")
	case c.dead:
		c.fail(InvStopped, t, "a stroke after the battery was depleted")
	case c.stalled && !retry:
		c.fail(InvStopped, t, "a stroke other than the retry while the motor is stalled")
	}
	if !c.priming {
		for c.winHead < len(c.win) && c.win[c.winHead] <= t.Add(-unit.Day) {
			c.winHead++
		}
		if c.winHead > 4096 && c.winHead > len(c.win)/2 {
			c.win = append(c.win[:0], c.win[c.winHead:]...)
			c.winHead = 0
		}
		c.win = append(c.win, t)
		if n := len(c.win) - c.winHead; n > c.capStrokes {
			c.fail(InvCap, t, "%d strokes (%s) counted in the 24 h to here, max_24h allows %d", n, unit.Volume(n)*pump.StrokeVolume, c.capStrokes)
		}
	}
	// A stroke at the very instant of the entry was due from before it: the
	// accumulator may carry up to one stroke across an event, hence the +1.
	if t > c.segStart {
		c.segCount++
	}
	bound := c.rxRate + c.cbRate + c.pbRate
	if c.priming {
		bound = pump.MaxRate
	}
	if (c.segCount-1)*int64(pump.StrokeVolume)*int64(unit.Day) > int64(bound)*int64(t-c.segStart) && !retry {
		c.fail(InvNoCatchUp, t, "%d strokes in the %s since %s, more than the program's highest rate %s allows",
			c.segCount, t.Sub(c.segStart), rfc(c.segStart), bound)
	}
	c.counted += pump.StrokeVolume
	c.read(false, t)
	c.observe(t, true)
}

// observe checks what must hold whenever the pump is looked at.
// A pump whose battery is depleted is out of service: it must never stroke
// again (checked per stroke), and nothing else is asked of it.
func (c *checker) observe(t unit.Time, reservoirChanged bool) {
	core := c.r.dev.Core
	if c.dead || core.Battery() <= 0 {
		return
	}
	alarms := core.Alarms()
	est := core.Reservoir()
	switch {
	case !reservoirChanged:
	case est <= pump.EmptyVolume && !alarms.Has(pump.EmptyReservoir):
		c.fail(InvAlarmDue, t, "reservoir estimate %s is at or below %s and EMPTY_RESERVOIR is not raised", est, pump.EmptyVolume)
	case est <= c.lowThr && !alarms.Has(pump.LowReservoir):
		c.fail(InvAlarmDue, t, "reservoir estimate %s is at or below the threshold %s and LOW_RESERVOIR is not raised", est, c.lowThr)
	}
	if b := core.Battery(); b > 0 {
		switch {
		case b <= pump.BatteryReserve && !alarms.Has(pump.EOS):
			c.fail(InvAlarmDue, t, "battery %s is at or below the reserve %s and EOS is not raised", b, pump.BatteryReserve)
		case b <= c.eriThr && !alarms.Has(pump.ERI):
			c.fail(InvAlarmDue, t, "battery %s is at or below the ERI threshold %s and ERI is not raised", b, c.eriThr)
		}
	}
	switch truth := c.added - c.counted; {
	case c.assumed == 0 && est != truth:
		c.fail(InvConservation, t, "estimate %s + strokes since the refill %s ≠ refill volume %s", est, c.counted, c.added)
	case est > truth:
		c.fail(InvConservation, t, "after a reset the estimate %s is above refill volume − strokes since (%s): it must err low", est, truth)
	case truth-est > c.assumed:
		c.fail(InvConservation, t, "after a reset the estimate %s is %s below refill volume − strokes since, more than the %s the resets assumed",
			est, truth-est, c.assumed)
	}
	if alarms != c.alarms {
		c.fail(InvAlarmLogged, t, "the pump's alarms are %v, its log says %v", alarmList(alarms), alarmList(c.alarms))
	}
}

// event checks the pump after event e (nil: the pump as it left the clinic).
func (c *checker) event(e *scenario.Event) {
	c.cur = e
	c.read(false, 0)
	t := c.r.sc.Start
	if e != nil {
		t = e.At
	}
	st := c.r.dev.Core.Status()
	c.lowThr = st.Rx.LowReservoir
	if c.lowThr == 0 {
		c.lowThr = pump.LowReservoirDefault
	}
	c.eriThr = st.ERIThreshold
	// Rule 5 asks for a reservoir alarm within one stroke of the crossing: after a
	// command that moves the estimate itself (a refill, a reset) at once, after one
	// that only moves the threshold (a bridge) at the next stroke.
	c.observe(t, e == nil || e.Kind == scenario.Refill || e.Kind == scenario.PowerLoss)
	if c.extra != nil {
		if msg := c.extra(e, st); msg != "" {
			c.fail(InvInjected, t, "%s", msg)
		}
	}
}

func alarmList(s pump.Alarms) string {
	out := ""
	s.Each(func(a pump.Alarm) {
		if out != "" {
			out += ","
		}
		out += a.String()
	})
	if out == "" {
		return "none"
	}
	return out
}

// CheckResult is the outcome of one checked run.
type CheckResult struct {
	Violations []Violation `json:"violations"`
	Strokes    int64       `json:"strokes"`
	Report     *Report     `json:"-"`
}

// Check runs sc and checks every invariant on the way; extra, if not nil, is
// checked after every event. It stops at the first event after a violation.
func Check(sc *scenario.Scenario, extra ExtraCheck) (*CheckResult, error) {
	c := &checker{extra: extra, running: true, cursor: 1}
	r, err := newDriven(sc, func(t unit.Time, moved unit.Volume) { c.stroke(t, moved) })
	if err != nil {
		return nil, err
	}
	c.r = r
	h := &hooks{event: c.event, stop: func() bool { return len(c.violations) > 0 }}
	if err := r.drive(h); err != nil {
		return nil, err
	}
	c.read(false, 0)
	c.observe(r.dev.Core.Status().At, false)
	res := &CheckResult{Violations: c.violations, Strokes: c.strokes}
	if res.Violations == nil {
		res.Violations = []Violation{}
	}
	return res, nil
}
