package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// doc builds a scenario file from parts, so that each test changes only the part it
// is about. The zero doc's parts are replaced by the minimal valid scenario's.
type doc struct {
	head, pump, fill, presc, events, tail string
}

const (
	minHead   = `"name": "t", "start": "2026-01-05T08:00:00Z", "duration": "30d"`
	minPump   = `"model": "TP-20", "catheter_length_cm": 50`
	minFill   = `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 20`
	minPresc  = `"mode": "continuous", "rate_ml_per_day": 0.5, "max_24h_ml": 0.7`
	minEvents = `[]`
)

func (d doc) String() string {
	or := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	return "{" + or(d.head, minHead) +
		`, "pump": {` + or(d.pump, minPump) + `}` +
		`, "fill": {` + or(d.fill, minFill) + `}` +
		`, "prescription": {` + or(d.presc, minPresc) + `}` +
		`, "events": ` + or(d.events, minEvents) + d.tail + "}"
}

// events wraps event objects in an array.
func events(evs ...string) string { return "[" + strings.Join(evs, ", ") + "]" }

func mustParse(t *testing.T, data string) *Scenario {
	t.Helper()
	s, err := Parse([]byte(data))
	if err != nil {
		t.Fatalf("Parse: %v\nfile: %s", err, data)
	}
	return s
}

func day(n int64) unit.Duration { return unit.Duration(n) * unit.Day }

func TestParseSpecExample(t *testing.T) {
	data, err := os.ReadFile("testdata/spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(data))
	start := unit.Time(1767600000000) // 2026-01-05T08:00:00Z
	morphine := Drug{Name: "morphine", Concentration: 10 * unit.MilligramPerMillilitre, Unit: unit.Milligram, Text: "10 mg/mL"}
	want := &Scenario{
		Name:     "morphine, continuous, patient boluses",
		Start:    start,
		Duration: 90 * unit.Day,
		Seed:     1,
		Pump: Pump{
			Model:          pump.TP20,
			CatheterLength: 50 * unit.Centimetre,
			CatheterPerCm:  2200 * unit.Nanolitre,
			UTCOffset:      3*unit.Hour + 30*unit.Minute,
			PressureSensor: true,
			LevelSensor:    true,
			Battery:        1_000_000 * unit.MicroampHour,
			Primed:         true,
		},
		Fill: Fill{Drug: morphine, Volume: 20 * unit.Millilitre},
		Prescription: Prescription{Rx: pump.Prescription{
			Mode:         pump.ModeContinuous,
			Rate:         500_000 * unit.NanolitrePerDay,
			Max24h:       700 * unit.Microlitre,
			LowReservoir: 2 * unit.Millilitre,
			PatientBolus: pump.PatientBolus{Volume: 20 * unit.Microlitre, Duration: 10 * unit.Minute, Lockout: 4 * unit.Hour, MaxPer24h: 4},
		}},
		Events: []Event{
			{Index: 0, At: start.Add(3 * unit.Day), Kind: PatientBolusEv},
			{Index: 1, At: start.Add(10 * unit.Day), Kind: MRI, Duration: 45 * unit.Minute, HasDuration: true},
			{Index: 2, At: start.Add(30 * unit.Day), Kind: Refill, Withdraw: 4_900_000 * unit.Nanolitre, Add: 20 * unit.Millilitre, Drug: morphine},
			{Index: 3, At: start.Add(40 * unit.Day), Kind: Program, Prescription: &Prescription{Rx: flexRx(pump.Prescription{
				Max24h: 800 * unit.Microlitre,
			}, pump.FlexStep{At: 8 * unit.Hour, Rate: 600_000, Days: pump.AllDays},
				pump.FlexStep{At: 22 * unit.Hour, Rate: 400_000, Days: pump.AllDays})}},
		},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Parse(spec example):\n got %+v\nwant %+v", s, want)
		for i := range min(len(s.Events), len(want.Events)) {
			if !reflect.DeepEqual(s.Events[i], want.Events[i]) {
				t.Errorf("events[%d]:\n got %+v\nwant %+v", i, s.Events[i], want.Events[i])
			}
		}
	}
	if got, want := s.End(), start.Add(90*unit.Day); got != want {
		t.Errorf("End() = %v, want %v", got, want)
	}
}

func TestParseDefaults(t *testing.T) {
	s := mustParse(t, doc{}.String())
	want := Pump{
		Model:          pump.TP20,
		CatheterLength: 50 * unit.Centimetre,
		CatheterPerCm:  2200 * unit.Nanolitre,
		Battery:        1_000_000 * unit.MicroampHour,
		Primed:         true,
	}
	if s.Pump != want {
		t.Errorf("pump defaults: got %+v, want %+v", s.Pump, want)
	}
	if rx := s.Prescription.Rx; s.Seed != 0 || len(s.Events) != 0 || rx.LowReservoir != 0 || rx.PatientBolus != (pump.PatientBolus{}) {
		t.Errorf("defaults: seed %d, %d events, low reservoir %v, patient bolus %v",
			s.Seed, len(s.Events), rx.LowReservoir, rx.PatientBolus)
	}
	// events may be left out altogether.
	s = mustParse(t, `{`+minHead+`, "pump": {`+minPump+`}, "fill": {`+minFill+`}, "prescription": {`+minPresc+`}}`)
	if s.Events != nil {
		t.Errorf("no events: got %v", s.Events)
	}
}

func TestParsePump(t *testing.T) {
	for _, tc := range []struct {
		name, pump string
		want       Pump
	}{
		{"TP-40, no sensors, unprimed", `"model": "TP-40", "catheter_length_cm": 45.5, "catheter_ml_per_cm": 0.0015, "sensors": [], "primed": false`,
			Pump{Model: pump.TP40, CatheterLength: 455_000, CatheterPerCm: 1500, Battery: unit.MicroampHours(1e6)}},
		{"level only, negative offset, low battery", `"model": "TP-20", "catheter_length_cm": 0.0001, "utc_offset": "-05:00", "sensors": ["level"], "battery_uah": 12345.678`,
			Pump{Model: pump.TP20, CatheterLength: 1, CatheterPerCm: 2200, UTCOffset: -5 * unit.Hour, LevelSensor: true,
				Battery: 12_345_678 * unit.NanoampHour, Primed: true}},
		{"pressure only, empty battery, stroke spread", `"model": "TP-20", "catheter_length_cm": 50, "sensors": ["pressure"], "battery_uah": 0, "stroke_spread_pct": 2.5`,
			Pump{Model: pump.TP20, CatheterLength: 500_000, CatheterPerCm: 2200, PressureSensor: true, Primed: true, StrokeSpreadPct: 2.5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, doc{pump: tc.pump}.String())
			if s.Pump != tc.want {
				t.Errorf("got %+v, want %+v", s.Pump, tc.want)
			}
		})
	}
}

