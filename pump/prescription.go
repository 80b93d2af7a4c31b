package pump

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"unicode/utf8"

	"github.com/thecal/thecal/unit"
)

// Mode is a prescription's therapy mode.
type Mode uint8

const (
	ModeStopped Mode = iota + 1
	ModeContinuous
	ModeFlex
	ModeMinimum
)

var modeNames = names[Mode]{"mode", []string{ModeStopped: "stopped", ModeContinuous: "continuous", ModeFlex: "flex",
	ModeMinimum: "minimum"}, ModeStopped}

func (m Mode) String() string { return modeNames.name(m, "unknown") }

// MarshalText writes the mode's name ("continuous"); an unknown mode is an error.
func (m Mode) MarshalText() ([]byte, error) { return modeNames.text(m) }

// UnmarshalText reads a mode's name; other text is a *TextError naming the modes.
func (m *Mode) UnmarshalText(b []byte) error { return modeNames.read(b, m) }

// MaxFlexSteps is the most steps a flex schedule may have.
const MaxFlexSteps = 16

// MaxPatientBolusesPer24h bounds a prescription's max_per_24h.
const MaxPatientBolusesPer24h = 48

// MaxDrugName is the longest drug name a prescription stores.
const MaxDrugName = 24

// AllDays is the weekday mask of every day (bit 0 Sunday … bit 6 Saturday).
const AllDays uint8 = 0x7f

// FlexStep is one step of a flex schedule: from time of day At (pump local time),
// on the days in Days, the basal rate is Rate.
type FlexStep struct {
	At   unit.Duration
	Rate unit.Rate
	Days uint8
}

// PatientBolus is what one patient activation gives and how often it may.
type PatientBolus struct {
	Volume    unit.Volume
	Duration  unit.Duration
	Lockout   unit.Duration // from the start of one patient bolus to the next
	MaxPer24h int           // activations given per rolling 24 h
}

// Prescription is everything the pump is told to deliver. It is a value: copying
// it copies the whole program.
type Prescription struct {
	Mode          Mode
	Rate          unit.Rate // continuous
	Flex          [MaxFlexSteps]FlexStep
	FlexSteps     int
	Weekly        bool // flex repeats weekly (steps carry day masks) rather than daily
	Max24h        unit.Volume
	LowReservoir  unit.Volume  // 0 means the default
	PatientBolus  PatientBolus // Volume 0: no patient bolus
	Drug          string
	Concentration unit.Concentration
}

// Hash identifies a prescription: programming must name the hash of the one it replaces.
type Hash [32]byte

// ValidationError says which field of a prescription or command is wrong and why.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Reason }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// lowReservoir returns the alarm threshold in effect.
func (rx *Prescription) lowReservoir() unit.Volume {
	if rx.LowReservoir == 0 {
		return LowReservoirDefault
	}
	return rx.LowReservoir
}

// capStrokes is max_24h in whole strokes: the executor's cap.
func (rx *Prescription) capStrokes() int { return int(rx.Max24h / StrokeVolume) }

// steps returns the flex steps in use (none for a step count out of range,
// which Validate refuses).
func (rx *Prescription) steps() []FlexStep {
	if rx.FlexSteps < 0 || rx.FlexSteps > MaxFlexSteps {
		return nil
	}
	return rx.Flex[:rx.FlexSteps]
}

// maxBasalRate is the highest basal rate the prescription ever runs.
func (rx *Prescription) maxBasalRate() unit.Rate {
	switch rx.Mode {
	case ModeContinuous:
		return rx.Rate
	case ModeMinimum:
		return MinRate
	case ModeFlex:
		var m unit.Rate
		for _, s := range rx.steps() {
			m = max(m, s.Rate)
		}
		return m
	}
	return 0
}

