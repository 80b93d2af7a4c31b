package pumpwire

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

var t0 = unit.FromStd(time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC))

func flexRx() pump.Prescription {
	rx := pump.Prescription{Mode: pump.ModeFlex, Weekly: true, FlexSteps: 3, Max24h: 3 * unit.Millilitre,
		LowReservoir: 3 * unit.Millilitre, Drug: "baclofen", Concentration: 2 * unit.MilligramPerMillilitre,
		PatientBolus: pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: unit.Hour, MaxPer24h: 4}}
	rx.Flex[0] = pump.FlexStep{At: 0, Rate: 400 * unit.Rate(unit.Microlitre), Days: pump.AllDays}
	rx.Flex[1] = pump.FlexStep{At: 7*unit.Hour + 30*unit.Minute, Rate: 600 * unit.Rate(unit.Microlitre), Days: 0x3e}
	rx.Flex[2] = pump.FlexStep{At: 22 * unit.Hour, Rate: 300 * unit.Rate(unit.Microlitre), Days: pump.AllDays}
	return rx
}

// samples are commands with every field set, beside the table's zero values.
var samples = []pump.Command{
	pump.ReadLog{From: 1 << 40, MaxBytes: 4096},
	pump.NewProgram(flexRx(), pump.Hash{1, 2, 3}),
	pump.Bridge(pump.NewProgram(flexRx(), pump.Hash{9})),
	pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: 30 * unit.Minute},
	pump.Prime{Volume: 360 * unit.Microlitre},
	pump.Refill{Withdrawn: 3 * unit.Millilitre, Added: 20 * unit.Millilitre, Drug: "ziconotide", Concentration: 100 * unit.MicrogramPerMillilitre},
	pump.SetClock{UTCOffset: -5 * unit.Hour, SenderClock: t0},
	pump.Acknowledge{Alarm: pump.MotorStall},
}

func testStatus() Status {
	return Status{At: t0, Model: pump.TP40, CatheterLength: 50 * unit.Centimetre, CatheterPerCm: pump.DefaultCatheterPerCm,
		PrimingVolume: 360 * unit.Microlitre, PressureSensor: true, HasRx: true, Rx: flexRx(), RxHash: pump.Hash{1, 2, 3},
		RxSince: t0.Add(-unit.Day), Running: true, Delivering: true, Bridging: true, Basal: 400 * unit.Rate(unit.Microlitre),
		Reservoir: -3, LastFill: 20 * unit.Millilitre, LastFillAt: t0.Add(-unit.Week), Delivered: 123456789,
		FillDrug: "baclofen", FillConc: 2 * unit.MilligramPerMillilitre, Battery: pump.BatteryCapacity - 5,
		ERIThreshold: 42, Alarms: 1<<pump.LowReservoir | 1<<pump.MotorStall, UTCOffset: -5 * unit.Hour,
		NextPatientBolus: t0.Add(unit.Hour), LogNext: 77}
}

func testRecords() []Record {
	return []Record{
		{Seq: 41, At: t0, Kind: RecordKind(pump.EvSessionStart), Reason: pump.RoleClinician, A: int64(WakeContact), Role: pump.RoleClinician, Serial: 101, Name: "Dr. A. Ruiz"},
		{Seq: 42, At: t0.Add(5), Kind: RecordKind(pump.EvProgram), A: int64(pump.ModeContinuous), B: 600_000, Role: pump.RoleClinician, Serial: 101},
		{Seq: 43, At: t0.Add(5), Kind: RecCommand, A: int64(pump.CmdReadStatus), Role: pump.RoleClinician, Serial: 101},
		{Seq: 44, At: t0.Add(-unit.Hour), Kind: RecordKind(pump.EvAlarmRaise), Alarm: pump.VolumeDiscrepancy, A: -7, B: 1 << 50},
		{Seq: 45, At: t0, Kind: RecAuthFailed, A: int64(WakeRadio), B: 12},
		{Seq: 46, At: t0, Kind: RecordKind(pump.EvSessionEnd), Reason: pump.RoleEmergency, A: 42_000, Role: pump.RoleEmergency, Serial: 401},
	}
}