// TestParseMillilitres checks that mL figures are read exactly as decimals, to the
// nanolitre, whatever way JSON writes the number.
func TestParseMillilitres(t *testing.T) {
	for _, tc := range []struct {
		num  string
		want int64 // nL or nL/day
	}{
		{"0.0022", 2200},
		{"0.048", 48_000},
		{"0.1", 100_000},
		{"0.3", 300_000},
		{"0.7", 700_000},
		{"4.9", 4_900_000},
		{"20", 20_000_000},
		{"20.000000", 20_000_000},
		{"0.000001", 1},
		{"999.999999", 999_999_999},
		{"1000", 1_000_000_000},
		{"2.2e-3", 2200},
		{"5E-1", 500_000},
		{"1e+2", 100_000_000},
		{"0.0000010", 1},
	} {
		t.Run(tc.num, func(t *testing.T) {
			perCm := tc.num // catheter_ml_per_cm is at most 1 mL/cm
			if tc.want > int64(unit.Millilitre) {
				perCm = "0.0022"
			}
			s := mustParse(t, doc{
				pump:  `"model": "TP-20", "catheter_length_cm": 50, "catheter_ml_per_cm": ` + perCm,
				fill:  `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": ` + tc.num,
				presc: `"mode": "continuous", "rate_ml_per_day": ` + tc.num + `, "max_24h_ml": ` + tc.num + `, "low_reservoir_ml": ` + tc.num,
				events: events(`{"at": "1d", "kind": "clinician_bolus", "volume_ml": `+tc.num+`, "duration": "1h"}`,
					`{"at": "2d", "kind": "refill", "withdraw_ml": `+tc.num+`, "add_ml": `+tc.num+`, "pocket_fill_ml": `+tc.num+`, "drug": "morphine", "concentration": "10 mg/mL"}`),
			}.String())
			if perCm == tc.num && int64(s.Pump.CatheterPerCm) != tc.want {
				t.Errorf("catheter_ml_per_cm: got %d, want %d", s.Pump.CatheterPerCm, tc.want)
			}
			got := []int64{int64(s.Fill.Volume), int64(s.Prescription.Rx.Rate),
				int64(s.Prescription.Rx.Max24h), int64(s.Prescription.Rx.LowReservoir), int64(s.Events[0].Volume),
				int64(s.Events[1].Withdraw), int64(s.Events[1].Add), int64(s.Events[1].PocketFill)}
			for i, g := range got {
				if g != tc.want {
					t.Errorf("field %d: got %d, want %d", i, g, tc.want)
				}
			}
		})
	}
}

func TestParseCharge(t *testing.T) {
	for _, tc := range []struct {
		num  string
		want unit.Charge
	}{
		{"1000000", 1_000_000 * unit.MicroampHour},
		{"0.001", unit.NanoampHour},
		{"388.5", 388_500 * unit.NanoampHour},
		{"1e3", 1000 * unit.MicroampHour},
	} {
		t.Run(tc.num, func(t *testing.T) {
			s := mustParse(t, doc{
				pump:   minPump + `, "battery_uah": ` + tc.num,
				events: events(`{"at": "1d", "kind": "battery_drain", "uah": ` + tc.num + `}`),
			}.String())
			if s.Pump.Battery != tc.want || s.Events[0].Charge != tc.want {
				t.Errorf("battery %d, drain %d, want %d", s.Pump.Battery, s.Events[0].Charge, tc.want)
			}
		})
	}
}

func TestParseRates(t *testing.T) {
	for _, tc := range []struct {
		name, rate string
		volume     unit.Rate
		dose       Dose
	}{
		{"mL per day", `"rate_ml_per_day": 0.048`, 48_000, Dose{}},
		{"mg", `"dose_per_day": "5 mg"`, 0, Dose{Rate: 5_000_000_000_000, Unit: unit.Milligram}},
		{"mcg", `"dose_per_day": "400 mcg"`, 0, Dose{Rate: 400_000_000_000, Unit: unit.Microgram}},
		{"mcg/day", `"dose_per_day": "400 mcg/day"`, 0, Dose{Rate: 400_000_000_000, Unit: unit.Microgram}},
		{"mcg/h", `"dose_per_day": "0.1 mcg/h"`, 0, Dose{Rate: 2_400_000_000, Unit: unit.Microgram}},
		{"decimal mg", `"dose_per_day": "0.25 mg"`, 0, Dose{Rate: 250_000_000_000, Unit: unit.Milligram}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, doc{presc: `"mode": "continuous", "max_24h_ml": 1, ` + tc.rate}.String())
			if p := s.Prescription; p.Rx.Rate != tc.volume || p.Dose != tc.dose {
				t.Errorf("got %v and %+v, want %v and %+v", p.Rx.Rate, p.Dose, tc.volume, tc.dose)
			}
		})
	}
}

// flexRx is rx in flex mode with the given steps.
func flexRx(rx pump.Prescription, steps ...pump.FlexStep) pump.Prescription {
	rx.Mode = pump.ModeFlex
	rx.FlexSteps = copy(rx.Flex[:], steps)
	return rx
}

