// Package scenario owns the scenario file format of spec/scenario.md: it reads a
// scenario from JSON into typed values with units, refuses a malformed file as a
// whole with the field and the reason, and writes a scenario back (Format). A
// prescription is the pump's own type (pump.Prescription), with beside it what
// only a file says; the pump's rules are not checked here: the simulator checks
// each prescription against the pump core before it runs.
package scenario

import (
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Scenario is one parsed scenario file.
type Scenario struct {
	Name         string
	Start        unit.Time
	Duration     unit.Duration
	Seed         int64
	Pump         Pump
	Fill         Fill
	Prescription Prescription
	Events       []Event
}

// End is the time the scenario ends.
func (s *Scenario) End() unit.Time { return s.Start.Add(s.Duration) }

// Pump is the "pump" block.
type Pump struct {
	Model           pump.Model    // "TP-20" or "TP-40"
	CatheterLength  unit.Length   // catheter_length_cm
	CatheterPerCm   unit.Volume   // catheter_ml_per_cm, volume per centimetre; default 0.0022 mL
	UTCOffset       unit.Duration // utc_offset, default +00:00
	PressureSensor  bool          // "pressure" in sensors
	LevelSensor     bool          // "level" in sensors
	Battery         unit.Charge   // battery_uah: remaining charge at start, default 1,000,000 µAh
	Primed          bool          // default true
	StrokeSpreadPct float64       // stroke_spread_pct: per-stroke volume spread, 1 SD in % (device.Mechanics); 0 if absent
	// StrokeDriftPctPerYear is stroke_drift_pct_per_year: the systematic change of
	// the stroke volume per year of pump life, in % (negative: the mechanism
	// moves less as it wears); 0 if absent.
	StrokeDriftPctPerYear float64
}

// Drug is a drug and concentration as written in the file.
type Drug struct {
	Name          string             // drug, e.g. "morphine"
	Concentration unit.Concentration // concentration
	Unit          unit.MassUnit      // the mass unit the concentration was written in
	Text          string             // the concentration as written, e.g. "10 mg/mL"
}

// Fill is the "fill" block: the reservoir as it left the clinic.
type Fill struct {
	Drug   Drug
	Volume unit.Volume // volume_ml
}

// Prescription is a "prescription" block: the pump's own prescription, with
// beside it the one thing only a scenario says, rates written as a dose per day.
type Prescription struct {
	// Rx is the prescription as the pump takes it, except for the drug, which
	// is the reservoir's when the prescription is applied: Rx.Drug and
	// Rx.Concentration are empty, and a rate written as dose_per_day is 0 here
	// and set from Dose or FlexDoses then. A max_24h_ml left out (stopped
	// only) is 0, as the pump reads it; a patient_bolus left out has Volume 0.
	Rx pump.Prescription
	// Dose is the continuous rate when written as dose_per_day.
	Dose Dose
	// FlexDoses holds, for each flex step whose rate is written as
	// dose_per_day, that dose (index as Rx.Flex).
	FlexDoses [pump.MaxFlexSteps]Dose
}

// Dose is a rate written as dose_per_day ("5 mg", "400 mcg/day"), converted to
// mL/day with the concentration in the reservoir when the prescription is
// applied. The zero Dose means the rate was written in mL/day.
type Dose struct {
	Rate unit.DoseRate
	Unit unit.MassUnit // the unit it was written in, so that Format writes it back as given
}

// Kind is an event kind.
type Kind string

const (
	Program        Kind = "program"
	Stop           Kind = "stop"
	Resume         Kind = "resume"
	ClinicianBolus Kind = "clinician_bolus"
	Prime          Kind = "prime"
	Bridge         Kind = "bridge"
	PatientBolusEv Kind = "patient_bolus"
	Refill         Kind = "refill"
	Interrogate    Kind = "interrogate"
	Acknowledge    Kind = "acknowledge"
	MRI            Kind = "mri"
	MotorStall     Kind = "motor_stall"
	Occlusion      Kind = "occlusion"
	Leak           Kind = "leak"
	PowerLoss      Kind = "power_loss"
	BatteryDrain   Kind = "battery_drain"
	SetClock       Kind = "set_clock"
)

// Kinds lists every event kind, in the order of spec/scenario.md.
var Kinds = []Kind{Program, Stop, Resume, ClinicianBolus, Prime, Bridge, PatientBolusEv, Refill,
	Interrogate, Acknowledge, MRI, MotorStall, Occlusion, Leak, PowerLoss, BatteryDrain, SetClock}

// Event is one entry of "events". Only the fields of its kind are set.
type Event struct {
	Index int // position in the file's events array, for messages
	At    unit.Time
	Kind  Kind

	Duration    unit.Duration // clinician_bolus, mri, motor_stall, occlusion
	HasDuration bool          // false for a permanent occlusion

	Volume unit.Volume // clinician_bolus volume_ml

	Prescription *Prescription // program, bridge

	Withdraw   unit.Volume // refill withdraw_ml
	Add        unit.Volume // refill add_ml
	PocketFill unit.Volume // refill pocket_fill_ml (0 when absent)
	Drug       Drug        // refill drug and concentration

	Charge unit.Charge // battery_drain uah

	UTCOffset unit.Duration // set_clock utc_offset

	Alarm string // acknowledge: optional alarm name; "" acknowledges every alarm
}

// FieldError is a refusal of a scenario: the field, by its JSON path
// (e.g. "events[3].prescription.flex[1].at"), and the reason.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "scenario: " + e.Field + ": " + e.Reason }