// responses is one of each response, with every field set.
func responses(t *testing.T) []Response {
	st := testStatus()
	entries, err := AppendRecords(nil, testRecords())
	if err != nil {
		t.Fatal(err)
	}
	return []Response{&st, &Status{}, &Log{Next: 47, More: true, Entries: entries}, &Log{}, &Ack{Seq: 1 << 33},
		&BolusResult{pump.BolusResult{Reason: pump.ReasonLockout, Volume: 25 * unit.Microlitre, Next: t0.Add(unit.Hour)}},
		&BolusResult{}, &Error{Code: 17, Detail: "telemetry: forbidden for this role"}}
}

// roundTrip encodes m, decodes it, and checks that decoding gives the same
// message and that every shorter input and a trailing byte are refused.
func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	b, err := AppendMessage([]byte{0xee}, m)
	if err != nil {
		t.Fatalf("%v: %v", m.Kind(), err)
	}
	b = b[1:]
	got, err := ConsumeMessage(b)
	if err != nil {
		t.Fatalf("%v: %v", m.Kind(), err)
	}
	again, err := AppendMessage(nil, got)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("%v: re-encoded %x, want %x (%v)", m.Kind(), again, b, err)
	}
	for n := 1; n < len(b); n++ {
		if _, err := ConsumeMessage(b[:n]); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("%v cut to %d bytes: %v", m.Kind(), n, err)
		}
	}
	if _, err := ConsumeMessage(append(b, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("%v with a trailing byte: %v", m.Kind(), err)
	}
	return got
}

// TestEveryLinkCommandHasABody walks the pump's command table: every command
// a role may send travels over the link and comes back the same, and the
// device's own commands have no wire form. A command added to the table
// without a body here fails this test.
func TestEveryLinkCommandHasABody(t *testing.T) {
	for _, s := range pump.Commands() {
		if s.Roles == pump.ByDevice {
			if _, ok := bodies[s.Kind]; ok {
				t.Errorf("%v is the device's own command but has a wire form", s.Kind)
			}
			if _, err := AppendMessage(nil, Request{s.Zero}); err == nil {
				t.Errorf("%v encoded", s.Kind)
			}
			if m, err := ConsumeMessage([]byte{byte(s.Kind)}); err != nil || m.Kind() != Kind(s.Kind) {
				t.Errorf("%v decoded to %#v, %v: want Unknown", s.Kind, m, err)
			} else if _, ok := m.(Unknown); !ok {
				t.Errorf("%v decoded to %#v: want Unknown", s.Kind, m)
			}
			continue
		}
		if got := roundTrip(t, Request{s.Zero}); got != (Request{s.Zero}) {
			t.Errorf("%v: %#v came back as %#v", s.Kind, s.Zero, got)
		}
		if k := ResponseKind(s.Kind); k == 0 {
			t.Errorf("%v: no response kind", s.Kind)
		}
		if Kind(s.Kind).String() != s.Name {
			t.Errorf("%v: kind named %q", s.Kind, Kind(s.Kind).String())
		}
	}
	for k := range bodies {
		if _, ok := linkCommand(Kind(k)); !ok {
			t.Errorf("a body for %v, which is not a link command", k)
		}
	}
	for _, c := range samples {
		if got := roundTrip(t, Request{c}); got != (Request{c}) {
			t.Errorf("%v: %#v came back as %#v", c.Kind(), c, got)
		}
	}
}

