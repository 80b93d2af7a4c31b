package calc

import (
	"errors"
	"fmt"
	"strings"

	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// OpioidInput is an oral dose to convert.
type OpioidInput struct {
	Oral Dose
	Drug string
}

func (in *OpioidInput) Inputs() []Input {
	return []Input{
		{Name: "oral", Example: "60mg/day", What: "the daily oral morphine dose", Required: true, Text: &in.Oral},
		{Name: "drug", Example: "morphine", What: "the intrathecal drug whose conversion is used", Default: "morphine", Text: text(&in.Drug)},
	}
}

// Report converts an oral dose to the intrathecal drug's, as a suggestion.
func (in *OpioidInput) Report(lib Library) (*Report, error) {
	d, err := Lookup(lib.Library, in.Drug)
	if err != nil {
		return nil, err
	}
	c := d.OralConversion
	if c == nil {
		return nil, inputErr("drug", "library %s has no oral conversion for %s", lib.Version, d.Name)
	}
	oral := in.Oral.Value
	s, err := therapy.ConvertToIntrathecal(oral, c)
	if err != nil {
		return nil, err
	}
	u := d.DoseUnit
	rep := &Report{Calc: "opioid", Title: "Opioid conversion: " + c.From + " → intrathecal " + d.Name + " (suggestion)"}
	rep.in("oral", c.From, oral.Format(u), doseText(oral, u))
	rep.work("typical = %s ÷ %d = %s", oral.Format(u), c.Typical, s.Typical.Format(u))
	rep.work("range = %s ÷ %d to %s ÷ %d = %s to %s", oral.Format(u), c.Max, oral.Format(u), c.Min, s.Low.Format(u), s.High.Format(u))
	rep.work("source: %s", c.Source)
	rep.out("suggested", "suggested intrathecal", s.Typical.Format(u), doseText(s.Typical, u))
	rep.out("range_low", "published range from", s.Low.Format(u), doseText(s.Low, u))
	rep.out("range_high", "published range to", s.High.Format(u), doseText(s.High, u))
	rep.note("a suggestion, never a limit: the ratios in the literature differ %d-fold; check the prescription with 'thecal calc check'", c.Max/c.Min)
	return rep, nil
}

// TrialInput is a screening trial's pain scores and functional record.
type TrialInput struct {
	Baseline, Trial, Scale therapy.Score
	Threshold              unit.Percent
	Functional             therapy.Functional
}

func (in *TrialInput) Inputs() []Input {
	return []Input{
		{Name: "baseline", Example: "8", What: "the pain score before the trial", Required: true, Text: &in.Baseline},
		{Name: "trial", Example: "3", What: "the pain score during the trial", Required: true, Text: &in.Trial},
		{Name: "scale", Example: "10", What: "the top of the score's scale", Default: "10", Text: &in.Scale},
		{Name: "threshold", Example: "50%", What: "the clinic's success threshold", Default: therapy.DefaultSettings.TrialSuccess.String(), Text: &in.Threshold},
		{Name: "functional", Example: "yes", What: "functional improvement recorded: yes or no", Text: &in.Functional},
	}
}

// Report evaluates a trial against the clinic's success threshold.
func (in *TrialInput) Report(Library) (*Report, error) {
	r, err := therapy.EvaluateTrial(in.Baseline, in.Trial, in.Scale, in.Threshold, in.Functional)
	if err != nil {
		return nil, err
	}
	f := in.Functional
	rep := &Report{Calc: "trial", Title: "Trial evaluation"}
	rep.in("baseline", "baseline score", in.Baseline.String(), in.Baseline.String()+" / "+in.Scale.String())
	rep.in("trial", "trial score", in.Trial.String(), in.Trial.String()+" / "+in.Scale.String())
	rep.in("threshold", "success threshold", r.Threshold)
	rep.in("functional", "functional improvement", f.String())
	rep.work("reduction = (%v − %v) ÷ %v = %v", in.Baseline, in.Trial, in.Baseline, r.Reduction)
	rep.work("%v %s the threshold %v", r.Reduction, map[bool]string{true: "reaches", false: "does not reach"}[r.MeetsPain], r.Threshold)
	rep.out("reduction", "reduction", r.Reduction)
	rep.out("meets_threshold", "meets the threshold", r.MeetsPain)
	rep.out("functional", "functional improvement", f.String())
	rep.out("success", "TRIAL SUCCESS", r.Success)
	if r.MeetsPain && f == therapy.FunctionalNotRecorded {
		rep.note("record functional improvement (--functional yes or no) to complete the evaluation")
	}
	return rep, nil
}

// Prev is a past prescription of the drug, written TIME=DOSE: TIME a date, or
// how long before the proposal ("2d=2.4mcg/day").
type Prev struct {
	At   unit.Time
	Ago  unit.Duration // when At is relative: this long before the proposal
	Rel  bool
	Dose Dose
}

func (p *Prev) UnmarshalText(b []byte) error {
	s := string(b)
	at, dose, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("%q: write TIME=DOSE, e.g. 2026-01-03T08:00:00Z=2.4mcg/day or 2d=2.4mcg/day (2 days before --at)", s)
	}
	var x Prev
	if err := x.Dose.UnmarshalText([]byte(dose)); err != nil {
		return err
	}
	var err error
	if x.At, err = unit.ParseTime(at); err != nil {
		if x.Ago, err = unit.ParseDuration(at); err != nil {
			return fmt.Errorf("%q is neither a time (2026-01-03T08:00:00Z) nor a duration before --at (2d)", at)
		}
		x.Rel = true
	}
	*p = x
	return nil
}

