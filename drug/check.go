package drug

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/thecal/thecal/unit"
)

// Severity is how a finding bears on a prescription.
type Severity uint8

const (
	// Info is shown and needs nothing.
	Info Severity = iota
	// NeedsReason lets the prescription go ahead only with a stated reason.
	NeedsReason
	// Refused stops the prescription.
	Refused
)

func (s Severity) String() string {
	switch s {
	case Info:
		return "info"
	case NeedsReason:
		return "needs a reason"
	case Refused:
		return "refused"
	}
	return "unknown severity"
}

// Kind is what a finding is about.
type Kind string

const (
	UnknownDrug             Kind = "unknown_drug"              // not in the library
	HardLimit               Kind = "hard_limit"                // outside a hard dose or concentration limit
	SoftLimit               Kind = "soft_limit"                // outside a soft dose or concentration limit
	StartingDose            Kind = "starting_dose"             // a first dose outside the starting limits or range
	TitrationStep           Kind = "titration_step"            // an increase larger than the largest step
	TitrationInterval       Kind = "titration_interval"        // an increase too soon after the last
	TitrationPerWeek        Kind = "titration_per_week"        // too many increases in 7 days
	NotLabelled             Kind = "not_labelled"              // not labelled for intrathecal pump use
	ConcentrationNotAllowed Kind = "concentration_not_allowed" // not a listed strength, dilution or range
	Dilution                Kind = "dilution"                  // a dilution of a listed strength: the diluent to use
	WithdrawalRisk          Kind = "withdrawal_risk"           // stopping, cutting or minimising a drug whose withdrawal is dangerous
	PatientBolusNotAllowed  Kind = "patient_bolus_not_allowed" // a patient bolus where the library allows none
)

// Finding is one result of checking a proposal against the library.
type Finding struct {
	Kind     Kind
	Severity Severity
	Field    string // the library field concerned, e.g. "daily_dose_limit.hard_max"; "" if none
	Source   string // the source of that field's number; "" if none
	Message  string // for a person: the numbers with their units
}

func (f Finding) String() string { return f.Severity.String() + ": " + f.Message }

// Worst returns the most severe severity among fs (Info when fs is empty).
func Worst(fs []Finding) Severity {
	w := Info
	for _, f := range fs {
		w = max(w, f.Severity)
	}
	return w
}

// Decide says whether a prescription with findings fs may go ahead with the
// stated reason: ErrRefused if any finding refuses it; when one needs a
// reason, ErrReasonRequired if reason is blank, a *ReasonError if it says
// nothing specific (CheckReason, answering those findings); nil otherwise.
func Decide(fs []Finding, reason string) error {
	switch {
	case Worst(fs) == Refused:
		return ErrRefused
	case Worst(fs) == NeedsReason:
		var answers []string
		for _, f := range fs {
			if f.Severity >= NeedsReason {
				answers = append(answers, f.Message, f.String())
			}
		}
		return CheckReason(reason, answers...)
	}
	return nil
}

// MinReason is the fewest characters a stated reason has: "typo", "ok" or
// "x" say nothing a colleague can check later.
const MinReason = 10

// ReasonWords is the fewest different words (of two letters or more) a
// stated reason has of its own: besides the texts it answers, taken whole
// (an alarm's name; a finding's message), and words that only say something
// was seen ("ok", "done", "acknowledged").
const ReasonWords = 2

// seenWords only say that something was seen: no reason, nothing done.
const seenWords = "acknowledged acknowledge ack alarm alarms seen noted ok okay done fine yes no na"

// ReasonError refuses a stated reason that says nothing specific; it wraps
// ErrReasonRequired (a reason is still required).
type ReasonError struct {
	Reason string // as given
	Why    string // what is wrong with it
}

func (e *ReasonError) Error() string {
	return fmt.Sprintf("%v: %q %s", ErrReasonRequired, e.Reason, e.Why)
}

func (e *ReasonError) Unwrap() error { return ErrReasonRequired }

