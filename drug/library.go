// Package drug owns the drug library: the drugs a clinic allows in its pumps,
// their dose units and concentrations, their soft and hard limits and titration
// rules, each number with its source, and the check of a proposed prescription
// against the library. A library is clinic data, published as a versioned file;
// this package reads and validates one as a whole and ships a default
// (default.json). It knows nothing of pumps or storage.
package drug

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/unit"
)

// Format is the format name a library file declares in its "format" field.
const Format = "thecal-drug-library/1"

var (
	// ErrInvalid is wrapped by every refusal of a library file (a *LoadError).
	ErrInvalid = errors.New("drug: invalid library")
	// ErrProposal is wrapped by a refusal to check a malformed proposal or history.
	ErrProposal = errors.New("drug: invalid proposal")
	// ErrRefused is returned by Decide when a finding refuses the prescription.
	ErrRefused = errors.New("drug: refused by the drug library")
	// ErrReasonRequired is returned by Decide when a finding needs a stated reason
	// and none was given.
	ErrReasonRequired = errors.New("drug: a stated reason is required")
)

// fileField is the Path of a problem with the file as a whole.
const fileField = "(file)"

// Problem is one thing wrong with a library file: the field by its JSON path
// (e.g. "drugs[2].daily_dose_limit.soft_max.source") and the reason.
type Problem struct {
	Path   string
	Reason string
}

func (p Problem) String() string { return p.Path + ": " + p.Reason }

