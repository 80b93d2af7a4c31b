package drug

import (
	"errors"
	"strings"
	"testing"

	"github.com/thecal/thecal/unit"
)

var t0 = unit.Time(1767600000000) // 2026-01-05T08:00:00Z

func dose(t testing.TB, s string) unit.DoseRate {
	t.Helper()
	d, _, err := unit.ParseDoseRate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func conc(t testing.TB, s string) unit.Concentration {
	t.Helper()
	c, _, err := unit.ParseConcentration(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// want is a finding expected by kind, severity and a piece of its message.
type want struct {
	kind Kind
	sev  Severity
	text string
}

func TestCheck(t *testing.T) {
	day := func(n float64) unit.Time { return t0.Add(unit.Duration(n * float64(unit.Day))) }
	hist := func(drug string, pairs ...any) []Prescribed {
		var h []Prescribed
		for i := 0; i < len(pairs); i += 2 {
			h = append(h, Prescribed{At: pairs[i].(unit.Time), Drug: drug, Dose: dose(t, pairs[i+1].(string))})
		}
		return h
	}

	for _, c := range []struct {
		name    string
		p       Proposal
		history []Prescribed
		want    []want
	}{
		{"unknown drug", Proposal{Drug: "ketamine", Concentration: conc(t, "10 mg/mL"), Dose: dose(t, "1 mg/day"), At: t0}, nil,
			[]want{{UnknownDrug, Refused, `"ketamine" is not in drug library thecal-default-1`}}},
		{"ziconotide start at the label maximum", Proposal{Drug: "Prialt", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "2.4 mcg/day"), At: t0}, nil,
			[]want{{StartingDose, NeedsReason, "starting dose 2.4 mcg/day (0.1 mcg/h) is above the recommended starting range, 0.5 mcg/day (≈0.02083 mcg/h) to 1.2 mcg/day (0.05 mcg/h)"}}},
		{"ziconotide start inside PACC", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "1.2 mcg/day"), At: t0}, nil,
			nil},
		{"ziconotide start over the label", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "4.8 mcg/day"), At: t0}, nil,
			[]want{{StartingDose, Refused, "starting dose 4.8 mcg/day (0.2 mcg/h) is above the hard maximum 2.4 mcg/day (0.1 mcg/h)"}, {StartingDose, NeedsReason, "recommended starting range"}}},
		{"ziconotide ×10: over the hard daily limit", Proposal{Drug: "ziconotide", Concentration: conc(t, "100 mcg/mL"), Dose: dose(t, "24 mcg/day"), At: day(30)},
			hist("ziconotide", t0, "2.4 mcg/day", day(20), "19.2 mcg/day"),
			[]want{{HardLimit, Refused, "daily dose 24 mcg/day (1 mcg/h) is above the hard maximum 21.6 mcg/day (0.9 mcg/h) (EU SmPC (Prialt)"}, {TitrationStep, Refused, "larger than the hard largest step 2.4 mcg/day"}}},
		{"ziconotide over the US maximum", Proposal{Drug: "ziconotide", Concentration: conc(t, "100 mcg/mL"), Dose: dose(t, "21.6 mcg/day"), At: day(30)},
			hist("ziconotide", t0, "2.4 mcg/day", day(20), "19.2 mcg/day"),
			[]want{{SoftLimit, NeedsReason, "daily dose 21.6 mcg/day (0.9 mcg/h) is above the soft maximum 19.2 mcg/day (0.8 mcg/h)"}}},
		{"ziconotide step of 2.4 after 48 h", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "4.8 mcg/day"), At: day(2)},
			hist("ziconotide", t0, "2.4 mcg/day"),
			nil},
		{"ziconotide step too large", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "6 mcg/day"), At: day(2)},
			hist("ziconotide", t0, "2.4 mcg/day"),
			[]want{{TitrationStep, Refused, "increase of 3.6 mcg/day (0.15 mcg/h) from 2.4 mcg/day (0.1 mcg/h) to 6 mcg/day (0.25 mcg/h) is larger than the hard largest step 2.4 mcg/day (0.1 mcg/h)"}}},
		{"ziconotide 30 h after: under the recommended 48 h", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "4.8 mcg/day"), At: t0.Add(30 * unit.Hour)},
			hist("ziconotide", t0, "2.4 mcg/day"),
			[]want{{TitrationInterval, NeedsReason, "increase 1d6h after the last change (2026-01-05T08:00:00Z) is sooner than the soft shortest interval 2d"}}},
		{"ziconotide 12 h after: under 24 h", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "4.8 mcg/day"), At: t0.Add(12 * unit.Hour)},
			hist("ziconotide", t0, "2.4 mcg/day"),
			[]want{{TitrationInterval, Refused, "sooner than the hard shortest interval 1d"}}},
		{"ziconotide fourth increase in a week", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "12 mcg/day"), At: day(8)},
			hist("ziconotide", t0, "2.4 mcg/day", day(2), "4.8 mcg/day", day(4), "7.2 mcg/day", day(6), "9.6 mcg/day"),
			[]want{{TitrationPerWeek, Refused, "this would be increase 4 in the 7 days to 2026-01-13T08:00:00Z, more than the hard most of 3 a week"}}},
		{"ziconotide third increase in a week is allowed", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "12 mcg/day"), At: day(9)},
			hist("ziconotide", t0, "2.4 mcg/day", day(2), "4.8 mcg/day", day(4), "7.2 mcg/day", day(6), "9.6 mcg/day"),
			nil},
		{"a decrease is not titration", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "1.2 mcg/day"), At: t0.Add(unit.Hour)},
			hist("ziconotide", t0, "9.6 mcg/day"),
			nil},
		{"after another drug it is a start", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "1.2 mcg/day"), At: day(1)},
			append(hist("ziconotide", t0, "9.6 mcg/day"), hist("morphine", t0.Add(unit.Hour), "1 mg/day")...),
			nil},
		{"a restart after a stop is a start", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "9.6 mcg/day"), At: day(3)},
			hist("ziconotide", t0, "9.6 mcg/day", day(1), "0 mcg/day"),
			[]want{{StartingDose, Refused, "starting dose 9.6 mcg/day (0.4 mcg/h) is above the hard maximum 2.4 mcg/day"}, {StartingDose, NeedsReason, "recommended starting range"}}},
		{"ziconotide dilution", Proposal{Drug: "ziconotide", Concentration: conc(t, "10 mcg/mL"), Dose: dose(t, "1.2 mcg/day"), At: t0}, nil,
			[]want{{Dilution, Info, "10 mcg/mL is a dilution of a listed strength (25 mcg/mL, 100 mcg/mL): dilute only with preservative-free 0.9% NaCl"}}},
		{"ziconotide over its strongest strength", Proposal{Drug: "ziconotide", Concentration: conc(t, "200 mcg/mL"), Dose: dose(t, "1.2 mcg/day"), At: t0}, nil,
			[]want{{ConcentrationNotAllowed, NeedsReason, "200 mcg/mL is not a concentration the library allows for ziconotide (25 mcg/mL, 100 mcg/mL)"}, {HardLimit, Refused, "concentration 200 mcg/mL is above the hard maximum 100 mcg/mL"}}},
		{"morphine at a compounded strength, opioid-naive ×10", Proposal{Drug: "morphine", Concentration: conc(t, "15 mg/mL"), Dose: dose(t, "5 mg/day"), At: t0, Population: "opioid-naive"}, nil,
			[]want{{ConcentrationNotAllowed, NeedsReason, "15 mg/mL is not a concentration the library allows for morphine (10 mg/mL, 25 mg/mL)"},
				{StartingDose, NeedsReason, "starting dose 5 mg/day (≈0.2083 mg/h) is above the recommended starting range for opioid-naive patients, 0.2 mg/day"}}},
		{"morphine without population checks every range", Proposal{Drug: "morphine", Concentration: conc(t, "10 mg/mL"), Dose: dose(t, "5 mg/day"), At: t0}, nil,
			[]want{{StartingDose, NeedsReason, "for opioid-naive patients (population not stated: every range is checked)"}}},
		{"morphine over the caution dose", Proposal{Drug: "morphine", Concentration: conc(t, "25 mg/mL"), Dose: dose(t, "24 mg/day"), At: t0, Population: "opioid-tolerant"}, nil,
			[]want{{SoftLimit, NeedsReason, "daily dose 24 mg/day (1 mg/h) is above the soft maximum 20 mg/day"},
				{StartingDose, NeedsReason, "above the recommended starting range for opioid-tolerant patients, 1 mg/day"}}},
		{"hydromorphone: nothing confirmed, the gaps are the library's, not the prescription's", Proposal{Drug: "hydromorphone", Concentration: conc(t, "10 mg/mL"), Dose: dose(t, "1 mg/day"), At: t0}, nil,
			nil},
		{"hydromorphone increase: no titration rule", Proposal{Drug: "hydromorphone", Concentration: conc(t, "10 mg/mL"), Dose: dose(t, "2 mg/day"), At: day(1)},
			hist("hydromorphone", t0, "1 mg/day"),
			nil},
		{"baclofen cerebral +10% after a day", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "220 mcg/day"), At: day(1), Population: "cerebral"},
			hist("baclofen", t0, "200 mcg/day"),
			nil},
		{"baclofen cerebral +20%", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "240 mcg/day"), At: day(1), Population: "cerebral"},
			hist("baclofen", t0, "200 mcg/day"),
			[]want{{TitrationStep, NeedsReason, "increase of 40 mcg/day (≈1.667 mcg/h) from 200 mcg/day (≈8.333 mcg/h) to 240 mcg/day (10 mcg/h) (20%) is larger than the soft largest step, 15% of the current dose (cerebral)"}}},
		{"baclofen spinal +20% is within 30%", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "240 mcg/day"), At: day(1), Population: "spinal"},
			hist("baclofen", t0, "200 mcg/day"),
			nil},
		{"baclofen exactly 15% is allowed", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "230 mcg/day"), At: day(1), Population: "cerebral"},
			hist("baclofen", t0, "200 mcg/day"),
			nil},
		{"baclofen 15% plus a femtogram is not", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "230 mcg/day") + 1, At: day(1), Population: "cerebral"},
			hist("baclofen", t0, "200 mcg/day"),
			[]want{{TitrationStep, NeedsReason, "(15%) is larger than the soft largest step, 15%"}}},
		{"baclofen pediatric: no interval in the library", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "210 mcg/day"), At: day(1), Population: "pediatric"},
			hist("baclofen", t0, "200 mcg/day"),
			nil},
		{"baclofen too soon, population not stated", Proposal{Drug: "baclofen", Concentration: conc(t, "500 mcg/mL"), Dose: dose(t, "240 mcg/day"), At: t0.Add(12 * unit.Hour)},
			hist("baclofen", t0, "200 mcg/day"),
			[]want{{TitrationStep, NeedsReason, "(cerebral)"}, {TitrationInterval, Refused, "sooner than the hard shortest interval 1d (cerebral) (Lioresal Intrathecal label"},
				{TitrationInterval, Refused, "(spinal)"}, {TitrationStep, NeedsReason, "(pediatric)"}}},
		{"baclofen stopped", Proposal{Drug: "Gablofen", Concentration: conc(t, "500 mcg/mL"), Dose: 0, At: day(1)},
			hist("baclofen", t0, "200 mcg/day"),
			[]want{{WithdrawalRisk, NeedsReason, "stopping baclofen: abrupt discontinuation, whatever the cause, has resulted in high fever"}}},
		{"baclofen cut by 90%: the withdrawal warning", Proposal{Drug: "baclofen", Concentration: conc(t, "2000 mcg/mL"), Dose: dose(t, "40 mcg/day"), At: day(1), DecreaseThreshold: 50 * unit.OnePercent, DecreaseSource: "the clinic's default"},
			hist("baclofen", t0, "400 mcg/day"),
			[]want{{WithdrawalRisk, NeedsReason, "a decrease of 360 mcg/day (15 mcg/h) from 400 mcg/day (≈16.67 mcg/h) to 40 mcg/day (≈1.667 mcg/h) (−90%) is more than 50% (the clinic's default): abrupt discontinuation"}}},
		{"baclofen cut by exactly 50%: within the threshold", Proposal{Drug: "baclofen", Concentration: conc(t, "2000 mcg/mL"), Dose: dose(t, "200 mcg/day"), At: day(1), DecreaseThreshold: 50 * unit.OnePercent},
			hist("baclofen", t0, "400 mcg/day"),
			nil},
		{"baclofen at the minimum rate: the withdrawal warning, however small the cut", Proposal{Drug: "baclofen", Concentration: conc(t, "2000 mcg/mL"), Dose: dose(t, "96 mcg/day"), Minimum: true, At: day(1), DecreaseThreshold: 50 * unit.OnePercent},
			hist("baclofen", t0, "100 mcg/day"),
			[]want{{WithdrawalRisk, NeedsReason, "the minimum rate (96 mcg/day (4 mcg/h) of baclofen) keeps the catheter open but is no therapeutic dose: abrupt"}}},
		{"morphine cut by 90%: no withdrawal flag", Proposal{Drug: "morphine", Concentration: conc(t, "10 mg/mL"), Dose: dose(t, "0.5 mg/day"), At: day(1), DecreaseThreshold: 50 * unit.OnePercent},
			hist("morphine", t0, "5 mg/day"),
			nil},
		{"clonidine stopped: its taper", Proposal{Drug: "Duraclon", Concentration: conc(t, "100 mcg/mL"), Dose: 0, At: day(1)},
			hist("clonidine", t0, "100 mcg/day"),
			[]want{{WithdrawalRisk, NeedsReason, "stopping clonidine: a sudden stop can cause nervousness, agitation, headache and tremor with a rapid, sharp rise in blood pressure; taper over 2d to 4d"}}},
		{"ziconotide 2.4 mcg/day + 8 boluses of 1 mcg: 10.4 mcg/day against the starting limit", Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "2.4 mcg/day"), Most: dose(t, "10.4 mcg/day"), PatientBolus: true, At: t0}, nil,
			[]want{{StartingDose, Refused, "starting dose with every allowed patient bolus (basal 2.4 mcg/day + boluses 8 mcg/day) 10.4 mcg/day (≈0.4333 mcg/h) is above the hard maximum 2.4 mcg/day"},
				{StartingDose, NeedsReason, "starting dose with every allowed patient bolus (basal 2.4 mcg/day + boluses 8 mcg/day) 10.4 mcg/day"}}},
		{"ziconotide boluses past the hard daily limit", Proposal{Drug: "ziconotide", Concentration: conc(t, "100 mcg/mL"), Dose: dose(t, "16.8 mcg/day"), Most: dose(t, "24.8 mcg/day"), PatientBolus: true, At: day(30)},
			hist("ziconotide", t0, "2.4 mcg/day", day(20), "16.8 mcg/day"),
			[]want{{HardLimit, Refused, "daily dose with every allowed patient bolus (basal 16.8 mcg/day + boluses 8 mcg/day) 24.8 mcg/day"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := Check(Default(), c.p, c.history)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d findings, want %d:\n%s", len(got), len(c.want), list(got))
			}
			for i, w := range c.want {
				g := got[i]
				if g.Kind != w.kind || g.Severity != w.sev || !strings.Contains(g.Message, w.text) {
					t.Errorf("finding %d = %s %v %q\nwant %s %v containing %q", i, g.Kind, g.Severity, g.Message, w.kind, w.sev, w.text)
				}
				if fromANumber[g.Kind] && g.Source == "" {
					t.Errorf("finding %d comes from a library number but names no source: %s", i, g.Message)
				}
			}
		})
	}
}

