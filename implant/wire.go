package implant

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// The device's encodings inside telemetry messages (docs/programmer.md, "Wire
// encodings"): a program request inside Program.Prescription, the status inside
// Status.Data, and event-log records inside Log.Entries. Each is a fixed
// big-endian layout in the Append…/Consume… style of the telemetry package:
// decoding checks structure and canonical form only (the pump core validates
// values), never panics, and never allocates more than its input. Encoding is
// canonical: decoding an encoding and encoding it again gives the same bytes
// (fuzzed).

// ErrEncoding is wrapped by every decoding error of this package.
var ErrEncoding = errors.New("implant: malformed encoding")

// WireVersion is the version byte that starts a program request and a status.
const WireVersion = 1

// ProgramRequest is what a Program message carries: the whole new
// prescription, and whether it starts after a bridge (after a refill that
// changed the drug or concentration, the old drug in tubing and catheter is
// delivered at the old program's rate first).
type ProgramRequest struct {
	Rx     pump.Prescription
	Bridge bool
}

const flagBridge = 0x01

// AppendProgram appends the encoding of r to b:
//
//	version u8 = 1 | flags u8 (bit 0 bridge) | prescription | core checksum u32
//
// The core checksum is pump.Checksum of the prescription as the programmer
// built it: the pump core recomputes it from the decoded prescription, so a
// field the two ends encode or decode differently is refused by the core
// itself, independently of this encoding.
func AppendProgram(b []byte, r ProgramRequest) ([]byte, error) {
	flags := byte(0)
	if r.Bridge {
		flags |= flagBridge
	}
	b = append(b, WireVersion, flags)
	b, err := appendRx(b, &r.Rx)
	if err != nil {
		return b, err
	}
	return binary.BigEndian.AppendUint32(b, pump.Checksum(&r.Rx)), nil
}

// ConsumeProgram decodes a whole program request and returns it with the
// checksum it carries.
func ConsumeProgram(b []byte) (ProgramRequest, uint32, error) {
	c := cursor{b: b}
	var r ProgramRequest
	if v := c.u8(); c.err == nil && v != WireVersion {
		return r, 0, fmt.Errorf("%w: program request version %d", ErrEncoding, v)
	}
	flags := c.u8()
	if flags&^flagBridge != 0 {
		c.fail("program request flags %#x", flags)
	}
	r.Bridge = flags&flagBridge != 0
	r.Rx = consumeRx(&c)
	sum := c.u32()
	if err := c.done(); err != nil {
		return ProgramRequest{}, 0, err
	}
	return r, sum, nil
}