// LoadError refuses a library file with every problem found in it.
type LoadError struct {
	Problems []Problem
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString("drug library refused")
	if len(e.Problems) > 1 {
		b.WriteString(" (" + strconv.Itoa(len(e.Problems)) + " problems)")
	}
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func (e *LoadError) Unwrap() error { return ErrInvalid }

// Sourced is a value from the library with where it comes from.
type Sourced[T any] struct {
	Value  T
	Source string
}

// Limit is a soft and a hard bound below and above. Each side is optional (nil).
// Outside a hard bound a prescription is refused; outside a soft bound it needs
// a stated reason. A soft bound always lies inside its hard bound.
type Limit[T ~int64] struct {
	SoftMin, SoftMax, HardMin, HardMax *Sourced[T]
}

// Empty reports whether no side of l is set.
func (l Limit[T]) Empty() bool {
	return l.SoftMin == nil && l.SoftMax == nil && l.HardMin == nil && l.HardMax == nil
}

// Range is a recommended range, for one population or ("") for every patient.
type Range[T ~int64] struct {
	Population string
	Min, Max   T
	Source     string
}

// Concentrations are the concentrations a drug may be given at: a list of
// strengths, or a range (Min to Max) when List is empty.
type Concentrations struct {
	List     []unit.Concentration
	Min, Max unit.Concentration
	Source   string
}

// Risk is a risk flag of a drug.
type Risk string

const (
	// Withdrawal: stopping the drug is dangerous (baclofen: life-threatening).
	Withdrawal Risk = "withdrawal"
	// RespiratoryDepression: the drug can depress breathing.
	RespiratoryDepression Risk = "respiratory_depression"
)

// Risks lists every risk flag a library may set.
var Risks = []Risk{Withdrawal, RespiratoryDepression}

// Titration is the rule for raising a dose, for one population or ("") for all.
// The largest step is absolute (MaxStep) or a percentage of the current dose
// (MaxStepPercent), never both.
type Titration struct {
	Population     string
	MaxStep        Limit[unit.DoseRate]
	MaxStepPercent Limit[unit.Percent]
	MinInterval    Limit[unit.Duration] // between increases (and from the start)
	MaxPerWeek     Limit[int64]         // increases in any 7 days
}

// Refill holds the drug's stability limits on the time between refills.
type Refill struct {
	FirstWithin        *Sourced[unit.Duration] // from the first fill of a new pump
	MaxInterval        *Sourced[unit.Duration] // undiluted, or whatever the drug's form
	MaxIntervalDiluted *Sourced[unit.Duration] // when diluted
}

// Rinse is how a new pump is rinsed before its first fill.
type Rinse struct {
	Count         int64
	Volume        unit.Volume
	Concentration unit.Concentration
	Source        string
}

// Screening is a screening protocol of boluses given one after another until
// one works: if none works, the patient is not a candidate.
type Screening struct {
	Doses        []unit.Mass   // in order
	FirstVolume  unit.Volume   // the volume the first dose is given in
	MinInjection unit.Duration // the shortest time one bolus is injected over
	ObserveMin   unit.Duration // observation after each bolus, from…
	ObserveMax   unit.Duration // …to
	Between      unit.Duration // the least time from one bolus to the next
	Source       string
}

// Concentration is the concentration of the screening boluses: the first dose
// in its volume.
func (s *Screening) Concentration() unit.Concentration {
	return unit.Concentration(int64(s.Doses[0]) / int64(s.FirstVolume))
}

// ScreeningStart turns an effective screening dose into a starting daily dose:
// Multiplier × the dose over 24 h, or LongEffectMultiplier × when the bolus's
// effect lasted more than LongEffectOver.
type ScreeningStart struct {
	Multiplier           int64
	LongEffectMultiplier int64
	LongEffectOver       unit.Duration
	Source               string
}

// Conversion is a published conversion from another route to intrathecal: an
// intrathecal dose is the other dose divided by a ratio from Min to Max, Typical
// being the ratio quoted most. It is a suggestion, never a limit.
type Conversion struct {
	From              string // e.g. "oral morphine"
	Typical, Min, Max int64  // ratios N:1
	Source            string
}

// Starting holds the limits and recommended ranges for a drug's first dose.
type Starting struct {
	Limit       Limit[unit.DoseRate]
	Recommended []Range[unit.DoseRate]
}

// Drug is one library entry.
type Drug struct {
	Name           string
	Synonyms       []string
	DoseUnit       unit.MassUnit
	Labelled       *Sourced[bool] // labelled for intrathecal pump use; nil: no label known
	Populations    []string       // the populations rules below may name
	Risks          []Sourced[Risk]
	Concentrations *Concentrations
	Diluent        *Sourced[string] // the only diluent allowed; nil when dilution is not in the library
	Concentration  Limit[unit.Concentration]
	DailyDose      Limit[unit.DoseRate]
	Starting       Starting
	Maintenance    []Range[unit.DoseRate]
	Titration      []Titration
	Refill         Refill
	Rinse          *Rinse
	Screening      *Screening
	ScreeningStart *ScreeningStart
	OralConversion *Conversion
	// LargeChange is the change of the daily dose (up or down, as a
	// percentage of the current dose) beyond which a change needs a second,
	// explicit confirmation; nil where the library is silent (the clinic's
	// default applies: therapy.Settings.LargeChange).
	LargeChange *Sourced[unit.Percent]
	// Withdrawal is the warning of a drug flagged withdrawal (nil: the
	// library gives none, a generic one is shown).
	Withdrawal *WithdrawalNote
	// Interruption is what the library says of resuming after delivery
	// stopped; each part nil where it is silent.
	Interruption Interruption
	// PatientBolus says, per population (or "" for everyone), whether patient
	// boluses are allowed; empty where the library is silent.
	PatientBolus []BolusRule
}

// WithdrawalNote is a drug's withdrawal warning: what a sudden stop can do, the
// taper its source gives (0 when none), and the decrease of the daily dose
// beyond which the warning is shown (nil: the large-change threshold in force).
type WithdrawalNote struct {
	Warning            string
	TaperMin, TaperMax unit.Duration
	Source             string
	DecreaseThreshold  *Sourced[unit.Percent]
}

// Interruption is what the library says of delivery that stopped (an empty
// reservoir, a stop): beyond Threshold, resuming the dose before is a
// physician's decision; Restart is the reduced dose, a share of the dose
// before, a restart may take without one.
type Interruption struct {
	Threshold *Sourced[unit.Duration]
	Restart   *Sourced[unit.Percent]
}

// BolusRule says whether patient boluses are allowed, for a population or
// ("") for everyone.
type BolusRule struct {
	Population string
	Allowed    bool
	Source     string
}

// HasRisk reports whether d carries risk flag k.
func (d *Drug) HasRisk(k Risk) bool { return d.riskSource(k) != "" }

// riskSource is the source of risk flag k, "" when d does not carry it.
func (d *Drug) riskSource(k Risk) string {
	for _, r := range d.Risks {
		if r.Value == k {
			return r.Source
		}
	}
	return ""
}

// Library is a published, versioned drug library.
type Library struct {
	Version   string
	Published time.Time // a date, UTC midnight
	Publisher string
	Digest    string // SHA-256 of the file, hex: with Version, what a prescription records
	Drugs     []*Drug

	byName map[string]*Drug
}

// Lookup finds a drug by name or synonym, ignoring case and spacing.
func (l *Library) Lookup(name string) (*Drug, bool) {
	d, ok := l.byName[normalize(name)]
	return d, ok
}

func normalize(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

//go:embed default.json
var defaultJSON []byte

// DefaultJSON returns the default library file.
func DefaultJSON() []byte { return append([]byte(nil), defaultJSON...) }

// Default returns the default library: every figure of spec/drugs.md that has a
// source, with its source, and empty limits where none is confirmed. A clinic
// reviews it and publishes its own.
func Default() *Library {
	lib, err := Load(defaultJSON)
	if err != nil {
		panic("drug: the embedded default library is invalid: " + err.Error())
	}
	return lib
}

// Load reads and validates a library file as a whole. A file with any problem is
// refused with a *LoadError listing each problem with its field path.
func Load(data []byte) (*Library, error) {
	r := &reader{}
	lib := r.library(data)
	if len(r.problems) > 0 {
		return nil, &LoadError{Problems: r.problems}
	}
	sum := sha256.Sum256(data)
	lib.Digest = hex.EncodeToString(sum[:])
	return lib, nil
}
