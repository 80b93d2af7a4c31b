package sim

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// Report is the result of a scenario run (spec/scenario.md). The fields of the
// spec are stable; the others are Thecal's additions.
type Report struct {
	Name                string            `json:"name"`
	Start               string            `json:"start"`
	End                 string            `json:"end"`
	Seed                int64             `json:"seed"`
	Model               string            `json:"model"`
	DeliveredML         float64           `json:"delivered_ml"`
	PumpDeliveredML     float64           `json:"pump_delivered_ml"`
	ToPatient           map[string]Amount `json:"to_patient"`
	LeakedML            float64           `json:"leaked_ml"`
	ToPocket            map[string]Amount `json:"to_pocket,omitempty"`
	ReservoirEstimateML float64           `json:"reservoir_estimate_ml"`
	ReservoirActualML   float64           `json:"reservoir_actual_ml"`
	BatteryUAh          float64           `json:"battery_uah"`
	Alarms              []AlarmEvent      `json:"alarms"`
	ActiveAlarms        []string          `json:"active_alarms"`
	Tones               Tones             `json:"tones"`
	PatientBoluses      PatientBoluses    `json:"patient_boluses"`
	Commands            []Command         `json:"commands"`
	Refills             []RefillRecord    `json:"refills"`
	Interrogations      []Snapshot        `json:"interrogations"`
	Days                []Day             `json:"days"`
	Log                 []LogEntry        `json:"log"`
	Warnings            []string          `json:"warnings"`
}

// Amount is a mass of drug in the unit its concentration was written in.
type Amount struct {
	Amount float64 `json:"amount"`
	Unit   string  `json:"unit"`
}

// AlarmEvent is a raise, clear or acknowledgement.
type AlarmEvent struct {
	At     string `json:"at"`
	Alarm  string `json:"alarm"`
	Action string `json:"action"`
}

// Tones counts the alarm tones sounded.
type Tones struct {
	Critical    int64 `json:"critical"`
	NonCritical int64 `json:"non_critical"`
}

// PatientBoluses counts patient activations.
type PatientBoluses struct {
	Given    int       `json:"given"`
	Refused  int       `json:"refused"`
	Refusals []Refusal `json:"refusals"`
}

// Refusal is a refused patient activation.
type Refusal struct {
	At     string `json:"at"`
	Reason string `json:"reason"`
}

// Command is a clinician command and whether the pump took it.
type Command struct {
	At     string `json:"at"`
	Kind   string `json:"kind"`
	Result string `json:"result"`
	Reason string `json:"reason,omitempty"`
}

// RefillRecord is the refill accounting of one refill.
type RefillRecord struct {
	At            string  `json:"at"`
	Drug          string  `json:"drug"`
	Concentration string  `json:"concentration"`
	ExpectedML    float64 `json:"expected_residual_ml"`
	WithdrawnML   float64 `json:"withdrawn_ml"`
	DiscrepancyML float64 `json:"discrepancy_ml"`
	AddedML       float64 `json:"added_ml"`
	PocketFillML  float64 `json:"pocket_fill_ml"`
	Flag          string  `json:"flag,omitempty"`
}

// Snapshot is what an interrogation read.
type Snapshot struct {
	At                  string   `json:"at"`
	ReservoirEstimateML float64  `json:"reservoir_estimate_ml"`
	BatteryUAh          float64  `json:"battery_uah"`
	Alarms              []string `json:"alarms"`
	Running             bool     `json:"running"`
	Delivering          bool     `json:"delivering"`
	BasalMLPerDay       float64  `json:"basal_ml_per_day"`
}

// Day is one pump-local calendar day.
type Day struct {
	Date        string             `json:"date"`
	DeliveredML float64            `json:"delivered_ml"`
	ToPatient   map[string]float64 `json:"to_patient"`
}

// LogEntry is one pump event log entry. Entries of the same kind and values
// share one Detail map: read it, do not write to it.
type LogEntry struct {
	Seq    uint64         `json:"seq"`
	At     string         `json:"at"`
	Kind   string         `json:"kind"`
	Detail map[string]any `json:"detail"`
}

func alarmNames(s pump.Alarms) []string {
	out := []string{}
	s.Each(func(a pump.Alarm) { out = append(out, a.String()) })
	return out
}

func (r *run) snapshot(st pump.Status) Snapshot {
	return Snapshot{At: rfc(st.At), ReservoirEstimateML: ml(st.Reservoir), BatteryUAh: round3(st.Battery.MicroampHours()),
		Alarms: alarmNames(st.Alarms), Running: st.Running, Delivering: st.Delivering, BasalMLPerDay: st.Basal.MillilitresPerDay()}
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }
func round6(f float64) float64 { return math.Round(f*1e6) / 1e6 }

