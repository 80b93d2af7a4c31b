// Package unit owns the physical quantities Thecal works in. Each quantity is an
// integer in a fixed base unit and carries that unit in its type, so a bare number
// never crosses a package boundary and no floating point decides a dose.
//
// Base units: volume in nanolitres, rates in nanolitres per day, time in
// milliseconds, charge in nanoampere-milliseconds (so quiescent current, strokes,
// tones and radio time all debit the battery exactly), mass in femtograms and
// concentration in nanograms per millilitre (so volume × concentration is an exact
// mass), pressure in pascals.
package unit

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"time"
)

// ErrUnit is wrapped by every parse error of this package.
var ErrUnit = errors.New("unit")

// Volume is a volume in nanolitres.
type Volume int64

const (
	Nanolitre  Volume = 1
	Microlitre Volume = 1000
	Millilitre Volume = 1_000_000
)

// Millilitres returns v in mL, for display and reports only.
func (v Volume) Millilitres() float64 { return float64(v) / float64(Millilitre) }

// Millilitres converts a number of mL to a Volume, rounding to the nearest nL.
// It is for figures written in code; it panics on NaN or a volume beyond
// about ±9 million litres rather than wrap around (text is read by ParseVolume).
func Millilitres(ml float64) Volume {
	n, ok := fromFloat(ml, float64(Millilitre))
	if !ok {
		panic(fmt.Sprintf("unit: %g mL does not fit a Volume", ml))
	}
	return Volume(n)
}

func (v Volume) String() string { return FormatFixed(int64(v), 6) + " mL" }

// Rate is a volume rate in nanolitres per day.
type Rate int64

const (
	NanolitrePerDay   Rate = 1
	MillilitrePerDay  Rate = 1_000_000
	MillilitrePerHour Rate = 24 * MillilitrePerDay
)

// MillilitresPerDay returns r in mL/day, for display only.
func (r Rate) MillilitresPerDay() float64 { return float64(r) / float64(MillilitrePerDay) }

func (r Rate) String() string { return FormatFixed(int64(r), 6) + " mL/day" }

// Over returns the volume delivered at r during d, rounded down to a
// nanolitre. r and d must be within the pump's bounds (OverChecked otherwise).
func (r Rate) Over(d Duration) Volume {
	hi, lo := bits.Mul64(uint64(r), uint64(d))
	q, _ := bits.Div64(hi, lo, uint64(Day))
	return Volume(q)
}

// RateOf returns the rate that delivers v in d, rounded down to a nL/day.
func RateOf(v Volume, d Duration) Rate {
	if d <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(v), uint64(Day))
	if hi >= uint64(d) {
		return Rate(math.MaxInt64)
	}
	q, _ := bits.Div64(hi, lo, uint64(d))
	return Rate(q)
}

// Duration is a span of time in milliseconds.
type Duration int64

const (
	Millisecond Duration = 1
	Second               = 1000 * Millisecond
	Minute               = 60 * Second
	Hour                 = 60 * Minute
	Day                  = 24 * Hour
	Week                 = 7 * Day
)

// Std converts d to a time.Duration, for d within ±292 years (StdChecked otherwise).
func (d Duration) Std() time.Duration { return time.Duration(d) * time.Millisecond }

// String prints d in the scenario format: whole d, h, m, s and a ms remainder.
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	for _, u := range []struct {
		d Duration
		s string
	}{{Day, "d"}, {Hour, "h"}, {Minute, "m"}, {Second, "s"}, {Millisecond, "ms"}} {
		if n := d / u.d; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.s)
			d -= n * u.d
		}
	}
	return b.String()
}

// Time is an instant in milliseconds since the Unix epoch, UTC.
type Time int64

// FromStd converts a time.Time to a Time, truncating to the millisecond.
func FromStd(t time.Time) Time { return Time(t.UnixMilli()) }

// Std converts t to a time.Time in UTC.
func (t Time) Std() time.Time { return time.UnixMilli(int64(t)).UTC() }

func (t Time) Add(d Duration) Time    { return t + Time(d) }
func (t Time) Sub(u Time) Duration    { return Duration(t - u) }
func (t Time) String() string         { return t.Std().Format(time.RFC3339Nano) }
func (t Time) Before(u Time) bool     { return t < u }
func (t Time) After(u Time) bool      { return t > u }
func (t Time) Format(l string) string { return t.Std().Format(l) }

// Charge is an electric charge in nanoampere-milliseconds. Battery figures are
// given in µAh; the finer base unit makes every consumption step an integer.
type Charge int64