func TestParseModes(t *testing.T) {
	pb := `"patient_bolus": {"volume_ml": 0.05, "duration": "15m", "lockout": "1h30m", "max_per_24h": 6}`
	mg2 := Dose{Rate: 2_000_000_000_000, Unit: unit.Milligram}
	for _, tc := range []struct {
		name, presc string
		want        Prescription
	}{
		{"stopped", `"mode": "stopped"`, Prescription{Rx: pump.Prescription{Mode: pump.ModeStopped}}},
		{"stopped with cap and threshold", `"mode": "stopped", "max_24h_ml": 1, "low_reservoir_ml": 3`,
			Prescription{Rx: pump.Prescription{Mode: pump.ModeStopped, Max24h: unit.Millilitre, LowReservoir: 3 * unit.Millilitre}}},
		{"minimum", `"mode": "minimum", "max_24h_ml": 0.1`, Prescription{Rx: pump.Prescription{Mode: pump.ModeMinimum, Max24h: 100_000}}},
		{"minimum with patient bolus", `"mode": "minimum", "max_24h_ml": 0.5, ` + pb, Prescription{Rx: pump.Prescription{Mode: pump.ModeMinimum, Max24h: 500_000,
			PatientBolus: pump.PatientBolus{Volume: 50_000, Duration: 15 * unit.Minute, Lockout: 90 * unit.Minute, MaxPer24h: 6}}}},
		{"flex daily", `"mode": "flex", "max_24h_ml": 1, "repeat": "daily", "flex": [{"at": "00:00", "rate_ml_per_day": 0.2}, {"at": "23:59", "dose_per_day": "2 mg"}]`,
			Prescription{Rx: flexRx(pump.Prescription{Max24h: unit.Millilitre},
				pump.FlexStep{At: 0, Rate: 200_000, Days: pump.AllDays},
				pump.FlexStep{At: 23*unit.Hour + 59*unit.Minute, Days: pump.AllDays},
			), FlexDoses: [pump.MaxFlexSteps]Dose{1: mg2}}},
		{"flex weekly by days", `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.2, "days": ["mon", "sun", "sat"]}, {"at": "08:00", "rate_ml_per_day": 0.3, "days": ["tue"]}]`,
			Prescription{Rx: flexRx(pump.Prescription{Max24h: unit.Millilitre, Weekly: true},
				pump.FlexStep{At: 8 * unit.Hour, Rate: 200_000, Days: 1<<0 | 1<<1 | 1<<6},
				pump.FlexStep{At: 8 * unit.Hour, Rate: 300_000, Days: 1 << 2},
			)}},
		{"flex weekly by repeat", `"mode": "flex", "max_24h_ml": 1, "repeat": "weekly", "flex": [{"at": "12:30", "rate_ml_per_day": 0.2}]`,
			Prescription{Rx: flexRx(pump.Prescription{Max24h: unit.Millilitre, Weekly: true},
				pump.FlexStep{At: 12*unit.Hour + 30*unit.Minute, Rate: 200_000, Days: pump.AllDays},
			)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, doc{presc: tc.presc}.String())
			if !reflect.DeepEqual(s.Prescription, tc.want) {
				t.Errorf("got %+v, want %+v", s.Prescription, tc.want)
			}
		})
	}
}