// CheckReason is the one rule for what a person states in answer to
// something: a prescription's reason answering its findings (Decide), an
// alarm's acknowledgement saying what was done about it (the clinic's
// CheckStatement). answers are the texts it answers (the findings' messages,
// the alarm's name). ErrReasonRequired when blank; a *ReasonError when it
// has fewer than MinReason characters, is the text of one of answers or a
// piece of it (a copy of the warning is no reason), or has fewer than
// ReasonWords words of its own once the answers' texts and the words that
// only say it was seen are taken out ("OCCLUSION acknowledged", "done done
// done done"), whatever their case and punctuation. A word an answer also
// uses still counts ("opioid-tolerant" answering a starting range for
// opioid-tolerant patients says which range applies).
func CheckReason(reason string, answers ...string) error {
	r := strings.TrimSpace(reason)
	if r == "" {
		return ErrReasonRequired
	}
	if n := utf8.RuneCountInString(r); n < MinReason {
		return &ReasonError{Reason: r, Why: fmt.Sprintf("is %d characters: say why, specifically, in at least %d", n, MinReason)}
	}
	for _, a := range answers {
		if p := plain(r); p != "" && strings.Contains(plain(a), p) {
			return &ReasonError{Reason: r, Why: "repeats the finding it answers: say why it is right for this patient"}
		}
	}
	told := strings.Fields(plain(r))
	for _, a := range answers {
		told = without(told, strings.Fields(plain(a)))
	}
	seen := strings.Fields(seenWords)
	own := map[string]bool{}
	for _, w := range told {
		if utf8.RuneCountInString(w) >= 2 && !slices.Contains(seen, w) {
			own[w] = true
		}
	}
	if len(own) < ReasonWords {
		return &ReasonError{Reason: r, Why: fmt.Sprintf("says nothing of its own (fewer than %d words besides what it answers and words such as \"ok\", \"done\", \"acknowledged\"): say why, or what was done, specifically", ReasonWords)}
	}
	return nil
}

// without is words with every run equal to phrase taken out.
func without(words, phrase []string) []string {
	if len(phrase) == 0 {
		return words
	}
	var out []string
	for i := 0; i < len(words); {
		if i+len(phrase) <= len(words) && slices.Equal(words[i:i+len(phrase)], phrase) {
			i += len(phrase)
			continue
		}
		out = append(out, words[i])
		i++
	}
	return out
}

// plain is s in lower case with every run of other than letters and digits
// one space: what two texts are compared by.
func plain(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}), " ")
}

// ProposalError refuses a malformed proposal or history (it wraps ErrProposal):
// Field names the input at fault ("concentration", "dose", "population",
// "history[2].at"), Reason says what is wrong and what is allowed.
type ProposalError struct {
	Field  string
	Reason string
}

func (e *ProposalError) Error() string { return ErrProposal.Error() + ": " + e.Reason }
func (e *ProposalError) Unwrap() error { return ErrProposal }