func (r *run) report() *Report {
	rep := &r.rep
	c := r.dev.Core
	st := c.Status()
	rep.DeliveredML = ml(r.delivered)
	rep.PumpDeliveredML = ml(st.Delivered)
	rep.ReservoirEstimateML = ml(st.Reservoir)
	rep.ReservoirActualML = ml(r.dev.HW.Reservoir)
	rep.BatteryUAh = round3(st.Battery.MicroampHours())
	rep.ActiveAlarms = alarmNames(st.Alarms)
	crit, non := c.Tones()
	rep.Tones = Tones{Critical: crit, NonCritical: non}
	at := func(vs []unit.Volume) func(int) unit.Volume {
		return func(mix int) unit.Volume {
			if mix < len(vs) {
				return vs[mix]
			}
			return 0
		}
	}
	rep.ToPatient = r.amounts(r.drugAmounts(at(r.toPatient)))
	var leaked unit.Volume
	for _, v := range r.leaked {
		leaked += v
	}
	rep.LeakedML = ml(leaked)
	pocket := map[string]float64{}
	for i, ng := range r.pocket {
		if ng > 0 {
			pocket[r.drugs[i]] = unit.Mass(ng * float64(unit.Nanogram)).In(r.drugUnit[i])
		}
	}
	if len(pocket) > 0 {
		rep.ToPocket = r.amounts(pocket)
	}
	for _, d := range r.days {
		tp := r.drugAmounts(d.volumeOf)
		for k, v := range tp {
			tp[k] = round6(v)
		}
		rep.Days = append(rep.Days, Day{Date: d.date, DeliveredML: ml(d.delivered), ToPatient: tp})
	}
	log := r.dev.Log
	first, next := log.Oldest(), log.Next()
	rep.Log = make([]LogEntry, 0, next-first)
	details := map[detailKey]map[string]any{} // entries with the same values share their detail
	// Every entry's time, written into one string and sliced: one allocation
	// for them all (a long run's report is mostly times).
	buf := make([]byte, 0, 24*(next-first))
	for seq := first; seq < next; seq++ {
		buf = appendRFC3339(buf, log.At(seq).At)
	}
	times, from := string(buf), 0
	for seq := first; seq < next; seq++ {
		e := log.At(seq)
		k := detailKey{e.Kind, e.Alarm, e.Reason, e.A, e.B}
		d, ok := details[k]
		if !ok {
			d = logDetail(*e)
			details[k] = d
		}
		to := from + len(appendRFC3339(buf[:0], e.At))
		at := times[from:to]
		from = to
		rep.Log = append(rep.Log, LogEntry{Seq: e.Seq, At: at, Kind: e.Kind.String(), Detail: d})
		action := ""
		switch e.Kind {
		case pump.EvAlarmRaise:
			action = "raise"
		case pump.EvAlarmClear:
			action = "clear"
		case pump.EvAlarmAcknowledge:
			action = "acknowledge"
		default:
			continue
		}
		rep.Alarms = append(rep.Alarms, AlarmEvent{At: at, Alarm: e.Alarm.String(), Action: action})
	}
	if rep.Alarms == nil {
		rep.Alarms = []AlarmEvent{}
	}
	if rep.PatientBoluses.Refusals == nil {
		rep.PatientBoluses.Refusals = []Refusal{}
	}
	for _, s := range []*[]string{&rep.Warnings} {
		if *s == nil {
			*s = []string{}
		}
	}
	if rep.Commands == nil {
		rep.Commands = []Command{}
	}
	if rep.Refills == nil {
		rep.Refills = []RefillRecord{}
	}
	if rep.Interrogations == nil {
		rep.Interrogations = []Snapshot{}
	}
	return rep
}

func (r *run) amounts(m map[string]float64) map[string]Amount {
	out := map[string]Amount{}
	for name, v := range m {
		u := unit.Milligram
		for i, d := range r.drugs {
			if d == name {
				u = r.drugUnit[i]
			}
		}
		out[name] = Amount{Amount: round6(v), Unit: u.String()}
	}
	return out
}

// detailKey is what a log entry's detail depends on.
type detailKey struct {
	kind   pump.EventKind
	alarm  pump.Alarm
	reason pump.Reason
	a, b   int64
}