const (
	NanoampMillisecond Charge = 1
	NanoampHour        Charge = 3_600_000
	MicroampHour              = 1000 * NanoampHour
)

// MicroampHours converts a number of µAh to a Charge, rounding to the nearest
// unit. Like Millilitres it is for figures written in code, and panics on NaN
// or a charge that does not fit.
func MicroampHours(uah float64) Charge {
	n, ok := fromFloat(uah, float64(MicroampHour))
	if !ok {
		panic(fmt.Sprintf("unit: %g µAh does not fit a Charge", uah))
	}
	return Charge(n)
}

// MicroampHours returns c in µAh, for display and reports only.
func (c Charge) MicroampHours() float64 { return float64(c) / float64(MicroampHour) }

func (c Charge) String() string { return FormatFixed(int64(c)/int64(NanoampHour), 3) + " µAh" }

// Current is an electric current in nanoamperes.
type Current int64

const (
	Nanoamp  Current = 1
	Microamp Current = 1000
	Milliamp Current = 1000 * Microamp
)

// Over returns the charge drawn by i during d (OverChecked for what a person typed).
func (i Current) Over(d Duration) Charge { return Charge(int64(i) * int64(d)) }

// Pressure is a pressure in pascals.
type Pressure int64

const (
	Pascal     Pressure = 1
	Kilopascal Pressure = 1000
)

func (p Pressure) String() string { return FormatFixed(int64(p), 3) + " kPa" }

// MassUnit is the unit a drug's doses are written in.
type MassUnit uint8

const (
	Milligram MassUnit = iota + 1
	Microgram
)

func (u MassUnit) String() string {
	switch u {
	case Milligram:
		return "mg"
	case Microgram:
		return "mcg"
	}
	return "?"
}

// femtograms returns the size of one u in femtograms.
func (u MassUnit) femtograms() int64 {
	if u == Milligram {
		return 1_000_000_000_000
	}
	return 1_000_000_000
}

// Mass is a mass in femtograms: a nanolitre at one ng/mL holds one femtogram.
type Mass int64

const (
	Femtogram Mass = 1
	Nanogram  Mass = 1_000_000
)

// MassIn returns n of unit u as a Mass, and panics when it does not fit (n
// is a count written in code; text is read by ParseMass).
func MassIn(n int64, u MassUnit) Mass {
	m, ok := mul64(n, u.femtograms())
	if !ok {
		panic(fmt.Sprintf("unit: %d %v does not fit a Mass", n, u))
	}
	return Mass(m)
}

// In returns m in the given unit, for display and reports.
func (m Mass) In(u MassUnit) float64 { return float64(m) / float64(u.femtograms()) }

// Concentration is a concentration in nanograms per millilitre.
type Concentration int64

const (
	NanogramPerMillilitre  Concentration = 1
	MicrogramPerMillilitre Concentration = 1000
	MilligramPerMillilitre Concentration = 1_000_000
)

// Of returns the mass of drug in v at concentration c. The product must fit
// (OfChecked otherwise).
func (c Concentration) Of(v Volume) Mass { return Mass(int64(c) * int64(v)) }

// In returns c in u per mL, for display.
func (c Concentration) In(u MassUnit) float64 {
	return float64(c) * float64(Nanogram) / float64(u.femtograms())
}

// DoseRate is a mass rate in femtograms per day.
type DoseRate int64

// In returns d in u per day, for display.
func (d DoseRate) In(u MassUnit) float64 { return float64(d) / float64(u.femtograms()) }

// Dose returns the dose rate that rate r delivers at concentration c. The
// product must fit (DoseChecked otherwise).
func (c Concentration) Dose(r Rate) DoseRate { return DoseRate(int64(c) * int64(r)) }

// RateFor returns the volume rate that gives dose d at concentration c, rounded to
// the nearest nL/day (RateForChecked for a dose a person typed).
func (c Concentration) RateFor(d DoseRate) Rate {
	if c <= 0 {
		return 0
	}
	return Rate((int64(d) + int64(c)/2) / int64(c))
}

// Length is a length in micrometres.
type Length int64

const (
	Micrometre Length = 1
	Millimetre Length = 1000
	Centimetre Length = 10_000
)

// Centimetres returns l in cm, for display.
func (l Length) Centimetres() float64 { return float64(l) / float64(Centimetre) }

// VolumeFor returns the volume of a tube of length l holding perCm in each
// centimetre, for a catheter within the pump's bounds (VolumeForChecked otherwise).
func (l Length) VolumeFor(perCm Volume) Volume {
	return Volume((int64(l)*int64(perCm) + int64(Centimetre)/2) / int64(Centimetre))
}
