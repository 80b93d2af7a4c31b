package clinic

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
)

// The JSON form of a prescription: the clinic's own fields, and the pump
// program (a pump.Prescription, the one prescription type) as "program", with
// every quantity as text with its unit:
//
//	{"implant_id": 3, "start_at": "2026-03-01T08:00:00Z",
//	 "program": {"drug": "baclofen", "concentration": "2000 mcg/mL", "mode": "flex",
//	             "flex": [{"at": "08:00", "rate": "0.12 mL/day"}, {"at": "20:00", "rate": "0.08 mL/day"}],
//	             "patient_bolus": {"volume": "0.02 mL", "duration": "10m", "lockout": "4h", "max_per_24h": 4},
//	             "max_24h": "0.2 mL", "low_reservoir": "2 mL"},
//	 "dose_per_day": "240 mcg/day", "reason": "…", "confirm_large_change": true, …}
//
// The names inside "program" are the pump's own field names, so a refusal by
// pump.Prescription.Validate (field "flex[1].at") names the JSON field
// "program.flex[1].at". The API decodes with json/v2 (UnmarshalJSONFrom: exact
// names, unknown and repeated members refused, errors with their JSON
// pointer); the store and the audit with encoding/json (UnmarshalJSON), on
// what MarshalJSON wrote.

// programJSON is a pump.Prescription as JSON.
type programJSON struct {
	Drug          string             `json:"drug"`
	Concentration unit.Concentration `json:"concentration"`
	Mode          pump.Mode          `json:"mode"`
	Rate          unit.Rate          `json:"rate,omitempty"`
	Flex          []flexStepJSON     `json:"flex,omitempty"`
	Weekly        bool               `json:"weekly,omitempty"`
	PatientBolus  *bolusJSON         `json:"patient_bolus,omitempty"`
	Max24h        unit.Volume        `json:"max_24h,omitempty"`
	LowReservoir  unit.Volume        `json:"low_reservoir,omitempty"`
}

// flexStepJSON is one step of a flex program: from time of day At (the pump's
// local time, "08:00"), the basal rate is Rate; on the days listed when the
// program repeats weekly.
type flexStepJSON struct {
	At   clockTime `json:"at"`
	Rate unit.Rate `json:"rate"`
	Days weekdays  `json:"days,omitempty"`
}

type bolusJSON struct {
	Volume    unit.Volume   `json:"volume"`
	Duration  unit.Duration `json:"duration"`
	Lockout   unit.Duration `json:"lockout"`
	MaxPer24h int           `json:"max_per_24h"`
}

func programOf(p *pump.Prescription) *programJSON {
	j := &programJSON{Drug: p.Drug, Concentration: p.Concentration, Mode: p.Mode, Rate: p.Rate,
		Weekly: p.Weekly, Max24h: p.Max24h, LowReservoir: p.LowReservoir}
	for _, s := range p.Flex[:min(max(p.FlexSteps, 0), pump.MaxFlexSteps)] {
		st := flexStepJSON{At: clockTime(s.At), Rate: s.Rate}
		if p.Weekly {
			st.Days = weekdays(s.Days)
		}
		j.Flex = append(j.Flex, st)
	}
	if b := p.PatientBolus; b != (pump.PatientBolus{}) {
		j.PatientBolus = &bolusJSON{Volume: b.Volume, Duration: b.Duration, Lockout: b.Lockout, MaxPer24h: b.MaxPer24h}
	}
	return j
}

// programError refuses a program that reads as JSON but is not one: the
// member by its path from the prescription and the reason.
type programError struct {
	path   []string // e.g. program, flex, 3, days
	reason string
}