func TestParseFlexSixteenSteps(t *testing.T) {
	var steps []string
	for h := range 16 {
		steps = append(steps, `{"at": "`+[]string{"0", "1"}[h/10]+string(rune('0'+h%10))+`:00", "rate_ml_per_day": 0.1}`)
	}
	s := mustParse(t, doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [` + strings.Join(steps, ",") + `]`}.String())
	if n := s.Prescription.Rx.FlexSteps; n != 16 {
		t.Fatalf("%d steps, want 16", n)
	}
	if at := s.Prescription.Rx.Flex[15].At; at != 15*unit.Hour {
		t.Errorf("flex[15].at = %v, want 15h", at)
	}
}

func TestParseEvents(t *testing.T) {
	start := unit.Time(1767600000000) // 2026-01-05T08:00:00Z
	presc := `{"mode": "continuous", "rate_ml_per_day": 0.4, "max_24h_ml": 0.6}`
	wantPresc := &Prescription{Rx: pump.Prescription{Mode: pump.ModeContinuous, Rate: 400_000, Max24h: 600_000}}
	baclofen := Drug{Name: "baclofen", Concentration: 2000 * unit.MicrogramPerMillilitre, Unit: unit.Microgram, Text: "2000 mcg/mL"}
	for _, tc := range []struct {
		name, event string
		want        Event
	}{
		{"program", `{"at": "1d", "kind": "program", "prescription": ` + presc + `}`,
			Event{At: start.Add(day(1)), Kind: Program, Prescription: wantPresc}},
		{"bridge", `{"at": "1d", "kind": "bridge", "prescription": ` + presc + `}`,
			Event{At: start.Add(day(1)), Kind: Bridge, Prescription: wantPresc}},
		{"stop", `{"at": "1d2h3m4s", "kind": "stop"}`,
			Event{At: start.Add(day(1) + 2*unit.Hour + 3*unit.Minute + 4*unit.Second), Kind: Stop}},
		{"resume", `{"at": "0s", "kind": "resume"}`, Event{At: start, Kind: Resume}},
		{"clinician_bolus", `{"at": "1h", "kind": "clinician_bolus", "volume_ml": 0.25, "duration": "30m"}`,
			Event{At: start.Add(unit.Hour), Kind: ClinicianBolus, Volume: 250_000, Duration: 30 * unit.Minute, HasDuration: true}},
		{"prime", `{"at": "1h", "kind": "prime"}`, Event{At: start.Add(unit.Hour), Kind: Prime}},
		{"patient_bolus", `{"at": "1h", "kind": "patient_bolus"}`, Event{At: start.Add(unit.Hour), Kind: PatientBolusEv}},
		{"refill", `{"at": "1h", "kind": "refill", "withdraw_ml": 0, "add_ml": 18.5, "drug": "baclofen", "concentration": "2000 mcg/mL", "pocket_fill_ml": 18.5}`,
			Event{At: start.Add(unit.Hour), Kind: Refill, Add: 18_500_000, PocketFill: 18_500_000, Drug: baclofen}},
		{"interrogate", `{"at": "1h", "kind": "interrogate"}`, Event{At: start.Add(unit.Hour), Kind: Interrogate}},
		{"acknowledge all", `{"at": "1h", "kind": "acknowledge"}`, Event{At: start.Add(unit.Hour), Kind: Acknowledge}},
		{"acknowledge one", `{"at": "1h", "kind": "acknowledge", "alarm": "MOTOR_STALL"}`,
			Event{At: start.Add(unit.Hour), Kind: Acknowledge, Alarm: "MOTOR_STALL"}},
		{"mri", `{"at": "1h", "kind": "mri", "duration": "45m"}`,
			Event{At: start.Add(unit.Hour), Kind: MRI, Duration: 45 * unit.Minute, HasDuration: true}},
		{"motor_stall", `{"at": "1h", "kind": "motor_stall", "duration": "2h"}`,
			Event{At: start.Add(unit.Hour), Kind: MotorStall, Duration: 2 * unit.Hour, HasDuration: true}},
		{"occlusion with duration", `{"at": "1h", "kind": "occlusion", "duration": "3d"}`,
			Event{At: start.Add(unit.Hour), Kind: Occlusion, Duration: day(3), HasDuration: true}},
		{"permanent occlusion", `{"at": "1h", "kind": "occlusion"}`, Event{At: start.Add(unit.Hour), Kind: Occlusion}},
		{"leak", `{"at": "1h", "kind": "leak"}`, Event{At: start.Add(unit.Hour), Kind: Leak}},
		{"power_loss", `{"at": "1h", "kind": "power_loss"}`, Event{At: start.Add(unit.Hour), Kind: PowerLoss}},
		{"battery_drain", `{"at": "1h", "kind": "battery_drain", "uah": 5000}`,
			Event{At: start.Add(unit.Hour), Kind: BatteryDrain, Charge: 5000 * unit.MicroampHour}},
		{"set_clock", `{"at": "1h", "kind": "set_clock", "utc_offset": "+01:00"}`,
			Event{At: start.Add(unit.Hour), Kind: SetClock, UTCOffset: unit.Hour}},
		{"at RFC 3339", `{"at": "2026-01-06T09:30:00Z", "kind": "stop"}`,
			Event{At: start.Add(day(1) + 90*unit.Minute), Kind: Stop}},
		{"at RFC 3339 with offset", `{"at": "2026-01-06T13:00:00+03:30", "kind": "stop"}`,
			Event{At: start.Add(day(1) + 90*unit.Minute), Kind: Stop}},
		{"at RFC 3339 with milliseconds", `{"at": "2026-01-05T08:00:00.250Z", "kind": "stop"}`,
			Event{At: start + 250, Kind: Stop}},
		{"at the start", `{"at": "2026-01-05T08:00:00Z", "kind": "stop"}`, Event{At: start, Kind: Stop}},
		{"at the end", `{"at": "30d", "kind": "interrogate"}`, Event{At: start.Add(day(30)), Kind: Interrogate}},
		{"at the end, RFC 3339", `{"at": "2026-02-04T08:00:00Z", "kind": "interrogate"}`, Event{At: start.Add(day(30)), Kind: Interrogate}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := mustParse(t, doc{events: events(tc.event)}.String())
			if len(s.Events) != 1 {
				t.Fatalf("%d events, want 1", len(s.Events))
			}
			if !reflect.DeepEqual(s.Events[0], tc.want) {
				t.Errorf("got %+v, want %+v", s.Events[0], tc.want)
			}
		})
	}
}

// TestParseEventOrder checks that equal times are allowed and keep file order, and
// that durations and RFC 3339 times mix.
func TestParseEventOrder(t *testing.T) {
	s := mustParse(t, doc{events: events(
		`{"at": "1d", "kind": "interrogate"}`,
		`{"at": "2026-01-06T08:00:00Z", "kind": "stop"}`,
		`{"at": "1d", "kind": "resume"}`,
		`{"at": "1d1s", "kind": "leak"}`,
	)}.String())
	var kinds []Kind
	for i, e := range s.Events {
		if e.Index != i {
			t.Errorf("events[%d].Index = %d", i, e.Index)
		}
		kinds = append(kinds, e.Kind)
	}
	if want := []Kind{Interrogate, Stop, Resume, Leak}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	if s.Events[2].At != s.Events[0].At || s.Events[3].At != s.Events[0].At+1000 {
		t.Errorf("times %v", s.Events)
	}
}

// TestParseRefusals checks that each kind of fault is refused with the field that
// holds it.
func TestParseRefusals(t *testing.T) {
	ev := func(evs ...string) doc { return doc{events: events(evs...)} }
	stop := `{"at": "1d", "kind": "stop"}`
	for _, tc := range []struct {
		name  string
		file  string
		field string
	}{
		// The file as a whole.
		{"empty file", ``, "(file)"},
		{"whitespace only", " \n\t", "(file)"},
		{"not an object", `[1, 2]`, "(file)"},
		{"string", `"scenario"`, "(file)"},
		{"trailing object", doc{}.String() + `{}`, "(file)"},
		{"trailing garbage", doc{}.String() + ` x`, "(file)"},
		{"trailing comma", doc{}.String() + `,`, "(file)"},
		{"truncated", doc{}.String()[:40], "start"},
		{"truncated after a value", `{"name": "t"`, "(file)"},
		{"truncated in events", doc{}.String()[:len(doc{}.String())-3], "events"},
		{"syntax error in pump", doc{pump: `"model": "TP-20",, "catheter_length_cm": 50`}.String(), "pump"},
		{"syntax error in event", doc{events: `[{"at": "1d", "kind": stop}]`}.String(), "events[0].kind"},
		{"invalid UTF-8", `{"name": "` + "\xff" + `"}`, "(file)"},
		{"deep in an unknown field", doc{tail: `, "x": ` + strings.Repeat("[", 40) + strings.Repeat("]", 40)}.String(), "x"},
		{"deep in a known field", doc{events: strings.Repeat("[", 40) + strings.Repeat("]", 40)}.String(), "events[0]"},
		{"deeper than JSON allows", doc{events: strings.Repeat("[", 20_000) + strings.Repeat("]", 20_000)}.String(), "events[0]"},

		// Unknown and repeated fields, at every level.
		{"unknown top-level field", doc{tail: `, "comment": "x"`}.String(), "comment"},
		{"field case differs", doc{tail: `, "Seed": 1`}.String(), "Seed"},
		{"unknown pump field", doc{pump: minPump + `, "catheter_ml_cm": 0.002`}.String(), "pump.catheter_ml_cm"},
		{"unknown fill field", doc{fill: minFill + `, "lot": "A1"`}.String(), "fill.lot"},
		{"unknown prescription field", doc{presc: minPresc + `, "rate": 1`}.String(), "prescription.rate"},
		{"unknown patient bolus field", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4h", "max_per_24h": 4, "max": 1}`}.String(), "prescription.patient_bolus.max"},
		{"unknown flex step field", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "day": ["mon"]}]`}.String(), "prescription.flex[0].day"},
		{"unknown event field", ev(stop, stop, `{"at": "3d", "kind": "clinician_bolus", "volum_ml": 0.1, "duration": "1h"}`).String(), "events[2].volum_ml"},
		{"unknown field in event prescription", ev(`{"at": "3d", "kind": "program", "prescription": {"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "09:00", "rate_ml_per_day": 0.5, "rate": 1}]}}`).String(), "events[0].prescription.flex[1].rate"},
		{"unknown field with odd name", doc{pump: minPump + `, "a.b": 1`}.String(), `pump["a.b"]`},
		{"field given twice", doc{presc: minPresc + `, "rate_ml_per_day": 5`}.String(), "prescription.rate_ml_per_day"},
		{"field given twice in event", ev(`{"at": "1d", "kind": "stop", "at": "2d"}`).String(), "events[0].at"},

		// Types.
		{"name not a string", doc{head: `"name": 1, "start": "2026-01-05T08:00:00Z", "duration": "30d"`}.String(), "name"},
		{"pump not an object", `{` + minHead + `, "pump": "TP-20"}`, "pump"},
		{"volume as string", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": "20"`}.String(), "fill.volume_ml"},
		{"volume null", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": null`}.String(), "fill.volume_ml"},
		{"primed not a bool", doc{pump: minPump + `, "primed": "yes"`}.String(), "pump.primed"},
		{"events not an array", doc{events: `{}`}.String(), "events"},
		{"event not an object", ev(stop, `"stop"`).String(), "events[1]"},
		{"sensors not an array", doc{pump: minPump + `, "sensors": "pressure"`}.String(), "pump.sensors"},

		// Top level.
		{"name missing", doc{head: `"start": "2026-01-05T08:00:00Z", "duration": "30d"`}.String(), "name"},
		{"name empty", doc{head: `"name": " ", "start": "2026-01-05T08:00:00Z", "duration": "30d"`}.String(), "name"},
		{"start missing", doc{head: `"name": "t", "duration": "30d"`}.String(), "start"},
		{"start not RFC 3339", doc{head: `"name": "t", "start": "2026-01-05 08:00", "duration": "30d"`}.String(), "start"},
		{"start without zone", doc{head: `"name": "t", "start": "2026-01-05T08:00:00", "duration": "30d"`}.String(), "start"},
		{"start finer than a millisecond", doc{head: `"name": "t", "start": "2026-01-05T08:00:00.0001Z", "duration": "30d"`}.String(), "start"},
		{"duration missing", doc{head: `"name": "t", "start": "2026-01-05T08:00:00Z"`}.String(), "duration"},
		{"duration zero", doc{head: `"name": "t", "start": "2026-01-05T08:00:00Z", "duration": "0d"`}.String(), "duration"},
		{"duration bad unit", doc{head: `"name": "t", "start": "2026-01-05T08:00:00Z", "duration": "3w"`}.String(), "duration"},
		{"duration over 100 years", doc{head: `"name": "t", "start": "2026-01-05T08:00:00Z", "duration": "36526d"`}.String(), "duration"},
		{"duration negative", doc{head: `"name": "t", "start": "2026-01-05T08:00:00Z", "duration": "-1d"`}.String(), "duration"},
		{"seed not whole", doc{tail: `, "seed": 1.5`}.String(), "seed"},
		{"seed too large", doc{tail: `, "seed": 9223372036854775808`}.String(), "seed"},
		{"seed string", doc{tail: `, "seed": "1"`}.String(), "seed"},
		{"pump missing", `{` + minHead + `, "fill": {` + minFill + `}, "prescription": {` + minPresc + `}}`, "pump"},
		{"fill missing", `{` + minHead + `, "pump": {` + minPump + `}, "prescription": {` + minPresc + `}}`, "fill"},
		{"prescription missing", `{` + minHead + `, "pump": {` + minPump + `}, "fill": {` + minFill + `}}`, "prescription"},

		// Pump.
		{"model missing", doc{pump: `"catheter_length_cm": 50`}.String(), "pump.model"},
		{"model unknown", doc{pump: `"model": "TP-30", "catheter_length_cm": 50`}.String(), "pump.model"},
		{"model case", doc{pump: `"model": "tp-20", "catheter_length_cm": 50`}.String(), "pump.model"},
		{"catheter length missing", doc{pump: `"model": "TP-20"`}.String(), "pump.catheter_length_cm"},
		{"catheter length zero", doc{pump: `"model": "TP-20", "catheter_length_cm": 0`}.String(), "pump.catheter_length_cm"},
		{"catheter length negative", doc{pump: `"model": "TP-20", "catheter_length_cm": -5`}.String(), "pump.catheter_length_cm"},
		{"catheter length too fine", doc{pump: `"model": "TP-20", "catheter_length_cm": 50.00001`}.String(), "pump.catheter_length_cm"},
		{"catheter length absurd", doc{pump: `"model": "TP-20", "catheter_length_cm": 1e9`}.String(), "pump.catheter_length_cm"},
		{"catheter per cm zero", doc{pump: minPump + `, "catheter_ml_per_cm": 0`}.String(), "pump.catheter_ml_per_cm"},
		{"catheter per cm too fine", doc{pump: minPump + `, "catheter_ml_per_cm": 0.00225001`}.String(), "pump.catheter_ml_per_cm"},
		{"utc offset bad", doc{pump: minPump + `, "utc_offset": "+3:30"`}.String(), "pump.utc_offset"},
		{"utc offset out of range", doc{pump: minPump + `, "utc_offset": "+15:00"`}.String(), "pump.utc_offset"},
		{"sensor unknown", doc{pump: minPump + `, "sensors": ["pressure", "temperature"]`}.String(), "pump.sensors[1]"},
		{"sensor twice", doc{pump: minPump + `, "sensors": ["level", "pressure", "level"]`}.String(), "pump.sensors[2]"},
		{"sensor not a string", doc{pump: minPump + `, "sensors": [1]`}.String(), "pump.sensors[0]"},
		{"battery negative", doc{pump: minPump + `, "battery_uah": -1`}.String(), "pump.battery_uah"},
		{"battery too fine", doc{pump: minPump + `, "battery_uah": 1.0001`}.String(), "pump.battery_uah"},
		{"battery absurd", doc{pump: minPump + `, "battery_uah": 1e12`}.String(), "pump.battery_uah"},
		{"stroke spread negative", doc{pump: minPump + `, "stroke_spread_pct": -1`}.String(), "pump.stroke_spread_pct"},

		// Fill.
		{"drug missing", doc{fill: `"concentration": "10 mg/mL", "volume_ml": 20`}.String(), "fill.drug"},
		{"drug empty", doc{fill: `"drug": "", "concentration": "10 mg/mL", "volume_ml": 20`}.String(), "fill.drug"},
		{"drug padded", doc{fill: `"drug": "morphine ", "concentration": "10 mg/mL", "volume_ml": 20`}.String(), "fill.drug"},
		{"concentration missing", doc{fill: `"drug": "morphine", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration no unit", doc{fill: `"drug": "morphine", "concentration": "10", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration bad unit", doc{fill: `"drug": "morphine", "concentration": "10 mg/L", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration zero", doc{fill: `"drug": "morphine", "concentration": "0 mg/mL", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration negative", doc{fill: `"drug": "morphine", "concentration": "-10 mg/mL", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration absurd", doc{fill: `"drug": "morphine", "concentration": "5000 mg/mL", "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration a number", doc{fill: `"drug": "morphine", "concentration": 10, "volume_ml": 20`}.String(), "fill.concentration"},
		{"concentration too long", doc{fill: `"drug": "morphine", "concentration": "` + strings.Repeat("1", 100) + ` mg/mL", "volume_ml": 20`}.String(), "fill.concentration"},
		{"fill volume missing", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL"`}.String(), "fill.volume_ml"},
		{"fill volume zero", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 0`}.String(), "fill.volume_ml"},
		{"fill volume finer than 1 nL", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 0.0000005`}.String(), "fill.volume_ml"},
		{"fill volume finer than 1 nL, exponent", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 5e-7`}.String(), "fill.volume_ml"},
		{"fill volume absurd", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 1e300`}.String(), "fill.volume_ml"},
		{"fill volume huge exponent", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 1e999999999999`}.String(), "fill.volume_ml"},

		// Prescription.
		{"mode missing", doc{presc: `"rate_ml_per_day": 0.5, "max_24h_ml": 0.7`}.String(), "prescription.mode"},
		{"mode unknown", doc{presc: `"mode": "bolus", "max_24h_ml": 0.7`}.String(), "prescription.mode"},
		{"mode not a string", doc{presc: `"mode": 1, "max_24h_ml": 0.7`}.String(), "prescription.mode"},
		{"continuous rate missing", doc{presc: `"mode": "continuous", "max_24h_ml": 0.7`}.String(), "prescription.rate_ml_per_day"},
		{"continuous both rates", doc{presc: `"mode": "continuous", "rate_ml_per_day": 0.5, "dose_per_day": "5 mg", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"continuous rate zero", doc{presc: `"mode": "continuous", "rate_ml_per_day": 0, "max_24h_ml": 0.7`}.String(), "prescription.rate_ml_per_day"},
		{"continuous rate negative", doc{presc: `"mode": "continuous", "rate_ml_per_day": -0.5, "max_24h_ml": 0.7`}.String(), "prescription.rate_ml_per_day"},
		{"continuous rate too fine", doc{presc: `"mode": "continuous", "rate_ml_per_day": 0.0480001, "max_24h_ml": 0.7`}.String(), "prescription.rate_ml_per_day"},
		{"continuous rate absurd", doc{presc: `"mode": "continuous", "rate_ml_per_day": 5000, "max_24h_ml": 0.7`}.String(), "prescription.rate_ml_per_day"},
		{"dose no unit", doc{presc: `"mode": "continuous", "dose_per_day": "5", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"dose bad unit", doc{presc: `"mode": "continuous", "dose_per_day": "5 g", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"dose per week", doc{presc: `"mode": "continuous", "dose_per_day": "5 mg/week", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"dose zero", doc{presc: `"mode": "continuous", "dose_per_day": "0 mg", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"dose a number", doc{presc: `"mode": "continuous", "dose_per_day": 5, "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"dose absurd", doc{presc: `"mode": "continuous", "dose_per_day": "20000 mg", "max_24h_ml": 0.7`}.String(), "prescription.dose_per_day"},
		{"max 24h missing", doc{presc: `"mode": "continuous", "rate_ml_per_day": 0.5`}.String(), "prescription.max_24h_ml"},
		{"max 24h missing, minimum", doc{presc: `"mode": "minimum"`}.String(), "prescription.max_24h_ml"},
		{"max 24h missing, flex", doc{presc: `"mode": "flex", "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.max_24h_ml"},
		{"max 24h zero", doc{presc: `"mode": "continuous", "rate_ml_per_day": 0.5, "max_24h_ml": 0`}.String(), "prescription.max_24h_ml"},
		{"max 24h zero, stopped", doc{presc: `"mode": "stopped", "max_24h_ml": 0`}.String(), "prescription.max_24h_ml"},
		{"low reservoir zero", doc{presc: minPresc + `, "low_reservoir_ml": 0`}.String(), "prescription.low_reservoir_ml"},
		{"low reservoir negative", doc{presc: minPresc + `, "low_reservoir_ml": -2`}.String(), "prescription.low_reservoir_ml"},
		{"flex on continuous", doc{presc: minPresc + `, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex"},
		{"repeat on continuous", doc{presc: minPresc + `, "repeat": "daily"`}.String(), "prescription.repeat"},
		{"rate on minimum", doc{presc: `"mode": "minimum", "rate_ml_per_day": 0.048, "max_24h_ml": 0.1`}.String(), "prescription.rate_ml_per_day"},
		{"dose on minimum", doc{presc: `"mode": "minimum", "dose_per_day": "1 mg", "max_24h_ml": 0.1`}.String(), "prescription.dose_per_day"},
		{"rate on stopped", doc{presc: `"mode": "stopped", "rate_ml_per_day": 0.5`}.String(), "prescription.rate_ml_per_day"},
		{"patient bolus on stopped", doc{presc: `"mode": "stopped", "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4h", "max_per_24h": 4}`}.String(), "prescription.patient_bolus"},
		{"rate on flex", doc{presc: `"mode": "flex", "rate_ml_per_day": 0.5, "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.rate_ml_per_day"},
		{"unknown field before mode error", doc{presc: `"mode": "bolus", "rates": 1`}.String(), "prescription.rates"},

		// Flex.
		{"flex missing", doc{presc: `"mode": "flex", "max_24h_ml": 1`}.String(), "prescription.flex"},
		{"flex empty", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": []`}.String(), "prescription.flex"},
		{"flex 17 steps", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [` + strings.Repeat(`{"at": "08:00", "rate_ml_per_day": 0.5},`, 16) + `{"at": "08:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex"},
		{"flex step not an object", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": ["08:00"]`}.String(), "prescription.flex[0]"},
		{"flex at missing", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"rate_ml_per_day": 0.5}]`}.String(), "prescription.flex[0].at"},
		{"flex at 24:00", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "24:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex[1].at"},
		{"flex at 08:60", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:60", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex[0].at"},
		{"flex at 8:00", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "8:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex[0].at"},
		{"flex at with seconds", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.flex[0].at"},
		{"flex rate missing", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00"}]`}.String(), "prescription.flex[0].rate_ml_per_day"},
		{"flex both rates", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "dose_per_day": "1 mg"}]`}.String(), "prescription.flex[0].dose_per_day"},
		{"flex same time", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "22:00", "rate_ml_per_day": 0.5}, {"at": "08:00", "rate_ml_per_day": 0.4}]`}.String(), "prescription.flex[2].at"},
		{"flex same time, overlapping days", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "days": ["mon", "tue"]}, {"at": "08:00", "rate_ml_per_day": 0.4, "days": ["tue"]}]`}.String(), "prescription.flex[1].at"},
		{"flex same time, all days and some", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "08:00", "rate_ml_per_day": 0.4, "days": ["sun"]}]`}.String(), "prescription.flex[1].at"},
		{"flex days empty", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "days": []}]`}.String(), "prescription.flex[0].days"},
		{"flex day unknown", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "days": ["mon", "Tue"]}]`}.String(), "prescription.flex[0].days[1]"},
		{"flex day twice", doc{presc: `"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5, "days": ["mon", "wed", "mon"]}]`}.String(), "prescription.flex[0].days[2]"},
		{"flex daily with days", doc{presc: `"mode": "flex", "max_24h_ml": 1, "repeat": "daily", "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "09:00", "rate_ml_per_day": 0.5, "days": ["mon"]}]`}.String(), "prescription.repeat"},
		{"flex repeat unknown", doc{presc: `"mode": "flex", "max_24h_ml": 1, "repeat": "monthly", "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}]`}.String(), "prescription.repeat"},

		// Patient bolus.
		{"patient bolus not an object", doc{presc: minPresc + `, "patient_bolus": true`}.String(), "prescription.patient_bolus"},
		{"patient bolus volume missing", doc{presc: minPresc + `, "patient_bolus": {"duration": "10m", "lockout": "4h", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.volume_ml"},
		{"patient bolus volume zero", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0, "duration": "10m", "lockout": "4h", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.volume_ml"},
		{"patient bolus duration missing", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "lockout": "4h", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.duration"},
		{"patient bolus duration zero", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "0m", "lockout": "4h", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.duration"},
		{"patient bolus lockout missing", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.lockout"},
		{"patient bolus lockout in hours only", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4", "max_per_24h": 4}`}.String(), "prescription.patient_bolus.lockout"},
		{"patient bolus max missing", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4h"}`}.String(), "prescription.patient_bolus.max_per_24h"},
		{"patient bolus max zero", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4h", "max_per_24h": 0}`}.String(), "prescription.patient_bolus.max_per_24h"},
		{"patient bolus max fraction", doc{presc: minPresc + `, "patient_bolus": {"volume_ml": 0.02, "duration": "10m", "lockout": "4h", "max_per_24h": 2.5}`}.String(), "prescription.patient_bolus.max_per_24h"},

		// Events: time.
		{"event at missing", ev(`{"kind": "stop"}`).String(), "events[0].at"},
		{"event at bad", ev(`{"at": "3 days", "kind": "stop"}`).String(), "events[0].at"},
		{"event at number", ev(`{"at": 3, "kind": "stop"}`).String(), "events[0].at"},
		{"event at bad time", ev(`{"at": "2026-01-06T25:00:00Z", "kind": "stop"}`).String(), "events[0].at"},
		{"event before start", ev(`{"at": "2026-01-05T07:59:59Z", "kind": "stop"}`).String(), "events[0].at"},
		{"event after end", ev(stop, `{"at": "30d1s", "kind": "stop"}`).String(), "events[1].at"},
		{"event after end, RFC 3339", ev(`{"at": "2026-02-04T08:00:00.001Z", "kind": "stop"}`).String(), "events[0].at"},
		{"events out of order", ev(stop, stop, stop, stop, `{"at": "5d", "kind": "stop"}`, `{"at": "4d", "kind": "resume"}`).String(), "events[5].at"},
		{"events out of order, RFC 3339", ev(`{"at": "2d", "kind": "stop"}`, `{"at": "2026-01-06T08:00:00Z", "kind": "resume"}`).String(), "events[1].at"},

		// Events: kind and its fields.
		{"event kind missing", ev(`{"at": "1d"}`).String(), "events[0].kind"},
		{"event kind unknown", ev(stop, `{"at": "1d", "kind": "explode"}`).String(), "events[1].kind"},
		{"event kind upper case", ev(`{"at": "1d", "kind": "STOP"}`).String(), "events[0].kind"},
		{"event field of another kind", ev(`{"at": "1d", "kind": "mri", "duration": "1h", "volume_ml": 1}`).String(), "events[0].volume_ml"},
		{"event stop with duration", ev(`{"at": "1d", "kind": "stop", "duration": "1h"}`).String(), "events[0].duration"},
		{"event patient bolus with volume", ev(`{"at": "1d", "kind": "patient_bolus", "volume_ml": 0.1}`).String(), "events[0].volume_ml"},
		{"event prescription on refill", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "drug": "morphine", "concentration": "10 mg/mL", "prescription": {"mode": "stopped"}}`).String(), "events[0].prescription"},
		{"clinician bolus volume missing", ev(`{"at": "1d", "kind": "clinician_bolus", "duration": "1h"}`).String(), "events[0].volume_ml"},
		{"clinician bolus duration missing", ev(`{"at": "1d", "kind": "clinician_bolus", "volume_ml": 0.1}`).String(), "events[0].duration"},
		{"clinician bolus volume negative", ev(`{"at": "1d", "kind": "clinician_bolus", "volume_ml": -0.1, "duration": "1h"}`).String(), "events[0].volume_ml"},
		{"program prescription missing", ev(`{"at": "1d", "kind": "program"}`).String(), "events[0].prescription"},
		{"program prescription bad", ev(`{"at": "1d", "kind": "program", "prescription": {"mode": "continuous", "max_24h_ml": 1}}`).String(), "events[0].prescription.rate_ml_per_day"},
		{"bridge prescription missing", ev(`{"at": "1d", "kind": "bridge"}`).String(), "events[0].prescription"},
		{"flex step time in event", ev(`{"at": "3d", "kind": "program", "prescription": {"mode": "flex", "max_24h_ml": 1, "flex": [{"at": "08:00", "rate_ml_per_day": 0.5}, {"at": "8h", "rate_ml_per_day": 0.5}]}}`).String(), "events[0].prescription.flex[1].at"},
		{"refill withdraw missing", ev(`{"at": "1d", "kind": "refill", "add_ml": 20, "drug": "morphine", "concentration": "10 mg/mL"}`).String(), "events[0].withdraw_ml"},
		{"refill withdraw negative", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": -1, "add_ml": 20, "drug": "morphine", "concentration": "10 mg/mL"}`).String(), "events[0].withdraw_ml"},
		{"refill add missing", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "drug": "morphine", "concentration": "10 mg/mL"}`).String(), "events[0].add_ml"},
		{"refill add zero", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 0, "drug": "morphine", "concentration": "10 mg/mL"}`).String(), "events[0].add_ml"},
		{"refill drug missing", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "concentration": "10 mg/mL"}`).String(), "events[0].drug"},
		{"refill concentration missing", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "drug": "morphine"}`).String(), "events[0].concentration"},
		{"refill concentration bad", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "drug": "morphine", "concentration": "10 mg"}`).String(), "events[0].concentration"},
		{"refill pocket fill negative", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "drug": "morphine", "concentration": "10 mg/mL", "pocket_fill_ml": -1}`).String(), "events[0].pocket_fill_ml"},
		{"refill pocket fill over add", ev(`{"at": "1d", "kind": "refill", "withdraw_ml": 1, "add_ml": 20, "drug": "morphine", "concentration": "10 mg/mL", "pocket_fill_ml": 20.000001}`).String(), "events[0].pocket_fill_ml"},
		{"mri duration missing", ev(`{"at": "1d", "kind": "mri"}`).String(), "events[0].duration"},
		{"mri duration zero", ev(`{"at": "1d", "kind": "mri", "duration": "0s"}`).String(), "events[0].duration"},
		{"motor stall duration missing", ev(`{"at": "1d", "kind": "motor_stall"}`).String(), "events[0].duration"},
		{"occlusion duration bad", ev(`{"at": "1d", "kind": "occlusion", "duration": "1h30"}`).String(), "events[0].duration"},
		{"occlusion duration null", ev(`{"at": "1d", "kind": "occlusion", "duration": null}`).String(), "events[0].duration"},
		{"battery drain missing", ev(`{"at": "1d", "kind": "battery_drain"}`).String(), "events[0].uah"},
		{"battery drain zero", ev(`{"at": "1d", "kind": "battery_drain", "uah": 0}`).String(), "events[0].uah"},
		{"battery drain too fine", ev(`{"at": "1d", "kind": "battery_drain", "uah": 0.0005}`).String(), "events[0].uah"},
		{"set clock offset missing", ev(`{"at": "1d", "kind": "set_clock"}`).String(), "events[0].utc_offset"},
		{"set clock offset bad", ev(`{"at": "1d", "kind": "set_clock", "utc_offset": "CET"}`).String(), "events[0].utc_offset"},
		{"acknowledge alarm empty", ev(`{"at": "1d", "kind": "acknowledge", "alarm": ""}`).String(), "events[0].alarm"},
		{"acknowledge alarm not a string", ev(`{"at": "1d", "kind": "acknowledge", "alarm": 3}`).String(), "events[0].alarm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatalf("accepted %s", tc.file)
			}
			t.Log(err)
			if s != nil {
				t.Errorf("returned a scenario with the error %v", err)
			}
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FieldError", err, err)
			}
			if fe.Field != tc.field {
				t.Errorf("field %q, want %q (reason: %s)", fe.Field, tc.field, fe.Reason)
			}
			if strings.TrimSpace(fe.Reason) == "" {
				t.Errorf("empty reason for %q", fe.Field)
			}
			if !strings.HasPrefix(err.Error(), "scenario: "+fe.Field+": ") {
				t.Errorf("Error() = %q", err.Error())
			}
		})
	}
}

