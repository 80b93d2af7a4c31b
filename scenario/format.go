package scenario

import (
	"strconv"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Format writes s as a scenario file that Parse reads back to the same
// Scenario: every quantity exactly as the core holds it (volumes to the nL,
// times to the ms), event times as durations after start. The simulator uses
// it to write out the shrunk scenario of a failing campaign case, and the
// population and campaign generators to show what they ran.
func Format(s *Scenario) []byte {
	b, err := json.Marshal(fileOf(s), jsontext.WithIndent("  "))
	if err != nil {
		panic("scenario: Format: " + err.Error()) // only plain values: cannot fail
	}
	return append(b, '\n')
}

func ptr[T any](v T) *T { return &v }

func fixed(n int64, decimals int) jsontext.Value {
	return jsontext.Value(unit.FormatFixed(n, decimals))
}

func mlNumber(v unit.Volume) jsontext.Value { return fixed(int64(v), 6) }

func uahNumber(c unit.Charge) jsontext.Value { return fixed(int64(c/unit.NanoampHour), 3) }

func pctNumber(f float64) jsontext.Value {
	if f == 0 {
		return nil
	}
	return jsontext.Value(strconv.FormatFloat(f, 'g', -1, 64))
}

func fileOf(s *Scenario) *file {
	f := &file{
		Name:     ptr(s.Name),
		Start:    ptr(s.Start.Std().Format("2006-01-02T15:04:05.000Z07:00")),
		Duration: ptr(s.Duration.String()),
		Seed:     jsontext.Value(strconv.FormatInt(s.Seed, 10)),
		Pump: &filePump{
			Model:                 ptr(s.Pump.Model.String()),
			CatheterLengthCm:      fixed(int64(s.Pump.CatheterLength), 4),
			CatheterMlPerCm:       mlNumber(s.Pump.CatheterPerCm),
			UTCOffset:             ptr(unit.FormatUTCOffset(s.Pump.UTCOffset)),
			BatteryUAh:            uahNumber(s.Pump.Battery),
			Primed:                ptr(s.Pump.Primed),
			StrokeSpreadPct:       pctNumber(s.Pump.StrokeSpreadPct),
			StrokeDriftPctPerYear: pctNumber(s.Pump.StrokeDriftPctPerYear),
		},
		Fill:         &fileFill{Drug: ptr(s.Fill.Drug.Name), Concentration: ptr(s.Fill.Drug.Text), VolumeML: mlNumber(s.Fill.Volume)},
		Prescription: prescriptionOf(&s.Prescription),
	}
	if s.Pump.PressureSensor {
		f.Pump.Sensors = append(f.Pump.Sensors, "pressure")
	}
	if s.Pump.LevelSensor {
		f.Pump.Sensors = append(f.Pump.Sensors, "level")
	}
	for i := range s.Events {
		f.Events = append(f.Events, eventOf(s, &s.Events[i]))
	}
	return f
}

func prescriptionOf(p *Prescription) *filePrescription {
	rx := &p.Rx
	f := &filePrescription{Mode: ptr(rx.Mode.String())}
	switch rx.Mode {
	case pump.ModeContinuous:
		f.RateMlPerDay, f.DosePerDay = rateOf(rx.Rate, p.Dose)
	case pump.ModeFlex:
		for i, st := range rx.Flex[:rx.FlexSteps] {
			fs := fileFlexStep{At: ptr(formatTimeOfDay(st.At))}
			fs.RateMlPerDay, fs.DosePerDay = rateOf(st.Rate, p.FlexDoses[i])
			if st.Days != pump.AllDays {
				for d, name := range dayNames {
					if st.Days&(1<<d) != 0 {
						fs.Days = append(fs.Days, name)
					}
				}
			}
			f.Flex = append(f.Flex, fs)
		}
		if rx.Weekly {
			f.Repeat = ptr("weekly")
		}
	}
	if rx.Max24h > 0 {
		f.Max24hML = mlNumber(rx.Max24h)
	}
	if rx.LowReservoir > 0 {
		f.LowReservoirML = mlNumber(rx.LowReservoir)
	}
	if pb := rx.PatientBolus; pb.Volume > 0 {
		f.PatientBolus = &filePatientBolus{VolumeML: mlNumber(pb.Volume), Duration: ptr(pb.Duration.String()),
			Lockout: ptr(pb.Lockout.String()), MaxPer24h: jsontext.Value(strconv.Itoa(pb.MaxPer24h))}
	}
	return f
}

func rateOf(r unit.Rate, d Dose) (jsontext.Value, *string) {
	if d.Rate > 0 {
		return nil, ptr(d.Rate.Format(d.Unit))
	}
	return mlNumber(unit.Volume(r)), nil
}

func eventOf(s *Scenario, e *Event) fileEvent {
	f := fileEvent{At: ptr(e.At.Sub(s.Start).String()), Kind: ptr(string(e.Kind))}
	switch e.Kind {
	case Program, Bridge:
		f.Prescription = prescriptionOf(e.Prescription)
	case ClinicianBolus:
		f.VolumeML, f.Duration = mlNumber(e.Volume), ptr(e.Duration.String())
	case Refill:
		f.WithdrawML, f.AddML = mlNumber(e.Withdraw), mlNumber(e.Add)
		f.Drug, f.Concentration = ptr(e.Drug.Name), ptr(e.Drug.Text)
		if e.PocketFill > 0 {
			f.PocketFillML = mlNumber(e.PocketFill)
		}
	case MRI, MotorStall:
		f.Duration = ptr(e.Duration.String())
	case Occlusion:
		if e.HasDuration {
			f.Duration = ptr(e.Duration.String())
		}
	case BatteryDrain:
		f.UAh = uahNumber(e.Charge)
	case SetClock:
		f.UTCOffset = ptr(unit.FormatUTCOffset(e.UTCOffset))
	case Acknowledge:
		if e.Alarm != "" {
			f.Alarm = ptr(e.Alarm)
		}
	}
	return f
}