// appendRx appends a prescription:
//
//	mode u8 | rate u64 nL/day | weekly u8 | steps u8 | steps × (at u16 minutes,
//	rate u64, days u8) | max_24h u64 nL | low_reservoir u64 nL | patient bolus
//	(volume u64 nL, duration u64 ms, lockout u64 ms, max_per_24h u8) |
//	drug string8 | concentration u64 ng/mL
//
// It refuses what it cannot carry exactly (negative quantities, a flex step
// not on a whole minute, more than 16 steps, a drug name longer than the pump
// stores); everything else is the core's to validate.
func appendRx(b []byte, rx *pump.Prescription) ([]byte, error) {
	pb := rx.PatientBolus
	for _, v := range []int64{int64(rx.Rate), int64(rx.Max24h), int64(rx.LowReservoir), int64(pb.Volume),
		int64(pb.Duration), int64(pb.Lockout), int64(rx.Concentration)} {
		if v < 0 {
			return b, fmt.Errorf("%w: negative quantity in the prescription", ErrEncoding)
		}
	}
	if rx.FlexSteps < 0 || rx.FlexSteps > pump.MaxFlexSteps {
		return b, fmt.Errorf("%w: %d flex steps (at most %d)", ErrEncoding, rx.FlexSteps, pump.MaxFlexSteps)
	}
	if pb.MaxPer24h < 0 || pb.MaxPer24h > 255 {
		return b, fmt.Errorf("%w: max_per_24h %d", ErrEncoding, pb.MaxPer24h)
	}
	if len(rx.Drug) > pump.MaxDrugName || !printable(rx.Drug) {
		return b, fmt.Errorf("%w: drug name must be at most %d printable bytes", ErrEncoding, pump.MaxDrugName)
	}
	be := binary.BigEndian
	b = append(b, byte(rx.Mode))
	b = be.AppendUint64(b, uint64(rx.Rate))
	b = append(b, boolByte(rx.Weekly), byte(rx.FlexSteps))
	for _, s := range rx.Flex[:rx.FlexSteps] {
		if s.At < 0 || s.At%unit.Minute != 0 || s.At/unit.Minute > 0xffff || s.Rate < 0 {
			return b, fmt.Errorf("%w: flex step at %v", ErrEncoding, s.At)
		}
		b = be.AppendUint16(b, uint16(s.At/unit.Minute))
		b = be.AppendUint64(b, uint64(s.Rate))
		b = append(b, s.Days)
	}
	b = be.AppendUint64(b, uint64(rx.Max24h))
	b = be.AppendUint64(b, uint64(rx.LowReservoir))
	b = be.AppendUint64(b, uint64(pb.Volume))
	b = be.AppendUint64(b, uint64(pb.Duration))
	b = be.AppendUint64(b, uint64(pb.Lockout))
	b = append(b, byte(pb.MaxPer24h))
	b = append(b, byte(len(rx.Drug)))
	b = append(b, rx.Drug...)
	return be.AppendUint64(b, uint64(rx.Concentration)), nil
}

func consumeRx(c *cursor) pump.Prescription {
	var rx pump.Prescription
	rx.Mode = pump.Mode(c.u8())
	rx.Rate = unit.Rate(c.nonNeg())
	rx.Weekly = c.boolean()
	n := int(c.u8())
	if n > pump.MaxFlexSteps {
		c.fail("%d flex steps", n)
		return rx
	}
	rx.FlexSteps = n
	for i := range n {
		rx.Flex[i].At = unit.Duration(c.u16()) * unit.Minute
		rx.Flex[i].Rate = unit.Rate(c.nonNeg())
		rx.Flex[i].Days = c.u8()
	}
	rx.Max24h = unit.Volume(c.nonNeg())
	rx.LowReservoir = unit.Volume(c.nonNeg())
	rx.PatientBolus.Volume = unit.Volume(c.nonNeg())
	rx.PatientBolus.Duration = unit.Duration(c.nonNeg())
	rx.PatientBolus.Lockout = unit.Duration(c.nonNeg())
	rx.PatientBolus.MaxPer24h = int(c.u8())
	rx.Drug = c.string8(pump.MaxDrugName)
	rx.Concentration = unit.Concentration(c.nonNeg())
	return rx
}

// Status is the device's answer to Interrogate and ReadStatus: the pump core's
// status, the hardware it was implanted with, and what the implant derives from
// its event log (when the prescription and the last refill took effect).
type Status struct {
	At    unit.Time // pump time of the reading
	Model pump.Model
	// Catheter and PrimingVolume are the implant's configuration: the priming
	// bolus the pump gives is always its own tubing + catheter volume.
	CatheterLength unit.Length
	CatheterPerCm  unit.Volume
	PrimingVolume  unit.Volume
	PressureSensor bool
	LevelSensor    bool

	HasRx      bool
	Rx         pump.Prescription // zero unless HasRx
	RxHash     pump.Hash         // what a Program must name as replaced
	RxSince    unit.Time         // when the prescription of record was stored (0: unknown)
	Running    bool              // not stopped by a clinician
	Delivering bool
	Priming    bool
	Bridging   bool
	Basal      unit.Rate // the basal rate in force now

	Reservoir  unit.Volume // the pump's estimate
	LastFill   unit.Volume // volume entered at the last refill (0: never refilled)
	LastFillAt unit.Time
	Delivered  unit.Volume // every completed stroke since implant, priming included
	FillDrug   string      // drug and concentration recorded at the last refill
	FillConc   unit.Concentration

	Battery      unit.Charge
	ERIThreshold unit.Charge
	Alarms       pump.Alarms
	UTCOffset    unit.Duration

	NextPatientBolus unit.Time // earliest as far as lockout and count allow
	LogNext          uint64    // sequence number the next event-log record will get
}

