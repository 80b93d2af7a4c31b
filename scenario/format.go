package scenario

import (
	"bytes"
	"encoding/json"
	"strconv"

	"github.com/thecal/thecal/unit"
)

// Format writes s as a scenario file that Parse reads back to the same
// Scenario: every quantity exactly as the core holds it (volumes to the nL,
// times to the ms), event times as durations after start. The simulator uses
// it to write out the shrunk scenario of a failing campaign case, and the
// population and campaign generators to show what they ran.
func Format(s *Scenario) []byte {
	f := fileOf(s)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		panic("scenario: Format: " + err.Error()) // only plain values: cannot fail
	}
	return b.Bytes()
}

// The file's shape, member by member in the order of spec/scenario.md.
type (
	fileScenario struct {
		Name         string            `json:"name"`
		Start        string            `json:"start"`
		Duration     string            `json:"duration"`
		Seed         int64             `json:"seed"`
		Pump         filePump          `json:"pump"`
		Fill         fileFill          `json:"fill"`
		Prescription *filePrescription `json:"prescription"`
		Events       []fileEvent       `json:"events,omitempty"`
	}
	filePump struct {
		Model                 string      `json:"model"`
		CatheterLengthCm      json.Number `json:"catheter_length_cm"`
		CatheterMlPerCm       json.Number `json:"catheter_ml_per_cm"`
		UTCOffset             string      `json:"utc_offset"`
		Sensors               []string    `json:"sensors,omitempty"`
		BatteryUAh            json.Number `json:"battery_uah"`
		Primed                bool        `json:"primed"`
		StrokeSpreadPct       json.Number `json:"stroke_spread_pct,omitempty"`
		StrokeDriftPctPerYear json.Number `json:"stroke_drift_pct_per_year,omitempty"`
	}
	fileFill struct {
		Drug          string      `json:"drug"`
		Concentration string      `json:"concentration"`
		VolumeML      json.Number `json:"volume_ml"`
	}
	filePrescription struct {
		Mode           string            `json:"mode"`
		RateMlPerDay   json.Number       `json:"rate_ml_per_day,omitempty"`
		DosePerDay     string            `json:"dose_per_day,omitempty"`
		Flex           []fileFlexStep    `json:"flex,omitempty"`
		Repeat         string            `json:"repeat,omitempty"`
		Max24hML       json.Number       `json:"max_24h_ml,omitempty"`
		LowReservoirML json.Number       `json:"low_reservoir_ml,omitempty"`
		PatientBolus   *filePatientBolus `json:"patient_bolus,omitempty"`
	}
	fileFlexStep struct {
		At           string      `json:"at"`
		RateMlPerDay json.Number `json:"rate_ml_per_day,omitempty"`
		DosePerDay   string      `json:"dose_per_day,omitempty"`
		Days         []string    `json:"days,omitempty"`
	}
	filePatientBolus struct {
		VolumeML  json.Number `json:"volume_ml"`
		Duration  string      `json:"duration"`
		Lockout   string      `json:"lockout"`
		MaxPer24h int         `json:"max_per_24h"`
	}
	fileEvent struct {
		At            string            `json:"at"`
		Kind          string            `json:"kind"`
		Duration      string            `json:"duration,omitempty"`
		VolumeML      json.Number       `json:"volume_ml,omitempty"`
		Prescription  *filePrescription `json:"prescription,omitempty"`
		WithdrawML    *json.Number      `json:"withdraw_ml,omitempty"`
		AddML         json.Number       `json:"add_ml,omitempty"`
		Drug          string            `json:"drug,omitempty"`
		Concentration string            `json:"concentration,omitempty"`
		PocketFillML  json.Number       `json:"pocket_fill_ml,omitempty"`
		UAh           json.Number       `json:"uah,omitempty"`
		UTCOffset     string            `json:"utc_offset,omitempty"`
		Alarm         string            `json:"alarm,omitempty"`
	}
)

func mlNumber(v unit.Volume) json.Number { return json.Number(unit.FormatFixed(int64(v), 6)) }