// fromANumber are the kinds of finding that a number of the library decides.
var fromANumber = map[Kind]bool{HardLimit: true, SoftLimit: true, StartingDose: true, TitrationStep: true,
	TitrationInterval: true, TitrationPerWeek: true, Dilution: true}

func list(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString("  " + string(f.Kind) + " " + f.String() + "\n")
	}
	return b.String()
}

func TestCheckRefusesMalformedProposals(t *testing.T) {
	ok := Proposal{Drug: "ziconotide", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "1 mcg/day"), At: t0}
	for _, c := range []struct {
		name    string
		edit    func(*Proposal)
		history []Prescribed
		field   string
	}{
		{"no concentration", func(p *Proposal) { p.Concentration = 0 }, nil, "concentration"},
		{"negative dose", func(p *Proposal) { p.Dose = -1 }, nil, "dose"},
		{"unknown population", func(p *Proposal) { p.Population = "adult" }, nil, "population"},
		{"history after the proposal", func(*Proposal) {}, []Prescribed{{At: t0 + 1, Drug: "ziconotide", Dose: 1}}, "history[0].at"},
		{"history out of order", func(*Proposal) {}, []Prescribed{{At: t0 - 1, Drug: "ziconotide", Dose: 1}, {At: t0 - 2, Drug: "ziconotide", Dose: 1}}, "history[1].at"},
		{"negative history dose", func(*Proposal) {}, []Prescribed{{At: t0 - 1, Drug: "ziconotide", Dose: -1}}, "history[0].dose"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := ok
			c.edit(&p)
			_, err := Check(Default(), p, c.history)
			var pe *ProposalError
			if !errors.Is(err, ErrProposal) || !errors.As(err, &pe) || pe.Field != c.field {
				t.Fatalf("Check = %v, want a *ProposalError on %q wrapping ErrProposal", err, c.field)
			}
			if pe.Error() != ErrProposal.Error()+": "+pe.Reason {
				t.Errorf("message %q does not read as before", pe.Error())
			}
		})
	}
}