// Sensor and state flags of the status encoding.
const (
	stPressure = 1 << iota
	stLevel
)

const (
	stHasRx = 1 << iota
	stRunning
	stDelivering
	stPriming
	stBridging
)

// AppendStatus appends the encoding of s to b:
//
//	version u8 = 1 | at i64 | model u8 | catheter length u64 µm | per cm u64 nL |
//	priming u64 nL | sensors u8 | state u8 | [prescription, if has-rx] |
//	rx hash [32] | rx since i64 | basal u64 | reservoir i64 | last fill i64 |
//	last fill at i64 | delivered i64 | fill drug string8 | fill conc u64 |
//	battery i64 | ERI threshold i64 | alarms u16 | UTC offset i64 |
//	next patient bolus i64 | log next u64
func AppendStatus(b []byte, s *Status) ([]byte, error) {
	if s.CatheterLength < 0 || s.CatheterPerCm < 0 || s.PrimingVolume < 0 || s.Basal < 0 || s.FillConc < 0 {
		return b, fmt.Errorf("%w: negative quantity in the status", ErrEncoding)
	}
	if len(s.FillDrug) > pump.MaxDrugName || !printable(s.FillDrug) {
		return b, fmt.Errorf("%w: fill drug name", ErrEncoding)
	}
	be := binary.BigEndian
	sensors, state := byte(0), byte(0)
	if s.PressureSensor {
		sensors |= stPressure
	}
	if s.LevelSensor {
		sensors |= stLevel
	}
	for _, f := range []struct {
		on  bool
		bit byte
	}{{s.HasRx, stHasRx}, {s.Running, stRunning}, {s.Delivering, stDelivering}, {s.Priming, stPriming}, {s.Bridging, stBridging}} {
		if f.on {
			state |= f.bit
		}
	}
	b = append(b, WireVersion)
	b = be.AppendUint64(b, uint64(s.At))
	b = append(b, byte(s.Model))
	b = be.AppendUint64(b, uint64(s.CatheterLength))
	b = be.AppendUint64(b, uint64(s.CatheterPerCm))
	b = be.AppendUint64(b, uint64(s.PrimingVolume))
	b = append(b, sensors, state)
	if s.HasRx {
		var err error
		if b, err = appendRx(b, &s.Rx); err != nil {
			return b, err
		}
	}
	b = append(b, s.RxHash[:]...)
	for _, v := range []int64{int64(s.RxSince), int64(s.Basal), int64(s.Reservoir), int64(s.LastFill),
		int64(s.LastFillAt), int64(s.Delivered)} {
		b = be.AppendUint64(b, uint64(v))
	}
	b = append(b, byte(len(s.FillDrug)))
	b = append(b, s.FillDrug...)
	b = be.AppendUint64(b, uint64(s.FillConc))
	b = be.AppendUint64(b, uint64(s.Battery))
	b = be.AppendUint64(b, uint64(s.ERIThreshold))
	b = be.AppendUint16(b, uint16(s.Alarms))
	b = be.AppendUint64(b, uint64(s.UTCOffset))
	b = be.AppendUint64(b, uint64(s.NextPatientBolus))
	return be.AppendUint64(b, s.LogNext), nil
}

