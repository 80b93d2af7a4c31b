// Package scenario owns the scenario file format of spec/scenario.md: it reads a
// scenario from JSON into typed values with units, and refuses a malformed file as
// a whole with the field and the reason. It knows nothing of the pump's rules; the
// simulator checks each prescription against the pump core before it runs.
package scenario

import "github.com/thecal/thecal/unit"

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
	Model           string        // "TP-20" or "TP-40"
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

// Mode is a prescription's therapy mode.
type Mode string

const (
	Stopped    Mode = "stopped"
	Continuous Mode = "continuous"
	Flex       Mode = "flex"
	Minimum    Mode = "minimum"
)

// Rate is a rate as the file gives it: rate_ml_per_day, or dose_per_day to be
// converted with the concentration in the reservoir when the prescription is applied.
type Rate struct {
	Volume   unit.Rate     // set when IsDose is false
	Dose     unit.DoseRate // set when IsDose is true
	DoseUnit unit.MassUnit
	IsDose   bool
}

// Weekday mask bits: bit 0 is Sunday … bit 6 is Saturday (time.Weekday order).
type Weekdays uint8

// AllDays is the mask of every day.
const AllDays Weekdays = 0x7f

// FlexStep is one step of a flex schedule.
type FlexStep struct {
	At   unit.Duration // start time of day, pump local time, from "HH:MM"
	Rate Rate
	Days Weekdays // "days": ["mon", …]; AllDays when absent
}

// PatientBolus is the "patient_bolus" block.
type PatientBolus struct {
	Volume    unit.Volume   // volume_ml
	Duration  unit.Duration // duration
	Lockout   unit.Duration // lockout
	MaxPer24h int           // max_per_24h
}

// Prescription is a "prescription" block.
type Prescription struct {
	Mode         Mode
	Rate         Rate        // continuous: rate_ml_per_day or dose_per_day
	Max24h       unit.Volume // max_24h_ml
	HasMax24h    bool
	LowReservoir unit.Volume // low_reservoir_ml; 0 when absent (the pump's default applies)
	Flex         []FlexStep  // flex
	Weekly       bool        // "repeat": "weekly" (default "daily"; weekly when any step has days)
	PatientBolus *PatientBolus
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