func uahNumber(c unit.Charge) json.Number {
	return json.Number(unit.FormatFixed(int64(c/unit.NanoampHour), 3))
}

func pctNumber(f float64) json.Number {
	if f == 0 {
		return ""
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
}

func fileOf(s *Scenario) *fileScenario {
	f := &fileScenario{
		Name:     s.Name,
		Start:    s.Start.Std().Format("2006-01-02T15:04:05.000Z07:00"),
		Duration: s.Duration.String(),
		Seed:     s.Seed,
		Pump: filePump{
			Model:                 s.Pump.Model,
			CatheterLengthCm:      json.Number(unit.FormatFixed(int64(s.Pump.CatheterLength), 4)),
			CatheterMlPerCm:       mlNumber(s.Pump.CatheterPerCm),
			UTCOffset:             unit.FormatUTCOffset(s.Pump.UTCOffset),
			BatteryUAh:            uahNumber(s.Pump.Battery),
			Primed:                s.Pump.Primed,
			StrokeSpreadPct:       pctNumber(s.Pump.StrokeSpreadPct),
			StrokeDriftPctPerYear: pctNumber(s.Pump.StrokeDriftPctPerYear),
		},
		Fill:         fileFill{Drug: s.Fill.Drug.Name, Concentration: s.Fill.Drug.Text, VolumeML: mlNumber(s.Fill.Volume)},
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
	f := &filePrescription{Mode: string(p.Mode)}
	switch p.Mode {
	case Continuous:
		f.RateMlPerDay, f.DosePerDay = rateOf(p.Rate)
	case Flex:
		for _, st := range p.Flex {
			fs := fileFlexStep{At: formatTimeOfDay(st.At)}
			fs.RateMlPerDay, fs.DosePerDay = rateOf(st.Rate)
			if st.Days != AllDays {
				for d, name := range dayNames {
					if st.Days&(1<<d) != 0 {
						fs.Days = append(fs.Days, name)
					}
				}
			}
			f.Flex = append(f.Flex, fs)
		}
		if p.Weekly {
			f.Repeat = "weekly"
		}
	}
	if p.HasMax24h {
		f.Max24hML = mlNumber(p.Max24h)
	}
	if p.LowReservoir > 0 {
		f.LowReservoirML = mlNumber(p.LowReservoir)
	}
	if pb := p.PatientBolus; pb != nil {
		f.PatientBolus = &filePatientBolus{VolumeML: mlNumber(pb.Volume), Duration: pb.Duration.String(),
			Lockout: pb.Lockout.String(), MaxPer24h: pb.MaxPer24h}
	}
	return f
}

func rateOf(r Rate) (json.Number, string) {
	if r.IsDose {
		return "", r.Dose.Format(r.DoseUnit)
	}
	return json.Number(unit.FormatFixed(int64(r.Volume), 6)), ""
}

func eventOf(s *Scenario, e *Event) fileEvent {
	f := fileEvent{At: e.At.Sub(s.Start).String(), Kind: string(e.Kind)}
	switch e.Kind {
	case Program, Bridge:
		f.Prescription = prescriptionOf(e.Prescription)
	case ClinicianBolus:
		f.VolumeML, f.Duration = mlNumber(e.Volume), e.Duration.String()
	case Refill:
		w := mlNumber(e.Withdraw)
		f.WithdrawML, f.AddML = &w, mlNumber(e.Add)
		f.Drug, f.Concentration = e.Drug.Name, e.Drug.Text
		if e.PocketFill > 0 {
			f.PocketFillML = mlNumber(e.PocketFill)
		}
	case MRI, MotorStall:
		f.Duration = e.Duration.String()
	case Occlusion:
		if e.HasDuration {
			f.Duration = e.Duration.String()
		}
	case BatteryDrain:
		f.UAh = uahNumber(e.Charge)
	case SetClock:
		f.UTCOffset = unit.FormatUTCOffset(e.UTCOffset)
	case Acknowledge:
		f.Alarm = e.Alarm
	}
	return f
}