// Validate checks every field of rx against the pump's ranges and the daily cap.
// It returns the first problem as a *ValidationError.
func (rx *Prescription) Validate(model Model) error {
	if rx.Mode < ModeStopped || rx.Mode > ModeMinimum {
		return invalid("mode", "must be stopped, continuous, flex or minimum")
	}
	if rx.Drug == "" || len(rx.Drug) > MaxDrugName {
		return invalid("drug", "must name the drug in the reservoir (1 to %d bytes)", MaxDrugName)
	}
	if !Printable(rx.Drug) {
		return invalid("drug", "must be printable text")
	}
	if rx.Concentration <= 0 {
		return invalid("concentration", "must be positive")
	}
	if rx.LowReservoir != 0 && (rx.LowReservoir < LowReservoirMin || rx.LowReservoir > LowReservoirMax) {
		return invalid("low_reservoir", "%s is outside %s to %s", rx.LowReservoir, LowReservoirMin, LowReservoirMax)
	}
	dayMax := MaxRate.Over(unit.Day)
	if rx.Mode != ModeStopped || rx.Max24h != 0 {
		if rx.Max24h < StrokeVolume || rx.Max24h > dayMax {
			return invalid("max_24h", "%s is outside %s (one stroke) to %s (the maximum rate for 24 h)", rx.Max24h, StrokeVolume, dayMax)
		}
	}
	if rx.Max24h > model.Reservoir() {
		return invalid("max_24h", "%s is more than the %s reservoir holds", rx.Max24h, model)
	}
	checkRate := func(field string, r unit.Rate) error {
		if r < MinRate || r > MaxRate {
			return invalid(field, "%s is outside %s to %s", r, MinRate, MaxRate)
		}
		return nil
	}
	switch rx.Mode {
	case ModeContinuous:
		if err := checkRate("rate", rx.Rate); err != nil {
			return err
		}
	case ModeFlex:
		if rx.FlexSteps < 1 || rx.FlexSteps > MaxFlexSteps {
			return invalid("flex", "needs 1 to %d steps, has %d", MaxFlexSteps, rx.FlexSteps)
		}
		for i, s := range rx.steps() {
			f := fmt.Sprintf("flex[%d]", i)
			if s.At < 0 || s.At >= unit.Day || s.At%unit.Minute != 0 {
				return invalid(f+".at", "must be a whole minute of the day, 00:00 to 23:59")
			}
			if err := checkRate(f+".rate", s.Rate); err != nil {
				return err
			}
			if rx.Weekly && (s.Days == 0 || s.Days&^AllDays != 0) {
				return invalid(f+".days", "a weekly step needs at least one day")
			}
			for j, o := range rx.steps()[:i] {
				days := s.Days & o.Days
				if !rx.Weekly {
					days = 1
				}
				if o.At == s.At && days != 0 {
					return invalid(f+".at", "starts at the same time as flex[%d] on the same day", j)
				}
			}
		}
	case ModeStopped, ModeMinimum:
		if rx.Rate != 0 || rx.FlexSteps != 0 {
			return invalid("rate", "a %s prescription takes no rate", rx.Mode)
		}
	}
	if rx.Mode == ModeStopped && rx.PatientBolus.Volume != 0 {
		return invalid("patient_bolus", "a stopped prescription gives no patient bolus")
	}
	if pb := rx.PatientBolus; pb.Volume != 0 {
		if pb.Volume < StrokeVolume || pb.Volume > rx.Max24h {
			return invalid("patient_bolus.volume", "%s is outside %s (one stroke) to max_24h %s", pb.Volume, StrokeVolume, rx.Max24h)
		}
		if pb.Duration < unit.Minute || pb.Duration > unit.Day {
			return invalid("patient_bolus.duration", "%s is outside 1m to 1d", pb.Duration)
		}
		if pb.Lockout < unit.Minute || pb.Lockout > unit.Day {
			return invalid("patient_bolus.lockout", "%s is outside 1m to 1d", pb.Lockout)
		}
		if pb.MaxPer24h < 1 || pb.MaxPer24h > MaxPatientBolusesPer24h {
			return invalid("patient_bolus.max_per_24h", "%d is outside 1 to %d", pb.MaxPer24h, MaxPatientBolusesPer24h)
		}
		if r := unit.RateOf(pb.Volume, pb.Duration); r+rx.maxBasalRate() > MaxRate {
			return invalid("patient_bolus.duration", "the bolus rate %s on top of the basal %s exceeds the maximum rate %s",
				r, rx.maxBasalRate(), MaxRate)
		}
	}
	if w := rx.maxBasalWindow(); w > unit.Volume(rx.capStrokes())*StrokeVolume {
		return invalid("max_24h", "the basal schedule delivers up to %s in 24 h, more than max_24h %s", w, rx.Max24h)
	}
	return nil
}