func TestDecide(t *testing.T) {
	info := Finding{Severity: Info}
	soft := Finding{Severity: NeedsReason}
	hard := Finding{Severity: Refused}
	for _, c := range []struct {
		fs     []Finding
		reason string
		want   error
	}{
		{nil, "", nil},
		{[]Finding{info}, "", nil},
		{[]Finding{info, soft}, "", ErrReasonRequired},
		{[]Finding{soft}, "  ", ErrReasonRequired},
		{[]Finding{soft}, "palliative care, agreed with the patient", nil},
		{[]Finding{soft, hard}, "any reason", ErrRefused},
	} {
		if got := Decide(c.fs, c.reason); got != c.want {
			t.Errorf("Decide(%v, %q) = %v, want %v", c.fs, c.reason, got, c.want)
		}
	}
}

// TestReasonIsSpecific: a stated reason has at least ten characters and is
// not the text of the finding it answers; either refusal still reads as
// ErrReasonRequired, with what is wrong.
func TestReasonIsSpecific(t *testing.T) {
	soft := Finding{Kind: SoftLimit, Severity: NeedsReason, Message: "daily dose 200 mg/day (≈8.333 mg/h) is above the soft maximum 20 mg/day (≈0.8333 mg/h) (Infumorph label: caution above 20 mg/day)"}
	for _, c := range []struct {
		reason, why string
	}{
		{"typo", "is 4 characters"},
		{"  ok   ", "is 2 characters"},
		{"dose okay", "is 9 characters"},
		{soft.Message, "repeats the finding"},
		{"Daily dose 200 mg/day (≈8.333 mg/h) is above the soft maximum 20 mg/day (≈0.8333 mg/h) (Infumorph label: caution above 20 mg/day).", "repeats the finding"},
		{soft.String(), "repeats the finding"},
		{"is above the soft maximum 20 mg/day", "repeats the finding"},
	} {
		err := Decide([]Finding{soft}, c.reason)
		var re *ReasonError
		if !errors.Is(err, ErrReasonRequired) || !errors.As(err, &re) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("Decide(%q) = %v, want a *ReasonError saying %q", c.reason, err, c.why)
		}
	}
	for _, ok := range []string{"cancer pain, palliative", "tolérance aux opioïdes"} {
		if err := Decide([]Finding{soft}, ok); err != nil {
			t.Errorf("Decide(%q) = %v", ok, err)
		}
	}
	if err := Decide([]Finding{{Severity: Info}}, "x"); err != nil {
		t.Errorf("a reason nobody needs is not judged: %v", err)
	}
}