// TestParseReasons checks the wording of a few refusals that people will meet most.
func TestParseReasons(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"unknown field", doc{events: events(`{"at": "1d", "kind": "clinician_bolus", "volum_ml": 1, "duration": "1h"}`)}.String(),
			"scenario: events[0].volum_ml: unknown field (allowed here: at, kind, duration, volume_ml, prescription, withdraw_ml, add_ml, drug, concentration, pocket_fill_ml, uah, utc_offset, alarm)"},
		{"field of another kind", doc{events: events(`{"at": "1d", "kind": "mri", "duration": "1h", "uah": 1}`)}.String(),
			`scenario: events[0].uah: not a field of kind "mri" (its fields: at, kind, duration)`},
		{"out of order", doc{events: events(`{"at": "2d", "kind": "stop"}`, `{"at": "1d", "kind": "resume"}`)}.String(),
			"scenario: events[1].at: before events[0] (2026-01-06T08:00:00Z is earlier than 2026-01-07T08:00:00Z): list events in time order"},
		{"finer than 1 nL", doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 0.0000005`}.String(),
			`scenario: fill.volume_ml: "0.0000005" has more than 6 decimal places: mL is read exactly, to 1 nL (6 decimal places)`},
		{"out of range", doc{presc: `"mode": "continuous", "rate_ml_per_day": -1, "max_24h_ml": 1`}.String(),
			"scenario: prescription.rate_ml_per_day: -1 mL/day is out of range: more than 0 and at most 1000 mL/day"},
		{"missing", doc{pump: `"catheter_length_cm": 50`}.String(),
			`scenario: pump.model: required: "TP-20" or "TP-40"`},
		{"mode field", doc{presc: `"mode": "minimum", "rate_ml_per_day": 0.1, "max_24h_ml": 1`}.String(),
			`scenario: prescription.rate_ml_per_day: not a field of mode "minimum" (its fields: mode, max_24h_ml, low_reservoir_ml, patient_bolus)`},
		{"syntax", "{\n  \"name\": \"t\",\n  \"start\" \"x\"\n}",
			`scenario: start: invalid JSON at line 3, column 11: invalid character '"' after object name (expecting ':')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestParseLongValues checks that a refusal does not repeat a long value whole.
func TestParseLongValues(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	for _, file := range []string{
		doc{pump: `"model": "` + long + `", "catheter_length_cm": 50`}.String(),
		doc{tail: `, "` + long + `": 1`}.String(),
		doc{events: events(`{"at": "1d", "kind": "` + long + `"}`)}.String(),
		doc{events: events(`{"at": "` + long + `", "kind": "stop"}`)}.String(),
		doc{fill: `"drug": "morphine", "concentration": "10 mg/mL", "volume_ml": 1` + strings.Repeat("0", 10_000)}.String(),
	} {
		_, err := Parse([]byte(file))
		if err == nil {
			t.Fatal("accepted")
		}
		if n := len(err.Error()); n > 600 {
			t.Errorf("message of %d bytes: %.200s…", n, err)
		}
	}
}

// TestParseTestdata parses every example file and checks what the fuzz test checks.
func TestParseTestdata(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) < 3 {
		t.Fatalf("testdata: %v, %v", files, err)
	}
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			checkInvariants(t, mustParse(t, string(data)))
		})
	}
	data, err := os.ReadFile("testdata/new_implant_flex.json")
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, string(data))
	start := unit.Time(1772438400000) // 2026-03-02T08:00:00Z
	if s.Start != start {
		t.Errorf("start %v, want 2026-03-02T08:00:00Z", s.Start)
	}
	if s.Pump.Primed || s.Pump.LevelSensor || !s.Pump.PressureSensor || s.Pump.CatheterLength != 625_000 {
		t.Errorf("pump %+v", s.Pump)
	}
	if e := s.Events[2]; e.Kind != SetClock || e.At != unit.Time(1774746000000) || e.UTCOffset != 2*unit.Hour {
		t.Errorf("set_clock %+v, want at 2026-03-29T01:00:00Z to +02:00", e)
	}
	if pr := s.Events[1].Prescription.Rx; !pr.Weekly || pr.Flex[2].Days != 1<<0|1<<6 || pr.LowReservoir != 4*unit.Millilitre {
		t.Errorf("flex %+v", pr)
	}
	if e := s.Events[7]; e.Withdraw != 10_250_000 || e.PocketFill != 500_000 || e.Drug.Concentration != 2000*unit.MicrogramPerMillilitre {
		t.Errorf("refill %+v", e)
	}
	if e := s.Events[9]; e.Charge != 250_000_500*unit.NanoampHour {
		t.Errorf("battery_drain %v", e.Charge)
	}
	if e := s.Events[11]; e.Kind != Occlusion || e.HasDuration {
		t.Errorf("permanent occlusion %+v", e)
	}
}