// maxBasalWindow is the most the basal schedule delivers in any 24 h, rounded up
// to a nanolitre.
func (rx *Prescription) maxBasalWindow() unit.Volume {
	var s schedule
	s.build(rx)
	return s.maxWindow()
}

// Encoding: a fixed little-endian layout, the core's own record of a
// prescription: the memory slots hold it, the hash and the programming
// checksum are taken over it, and the telemetry link carries it byte for byte
// (package pumpwire), so what a programmer reviewed, what the pump stored and
// what it hashes are the same bytes.
//
//	mode u8 | rate u64 | steps u8 | weekly u8 (0 or 1) |
//	steps × (at u32 minutes of the day | rate u64 | days u8) |
//	max_24h u64 | low_reservoir u64 | patient bolus volume u64 | duration u64 |
//	lockout u64 | max_per_24h u8 | drug length u8 | drug | concentration u64
//
// Quantities are in the core's units (nL, nL/day, ms, ng/mL). Decoding checks
// structure and canonical form only; Validate checks the values.
const rxEncodedMax = 1 + 8 + 1 + 1 + MaxFlexSteps*(4+8+1) + 8 + 8 + 8 + 8 + 8 + 1 + 1 + MaxDrugName + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrEncoding is wrapped by every error of the prescription codec.
var ErrEncoding = errors.New("pump: prescription encoding")

// AppendPrescription appends the encoding of rx to b. It refuses, wrapping
// ErrEncoding, a prescription the encoding cannot carry exactly: a step count
// outside 0 to 16, a flex step not on a whole minute of the day, a
// max_per_24h outside a byte, a drug name longer than the pump stores or not
// printable text.
func AppendPrescription(b []byte, rx *Prescription) ([]byte, error) {
	switch {
	case rx.FlexSteps < 0 || rx.FlexSteps > MaxFlexSteps:
		return b, fmt.Errorf("%w: %d flex steps (at most %d)", ErrEncoding, rx.FlexSteps, MaxFlexSteps)
	case rx.PatientBolus.MaxPer24h < 0 || rx.PatientBolus.MaxPer24h > 0xff:
		return b, fmt.Errorf("%w: max_per_24h %d", ErrEncoding, rx.PatientBolus.MaxPer24h)
	case len(rx.Drug) > MaxDrugName || !Printable(rx.Drug):
		return b, fmt.Errorf("%w: the drug name must be printable text of at most %d bytes", ErrEncoding, MaxDrugName)
	}
	for _, s := range rx.steps() {
		if s.At < 0 || s.At >= unit.Day || s.At%unit.Minute != 0 {
			return b, fmt.Errorf("%w: a flex step at %s is not a whole minute of the day", ErrEncoding, s.At)
		}
	}
	return appendRx(b, rx), nil
}