func TestResponsesRoundTrip(t *testing.T) {
	for _, r := range responses(t) {
		got := roundTrip(t, r)
		a, _ := AppendMessage(nil, r)
		b, _ := AppendMessage(nil, got)
		if !bytes.Equal(a, b) || got.Kind() != r.Kind() {
			t.Errorf("%v: came back as %#v", r.Kind(), got)
		}
	}
	st := testStatus()
	got, err := ConsumeMessage(must(AppendMessage(nil, &st)))
	if err != nil || *got.(*Status) != st {
		t.Fatalf("status: %+v, %v", got, err)
	}
	roundTrip(t, Close{})
	if _, err := ConsumeMessage(nil); !errors.Is(err, ErrTruncated) {
		t.Error("an empty message decoded")
	}
	if _, err := ConsumeMessage(make([]byte, MaxMessage+1)); !errors.Is(err, ErrTooLarge) {
		t.Error("an oversized message decoded")
	}
	if m, err := ConsumeMessage([]byte{0x7e, 1, 2}); err != nil || m.(Unknown).Type != 0x7e || !bytes.Equal(m.(Unknown).Body, []byte{1, 2}) {
		t.Errorf("an unknown kind: %#v, %v", m, err)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestRefusesWhatItCannotCarry: negative quantities, unprintable or long
// strings, unknown alarms and reasons, and prescriptions the core's codec
// cannot carry are refused on both sides.
func TestRefusesWhatItCannotCarry(t *testing.T) {
	rx := flexRx()
	rx.Flex[1].At += unit.Second
	for _, m := range []Message{
		Request{pump.ClinicianBolus{Volume: -1, Duration: unit.Minute}},
		Request{pump.Prime{Volume: -1}},
		Request{pump.Refill{Added: unit.Millilitre, Drug: "mor\nphine", Concentration: 1}},
		Request{pump.Refill{Added: -unit.Millilitre, Drug: "morphine", Concentration: 1}},
		Request{pump.Acknowledge{Alarm: 99}},
		Request{pump.NewProgram(rx, pump.Hash{})},
		Request{nil},
		&BolusResult{pump.BolusResult{Reason: 200}},
		&Error{Detail: strings.Repeat("x", MaxDetail+1)},
		&Status{FillDrug: "\x00"},
		&Status{HasRx: true, Rx: rx},
		&Log{Entries: make([]byte, MaxMessage)},
	} {
		if b, err := AppendMessage([]byte{1}, m); err == nil || len(b) != 1 {
			t.Errorf("%#v encoded (%v)", m, err)
		}
	}
	for _, b := range [][]byte{
		{byte(pump.CmdAcknowledge), 99},
		{byte(pump.CmdPrime), 0x80, 0, 0, 0, 0, 0, 0, 0},
		{byte(KindLog), 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0},
		{byte(KindBolusResult), 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		append([]byte{byte(KindError), 0, 1, 3}, "a\x01b"...),
	} {
		if m, err := ConsumeMessage(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x decoded: %#v, %v", b, m, err)
		}
	}
}

func TestRecordsRoundTrip(t *testing.T) {
	rs := testRecords()
	b, err := AppendRecords(nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ConsumeRecords(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(rs) {
		t.Fatalf("%d records, want %d", len(got), len(rs))
	}
	for i := range rs {
		if got[i] != rs[i] {
			t.Errorf("record %d: %+v, want %+v", i, got[i], rs[i])
		}
	}
	for n := 1; n < len(b); n++ {
		if got, err := ConsumeRecords(b[:n]); err == nil && len(got) == len(rs) {
			t.Fatalf("cut to %d bytes, all records decoded", n)
		}
	}
	for max := 0; max <= len(b); max++ {
		part, n, err := AppendRecordsWithin(nil, rs, max)
		if err != nil || len(part) > max || (n == len(rs)) != (max == len(b)) {
			t.Fatalf("within %d bytes: %d bytes, %d records, %v", max, len(part), n, err)
		}
		if n > 0 && !bytes.Equal(part, must(AppendRecords(nil, rs[:n]))) {
			t.Fatalf("within %d bytes: not a prefix encoding", max)
		}
	}
	for _, rs := range [][]Record{{{Seq: 3}, {Seq: 1}}, {{Seq: 2}, {Seq: 2}}, {{Seq: 1, Kind: recGap}}} {
		if _, err := AppendRecords(nil, rs); !errors.Is(err, ErrMalformed) {
			t.Errorf("%v encoded", rs)
		}
	}
	if _, err := AppendRecords(nil, []Record{{Seq: 1, Name: strings.Repeat("n", MaxName+1)}}); !errors.Is(err, ErrMalformed) {
		t.Error("a long name encoded")
	}
	if rs, err := ConsumeRecords(nil); rs != nil || err != nil {
		t.Error("no bytes are not no records")
	}
	// Non-canonical forms: a zero field flagged, a peer repeated, an overlong
	// varint; a gap first, last, empty, doubled, overlong or past the end.
	stop := []byte{byte(pump.EvStop), 0, 0}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for _, bad := range [][]byte{
		{1, byte(pump.EvStop), recA, 0, 0},
		{1, byte(pump.EvStop), recSerial | recRole, 0, 5, 1, byte(pump.EvStop), recSerial | recRole, 0, 5, 1},
		{0x81, 0x00, byte(pump.EvStop), 0, 0},
		{1},
		cat([]byte{1, recGap, 1}, stop),
		cat([]byte{1}, stop, []byte{recGap, 1}),
		cat([]byte{1}, stop, []byte{recGap, 0}, stop),
		cat([]byte{1}, stop, []byte{recGap, 1, recGap, 1}, stop),
		cat([]byte{1}, stop, []byte{recGap, 0x81, 0}, stop),
		cat([]byte{1}, stop, []byte{recGap, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}, stop),
		cat([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1}, stop, stop),
	} {
		if _, err := ConsumeRecords(bad); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
			t.Errorf("% x decoded: %v", bad, err)
		}
	}
}

// A log with sequence numbers it no longer holds (a device drops old records
// of one kind to keep room for the others): the gaps travel, the records come
// back with their own numbers, and a cut never splits a gap from its record.
func TestRecordsWithGaps(t *testing.T) {
	rs := testRecords()
	rs[2].Seq, rs[3].Seq, rs[4].Seq, rs[5].Seq = 50, 51, 300, 1<<40
	b, err := AppendRecords(nil, rs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ConsumeRecords(b)
	if err != nil || len(got) != len(rs) {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for i := range rs {
		if got[i] != rs[i] {
			t.Errorf("record %d: %+v, want %+v", i, got[i], rs[i])
		}
	}
	contiguous, _ := AppendRecords(nil, testRecords())
	if gaps := len(b) - len(contiguous); gaps < 6 || gaps > 2+2+2+7 {
		t.Errorf("three gaps cost %d bytes", gaps)
	}
	for max := 0; max <= len(b); max++ {
		part, n, err := AppendRecordsWithin(nil, rs, max)
		if err != nil || len(part) > max {
			t.Fatalf("within %d bytes: %d bytes, %v", max, len(part), err)
		}
		if n > 0 {
			back, err := ConsumeRecords(part)
			if err != nil || len(back) != n || back[n-1] != rs[n-1] {
				t.Fatalf("within %d bytes: %d records read back of %d, %v", max, len(back), n, err)
			}
		}
	}
}

func TestDescribe(t *testing.T) {
	code := func(c uint16) string { return "code " + string(rune('0'+c%10)) }
	want := []string{
		`clinician #101 "Dr. A. Ruiz", contact wake`,
		"continuous, max_24h 0.6 mL (clinician #101)",
		"read-status by clinician #101: done",
		"VOLUME_DISCREPANCY (measured -0.000007 mL, estimate 1125899906.842624 mL)",
		"radio wake: code 2",
		"emergency, radio on 42s",
	}
	for i, r := range testRecords() {
		if got := r.Describe(code); got != want[i] {
			t.Errorf("record %d: %q, want %q", i, got, want[i])
		}
	}
	rs := testRecords()
	if !rs[5].Critical() || rs[1].Critical() {
		t.Error("Critical")
	}
	for _, c := range []struct {
		r    Record
		want string
	}{
		{Record{Kind: RecRadioRefusals, A: 3, B: 21}, "3 connections refused in the listen window: code 1"},
		{Record{Kind: RecAuthFailures, A: 1, B: 2}, "1 handshake failed in the listen window: code 2"},
		{Record{Kind: RecLockouts, A: 2, B: 21}, "2 peers locked out in the listen window: code 1"},
		{Record{Kind: RecRadioUnauth, A: 61_500, B: 75_907}, "radio on 1m1s500ms for 75907 connections that opened no session, charged to the battery"},
	} {
		if got := c.r.Describe(code); got != c.want {
			t.Errorf("%v: %q, want %q", c.r.Kind, got, c.want)
		}
		if !c.r.Kind.Unauthenticated() || c.r.Critical() != (c.r.Kind == RecLockouts) {
			t.Errorf("%v: unauthenticated %v, critical %v", c.r.Kind, c.r.Kind.Unauthenticated(), c.r.Critical())
		}
	}
	for _, k := range []RecordKind{RecCommand, RecCommandRefused, RecIntegrity, RecClockSkew, RecordKind(pump.EvStop)} {
		if k.Unauthenticated() {
			t.Errorf("%v is counted as unauthenticated", k)
		}
	}
	if RecClockSkew.String() != "CLOCK_SKEW" || RecordKind(pump.EvRefill).String() != "REFILL" || WakeKind(9).String() != "wake-9" {
		t.Error("names")
	}
}