// ConsumeStatus decodes a whole status.
func ConsumeStatus(b []byte) (Status, error) {
	c := cursor{b: b}
	var s Status
	if v := c.u8(); c.err == nil && v != WireVersion {
		return s, fmt.Errorf("%w: status version %d", ErrEncoding, v)
	}
	s.At = unit.Time(c.i64())
	s.Model = pump.Model(c.u8())
	s.CatheterLength = unit.Length(c.nonNeg())
	s.CatheterPerCm = unit.Volume(c.nonNeg())
	s.PrimingVolume = unit.Volume(c.nonNeg())
	sensors, state := c.u8(), c.u8()
	if sensors&^(stPressure|stLevel) != 0 || state&^(stHasRx|stRunning|stDelivering|stPriming|stBridging) != 0 {
		c.fail("status flags %#x %#x", sensors, state)
	}
	s.PressureSensor, s.LevelSensor = sensors&stPressure != 0, sensors&stLevel != 0
	s.HasRx, s.Running, s.Delivering = state&stHasRx != 0, state&stRunning != 0, state&stDelivering != 0
	s.Priming, s.Bridging = state&stPriming != 0, state&stBridging != 0
	if s.HasRx {
		s.Rx = consumeRx(&c)
	}
	copy(s.RxHash[:], c.take(len(s.RxHash)))
	s.RxSince = unit.Time(c.i64())
	s.Basal = unit.Rate(c.nonNeg())
	s.Reservoir = unit.Volume(c.i64())
	s.LastFill = unit.Volume(c.i64())
	s.LastFillAt = unit.Time(c.i64())
	s.Delivered = unit.Volume(c.i64())
	s.FillDrug = c.string8(pump.MaxDrugName)
	s.FillConc = unit.Concentration(c.nonNeg())
	s.Battery = unit.Charge(c.i64())
	s.ERIThreshold = unit.Charge(c.i64())
	s.Alarms = pump.Alarms(c.u16())
	s.UTCOffset = unit.Duration(c.i64())
	s.NextPatientBolus = unit.Time(c.i64())
	s.LogNext = c.u64()
	if err := c.done(); err != nil {
		return Status{}, err
	}
	return s, nil
}

// Stopped reports whether a pump in therapy delivers nothing because of a
// clinician's stop, a stopped prescription, or a lost prescription
// (MEMORY_ERROR): the state a programmer must not leave silently (hazard H7).
// A pump never programmed is not in therapy yet.
func (s Status) Stopped() bool {
	return s.HasRx && (!s.Running || s.Rx.Mode == pump.ModeStopped) || s.Alarms.Has(pump.MemoryError)
}

// cursor reads big-endian fields; the first error sticks and later reads
// return zeros, so a decoder reads every field and checks once.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: "+format, append([]any{ErrEncoding}, args...)...)
	}
}

func (c *cursor) take(n int) []byte {
	if c.err != nil || len(c.b) < n {
		c.fail("truncated")
		return make([]byte, n)
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) u8() byte    { return c.take(1)[0] }
func (c *cursor) u16() uint16 { return binary.BigEndian.Uint16(c.take(2)) }
func (c *cursor) u32() uint32 { return binary.BigEndian.Uint32(c.take(4)) }
func (c *cursor) u64() uint64 { return binary.BigEndian.Uint64(c.take(8)) }
func (c *cursor) i64() int64  { return int64(c.u64()) }

func (c *cursor) nonNeg() int64 {
	v := c.i64()
	if v < 0 {
		c.fail("negative quantity")
		return 0
	}
	return v
}

func (c *cursor) boolean() bool {
	switch c.u8() {
	case 0:
		return false
	case 1:
		return true
	}
	c.fail("boolean not 0 or 1")
	return false
}

func (c *cursor) string8(max int) string {
	n := int(c.u8())
	if n > max {
		c.fail("string of %d bytes (at most %d)", n, max)
		return ""
	}
	s := string(c.take(n))
	if c.err == nil && !printable(s) {
		c.fail("string not printable UTF-8")
		return ""
	}
	return s
}

func (c *cursor) done() error {
	if c.err == nil && len(c.b) != 0 {
		c.fail("%d trailing bytes", len(c.b))
	}
	return c.err
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// printable reports whether s is valid UTF-8 without control characters:
// names end up in logs and on screens.
func printable(s string) bool {
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
