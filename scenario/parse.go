package scenario

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/unit"
)

// MaxDuration is the longest scenario: 100 years of 365.25 days.
const MaxDuration = 36525 * unit.Day

// Defaults of the pump block (spec/scenario.md).
const (
	DefaultCatheterPerCm = 2200 * unit.Nanolitre // 0.0022 mL/cm
	DefaultBattery       = 1_000_000 * unit.MicroampHour
)

// Parse reads a scenario file. It refuses the file as a whole on the first problem
// it finds, with a *FieldError naming the field by its JSON path and the reason; it
// never returns part of a scenario.
//
// Parse checks the format and what any pump would refuse as impossible (a negative
// volume, an event after the end); the pump's own ranges (its maximum rate, its
// reservoir size, the low-reservoir range) are the simulator's to check against the
// pump core.
func Parse(data []byte) (s *Scenario, err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(*FieldError)
			if !ok {
				panic(r)
			}
			s, err = nil, fe
		}
	}()
	return parseScenario(decodeJSON(data)), nil
}

// Field names by block. An object's members are checked against its names before
// anything else is read, so a misspelt field is reported as unknown, not as the
// correct field missing.
var (
	scenarioFields     = []string{"name", "start", "duration", "seed", "pump", "fill", "prescription", "events"}
	pumpFields         = []string{"model", "catheter_length_cm", "catheter_ml_per_cm", "utc_offset", "sensors", "battery_uah", "primed", "stroke_spread_pct", "stroke_drift_pct_per_year"}
	fillFields         = []string{"drug", "concentration", "volume_ml"}
	prescriptionFields = []string{"mode", "rate_ml_per_day", "dose_per_day", "max_24h_ml", "low_reservoir_ml", "patient_bolus", "flex", "repeat"}
	flexFields         = []string{"at", "rate_ml_per_day", "dose_per_day", "days"}
	patientBolusFields = []string{"volume_ml", "duration", "lockout", "max_per_24h"}
	eventFields        = []string{"at", "kind", "duration", "volume_ml", "prescription", "withdraw_ml", "add_ml", "drug", "concentration", "pocket_fill_ml", "uah", "utc_offset", "alarm"}
)