// appendRx appends the encoding of rx to b (the core's prescriptions are
// validated, hence encodable; an unencodable one still encodes to bytes that
// identify it, and never decodes).
func appendRx(b []byte, rx *Prescription) []byte {
	b = append(b, byte(rx.Mode))
	b = binary.LittleEndian.AppendUint64(b, uint64(rx.Rate))
	b = append(b, byte(rx.FlexSteps))
	if rx.Weekly {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	for _, s := range rx.steps() {
		b = binary.LittleEndian.AppendUint32(b, uint32(s.At/unit.Minute))
		b = binary.LittleEndian.AppendUint64(b, uint64(s.Rate))
		b = append(b, s.Days)
	}
	b = binary.LittleEndian.AppendUint64(b, uint64(rx.Max24h))
	b = binary.LittleEndian.AppendUint64(b, uint64(rx.LowReservoir))
	pb := rx.PatientBolus
	b = binary.LittleEndian.AppendUint64(b, uint64(pb.Volume))
	b = binary.LittleEndian.AppendUint64(b, uint64(pb.Duration))
	b = binary.LittleEndian.AppendUint64(b, uint64(pb.Lockout))
	b = append(b, byte(pb.MaxPer24h))
	b = append(b, byte(len(rx.Drug)))
	b = append(b, rx.Drug...)
	b = binary.LittleEndian.AppendUint64(b, uint64(rx.Concentration))
	return b
}

// reader consumes a record's fields in order; reading past the end marks it bad
// and yields zeros, so a decoder reads every field and checks once.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) take(n int) []byte {
	if len(r.b) < n {
		r.bad, r.b = true, nil
		return make([]byte, n)
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() byte    { return r.take(1)[0] }
func (r *reader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) i64() int64  { return int64(binary.LittleEndian.Uint64(r.take(8))) }
func (r *reader) done() bool  { return !r.bad && len(r.b) == 0 }

// ConsumePrescription decodes the prescription at the start of b and returns
// it with the number of bytes it took. It accepts only the canonical form
// AppendPrescription writes (so encoding what it returns gives back the same
// bytes, and the same hash and checksum); errors wrap ErrEncoding.
func ConsumePrescription(b []byte) (Prescription, int, error) {
	var rx Prescription
	r := reader{b: b}
	rx.Mode = Mode(r.u8())
	rx.Rate = unit.Rate(r.i64())
	rx.FlexSteps = int(r.u8())
	weekly := r.u8()
	rx.Weekly = weekly == 1
	if rx.FlexSteps > MaxFlexSteps || weekly > 1 {
		return Prescription{}, 0, fmt.Errorf("%w: %d flex steps, weekly %d", ErrEncoding, rx.FlexSteps, weekly)
	}
	for i := range rx.FlexSteps {
		at := r.u32()
		rx.Flex[i].At = unit.Duration(at) * unit.Minute
		rx.Flex[i].Rate = unit.Rate(r.i64())
		rx.Flex[i].Days = r.u8()
		if rx.Flex[i].At >= unit.Day {
			return Prescription{}, 0, fmt.Errorf("%w: a flex step at minute %d", ErrEncoding, at)
		}
	}
	rx.Max24h = unit.Volume(r.i64())
	rx.LowReservoir = unit.Volume(r.i64())
	rx.PatientBolus.Volume = unit.Volume(r.i64())
	rx.PatientBolus.Duration = unit.Duration(r.i64())
	rx.PatientBolus.Lockout = unit.Duration(r.i64())
	rx.PatientBolus.MaxPer24h = int(r.u8())
	n := int(r.u8())
	if n > MaxDrugName {
		return Prescription{}, 0, fmt.Errorf("%w: a drug name of %d bytes", ErrEncoding, n)
	}
	rx.Drug = string(r.take(n))
	rx.Concentration = unit.Concentration(r.i64())
	if r.bad {
		return Prescription{}, 0, fmt.Errorf("%w: truncated", ErrEncoding)
	}
	if !Printable(rx.Drug) {
		return Prescription{}, 0, fmt.Errorf("%w: the drug name is not printable text", ErrEncoding)
	}
	return rx, len(b) - len(r.b), nil
}

// decodeRx reads a whole memory-slot payload.
func decodeRx(b []byte) (Prescription, bool) {
	rx, n, err := ConsumePrescription(b)
	return rx, err == nil && n == len(b)
}

// Printable reports whether s is text the pump stores, logs and sends: valid
// UTF-8 without control characters (names end up in logs and on clinicians'
// screens).
func Printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}

// HashOf returns the hash that identifies rx.
func HashOf(rx *Prescription) Hash {
	var buf [rxEncodedMax]byte
	return hashInto(&buf, rx)
}

// Checksum returns the checksum a programmer sends with rx (CRC-32C of its encoding).
func Checksum(rx *Prescription) uint32 {
	var buf [rxEncodedMax]byte
	return checksumInto(&buf, rx)
}

// hashInto and checksumInto encode into a caller's buffer, so the core (which
// keeps one in its own state) computes them without allocating.
func hashInto(buf *[rxEncodedMax]byte, rx *Prescription) Hash {
	return sha256.Sum256(appendRx(buf[:0], rx))
}

func checksumInto(buf *[rxEncodedMax]byte, rx *Prescription) uint32 {
	return crc32.Checksum(appendRx(buf[:0], rx), castagnoli)
}

// schedule is a basal program expanded over one week of pump local time: entry i
// runs from off[i] (ms after Sunday 00:00 local) until the next entry.
type schedule struct {
	n    int
	off  [MaxFlexSteps * 7]unit.Duration
	rate [MaxFlexSteps * 7]unit.Rate
}

func (s *schedule) build(rx *Prescription) {
	s.n = 0
	switch rx.Mode {
	case ModeStopped:
		s.add(0, 0)
	case ModeContinuous:
		s.add(0, rx.Rate)
	case ModeMinimum:
		s.add(0, MinRate)
	case ModeFlex:
		for d := range 7 {
			for _, st := range rx.steps() {
				if !rx.Weekly || st.Days&(1<<d) != 0 {
					s.add(unit.Duration(d)*unit.Day+st.At, st.Rate)
				}
			}
		}
		// Insertion sort in place: at most 112 entries, and no allocation.
		for i := 1; i < s.n; i++ {
			for j := i; j > 0 && s.off[j] < s.off[j-1]; j-- {
				s.off[j], s.off[j-1] = s.off[j-1], s.off[j]
				s.rate[j], s.rate[j-1] = s.rate[j-1], s.rate[j]
			}
		}
	}
}

func (s *schedule) add(off unit.Duration, r unit.Rate) {
	s.off[s.n], s.rate[s.n] = off, r
	s.n++
}

// at returns the index of the entry in force at week offset w.
func (s *schedule) at(w unit.Duration) int {
	i := sort.Search(s.n, func(i int) bool { return s.off[i] > w }) - 1
	if i < 0 {
		i = s.n - 1 // before the week's first entry: the last entry of the week before
	}
	return i
}

// nextBoundary returns the week offset at which the entry after i starts, as a
// duration after week offset w (which lies within entry i).
func (s *schedule) untilNext(i int, w unit.Duration) unit.Duration {
	if s.n == 1 {
		return -1
	}
	j := i + 1
	next := unit.Duration(0)
	if j == s.n {
		next = s.off[0] + unit.Week
	} else {
		next = s.off[j]
	}
	d := next - w
	for d <= 0 {
		d += unit.Week
	}
	return d
}

// integral returns ∫ rate over week offsets [a, a+d) in nL·ms/day units.
func (s *schedule) integral(a, d unit.Duration) int64 {
	var total int64
	w := a % unit.Week
	if w < 0 {
		w += unit.Week
	}
	for d > 0 {
		i := s.at(w)
		step := s.untilNext(i, w)
		if step < 0 || step > d {
			step = d
		}
		total += int64(s.rate[i]) * int64(step)
		d -= step
		w = (w + step) % unit.Week
	}
	return total
}

// maxWindow is the most the schedule delivers in any 24 h window. The window sum
// is piecewise linear in its start, so the maximum is at a start or an end that
// falls on an entry boundary.
func (s *schedule) maxWindow() unit.Volume {
	var best int64
	for i := 0; i < s.n; i++ {
		for _, start := range []unit.Duration{s.off[i], s.off[i] - unit.Day} {
			best = max(best, s.integral(start, unit.Day))
		}
	}
	return unit.Volume((best + int64(unit.Day) - 1) / int64(unit.Day))
}

// weekOffset returns the pump-local week offset of t (Sunday 00:00 = 0).
func weekOffset(t unit.Time, utcOffset unit.Duration) unit.Duration {
	local := int64(t) + int64(utcOffset)
	// 1970-01-01 was a Thursday: day 0 is weekday 4.
	w := (local + 4*int64(unit.Day)) % int64(unit.Week)
	if w < 0 {
		w += int64(unit.Week)
	}
	return unit.Duration(w)
}