// TestCheckReasonOneRule: the stated reason of a prescription and the note
// of an alarm's acknowledgement are judged by one rule. What answers the
// alarm's name, or a finding's whole text, with nothing of its own is
// refused; a word the finding also uses still counts.
func TestCheckReasonOneRule(t *testing.T) {
	start := Finding{Kind: StartingDose, Severity: NeedsReason, Message: "starting dose 5 mg/day is above the recommended starting range for opioid-tolerant patients, 1 mg/day"}
	step := Finding{Kind: TitrationStep, Severity: NeedsReason, Message: "increase of 40 mcg/day (20%) is larger than the soft largest step, 15% of the current dose (cerebral); 30% (spinal): spasticity of spinal origin"}
	for _, c := range []struct {
		text    string
		answers []string
		ok      bool
	}{
		{"OCCLUSION acknowledged", []string{"OCCLUSION"}, false},
		{"EMPTY RESERVOIR acknowledged", []string{"EMPTY_RESERVOIR"}, false},
		{"occlusion occlusion seen", []string{"OCCLUSION"}, false},
		{"done done done done", []string{"OCCLUSION"}, false},
		{"!!!!!!!!!!!!", nil, false},
		{start.Message + ", ok", []string{start.Message, start.String()}, false},
		{"reservoir refilled, pump restarted", []string{"EMPTY_RESERVOIR"}, true},
		{"catheter checked", []string{"OCCLUSION"}, true},
		{"spasticity, spinal origin", []string{step.Message, step.String()}, true},
	} {
		err := CheckReason(c.text, c.answers...)
		var re *ReasonError
		if c.ok != (err == nil) || err != nil && (!errors.As(err, &re) || !errors.Is(err, ErrReasonRequired)) {
			t.Errorf("CheckReason(%q, %q) = %v, want ok %v (else a *ReasonError)", c.text, c.answers, err, c.ok)
		}
	}
}

