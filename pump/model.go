package pump

import "github.com/thecal/thecal/unit"

// Model is a pump model: TP20 or TP40.
type Model uint8

const (
	TP20 Model = iota + 1
	TP40
)

var modelNames = names[Model]{"model", []string{TP20: "TP-20", TP40: "TP-40"}, TP20}

// ParseModel reads "TP-20" or "TP-40".
func ParseModel(s string) (Model, bool) {
	var m Model
	return m, m.UnmarshalText([]byte(s)) == nil
}

func (m Model) String() string { return modelNames.name(m, "unknown model") }

// Valid reports whether m is a known model.
func (m Model) Valid() bool { return modelNames.known(m) }

// MarshalText writes the model's name ("TP-20"); an unknown model is an error.
func (m Model) MarshalText() ([]byte, error) { return modelNames.text(m) }

// UnmarshalText reads a model's name; other text is a *TextError naming the models.
func (m *Model) UnmarshalText(b []byte) error { return modelNames.read(b, m) }

// Reservoir is the model's nominal and maximum fill.
func (m Model) Reservoir() unit.Volume {
	if m == TP40 {
		return 40 * unit.Millilitre
	}
	return 20 * unit.Millilitre
}

// DiscrepancyLimit is the level-sensor and refill discrepancy beyond which the
// estimate and the reservoir are said to disagree: 1.0 mL on a TP-20, 2.0 mL on a TP-40.
func (m Model) DiscrepancyLimit() unit.Volume {
	if m == TP40 {
		return 2 * unit.Millilitre
	}
	return 1 * unit.Millilitre
}

// Design constants of the TP-20 and TP-40 (spec/pump.md). They are the one source
// of these numbers: the clinical calculators and the simulator read them from here.
const (
	// StrokeVolume is the volume one completed stroke moves.
	StrokeVolume = 500 * unit.Nanolitre
	// TubingVolume is the pump tubing from reservoir to catheter port.
	TubingVolume = 250 * unit.Microlitre
	// MinRate is the lowest rate of any basal mode, and the minimum-rate mode's rate.
	MinRate = 48_000 * unit.NanolitrePerDay // 0.048 mL/day
	// MaxRate is the highest rate of all modes together.
	MaxRate = unit.MillilitrePerHour
	// EmptyVolume is the reservoir estimate at or below which delivery stops.
	EmptyVolume = 500 * unit.Microlitre
	// LowReservoirMin, LowReservoirMax and LowReservoirDefault bound the programmable
	// low-reservoir alarm threshold.
	LowReservoirMin     = 1 * unit.Millilitre
	LowReservoirMax     = 5 * unit.Millilitre
	LowReservoirDefault = 2 * unit.Millilitre
	// BatteryCapacity is the usable charge of a new battery.
	BatteryCapacity = 1_000_000 * unit.MicroampHour
	// BatteryReserve is the end-of-service reserve: 1% of capacity.
	BatteryReserve = BatteryCapacity / 100
	// QuiescentCurrent is drawn at all times.
	QuiescentCurrent = 12 * unit.Microamp
	// StrokeCharge is drawn by each commanded stroke.
	StrokeCharge = 100 * unit.NanoampHour
	// RadioCurrent is drawn while a telemetry session is open.
	RadioCurrent = 5 * unit.Milliamp
	// ToneCharge is drawn by each alarm tone (a critical two-tone pattern counts once).
	ToneCharge = 5 * unit.MicroampHour
	// ERILead is how long before end of service, at the current program, the
	// elective replacement indicator is raised.
	ERILead = 90 * unit.Day
	// DefaultCatheterPerCm is the catheter's internal volume per cm unless given.
	DefaultCatheterPerCm = 2200 * unit.Nanolitre
)