func proposalErr(field, format string, args ...any) error {
	return &ProposalError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// Proposal is a prescription to check: a drug at a concentration and a daily dose,
// from a time. Dose 0 stops the drug.
type Proposal struct {
	Drug          string // name or synonym
	Concentration unit.Concentration
	Dose          unit.DoseRate // the basal per day: what titration steps and changes are measured by
	// Most is everything the pump may give in a day: the basal and every
	// allowed patient bolus, within max_24h. The daily and starting limits are
	// checked against it; 0 means Dose (no patient bolus).
	Most unit.DoseRate
	// PatientBolus: the prescription lets the patient give boluses.
	PatientBolus bool
	// Minimum: the pump's minimum rate, which only keeps the catheter open.
	Minimum    bool
	At         unit.Time
	Population string // one of the drug's populations, or "" if not stated
	// DecreaseThreshold is the decrease of the daily dose beyond which a drug
	// flagged withdrawal shows its warning, where the library gives the drug
	// none (Withdrawal.DecreaseThreshold): the caller's large-change threshold.
	// 0: every decrease.
	DecreaseThreshold unit.Percent
	// DecreaseSource says where DecreaseThreshold comes from.
	DecreaseSource string
}

// most is what the daily and starting limits are checked against.
func (p Proposal) most() unit.DoseRate { return max(p.Most, p.Dose) }

// Prescribed is one past prescription of the patient, in time order.
type Prescribed struct {
	At   unit.Time
	Drug string
	Dose unit.DoseRate // per day
}

const week = 7 * unit.Day

// Check returns every finding about proposal p against lib, given the patient's
// prescription history (oldest first). It returns an error only for a malformed
// proposal or history; whatever the library says is a finding.
func Check(lib *Library, p Proposal, history []Prescribed) ([]Finding, error) {
	if p.Concentration <= 0 {
		return nil, proposalErr("concentration", "concentration must be more than 0")
	}
	if p.Dose < 0 || p.Most < 0 {
		return nil, proposalErr("dose", "dose must not be negative")
	}
	for i, h := range history {
		if h.Dose < 0 {
			return nil, proposalErr(fmt.Sprintf("history[%d].dose", i), "history[%d]: dose must not be negative", i)
		}
		if h.At.After(p.At) || i > 0 && h.At.Before(history[i-1].At) {
			return nil, proposalErr(fmt.Sprintf("history[%d].at", i), "history[%d] at %v: the history must be in time order and before the proposal (%v)", i, h.At, p.At)
		}
	}
	d, ok := lib.Lookup(p.Drug)
	if !ok {
		return []Finding{{Kind: UnknownDrug, Severity: Refused,
			Message: fmt.Sprintf("%q is not in drug library %s: the clinic must add it before it can be programmed", p.Drug, lib.Version)}}, nil
	}
	if p.Population != "" && !slices.Contains(d.Populations, p.Population) {
		return nil, proposalErr("population", "population %q is not one of %s's populations (%s)", p.Population, d.Name, strings.Join(d.Populations, ", "))
	}
	c := &checker{d: d, p: p}
	c.labelled()
	c.concentration()
	if p.Dose == 0 {
		c.withdrawal("stopping " + d.Name)
		return c.out, nil
	}
	c.dailyDose()
	c.patientBolus()
	run := sameDrugRun(lib, d, history)
	switch {
	case len(run) == 0:
		c.starting()
	case p.Dose > run[len(run)-1].Dose:
		c.titration(run)
	}
	switch {
	case p.Minimum:
		c.withdrawal(fmt.Sprintf("the minimum rate (%s of %s) keeps the catheter open but is no therapeutic dose", c.dose(p.Dose), d.Name))
	case len(run) > 0 && p.Dose < run[len(run)-1].Dose:
		c.decrease(run[len(run)-1].Dose)
	}
	return c.out, nil
}

// withdrawal adds the drug's withdrawal warning, for what (a stop, a cut, the
// minimum rate), when the drug is flagged withdrawal: it needs a reason.
func (c *checker) withdrawal(what string) {
	if !c.d.HasRisk(Withdrawal) {
		return
	}
	warning, src := c.d.WithdrawalWarning()
	c.add(Finding{Kind: WithdrawalRisk, Severity: NeedsReason, Field: "withdrawal", Source: src,
		Message: fmt.Sprintf("%s: %s; taper instead unless there is a reason", what, warning)})
}

// decrease adds the withdrawal warning for a cut of the daily dose from cur
// beyond the drug's decrease threshold (the library's, or the proposal's).
func (c *checker) decrease(cur unit.DoseRate) {
	if !c.d.HasRisk(Withdrawal) {
		return
	}
	limit, src := c.p.DecreaseThreshold, c.p.DecreaseSource
	if w := c.d.Withdrawal; w != nil && w.DecreaseThreshold != nil {
		limit, src = w.DecreaseThreshold.Value, w.DecreaseThreshold.Source
	}
	cut := cur - c.p.Dose
	if int64(cut) <= limit.Of(int64(cur)) {
		return
	}
	pct, _ := unit.PercentOf(int64(cut), int64(cur))
	why := fmt.Sprintf("a decrease of %s from %s to %s (−%v) is more than %v", c.dose(cut), c.dose(cur), c.dose(c.p.Dose), pct, limit)
	if src != "" {
		why += " (" + src + ")"
	}
	c.withdrawal(why)
}

// patientBolus refuses a patient bolus where the library allows none for the
// patient (every population's rule, when the population is not stated).
func (c *checker) patientBolus() {
	if !c.p.PatientBolus {
		return
	}
	for _, r := range c.d.PatientBolus {
		who, applies := c.forWhom(r.Population, "rule")
		if r.Allowed || !applies {
			continue
		}
		c.add(Finding{Kind: PatientBolusNotAllowed, Severity: Refused, Field: "patient_bolus", Source: r.Source,
			Message: fmt.Sprintf("%s: the library allows no patient bolus%s (%s)", c.d.Name, who, r.Source)})
		return
	}
}

type checker struct {
	d   *Drug
	p   Proposal
	out []Finding
}

func (c *checker) add(f Finding) { c.out = append(c.out, f) }

func (c *checker) dose(x unit.DoseRate) string {
	return x.Format(c.d.DoseUnit) + " (" + x.FormatPerHour(c.d.DoseUnit) + ")"
}

// Run is the tail of history on drug d since d was last started: a change
// of drug or a stop (dose 0) ends a run, so a restart is checked as a start.
// Empty means the proposal is a first dose.
func Run(lib *Library, d *Drug, history []Prescribed) []Prescribed {
	return sameDrugRun(lib, d, history)
}

// sameDrugRun is the tail of history on d since d was last started: a change of
// drug or a stop (dose 0) ends a run, so a restart is checked as a start.
func sameDrugRun(lib *Library, d *Drug, history []Prescribed) []Prescribed {
	i := len(history)
	for i > 0 {
		h := history[i-1]
		if got, ok := lib.Lookup(h.Drug); !ok || got != d || h.Dose == 0 {
			break
		}
		i--
	}
	return history[i:]
}

// labelled asks a reason for a drug the library records as not labelled for
// pump use. A library that records no label is a gap the clinic sees where it
// publishes the library (Gaps), not a finding on every prescription.
func (c *checker) labelled() {
	switch {
	case c.d.Labelled == nil:
	case !c.d.Labelled.Value:
		c.add(Finding{Kind: NotLabelled, Severity: NeedsReason, Field: "labelled_for_pump", Source: c.d.Labelled.Source,
			Message: fmt.Sprintf("%s is not labelled for intrathecal pump use (off-label use needs a reason)", c.d.Name)})
	}
}

func (c *checker) concentration() {
	u, x := c.d.DoseUnit, c.p.Concentration
	cs := c.d.Concentrations
	switch {
	case cs == nil: // a gap of the library (Gaps)
	case len(cs.List) > 0 && slices.Contains(cs.List, x):
	case len(cs.List) > 0 && c.d.Diluent != nil && x < slices.Max(cs.List):
		c.add(Finding{Kind: Dilution, Severity: Info, Field: "diluent", Source: c.d.Diluent.Source,
			Message: fmt.Sprintf("%s is a dilution of a listed strength (%s): dilute only with %s", x.Format(u), listConc(cs.List, u), c.d.Diluent.Value)})
	case len(cs.List) > 0:
		c.add(Finding{Kind: ConcentrationNotAllowed, Severity: NeedsReason, Field: "concentrations", Source: cs.Source,
			Message: fmt.Sprintf("%s is not a concentration the library allows for %s (%s)", x.Format(u), c.d.Name, listConc(cs.List, u))})
	case x < cs.Min || x > cs.Max:
		c.add(Finding{Kind: ConcentrationNotAllowed, Severity: NeedsReason, Field: "concentrations", Source: cs.Source,
			Message: fmt.Sprintf("%s is outside the range the library allows for %s (%s to %s)", x.Format(u), c.d.Name, cs.Min.Format(u), cs.Max.Format(u))})
	}
	limit(c, "", "concentration_limit", "concentration", c.d.Concentration, x, func(v unit.Concentration) string { return v.Format(u) })
}

func listConc(list []unit.Concentration, u unit.MassUnit) string {
	s := make([]string, len(list))
	for i, x := range list {
		s[i] = x.Format(u)
	}
	return strings.Join(s, ", ")
}

// dailyDose checks everything the pump may give in a day against the daily
// limits.
func (c *checker) dailyDose() {
	limit(c, "", "daily_dose_limit", c.mostWhat("daily dose"), c.d.DailyDose, c.p.most(), c.dose)
}

// mostWhat names the amount the limits are checked against: the basal alone,
// or with every allowed patient bolus, with its parts.
func (c *checker) mostWhat(what string) string {
	if c.p.most() <= c.p.Dose {
		return what
	}
	return fmt.Sprintf("%s with every allowed patient bolus (basal %s + boluses %s)", what,
		c.p.Dose.Format(c.d.DoseUnit), (c.p.most() - c.p.Dose).Format(c.d.DoseUnit))
}

// bound is one side of a limit.
type bound[T ~int64] struct {
	name  string // "hard_max", …
	b     *Sourced[T]
	below bool // a minimum: v below it is out
}

func (s bound[T]) severity() Severity {
	if strings.HasPrefix(s.name, "hard") {
		return Refused
	}
	return NeedsReason
}

// describe is "hard maximum" for "hard_max".
func (s bound[T]) describe() string {
	side, end, _ := strings.Cut(s.name, "_")
	if end == "min" {
		return side + " minimum"
	}
	return side + " maximum"
}

// limit checks v against l, hard sides first: a value outside a hard limit is
// reported once, as refused. A breach is of kind, or HardLimit/SoftLimit when
// kind is "". A side the library leaves empty is a gap the clinic sees where
// it publishes its library (Gaps), not a finding on every prescription.
func limit[T ~int64](c *checker, kind Kind, field, what string, l Limit[T], v T, show func(T) string) {
	for _, s := range []bound[T]{{"hard_max", l.HardMax, false}, {"hard_min", l.HardMin, true},
		{"soft_max", l.SoftMax, false}, {"soft_min", l.SoftMin, true}} {
		if s.b == nil || !(s.below && v < s.b.Value || !s.below && v > s.b.Value) {
			continue
		}
		word, k := "above", kind
		if s.below {
			word = "below"
		}
		if k == "" {
			k = map[Severity]Kind{Refused: HardLimit, NeedsReason: SoftLimit}[s.severity()]
		}
		c.add(Finding{Kind: k, Severity: s.severity(), Field: field + "." + s.name, Source: s.b.Source,
			Message: fmt.Sprintf("%s %s is %s the %s %s (%s)", what, show(v), word, s.describe(), show(s.b.Value), s.b.Source)})
		if s.severity() == Refused {
			return
		}
	}
}

// forWhom says whether a rule for population p ("" for everyone) applies to
// the patient — every population's does when the patient's is not stated —
// and names whom it is for in a message.
func (c *checker) forWhom(p, what string) (who string, applies bool) {
	if c.p.Population != "" && p != "" && p != c.p.Population {
		return "", false
	}
	if p != "" {
		who = " for " + p + " patients"
		if c.p.Population == "" {
			who += " (population not stated: every " + what + " is checked)"
		}
	}
	return who, true
}

func (c *checker) starting() {
	most := c.p.most()
	limit(c, StartingDose, "starting_dose.limit", c.mostWhat("starting dose"), c.d.Starting.Limit, most, c.dose)
	for _, r := range c.d.Starting.Recommended {
		who, applies := c.forWhom(r.Population, "range")
		if !applies {
			continue
		}
		rng := c.dose(r.Min) + " to " + c.dose(r.Max)
		what := c.mostWhat("starting dose")
		switch {
		case most > r.Max:
			c.add(Finding{Kind: StartingDose, Severity: NeedsReason, Field: "starting_dose.recommended", Source: r.Source,
				Message: fmt.Sprintf("%s %s is above the recommended starting range%s, %s (%s)", what, c.dose(most), who, rng, r.Source)})
		case most < r.Min:
			c.add(Finding{Kind: StartingDose, Severity: Info, Field: "starting_dose.recommended", Source: r.Source,
				Message: fmt.Sprintf("%s %s is below the recommended starting range%s, %s (%s)", what, c.dose(most), who, rng, r.Source)})
		}
	}
}

// titration checks an increase against each titration rule that applies to the
// patient (every rule when the population is not stated). run is the history
// since the drug was started; its first entry counts as a change for the
// interval, not as an increase.
func (c *checker) titration(run []Prescribed) {
	cur := run[len(run)-1].Dose
	step := c.p.Dose - cur
	lastChange := run[0].At
	increases := []unit.Time{c.p.At}
	for i := 1; i < len(run); i++ {
		if run[i].Dose > run[i-1].Dose {
			lastChange = run[i].At
			if run[i].At.After(c.p.At.Add(-week)) {
				increases = append(increases, run[i].At)
			}
		}
	}
	since := c.p.At.Sub(lastChange)
	for i, t := range c.d.Titration {
		if c.p.Population != "" && t.Population != "" && t.Population != c.p.Population {
			continue
		}
		field := fmt.Sprintf("titration[%d]", i)
		who := ""
		if t.Population != "" {
			who = " (" + t.Population + ")"
		}
		switch {
		case !t.MaxStep.Empty():
			titrationLimit(c, field+".max_step", TitrationStep, t.MaxStep, false,
				func(l unit.DoseRate) bool { return step > l },
				func(side string, l unit.DoseRate) string {
					return fmt.Sprintf("increase of %s from %s to %s is larger than the %s largest step %s%s", c.dose(step), c.dose(cur), c.dose(c.p.Dose), side, c.dose(l), who)
				})
		case !t.MaxStepPercent.Empty():
			pct, _ := unit.PercentOf(int64(step), int64(cur))
			titrationLimit(c, field+".max_step", TitrationStep, t.MaxStepPercent, false,
				func(l unit.Percent) bool { return int64(step) > l.Of(int64(cur)) },
				func(side string, l unit.Percent) string {
					return fmt.Sprintf("increase of %s from %s to %s (%v) is larger than the %s largest step, %v of the current dose%s", c.dose(step), c.dose(cur), c.dose(c.p.Dose), pct, side, l, who)
				})
		}
		if !t.MinInterval.Empty() {
			titrationLimit(c, field+".min_interval", TitrationInterval, t.MinInterval, true,
				func(l unit.Duration) bool { return since < l },
				func(side string, l unit.Duration) string {
					return fmt.Sprintf("increase %v after the last change (%v) is sooner than the %s shortest interval %v%s", since, lastChange, side, l, who)
				})
		}
		if !t.MaxPerWeek.Empty() {
			n := int64(len(increases))
			titrationLimit(c, field+".max_per_week", TitrationPerWeek, t.MaxPerWeek, false,
				func(l int64) bool { return n > l },
				func(side string, l int64) string {
					return fmt.Sprintf("this would be increase %d in the 7 days to %v, more than the %s most of %d a week%s", n, c.p.At, side, l, who)
				})
		}
	}
}

// titrationLimit reports the first breached side of l, hard before soft: the
// maxima, or with below the minima. breach says whether a bound is breached; msg
// writes the message for a side ("hard" or "soft") and its bound.
func titrationLimit[T ~int64](c *checker, field string, kind Kind, l Limit[T], below bool, breach func(T) bool, msg func(side string, bound T) string) {
	hard, soft, suffix := l.HardMax, l.SoftMax, "_max"
	if below {
		hard, soft, suffix = l.HardMin, l.SoftMin, "_min"
	}
	for _, s := range []bound[T]{{"hard" + suffix, hard, below}, {"soft" + suffix, soft, below}} {
		if s.b == nil || !breach(s.b.Value) {
			continue
		}
		side, _, _ := strings.Cut(s.name, "_")
		c.add(Finding{Kind: kind, Severity: s.severity(), Field: field + "." + s.name, Source: s.b.Source,
			Message: msg(side, s.b.Value) + " (" + s.b.Source + ")"})
		return
	}
}