// CheckInput is a proposed prescription and its history.
type CheckInput struct {
	Drug          string
	Concentration Concentration
	Dose          Dose
	At            *unit.Time // when the proposal takes effect; needed with Prev
	Prev          []Prev     // oldest first
	Population    string
	Reason        string
}

func (in *CheckInput) Inputs() []Input {
	return []Input{
		{Name: "drug", Example: "ziconotide", What: "the drug", Required: true, Text: text(&in.Drug)},
		{Name: "concentration", Example: "25mcg/mL", What: "the concentration in the reservoir", Required: true, Text: &in.Concentration},
		{Name: "dose", Example: "4.8mcg/day", What: "the proposed daily dose (0mcg/day stops the drug)", Required: true, Text: &in.Dose},
		{Name: "at", Example: "2026-01-05T08:00:00Z", What: "when the proposal takes effect (needed with --prev)", Text: optional(&in.At)},
		{Name: "prev", Example: "2d=2.4mcg/day", What: "a past prescription of the drug, oldest first: TIME=DOSE, TIME a date or how long before --at (repeat)", Repeat: true, Text: each(&in.Prev)},
		{Name: "population", Example: "cerebral", What: "the patient's population, where the library's rules differ", Text: text(&in.Population)},
		{Name: "reason", Example: "palliative care", What: "the reason stated for findings that need one", Text: text(&in.Reason)},
	}
}

