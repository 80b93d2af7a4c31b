package pumpwire

import (
	"encoding/binary"
	"fmt"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Status is the pump's answer to Interrogate and ReadStatus: the core's
// status (pump.Status), the hardware the pump was implanted with, and what
// the device derives from its event log (when the prescription and the last
// refill took effect).
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

// Stopped reports whether a pump in therapy delivers nothing because of a
// clinician's stop, a stopped prescription, or a lost prescription
// (MEMORY_ERROR): the state a programmer must not leave silently (hazard H7).
// A pump never programmed is not in therapy yet.
func (s Status) Stopped() bool {
	return s.HasRx && (!s.Running || s.Rx.Mode == pump.ModeStopped) || s.Alarms.Has(pump.MemoryError)
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

// flag pairs a state bit with its field, for both directions.
func (s *Status) flags() []struct {
	bit byte
	on  *bool
} {
	return []struct {
		bit byte
		on  *bool
	}{{stHasRx, &s.HasRx}, {stRunning, &s.Running}, {stDelivering, &s.Delivering}, {stPriming, &s.Priming}, {stBridging, &s.Bridging}}
}

// AppendStatus appends the encoding of s to b:
//
//	at i64 | model u8 | catheter length u64 µm | per cm u64 nL |
//	priming u64 nL | sensors u8 | state u8 | [prescription, if has-rx] |
//	rx hash [32] | rx since i64 | basal u64 | reservoir i64 | last fill i64 |
//	last fill at i64 | delivered i64 | fill drug string8 | fill conc u64 |
//	battery i64 | ERI threshold i64 | alarms u16 | UTC offset i64 |
//	next patient bolus i64 | log next u64
//
// The prescription is the core's own record (pump.AppendPrescription).
func AppendStatus(b []byte, s *Status) ([]byte, error) {
	sensors, state := byte(0), byte(0)
	if s.PressureSensor {
		sensors |= stPressure
	}
	if s.LevelSensor {
		sensors |= stLevel
	}
	for _, f := range s.flags() {
		if *f.on {
			state |= f.bit
		}
	}
	be := binary.BigEndian
	b = append(be.AppendUint64(b, uint64(s.At)), byte(s.Model))
	b, err := appendNonNeg(b, int64(s.CatheterLength), int64(s.CatheterPerCm), int64(s.PrimingVolume))
	if err != nil {
		return b, err
	}
	b = append(b, sensors, state)
	if s.HasRx {
		if b, err = pump.AppendPrescription(b, &s.Rx); err != nil {
			return b, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
	}
	b = append(b, s.RxHash[:]...)
	b = be.AppendUint64(b, uint64(s.RxSince))
	if b, err = appendNonNeg(b, int64(s.Basal)); err != nil {
		return b, err
	}
	for _, v := range []int64{int64(s.Reservoir), int64(s.LastFill), int64(s.LastFillAt), int64(s.Delivered)} {
		b = be.AppendUint64(b, uint64(v))
	}
	if b, err = AppendString8(b, s.FillDrug, pump.MaxDrugName); err != nil {
		return b, err
	}
	if b, err = appendNonNeg(b, int64(s.FillConc)); err != nil {
		return b, err
	}
	b = be.AppendUint64(b, uint64(s.Battery))
	b = be.AppendUint64(b, uint64(s.ERIThreshold))
	b = be.AppendUint16(b, uint16(s.Alarms))
	b = be.AppendUint64(b, uint64(s.UTCOffset))
	b = be.AppendUint64(b, uint64(s.NextPatientBolus))
	return be.AppendUint64(b, s.LogNext), nil
}

// ConsumeStatus decodes a whole status.
func ConsumeStatus(b []byte) (Status, error) {
	c := NewCursor(b)
	s := consumeStatus(c)
	if err := c.Done(); err != nil {
		return Status{}, err
	}
	return s, nil
}

func consumeStatus(c *Cursor) Status {
	var s Status
	s.At = unit.Time(c.I64())
	s.Model = pump.Model(c.U8())
	s.CatheterLength = unit.Length(c.NonNeg())
	s.CatheterPerCm = unit.Volume(c.NonNeg())
	s.PrimingVolume = unit.Volume(c.NonNeg())
	sensors, state := c.U8(), c.U8()
	if sensors&^(stPressure|stLevel) != 0 || state&^(stHasRx|stRunning|stDelivering|stPriming|stBridging) != 0 {
		c.Fail("status flags %#x %#x", sensors, state)
	}
	s.PressureSensor, s.LevelSensor = sensors&stPressure != 0, sensors&stLevel != 0
	for _, f := range s.flags() {
		*f.on = state&f.bit != 0
	}
	if s.HasRx {
		s.Rx = consumePrescription(c)
	}
	copy(s.RxHash[:], c.Take(len(s.RxHash)))
	s.RxSince = unit.Time(c.I64())
	s.Basal = unit.Rate(c.NonNeg())
	for _, v := range []*int64{(*int64)(&s.Reservoir), (*int64)(&s.LastFill), (*int64)(&s.LastFillAt), (*int64)(&s.Delivered)} {
		*v = c.I64() // signed: an estimate may fall below zero
	}
	s.FillDrug = c.String8(pump.MaxDrugName)
	s.FillConc = unit.Concentration(c.NonNeg())
	s.Battery = unit.Charge(c.I64())
	s.ERIThreshold = unit.Charge(c.I64())
	s.Alarms = pump.Alarms(c.U16())
	s.UTCOffset = unit.Duration(c.I64())
	s.NextPatientBolus = unit.Time(c.I64())
	s.LogNext = c.U64()
	if c.Err() != nil {
		return Status{}
	}
	return s
}