// logDetail names the values of a log entry by its kind.
func logDetail(e pump.Entry) map[string]any {
	d := map[string]any{}
	vol := func(v int64) float64 { return unit.Volume(v).Millilitres() }
	switch e.Kind {
	case pump.EvAlarmRaise, pump.EvAlarmClear, pump.EvAlarmAcknowledge:
		d["alarm"] = e.Alarm.String()
		if e.Alarm == pump.VolumeDiscrepancy && e.Kind == pump.EvAlarmRaise {
			d["measured_ml"], d["estimate_ml"] = vol(e.A), vol(e.B)
		}
	case pump.EvProgram:
		d["mode"], d["max_24h_ml"] = pump.Mode(e.A).String(), vol(e.B)
	case pump.EvPatientBolusStart, pump.EvClinicianBolusStart:
		d["volume_ml"], d["duration_ms"] = vol(e.A), e.B
	case pump.EvPatientBolusRefused, pump.EvClinicianBolusRefused:
		d["reason"], d["volume_ml"] = e.Reason.String(), vol(e.A)
	case pump.EvPatientBolusEnd, pump.EvClinicianBolusEnd, pump.EvPrimeEnd, pump.EvBridgeEnd:
		d["reason"], d["programmed_ml"], d["elapsed_ms"] = e.Reason.String(), vol(e.A), e.B
	case pump.EvPrimeStart, pump.EvBridgeStart:
		d["volume_ml"] = vol(e.A)
	case pump.EvRefill:
		d["reservoir_ml"], d["discrepancy_ml"] = vol(e.A), vol(e.B)
	case pump.EvReset:
		d["assumed_delivered_ml"], d["since_checkpoint_ms"] = vol(e.A), e.B
	case pump.EvSessionStart, pump.EvSessionEnd:
		d["role"] = e.Reason.String()
		if e.Kind == pump.EvSessionEnd {
			d["radio_ms"] = e.A
		}
	case pump.EvSetClock:
		d["from"], d["to"] = unit.FormatUTCOffset(unit.Duration(e.A)), unit.FormatUTCOffset(unit.Duration(e.B))
	case pump.EvCapFault:
		d["window_strokes"], d["cap_strokes"] = e.A, e.B
	case pump.EvMotorStall:
		d["failed_strokes"] = e.A
	case pump.EvProgramRefused, pump.EvCommandRefused, pump.EvBolusAborted:
		d["reason"] = e.Reason.String()
	case pump.EvConcentrationMismatch:
		d["programmed_ng_per_ml"], d["reservoir_ng_per_ml"] = e.A, e.B
	}
	return d
}

// WriteText writes the report for a person to read.
func (rep *Report) WriteText(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("Scenario: %s (%s)", rep.Name, rep.Model)
	p("From %s to %s, seed %d", rep.Start, rep.End, rep.Seed)
	p("")
	p("Delivered from the reservoir: %.6f mL (the pump counted %.6f mL)", rep.DeliveredML, rep.PumpDeliveredML)
	for _, k := range sortedAmountKeys(rep.ToPatient) {
		a := rep.ToPatient[k]
		p("Reached the patient: %s %.4f %s", k, a.Amount, a.Unit)
	}
	if rep.LeakedML > 0 {
		p("Lost at a catheter break: %.6f mL", rep.LeakedML)
	}
	for _, k := range sortedAmountKeys(rep.ToPocket) {
		a := rep.ToPocket[k]
		p("Injected into the pocket: %s %.4f %s", k, a.Amount, a.Unit)
	}
	p("Reservoir: estimate %.6f mL, actual %.6f mL", rep.ReservoirEstimateML, rep.ReservoirActualML)
	p("Battery: %.3f µAh remaining", rep.BatteryUAh)
	p("Active alarms: %s", orNone(rep.ActiveAlarms))
	p("Tones: %d critical, %d non-critical", rep.Tones.Critical, rep.Tones.NonCritical)
	p("Patient boluses: %d given, %d refused", rep.PatientBoluses.Given, rep.PatientBoluses.Refused)
	for _, f := range rep.PatientBoluses.Refusals {
		p("  refused %s: %s", f.At, f.Reason)
	}
	if len(rep.Alarms) > 0 {
		p("")
		p("Alarms:")
		for _, a := range rep.Alarms {
			p("  %s  %-11s %s", a.At, a.Action, a.Alarm)
		}
	}
	if len(rep.Refills) > 0 {
		p("")
		p("Refills:")
		for _, f := range rep.Refills {
			p("  %s  %s %s: expected residual %.3f mL, withdrawn %.3f mL, discrepancy %+.3f mL, added %.3f mL",
				f.At, f.Drug, f.Concentration, f.ExpectedML, f.WithdrawnML, f.DiscrepancyML, f.AddedML)
			if f.Flag != "" {
				p("    FLAG: %s", f.Flag)
			}
		}
	}
	var refused []Command
	for _, c := range rep.Commands {
		if c.Result != "ok" {
			refused = append(refused, c)
		}
	}
	if len(refused) > 0 {
		p("")
		p("Refused commands:")
		for _, c := range refused {
			p("  %s  %s: %s", c.At, c.Kind, c.Reason)
		}
	}
	if len(rep.Warnings) > 0 {
		p("")
		p("Warnings:")
		for _, s := range rep.Warnings {
			p("  %s", s)
		}
	}
	p("")
	p("%d days, %d log entries (--json for all of them).", len(rep.Days), len(rep.Log))
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func sortedAmountKeys(m map[string]Amount) []string { return slices.Sorted(maps.Keys(m)) }