// field is the path as the API names fields: program.flex[3].days.
func (e *programError) field() string {
	var b strings.Builder
	for _, tok := range e.path {
		if tok != "" && strings.Trim(tok, "0123456789") == "" {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// prescription returns the pump program j describes. A daily flex step runs
// every day (its day mask is pump.AllDays, as the programmer writes it), so
// the same program has the same bytes and hash wherever it was entered.
func (j *programJSON) prescription() (pump.Prescription, *programError) {
	p := pump.Prescription{Drug: j.Drug, Concentration: j.Concentration, Mode: j.Mode, Rate: j.Rate,
		Weekly: j.Weekly, Max24h: j.Max24h, LowReservoir: j.LowReservoir}
	if len(j.Flex) > pump.MaxFlexSteps {
		return p, &programError{[]string{"program", "flex"}, fmt.Sprintf("%d steps: a flex program has at most %d", len(j.Flex), pump.MaxFlexSteps)}
	}
	p.FlexSteps = len(j.Flex)
	for i, s := range j.Flex {
		days := uint8(s.Days)
		switch {
		case !j.Weekly && days != 0:
			return p, &programError{[]string{"program", "flex", strconv.Itoa(i), "days"},
				"days are for a program that repeats weekly (\"weekly\": true); a daily step runs every day"}
		case !j.Weekly:
			days = pump.AllDays
		}
		p.Flex[i] = pump.FlexStep{At: unit.Duration(s.At), Rate: s.Rate, Days: days}
	}
	if b := j.PatientBolus; b != nil {
		p.PatientBolus = pump.PatientBolus{Volume: b.Volume, Duration: b.Duration, Lockout: b.Lockout, MaxPer24h: b.MaxPer24h}
	}
	return p, nil
}

// rxFields is a Prescription without its methods, for the JSON form.
type rxFields Prescription

type prescriptionJSON struct {
	rxFields
	Program *programJSON `json:"program"`
}

// MarshalJSON writes rx with its pump program as "program".
func (rx Prescription) MarshalJSON() ([]byte, error) {
	return json.Marshal(prescriptionJSON{rxFields: rxFields(rx), Program: programOf(&rx.Program)})
}

// UnmarshalJSON reads what MarshalJSON wrote (the store, the audit). A
// prescription without its program is of the form before it (converted by
// the store's migration prescription_program): refused, never read as an
// empty program.
func (rx *Prescription) UnmarshalJSON(b []byte) error {
	var j prescriptionJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Program == nil {
		return Errorf(EINTERNAL, "program", "a prescription without its program: stored in the form before it, which the migration prescription_program converts")
	}
	if pe := rx.from(&j); pe != nil {
		return Errorf(EINVALID, pe.field(), "%s", pe.reason)
	}
	return nil
}

// UnmarshalJSONFrom reads a prescription with json/v2 in the decoder's
// options (the API: strict), so that every error carries the JSON pointer of
// the member at fault within the whole body, a program's included.
func (rx *Prescription) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	var j prescriptionJSON
	if err := jsonv2.UnmarshalDecode(d, &j); err != nil {
		return err
	}
	if pe := rx.from(&j); pe != nil {
		ptr := d.StackPointer() // this prescription, just read
		for _, tok := range pe.path {
			ptr = ptr.AppendToken(tok)
		}
		return &jsonv2.SemanticError{JSONPointer: ptr, Err: errors.New(pe.reason)}
	}
	return nil
}

func (rx *Prescription) from(j *prescriptionJSON) *programError {
	*rx = Prescription(j.rxFields)
	if j.Program == nil {
		return nil
	}
	p, err := j.Program.prescription()
	rx.Program = p
	return err
}

// modeList names the modes a program may have.
func modeList() string {
	var t *pump.TextError
	if errors.As(new(pump.Mode).UnmarshalText(nil), &t) {
		return strings.Join(t.Allowed, ", ")
	}
	return ""
}

// clockTime is a flex step's time of day, written "HH:MM" (00:00 to 23:59).
type clockTime unit.Duration

func (c clockTime) MarshalText() ([]byte, error) {
	d := unit.Duration(c)
	if d < 0 || d >= unit.Day || d%unit.Minute != 0 {
		return nil, fmt.Errorf("time of day %v is not a whole minute from 00:00 to 23:59", d)
	}
	return []byte(TimeOfDayText(d)), nil
}

func (c *clockTime) UnmarshalText(b []byte) error {
	d, err := ParseTimeOfDay(string(b))
	if err != nil {
		return err
	}
	*c = clockTime(d)
	return nil
}

// TimeOfDayText writes a time after midnight as "HH:MM".
func TimeOfDayText(d unit.Duration) string {
	return fmt.Sprintf("%02d:%02d", d/unit.Hour, d%unit.Hour/unit.Minute)
}

// ParseTimeOfDay reads a time of day written "HH:MM" (00:00 to 23:59), as a
// flex step's start, into the time after midnight.
func ParseTimeOfDay(s string) (unit.Duration, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return 0, fmt.Errorf("%q is not a time of day: write HH:MM, e.g. \"08:00\" or \"22:30\"", s)
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("%q is not a time of day: 00:00 to 23:59", s)
	}
	return unit.Duration(h)*unit.Hour + unit.Duration(m)*unit.Minute, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// weekdays is a flex step's day mask (bit 0 Sunday … bit 6 Saturday), written
// as a list of day names: ["mon", "tue"].
type weekdays uint8

// DayNames are the day names of a weekly flex step, Sunday first (bit 0).
var DayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func (w weekdays) MarshalJSON() ([]byte, error) {
	var names []string
	for i, n := range DayNames {
		if w&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	return json.Marshal(names)
}

func (w *weekdays) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return fmt.Errorf("days: a list of day names, e.g. [\"mon\", \"wed\"] (%s)", strings.Join(DayNames[:], ", "))
	}
	mask, err := ParseDays(names)
	*w = weekdays(mask)
	return err
}

// ParseDays reads a list of day names ("mon", "tue"…) into a flex step's day
// mask (bit 0 Sunday).
func ParseDays(names []string) (uint8, error) {
	var mask uint8
	for _, n := range names {
		i := slices.Index(DayNames[:], n)
		if i < 0 {
			return 0, fmt.Errorf("%q is not a day: write %s", n, strings.Join(DayNames[:], ", "))
		}
		if mask&(1<<i) != 0 {
			return 0, fmt.Errorf("%q is listed twice", n)
		}
		mask |= 1 << i
	}
	return mask, nil
}

// Program is a pump program in its JSON form, on its own: what a pump reports
// it runs ("status.program" of a report), and the programs before and after a
// programming session. It is a pump.Prescription, written as a
// prescription's "program" is.
type Program pump.Prescription

// MarshalJSON writes the program as a prescription's "program".
func (p Program) MarshalJSON() ([]byte, error) {
	rx := pump.Prescription(p)
	return json.Marshal(programOf(&rx))
}

// UnmarshalJSON reads what MarshalJSON wrote (the store, the audit).
func (p *Program) UnmarshalJSON(b []byte) error {
	var j programJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	rx, pe := j.prescription()
	if pe != nil {
		return Errorf(EINVALID, pe.field(), "%s", pe.reason)
	}
	*p = Program(rx)
	return nil
}

// UnmarshalJSONFrom reads a program strictly (the API), every error with the
// JSON pointer of the member at fault.
func (p *Program) UnmarshalJSONFrom(d *jsontext.Decoder) error {
	var j programJSON
	if err := jsonv2.UnmarshalDecode(d, &j); err != nil {
		return err
	}
	rx, pe := j.prescription()
	if pe != nil {
		ptr := d.StackPointer()
		for _, tok := range pe.path[1:] { // the path starts at "program": this is it
			ptr = ptr.AppendToken(tok)
		}
		return &jsonv2.SemanticError{JSONPointer: ptr, Err: errors.New(pe.reason)}
	}
	*p = Program(rx)
	return nil
}