// TestPatientBolusRule: where the library says patient boluses are not
// allowed, for the patient's population or for everyone, a prescription with
// one is refused; where it is silent they are allowed.
func TestPatientBolusRule(t *testing.T) {
	lib, err := Load([]byte(doc(drugEntry(`"populations": ["a", "b"], "patient_bolus": [{"population": "a", "allowed": false, "source": "clinic's choice"}, {"population": "b", "allowed": true, "source": "clinic's choice"}]`))))
	if err != nil {
		t.Fatal(err)
	}
	p := Proposal{Drug: "zico", Concentration: conc(t, "25 mcg/mL"), Dose: dose(t, "1 mcg/day"), Most: dose(t, "2 mcg/day"), PatientBolus: true, At: t0}
	for _, c := range []struct {
		population string
		refused    bool
	}{{"a", true}, {"b", false}, {"", true}} {
		p.Population = c.population
		fs, err := Check(lib, p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := Worst(fs) == Refused && fs[0].Kind == PatientBolusNotAllowed; got != c.refused {
			t.Errorf("population %q: %v", c.population, fs)
		}
	}
	p.PatientBolus, p.Population = false, "a"
	if fs, _ := Check(lib, p, nil); len(fs) != 0 {
		t.Errorf("no patient bolus: %v", fs)
	}
}

// TestGaps: what the library leaves empty is listed once, per drug, in words.
func TestGaps(t *testing.T) {
	lib := Default()
	gaps := func(name string) string {
		d, _ := lib.Lookup(name)
		return strings.Join(d.Gaps(), "\n")
	}
	for _, c := range []struct{ drug, want string }{
		{"morphine", "no daily dose hard maximum (refused above it)"},
		{"morphine", "no concentration soft maximum (a reason above it) and no hard maximum (refused above it)"},
		{"morphine", "no titration rule"},
		{"baclofen", "titration (cerebral): no most increases a week"},
		{"baclofen", "titration (pediatric): no shortest interval between increases, no most increases a week"},
		{"baclofen", "no withdrawal decrease_threshold: the large-change threshold applies"},
		{"baclofen", "no interruption threshold"},
		{"hydromorphone", "no label for intrathecal pump use is recorded"},
		{"hydromorphone", "no concentrations are listed"},
		{"ziconotide", "whether patient boluses are allowed is not stated"},
	} {
		if g := gaps(c.drug); !strings.Contains(g, c.want) {
			t.Errorf("%s: gaps\n%s\ndo not say %q", c.drug, g, c.want)
		}
	}
	if g := gaps("ziconotide"); strings.Contains(g, "daily dose") || strings.Contains(g, "titration") {
		t.Errorf("ziconotide's daily and titration limits are set, yet:\n%s", g)
	}
}
