package unit

import (
	"fmt"
	"strconv"
	"strings"
)

// Every quantity reads and writes itself as text with its unit ("18.5 mL",
// "0.5 mL/day", "2000 mcg/mL", "3d4h"), so JSON, flags and forms carry it as
// it is written, and an edge never wraps it again. MarshalText is exact: what
// it writes, UnmarshalText reads back to the same value (a property test holds
// them to it). The text is the String form, except where String rounds for
// people (Charge below a whole nAh).

// MarshalText writes v as String does: "18.5 mL".
func (v Volume) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads a volume as ParseVolume does.
func (v *Volume) UnmarshalText(b []byte) error { return setParsed(v, string(b), ParseVolume) }

// MarshalText writes r as String does: "0.5 mL/day".
func (r Rate) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a rate as ParseRate does.
func (r *Rate) UnmarshalText(b []byte) error { return setParsed(r, string(b), ParseRate) }

// maxTextDays bounds the durations that have a text form: ParseDuration takes
// at most 1,000,000 of a unit.
const maxTextDays = 1_000_000

// MarshalText writes d as String does ("3d4h", "-30m").
func (d Duration) MarshalText() ([]byte, error) {
	if d <= -(maxTextDays+1)*Day || d >= (maxTextDays+1)*Day {
		return nil, fmt.Errorf("%w: duration of %d ms is beyond %d days", ErrUnit, int64(d), maxTextDays)
	}
	return []byte(d.String()), nil
}

// UnmarshalText reads a duration as ParseDuration does, with an optional
// leading minus sign (a UTC offset west of Greenwich, a clock behind).
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	neg := strings.HasPrefix(s, "-")
	x, err := ParseDuration(strings.TrimPrefix(s, "-"))
	if err != nil {
		return err
	}
	if neg {
		x = -x
	}
	*d = x
	return nil
}

// MarshalText writes t in RFC 3339 with its milliseconds, in UTC.
func (t Time) MarshalText() ([]byte, error) {
	if y := t.Std().Year(); y < 0 || y > 9999 {
		return nil, fmt.Errorf("%w: time %d ms is outside the years 0 to 9999 that RFC 3339 writes", ErrUnit, int64(t))
	}
	return []byte(t.String()), nil
}

// UnmarshalText reads an RFC 3339 time as ParseTime does.
func (t *Time) UnmarshalText(b []byte) error { return setParsed(t, string(b), ParseTime) }

// chargeBase is the unit Charge falls back to when a charge is not a whole
// number of nAh: µAh cannot hold every nA·ms exactly in decimals.
const chargeBase = "nA·ms"

// MarshalText writes c in µAh when it is a whole number of nAh ("812345.678
// µAh"), else exactly in its base unit ("167262102001 nA·ms").
func (c Charge) MarshalText() ([]byte, error) {
	if c%NanoampHour == 0 {
		return []byte(c.String()), nil
	}
	return []byte(strconv.FormatInt(int64(c), 10) + " " + chargeBase), nil
}

// UnmarshalText reads a charge as ParseCharge does, or a whole number of nA·ms.
func (c *Charge) UnmarshalText(b []byte) error {
	s := string(b)
	if num, ok := strings.CutSuffix(s, chargeBase); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
		if err != nil {
			return fmt.Errorf("%w: charge %q: a charge in %s is a whole number", ErrUnit, s, chargeBase)
		}
		*c = Charge(n)
		return nil
	}
	return setParsed(c, s, ParseCharge)
}

// MarshalText writes p as String does: "35 kPa".
func (p Pressure) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a pressure as ParsePressure does.
func (p *Pressure) UnmarshalText(b []byte) error { return setParsed(p, string(b), ParsePressure) }

// MarshalText writes m as String does: "400 mcg", "5 mg".
func (m Mass) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads a mass as ParseMass does.
func (m *Mass) UnmarshalText(b []byte) error { return setParsed2(m, string(b), ParseMass) }

// MarshalText writes c as String does: "25 mcg/mL", "10 mg/mL".
func (c Concentration) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a concentration as ParseConcentration does.
func (c *Concentration) UnmarshalText(b []byte) error {
	return setParsed2(c, string(b), ParseConcentration)
}

// MarshalText writes d as String does: "150 mcg/day".
func (d DoseRate) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a dose rate as ParseDoseRate does.
func (d *DoseRate) UnmarshalText(b []byte) error { return setParsed2(d, string(b), ParseDoseRate) }

// MarshalText writes l as String does: "50 cm".
func (l Length) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText reads a length as ParseLength does.
func (l *Length) UnmarshalText(b []byte) error { return setParsed(l, string(b), ParseLength) }

// MarshalText writes p as String does: "12.5%".
func (p Percent) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText reads a percentage as ParsePercent does.
func (p *Percent) UnmarshalText(b []byte) error { return setParsed(p, string(b), ParsePercent) }

// MarshalText writes u as "mg" or "mcg".
func (u MassUnit) MarshalText() ([]byte, error) {
	if u != Milligram && u != Microgram {
		return nil, fmt.Errorf("%w: mass unit %d is neither mg nor mcg", ErrUnit, uint8(u))
	}
	return []byte(u.String()), nil
}

// UnmarshalText reads "mg" or "mcg" (also "µg", "ug").
func (u *MassUnit) UnmarshalText(b []byte) error {
	if _, ok := massUnits[string(b)]; !ok {
		return fmt.Errorf("%w: mass unit %q (allowed: mg, mcg)", ErrUnit, b)
	}
	*u = massUnitOf(string(b))
	return nil
}

// setParsed stores parse(s) in *dst, leaving *dst as it was on an error.
func setParsed[T any](dst *T, s string, parse func(string) (T, error)) error {
	x, err := parse(s)
	if err != nil {
		return err
	}
	*dst = x
	return nil
}

// setParsed2 is setParsed for parsers that also return the mass unit written.
func setParsed2[T any](dst *T, s string, parse func(string) (T, MassUnit, error)) error {
	x, _, err := parse(s)
	if err != nil {
		return err
	}
	*dst = x
	return nil
}

// VolumePerCm is the internal volume of one centimetre of tube (a
// catheter's), written "0.0022 mL/cm". A bare volume ("0.0022 mL") reads as
// per centimetre too, as the flags and files that name it per cm write it.
type VolumePerCm Volume

func (v VolumePerCm) String() string { return Volume(v).String() + "/cm" }

// MarshalText writes v as String does: "0.0022 mL/cm".
func (v VolumePerCm) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText reads "0.0022 mL/cm", "2.2 µL/cm" or "0.0022 mL".
func (v *VolumePerCm) UnmarshalText(b []byte) error {
	s := string(b)
	vol, err := ParseVolume(strings.TrimSuffix(strings.TrimSpace(s), "/cm"))
	if err != nil {
		return fmt.Errorf("%w: volume per cm %q: write it as e.g. 0.0022mL/cm", ErrUnit, s)
	}
	*v = VolumePerCm(vol)
	return nil
}
