package calc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

func parse[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, s string) T {
	t.Helper()
	var x T
	if err := P(&x).UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestCheckReport: a proposal over the hard limit is Refused; the same with
// a reason for the soft finding alone may go ahead; the JSON carries the
// findings as a list and amounts as the strings unit reads back.
func TestCheckReport(t *testing.T) {
	lib := Library{Library: drug.Default()}
	at := parse[unit.Time](t, "2026-01-07T08:00:00Z")
	in := &CheckInput{Drug: "Prialt", Concentration: parse[Concentration](t, "25mcg/mL"), Dose: parse[Dose](t, "24mcg/day"),
		At: &at, Prev: []Prev{parse[Prev](t, "2d=19.2mcg/day")}, Reason: "agreed with the patient"}
	rep, err := in.Report(lib)
	if err != nil || !rep.Refused {
		t.Fatalf("24 mcg/day: refused %v, %v", rep != nil && rep.Refused, err)
	}
	// 30 h after the start: sooner than the recommended 48 h, a soft finding.
	in.Dose, in.Prev = parse[Dose](t, "4.8mcg/day"), []Prev{parse[Prev](t, "2026-01-06T02:00:00Z=2.4mcg/day")}
	rep, err = in.Report(lib)
	if err != nil || rep.Refused {
		t.Fatalf("4.8 mcg/day with a reason: refused %v, %v", rep.Refused, err)
	}
	var b bytes.Buffer
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var j struct {
		Inputs map[string]any
		Result struct {
			Findings []map[string]string
			Verdict  string
		}
	}
	if err := json.Unmarshal(b.Bytes(), &j); err != nil {
		t.Fatal(err)
	}
	if j.Inputs["dose"] != "4.8 mcg/day" || j.Inputs["prev_1"] != "2.4 mcg/day from 2026-01-06T02:00:00Z" ||
		len(j.Result.Findings) != 1 || !strings.HasPrefix(j.Result.Verdict, "may go ahead with the stated reason") {
		t.Errorf("JSON %s", b.String())
	}
}

// TestInputsNamed: every refusal names the input as the command line spells it.
func TestInputsNamed(t *testing.T) {
	lib := Library{Library: drug.Default()}
	for _, c := range []struct {
		err   error
		input string
	}{
		{second((&DoseInput{Concentration: parse[Concentration](t, "10mg/mL")}).Report(lib)), "rate"},
		{second((&DoseInput{Concentration: parse[Concentration](t, "10mg/mL"), Dose: &Dose{Value: 1}, Drug: "ketamine"}).Report(lib)), "drug"},
		{second((&RefillInput{Pump: Pump{Model: ptr(pump.TP40), Reservoir: ptr(20 * unit.Millilitre)}}).Report(lib)), "reservoir"},
		{second((&RefillInput{}).Report(lib)), "reservoir"},
		{second((&TitrationInput{Drug: "baclofen", Start: parse[Dose](t, "200mcg/day"), Target: parse[Dose](t, "300mcg/day"),
			Concentration: parse[Concentration](t, "500mcg/mL")}).Report(lib)), "population"},
		{second((&OpioidInput{Oral: parse[Dose](t, "60mg/day"), Drug: "baclofen"}).Report(lib)), "drug"},
		{second((&CheckInput{Drug: "morphine", Prev: []Prev{{}}}).Report(lib)), "at"},
		{second((&TrialInput{Baseline: 800, Trial: 1200, Scale: 1000, Threshold: 50 * unit.OnePercent}).Report(lib)), "trial"},
	} {
		var ie *therapy.InputError
		if !errors.As(c.err, &ie) || ie.Input != c.input {
			t.Errorf("%v: want an error naming %q", c.err, c.input)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func ptr[T any](v T) *T { return &v }

// TestDocs: every calculation's inputs are named once, each example reads,
// each default reads, and the partial patient bolus names what is missing.
func TestDocs(t *testing.T) {
	for _, d := range Docs {
		seen := map[string]bool{}
		for _, in := range d.New().Inputs() {
			if seen[in.Name] {
				t.Errorf("%s: --%s twice", d.Name, in.Name)
			}
			seen[in.Name] = true
			if in.Switch != nil {
				continue
			}
			for _, s := range []string{in.Example, in.Default} {
				if s == "" {
					continue
				}
				if err := in.Text.UnmarshalText([]byte(s)); err != nil {
					t.Errorf("%s --%s %q: %v", d.Name, in.Name, s, err)
				}
			}
		}
	}
	v := parse[unit.Volume](t, "20mL")
	lockout := parse[unit.Duration](t, "4h")
	_, err := (&NextRefillInput{Pump: Pump{Reservoir: &v}, Volume: v, Rate: 500000, Lockout: &lockout}).Report(Library{Library: drug.Default()})
	if err == nil || err.Error() != "bolus-volume: required: the patient bolus volume, e.g. --bolus-volume 0.02mL" {
		t.Errorf("a partial patient bolus: %v", err)
	}
}

// FuzzInputs: every input of every calculation reads any text without
// panicking, and then the calculation reports or refuses without panicking.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{"10mg/mL", "0.5mL/day", "2d=2.4mcg/day", "50mcg:10h", "15%", "-1mcg/day", "9223372036854775807mg/mL", "", "1e9"} {
		f.Add(uint8(0), uint8(0), s)
	}
	f.Fuzz(func(t *testing.T, calc, input uint8, text string) {
		d := Docs[int(calc)%len(Docs)]
		c := d.New()
		ins := c.Inputs()
		in := ins[int(input)%len(ins)]
		if in.Switch != nil {
			return
		}
		if in.Text.UnmarshalText([]byte(text)) != nil {
			return
		}
		rep, err := c.Report(Library{Library: drug.Default()})
		if err == nil && rep == nil {
			t.Fatalf("%s --%s %q: no report and no error", d.Name, in.Name, text)
		}
	})
}