// Report lists every finding of the drug library on the proposal. It is
// Refused when the library refuses it, or a finding needs a reason not given.
func (in *CheckInput) Report(lib Library) (*Report, error) {
	if len(in.Prev) > 0 && in.At == nil {
		return nil, inputErr("at", "required with --prev: when the proposal takes effect, e.g. --at 2026-01-07T08:00:00Z")
	}
	d, err := Lookup(lib.Library, in.Drug)
	if err != nil {
		return nil, err
	}
	u := d.DoseUnit
	dose := in.Dose.Value
	rep := &Report{Calc: "check", Title: "Drug library check", WorkTitle: "Findings"}
	rep.in("library", "library", lib.Version, fmt.Sprintf("%s, published %s (sha256 %s…)", lib.Version, lib.Published.Format("2006-01-02"), lib.Digest[:12]))
	rep.in("drug", "drug", d.Name)
	rep.in("concentration", "concentration", in.Concentration.Value.Format(u))
	rep.in("dose", "daily dose", dose.Format(u), doseText(dose, u))
	if in.At != nil {
		rep.in("at", "from", *in.At)
	}
	var history []drug.Prescribed
	for i, p := range in.Prev {
		t := p.At
		if p.Rel {
			t = in.At.Add(-p.Ago)
		}
		history = append(history, drug.Prescribed{At: t, Drug: d.Name, Dose: p.Dose.Value})
		rep.in(fmt.Sprintf("prev_%d", i+1), fmt.Sprintf("previous %d", i+1), fmt.Sprintf("%s from %v", p.Dose.Value.Format(u), t))
	}
	if in.Population != "" {
		rep.in("population", "population", in.Population)
	}
	// A decrease beyond the large-change threshold shows the withdrawal
	// warning where the library gives the drug no threshold of its own.
	lc := therapy.CheckDoseChange(d, false, 0, 0, therapy.DefaultSettings)
	fsd, err := drug.Check(lib.Library, drug.Proposal{Drug: d.Name, Concentration: in.Concentration.Value, Dose: dose, At: or(in.At), Population: in.Population,
		DecreaseThreshold: lc.Threshold, DecreaseSource: lc.Source}, history)
	var pe *drug.ProposalError
	if errors.As(err, &pe) {
		input := pe.Field // concentration, dose, population, or history[i]…: --prev
		if strings.HasPrefix(input, "history") {
			input = "prev"
		}
		return nil, inputErr(input, "%s", pe.Reason)
	} else if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, f := range fsd {
		rep.work("%s", f)
		list = append(list, map[string]any{"kind": string(f.Kind), "severity": f.Severity.String(), "field": f.Field, "source": f.Source, "message": f.Message})
	}
	if len(fsd) == 0 {
		rep.work("no findings")
	}
	verdict := "may go ahead"
	var vague *drug.ReasonError
	switch decision := drug.Decide(fsd, in.Reason); {
	case decision == drug.ErrRefused:
		verdict, rep.Refused = "REFUSED by the library", true
	case errors.As(decision, &vague):
		verdict, rep.Refused = fmt.Sprintf("NEEDS A SPECIFIC REASON (--reason): %q %s", vague.Reason, vague.Why), true
	case decision == drug.ErrReasonRequired:
		verdict, rep.Refused = "NEEDS A STATED REASON (--reason)", true
	case drug.Worst(fsd) == drug.NeedsReason:
		verdict = "may go ahead with the stated reason: " + in.Reason
	}
	rep.out("findings", "findings", list, fmt.Sprintf("%d", len(fsd)))
	rep.out("worst", "worst", drug.Worst(fsd).String())
	rep.out("verdict", "verdict", verdict)
	return rep, nil
}

// LibraryInput is the drug to show, or none for all.
type LibraryInput struct{ Drug string }

func (in *LibraryInput) Inputs() []Input {
	return []Input{{Name: "drug", Example: "ziconotide", What: "show only this drug", Text: text(&in.Drug)}}
}

// Report shows the library and where it was read from: every drug's entry,
// or only the one named.
func (in *LibraryInput) Report(lib Library) (*Report, error) {
	rep := &Report{Calc: "library", Title: "Drug library " + lib.Version, WorkTitle: "Entries"}
	rep.in("file", "file", lib.name())
	rep.out("version", "version", lib.Version)
	rep.out("published", "published", lib.Published.Format("2006-01-02"))
	rep.out("sha256", "sha256", lib.Digest)
	if lib.Publisher != "" {
		rep.out("publisher", "publisher", lib.Publisher)
	}
	show := lib.Drugs
	if in.Drug != "" {
		d, err := Lookup(lib.Library, in.Drug)
		if err != nil {
			return nil, err
		}
		show = []*drug.Drug{d}
	}
	for _, d := range show {
		rep.Working = append(rep.Working, d.Describe()...)
	}
	var names []string
	for _, d := range lib.Drugs {
		names = append(names, d.Name)
	}
	rep.out("drugs", "drugs", names, strings.Join(names, ", "))
	return rep, nil
}