// modes lists the modes in the order of spec/scenario.md, with the prescription
// fields each one takes.
var modes = []modeFields{
	{Stopped, []string{"mode", "max_24h_ml", "low_reservoir_ml"}},
	{Continuous, []string{"mode", "rate_ml_per_day", "dose_per_day", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
	{Flex, []string{"mode", "flex", "repeat", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
	{Minimum, []string{"mode", "max_24h_ml", "low_reservoir_ml", "patient_bolus"}},
}

type modeFields struct {
	mode   Mode
	fields []string
}

// kindFields lists the fields each event kind takes besides at and kind.
var kindFields = map[Kind][]string{
	Program:        {"prescription"},
	ClinicianBolus: {"volume_ml", "duration"},
	Bridge:         {"prescription"},
	Refill:         {"withdraw_ml", "add_ml", "drug", "concentration", "pocket_fill_ml"},
	Acknowledge:    {"alarm"},
	MRI:            {"duration"},
	MotorStall:     {"duration"},
	Occlusion:      {"duration"},
	BatteryDrain:   {"uah"},
	SetClock:       {"utc_offset"},
}

var (
	sensorNames = []string{"pressure", "level"}
	dayNames    = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"} // time.Weekday order
	models      = []string{"TP-20", "TP-40"}
)

const maxFlexSteps = 16

func parseScenario(root *jvalue) *Scenario {
	o := object{path: "", members: root.members}
	o.known(scenarioFields)
	s := &Scenario{}
	s.Name = text(o.at("name"), o.require("name", "the scenario's name"))
	s.Start = instant(o.at("start"), o.require("start", `an RFC 3339 time, e.g. "2026-01-05T08:00:00Z"`))
	s.Duration = positiveDuration(o.at("duration"), o.require("duration", `e.g. "90d"`))
	if s.Duration > MaxDuration {
		fail(o.at("duration"), "%s is longer than the longest scenario, %s (100 years)", s.Duration, MaxDuration)
	}
	if v := o.get("seed"); v != nil {
		s.Seed = integer(o.at("seed"), v, math.MinInt64, math.MaxInt64)
	}
	s.Pump = parsePump(asObject("pump", o.require("pump", `an object with "model" and "catheter_length_cm"`)))
	s.Fill = parseFill(asObject("fill", o.require("fill", `an object with "drug", "concentration" and "volume_ml"`)))
	s.Prescription = parsePrescription("prescription", o.require("prescription", `an object with "mode"`))
	if v := o.get("events"); v != nil {
		elems := array("events", v)
		if len(elems) > 0 {
			s.Events = make([]Event, len(elems))
		}
		for i, ev := range elems {
			s.Events[i] = parseEvent(s, i, ev)
		}
	}
	return s
}

func parsePump(o object) Pump {
	o.known(pumpFields)
	p := Pump{
		CatheterPerCm: DefaultCatheterPerCm,
		Battery:       DefaultBattery,
		Primed:        true,
	}
	p.Model = text(o.at("model"), o.require("model", `"TP-20" or "TP-40"`))
	if !slices.Contains(models, p.Model) {
		fail(o.at("model"), "unknown model %s (allowed: %s)", quote(p.Model), list(models))
	}
	p.CatheterLength = unit.Length(catheterLength.read(o.at("catheter_length_cm"),
		o.require("catheter_length_cm", "the catheter's length in cm")))
	if v := o.get("catheter_ml_per_cm"); v != nil {
		p.CatheterPerCm = unit.Volume(catheterPerCm.read(o.at("catheter_ml_per_cm"), v))
	}
	if v := o.get("utc_offset"); v != nil {
		p.UTCOffset = utcOffset(o.at("utc_offset"), v)
	}
	if v := o.get("sensors"); v != nil {
		seen := map[string]int{}
		for i, e := range array(o.at("sensors"), v) {
			path := index(o.at("sensors"), i)
			name := str(path, e)
			if !slices.Contains(sensorNames, name) {
				fail(path, "unknown sensor %s (allowed: %s)", quote(name), list(sensorNames))
			}
			if j, dup := seen[name]; dup {
				fail(path, "%q is also sensors[%d]; list each sensor once", name, j)
			}
			seen[name] = i
		}
		_, p.PressureSensor = seen["pressure"]
		_, p.LevelSensor = seen["level"]
	}
	if v := o.get("battery_uah"); v != nil {
		p.Battery = unit.Charge(battery.read(o.at("battery_uah"), v)) * unit.NanoampHour
	}
	if v := o.get("primed"); v != nil {
		p.Primed = boolean(o.at("primed"), v)
	}
	if v := o.get("stroke_spread_pct"); v != nil {
		p.StrokeSpreadPct = percent(o.at("stroke_spread_pct"), v)
	}
	if v := o.get("stroke_drift_pct_per_year"); v != nil {
		p.StrokeDriftPctPerYear = signedPercent(o.at("stroke_drift_pct_per_year"), v, maxDriftPct)
	}
	return p
}

func parseFill(o object) Fill {
	o.known(fillFields)
	var f Fill
	f.Drug = drug(o)
	f.Volume = unit.Volume(volumePositive.read(o.at("volume_ml"), o.require("volume_ml", "the volume in the reservoir, in mL")))
	return f
}

// drug reads the drug and concentration fields of o (fill or refill).
func drug(o object) Drug {
	var d Drug
	d.Name = text(o.at("drug"), o.require("drug", `the drug's name, e.g. "morphine"`))
	path := o.at("concentration")
	d.Text = short(path, o.require("concentration", `e.g. "10 mg/mL" or "25 mcg/mL"`))
	c, u, err := unit.ParseConcentration(d.Text)
	if err != nil {
		fail(path, "%s; write e.g. \"10 mg/mL\" or \"25 mcg/mL\"", cause(err))
	}
	if c <= 0 || c > maxConcentration {
		fail(path, "%s is out of range: more than 0 and at most 1000 mg/mL", quote(d.Text))
	}
	d.Concentration, d.Unit = c, u
	return d
}

func parsePrescription(path string, v *jvalue) Prescription {
	o := asObject(path, v)
	o.known(prescriptionFields)
	var pr Prescription
	name := str(o.at("mode"), o.require("mode", `one of "stopped", "continuous", "flex", "minimum"`))
	i := slices.IndexFunc(modes, func(m modeFields) bool { return string(m.mode) == name })
	if i < 0 {
		fail(o.at("mode"), "unknown mode %s (allowed: stopped, continuous, flex, minimum)", quote(name))
	}
	pr.Mode = modes[i].mode
	o.allowed("mode "+strconv.Quote(name), modes[i].fields)
	switch pr.Mode {
	case Continuous:
		pr.Rate = rate(o)
	case Flex:
		pr.Flex, pr.Weekly = flex(o)
	}
	if v := o.get("max_24h_ml"); v != nil {
		pr.Max24h = unit.Volume(volumePositive.read(o.at("max_24h_ml"), v))
		pr.HasMax24h = true
	} else if pr.Mode != Stopped {
		fail(o.at("max_24h_ml"), "required for mode %q: the most the pump may deliver in any 24 h, in mL", name)
	}
	if v := o.get("low_reservoir_ml"); v != nil {
		pr.LowReservoir = unit.Volume(volumePositive.read(o.at("low_reservoir_ml"), v))
	}
	if v := o.get("patient_bolus"); v != nil {
		pb := patientBolus(asObject(o.at("patient_bolus"), v))
		pr.PatientBolus = &pb
	}
	return pr
}

// rate reads exactly one of rate_ml_per_day and dose_per_day from o.
func rate(o object) Rate {
	rv, dv := o.get("rate_ml_per_day"), o.get("dose_per_day")
	switch {
	case rv != nil && dv != nil:
		fail(o.at("dose_per_day"), "give either rate_ml_per_day or dose_per_day, not both")
	case rv != nil:
		return Rate{Volume: unit.Rate(volumeRate.read(o.at("rate_ml_per_day"), rv))}
	case dv != nil:
		path := o.at("dose_per_day")
		s := short(path, dv)
		d, u, err := unit.ParseDoseRate(s)
		if err != nil {
			fail(path, "%s; write e.g. \"5 mg\", \"400 mcg\" or \"400 mcg/day\"", cause(err))
		}
		if d <= 0 || d > maxDoseRate {
			fail(path, "%s is out of range: more than 0 and at most 10000 mg/day", quote(s))
		}
		return Rate{Dose: d, DoseUnit: u, IsDose: true}
	}
	fail(o.at("rate_ml_per_day"), `required: give rate_ml_per_day (mL/day) or dose_per_day (e.g. "5 mg")`)
	return Rate{}
}

func flex(o object) (steps []FlexStep, weekly bool) {
	path := o.at("flex")
	elems := array(path, o.require("flex", "an array of 1 to 16 steps {\"at\": \"HH:MM\", \"rate_ml_per_day\": …}"))
	if len(elems) < 1 || len(elems) > maxFlexSteps {
		fail(path, "%d steps: a flex schedule has 1 to %d", len(elems), maxFlexSteps)
	}
	withDays := -1 // a step that gives days, if any
	for i, e := range elems {
		so := asObject(index(path, i), e)
		so.known(flexFields)
		st := FlexStep{Days: AllDays}
		st.At = timeOfDay(so.at("at"), so.require("at", `the step's start, "HH:MM" from 00:00 to 23:59`))
		st.Rate = rate(so)
		if v := so.get("days"); v != nil {
			st.Days = weekdays(so.at("days"), v)
			if withDays < 0 {
				withDays = i
			}
		}
		for j, prev := range steps {
			if prev.At == st.At && prev.Days&st.Days != 0 {
				fail(so.at("at"), "%s is also the start of flex[%d] on a day both steps run; steps on the same day start at different times",
					formatTimeOfDay(st.At), j)
			}
		}
		steps = append(steps, st)
	}
	weekly = withDays >= 0
	if v := o.get("repeat"); v != nil {
		switch r := str(o.at("repeat"), v); r {
		case "weekly":
			weekly = true
		case "daily":
			if withDays >= 0 {
				fail(o.at("repeat"), `"daily" but flex[%d] gives days: write "weekly", or remove the days`, withDays)
			}
		default:
			fail(o.at("repeat"), `unknown repeat %s (allowed: "daily", "weekly")`, quote(r))
		}
	}
	return steps, weekly
}

func weekdays(path string, v *jvalue) Weekdays {
	elems := array(path, v)
	if len(elems) == 0 {
		fail(path, `empty: list at least one day, or leave days out for every day`)
	}
	var mask Weekdays
	for i, e := range elems {
		p := index(path, i)
		name := str(p, e)
		d := slices.Index(dayNames, name)
		if d < 0 {
			fail(p, "unknown day %s (allowed: %s)", quote(name), list(dayNames))
		}
		if mask&(1<<d) != 0 {
			fail(p, "%q is listed twice", name)
		}
		mask |= 1 << d
	}
	return mask
}

func patientBolus(o object) PatientBolus {
	o.known(patientBolusFields)
	var pb PatientBolus
	pb.Volume = unit.Volume(volumePositive.read(o.at("volume_ml"), o.require("volume_ml", "the volume of one bolus, in mL")))
	pb.Duration = positiveDuration(o.at("duration"), o.require("duration", `the time one bolus takes, e.g. "10m"`))
	pb.Lockout = positiveDuration(o.at("lockout"), o.require("lockout", `the least time between the starts of two boluses, e.g. "4h"`))
	pb.MaxPer24h = int(integer(o.at("max_per_24h"), o.require("max_per_24h", "the most boluses given in any 24 h, a whole number"), 1, math.MaxInt32))
	return pb
}

func parseEvent(s *Scenario, i int, v *jvalue) Event {
	o := asObject(index("events", i), v)
	o.known(eventFields)
	e := Event{Index: i}
	e.At = eventTime(s, o.at("at"), o.require("at", `a duration after start ("3d") or an RFC 3339 time`))
	if i > 0 && e.At.Before(s.Events[i-1].At) {
		fail(o.at("at"), "before events[%d] (%s is earlier than %s): list events in time order",
			i-1, e.At, s.Events[i-1].At)
	}
	name := str(o.at("kind"), o.require("kind", "one of "+kindList()))
	if !slices.Contains(Kinds, Kind(name)) {
		fail(o.at("kind"), "unknown kind %s (allowed: %s)", quote(name), kindList())
	}
	e.Kind = Kind(name)
	o.allowed("kind "+strconv.Quote(name), append([]string{"at", "kind"}, kindFields[e.Kind]...))
	switch e.Kind {
	case Program, Bridge:
		pr := parsePrescription(o.at("prescription"), o.require("prescription", `the new prescription, an object with "mode"`))
		e.Prescription = &pr
	case ClinicianBolus:
		e.Volume = unit.Volume(volumePositive.read(o.at("volume_ml"), o.require("volume_ml", "the bolus volume, in mL")))
		e.Duration = positiveDuration(o.at("duration"), o.require("duration", `the time the bolus takes, e.g. "30m"`))
		e.HasDuration = true
	case Refill:
		e.Withdraw = unit.Volume(volumeNonNegative.read(o.at("withdraw_ml"), o.require("withdraw_ml", "the volume withdrawn from the reservoir, in mL")))
		e.Add = unit.Volume(volumePositive.read(o.at("add_ml"), o.require("add_ml", "the volume injected, in mL")))
		e.Drug = drug(o)
		if v := o.get("pocket_fill_ml"); v != nil {
			e.PocketFill = unit.Volume(volumeNonNegative.read(o.at("pocket_fill_ml"), v))
			if e.PocketFill > e.Add {
				fail(o.at("pocket_fill_ml"), "%s is more than add_ml (%s): the pocket fill is part of the volume injected", e.PocketFill, e.Add)
			}
		}
	case MRI, MotorStall:
		e.Duration = positiveDuration(o.at("duration"), o.require("duration", `e.g. "45m"`))
		e.HasDuration = true
	case Occlusion:
		if v := o.get("duration"); v != nil {
			e.Duration = positiveDuration(o.at("duration"), v)
			e.HasDuration = true
		}
	case BatteryDrain:
		e.Charge = unit.Charge(drain.read(o.at("uah"), o.require("uah", "the charge drained, in µAh"))) * unit.NanoampHour
	case SetClock:
		e.UTCOffset = utcOffset(o.at("utc_offset"), o.require("utc_offset", `the pump's new UTC offset, e.g. "+01:00"`))
	case Acknowledge:
		if v := o.get("alarm"); v != nil {
			if str(o.at("alarm"), v) == "" {
				fail(o.at("alarm"), "must not be empty: name the alarm, or leave alarm out to acknowledge every alarm")
			}
			e.Alarm = text(o.at("alarm"), v)
		}
	}
	return e
}

// eventTime reads an event's at: a duration after start, or an RFC 3339 time,
// within [start, end].
func eventTime(s *Scenario, path string, v *jvalue) unit.Time {
	t := short(path, v)
	var at unit.Time
	if strings.ContainsAny(t, "T:-") { // never in a duration
		at = instant(path, v)
		if at.Before(s.Start) {
			fail(path, "%s is before the scenario's start, %s", at, s.Start)
		}
	} else {
		d, err := unit.ParseDuration(t)
		if err != nil {
			fail(path, `%s; write a duration after start ("3d", "4h30m") or an RFC 3339 time ("2026-01-08T08:00:00Z")`, cause(err))
		}
		at = s.Start.Add(d)
	}
	if at.After(s.End()) {
		fail(path, "%s is after the scenario's end, %s (start + %s)", at, s.End(), s.Duration)
	}
	return at
}

// object is a JSON object being read, with its path.
type object struct {
	path    string
	members []jmember
}

func asObject(path string, v *jvalue) object {
	if v.kind != jObject {
		fail(path, "must be an object {…}, not %s", v.describe())
	}
	return object{path: path, members: v.members}
}

func (o object) at(key string) string { return join(o.path, key) }

func (o object) get(key string) *jvalue {
	for _, m := range o.members {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// require returns key's value, or refuses the file saying what the field holds.
func (o object) require(key, what string) *jvalue {
	v := o.get(key)
	if v == nil {
		fail(o.at(key), "required: %s", what)
	}
	return v
}

// known refuses the first member that is not one of names.
func (o object) known(names []string) {
	for _, m := range o.members {
		if !slices.Contains(names, m.key) {
			fail(o.at(m.key), "unknown field (allowed here: %s)", strings.Join(names, ", "))
		}
	}
}

// allowed refuses the first member that is not one of names, which are the fields
// of what (a mode or an event kind).
func (o object) allowed(what string, names []string) {
	for _, m := range o.members {
		if !slices.Contains(names, m.key) {
			fail(o.at(m.key), "not a field of %s (its fields: %s)", what, strings.Join(names, ", "))
		}
	}
}

func array(path string, v *jvalue) []*jvalue {
	if v.kind != jArray {
		fail(path, "must be an array […], not %s", v.describe())
	}
	return v.elems
}

func str(path string, v *jvalue) string {
	if v.kind != jString {
		fail(path, "must be a string, not %s", v.describe())
	}
	return v.text
}

// text reads a name: a non-empty string without surrounding spaces.
func text(path string, v *jvalue) string {
	s := str(path, v)
	if strings.TrimSpace(s) == "" {
		fail(path, "must not be empty")
	}
	if strings.TrimSpace(s) != s {
		fail(path, "%s begins or ends with spaces", quote(s))
	}
	return s
}

func boolean(path string, v *jvalue) bool {
	if v.kind != jBool {
		fail(path, "must be true or false, not %s", v.describe())
	}
	return v.b
}

func integer(path string, v *jvalue, lo, hi int64) int64 {
	if v.kind != jNumber {
		fail(path, "must be a whole number, not %s", v.describe())
	}
	shortNumber(path, v)
	n, err := unit.ParseDecimal(v.text, 0)
	if err != nil {
		fail(path, "%s is not a whole number from %d to %d", truncate(v.text), lo, hi)
	}
	if n < lo || n > hi {
		fail(path, "%s is out of range: %d to %d", v.text, lo, hi)
	}
	return n
}

func percent(path string, v *jvalue) float64 {
	if v.kind != jNumber {
		fail(path, "must be a number, not %s", v.describe())
	}
	f, err := strconv.ParseFloat(v.text, 64)
	if err != nil || len(v.text) > maxEcho || f < 0 || f > 100 {
		fail(path, "%s is out of range: 0 to 100 (%%)", truncate(v.text))
	}
	return f
}

// maxDriftPct bounds stroke_drift_pct_per_year: a mechanism that loses or gains
// more than half its stroke volume a year is broken, not drifting.
const maxDriftPct = 50

// signedPercent reads a percentage from -limit to +limit.
func signedPercent(path string, v *jvalue, limit float64) float64 {
	if v.kind != jNumber {
		fail(path, "must be a number, not %s", v.describe())
	}
	f, err := strconv.ParseFloat(v.text, 64)
	if err != nil || len(v.text) > maxEcho || f < -limit || f > limit {
		fail(path, "%s is out of range: %g to %g (%%)", truncate(v.text), -limit, limit)
	}
	return f
}

// short reads a string that a unit parser reads, bounded so that the parser's
// message, which repeats it, stays short.
func short(path string, v *jvalue) string {
	s := str(path, v)
	if len(s) > maxEcho {
		fail(path, "%s is too long for this field (at most %d characters)", quote(s), maxEcho)
	}
	return s
}

// shortNumber refuses a number written with more characters than any value of a
// scenario needs, so that messages that repeat it stay short.
func shortNumber(path string, v *jvalue) {
	if len(v.text) > maxEcho {
		fail(path, "the number %s is written with more than %d characters", truncate(v.text), maxEcho)
	}
}

func duration(path string, v *jvalue) unit.Duration {
	d, err := unit.ParseDuration(short(path, v))
	if err != nil {
		fail(path, "%s", cause(err))
	}
	return d
}

func positiveDuration(path string, v *jvalue) unit.Duration {
	d := duration(path, v)
	if d <= 0 {
		fail(path, "must be longer than 0s")
	}
	return d
}

func utcOffset(path string, v *jvalue) unit.Duration {
	d, err := unit.ParseUTCOffset(short(path, v))
	if err != nil {
		fail(path, "%s", cause(err))
	}
	return d
}

// instant reads an RFC 3339 time to the millisecond.
func instant(path string, v *jvalue) unit.Time {
	s := short(path, v)
	t, err := unit.ParseTime(s)
	if err != nil {
		fail(path, "%s", cause(err))
	}
	if std, err := time.Parse(time.RFC3339Nano, s); err != nil || std.Nanosecond()%int(time.Millisecond) != 0 {
		fail(path, "%s is finer than a millisecond", quote(s))
	}
	return t
}

// timeOfDay reads "HH:MM", 00:00 to 23:59.
func timeOfDay(path string, v *jvalue) unit.Duration {
	s := str(path, v)
	ok := len(s) == 5 && s[2] == ':' && isDigit(s[0]) && isDigit(s[1]) && isDigit(s[3]) && isDigit(s[4])
	h, m := 0, 0
	if ok {
		h = int(s[0]-'0')*10 + int(s[1]-'0')
		m = int(s[3]-'0')*10 + int(s[4]-'0')
	}
	if !ok || h > 23 || m > 59 {
		fail(path, `%s is not a time of day: write "HH:MM" from 00:00 to 23:59`, quote(s))
	}
	return unit.Duration(h)*unit.Hour + unit.Duration(m)*unit.Minute
}

func formatTimeOfDay(d unit.Duration) string {
	return fmt.Sprintf("%02d:%02d", d/unit.Hour, d%unit.Hour/unit.Minute)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Bounds of what no pump could be given: they keep every product the simulator
// forms (volume × concentration, rate × concentration) far inside int64.
const (
	maxVolume        = 1000 * unit.Millilitre
	maxRate          = 1000 * unit.MillilitrePerDay
	maxConcentration = 1000 * unit.MilligramPerMillilitre
	maxDoseRate      = unit.DoseRate(10_000_000_000_000_000) // 10,000 mg/day in fg/day
	maxCharge        = 100_000_000                           // µAh
)

// quantity is a number field read exactly as an integer count of its smallest step.
type quantity struct {
	unit     string // as the field's name gives it: "mL", "mL/day", "cm", "µAh"
	decimals int    // digits after the point that the smallest step allows
	step     string // the smallest step, for messages
	min, max int64  // in steps
	minOpen  bool   // min itself is refused: the value must be more than min
}

var (
	volumePositive    = quantity{"mL", 6, "1 nL", 0, int64(maxVolume), true}
	volumeNonNegative = quantity{"mL", 6, "1 nL", 0, int64(maxVolume), false}
	volumeRate        = quantity{"mL/day", 6, "1 nL/day", 0, int64(maxRate), true}
	catheterLength    = quantity{"cm", 4, "1 µm", 0, 1000 * int64(unit.Centimetre), true}
	catheterPerCm     = quantity{"mL/cm", 6, "1 nL/cm", 0, int64(unit.Millilitre), true}
	battery           = quantity{"µAh", 3, "0.001 µAh", 0, maxCharge * 1000, false}
	drain             = quantity{"µAh", 3, "0.001 µAh", 0, maxCharge * 1000, true}
)

func (q quantity) read(path string, v *jvalue) int64 {
	if v.kind != jNumber {
		fail(path, "must be a number of %s, not %s", q.unit, v.describe())
	}
	shortNumber(path, v)
	n, err := unit.ParseDecimal(v.text, q.decimals)
	if err != nil {
		fail(path, "%s: %s is read exactly, to %s (%d decimal places)", cause(err), q.unit, q.step, q.decimals)
	}
	if n < q.min || q.minOpen && n == q.min || n > q.max {
		fail(path, "%s %s is out of range: %s", truncate(v.text), q.unit, q.bounds())
	}
	return n
}

func (q quantity) bounds() string {
	lo, hi := unit.FormatFixed(q.min, q.decimals), unit.FormatFixed(q.max, q.decimals)
	if q.minOpen {
		return "more than " + lo + " and at most " + hi + " " + q.unit
	}
	return lo + " to " + hi + " " + q.unit
}

// cause is a unit package error as a reason: without its "unit: " prefixes.
func cause(err error) string {
	return strings.ReplaceAll(err.Error(), unit.ErrUnit.Error()+": ", "")
}

func list(names []string) string { return strings.Join(names, ", ") }

func kindList() string {
	names := make([]string, len(Kinds))
	for i, k := range Kinds {
		names[i] = string(k)
	}
	return list(names)
}
