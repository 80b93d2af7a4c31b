package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The prescription page: a form for every mode the pump runs (continuous by
// its daily dose, flex by its steps, minimum, stopped), reviewed before it is
// recorded. The review is the service's (clinic.Service.ReviewPrescription):
// old and new side by side, the findings of the proposal, and the change of
// daily dose against the drug's threshold, which asks for the second
// confirmation (confirm_large_change) that the service enforces on every path.
// Form field names are the API's JSON paths ("program.flex[1].at"), so the
// service's refusal lands next to the field it names.

// rxView is the prescription page.
type rxView struct {
	*chart
	Unit   string
	Concs  []string
	Modes  []string
	Days   []string
	Rows   []stepRow
	Old    *side
	New    *side
	Review *clinic.PrescriptionReview
	Change string // the change of daily dose, when comparable
	// Refused is the refusal at review (the pump's validation, a hard
	// limit): the review is shown with it, and nothing can be confirmed.
	Refused string
	Result  *clinic.Prescription
}

// stepRow is one row of the flex step editor: its form field names.
type stepRow struct {
	N                 int
	At, Rate, DaysKey string
}

// side is one prescription as the review shows it, every amount in volume
// and in the drug's own mass unit.
type side struct {
	Drug, Mode, Conc, Dose, PerHour, Volume string
	Steps                                   []string
	Bolus, Cap, Low                         string
	// Most is everything the pump may give in a day: the basal and every
	// allowed patient bolus within max_24h, in volume and mass (what the
	// library's daily limits count).
	Most string
}

func (s *Server) sideOf(rx *clinic.Prescription, u unit.MassUnit) *side {
	p := &rx.Program
	d := therapy.DailyOf(p)
	c := p.Concentration
	sd := &side{Drug: p.Drug, Mode: p.Mode.String(), Conc: c.Format(u), Dose: rx.DosePerDay.Format(u), PerHour: rx.DosePerDay.FormatPerHour(u),
		Volume: d.Max.String(), Cap: "—", Low: pump.LowReservoirDefault.String() + " (default)", Bolus: "none"}
	if d.Avg != d.Max {
		sd.Volume = fmt.Sprintf("%s average, %s at most", d.Avg, d.Max)
	}
	if p.Mode == pump.ModeFlex {
		sd.Steps = flexSteps(p, u)
	}
	if p.Max24h > 0 {
		sd.Cap = fmt.Sprintf("%s = %s", p.Max24h, c.Of(p.Max24h).Format(u))
	}
	if p.LowReservoir > 0 {
		sd.Low = p.LowReservoir.String()
	}
	if b := p.PatientBolus; b.Volume > 0 {
		sd.Bolus = fmt.Sprintf("%s = %s over %s, lockout %s, at most %d in 24 h", b.Volume, c.Of(b.Volume).Format(u), b.Duration, b.Lockout, b.MaxPer24h)
	}
	sd.Most = fmt.Sprintf("%s = %s", d.Total(), c.Of(d.Total()).Format(u))
	return sd
}

// programText says a program's mode and rates in a line.
func programText(p *pump.Prescription, u unit.MassUnit) string {
	switch p.Mode {
	case pump.ModeContinuous:
		return "continuous " + p.Rate.String()
	case pump.ModeMinimum:
		return "minimum rate " + pump.MinRate.String()
	case pump.ModeFlex:
		repeat := "daily"
		if p.Weekly {
			repeat = "weekly"
		}
		return "flex (" + repeat + "): " + strings.Join(flexSteps(p, u), "; ")
	}
	return p.Mode.String()
}

// flexSteps says each flex step: its start, days, rate and dose.
func flexSteps(p *pump.Prescription, u unit.MassUnit) []string {
	var out []string
	for _, st := range p.Flex[:p.FlexSteps] {
		days := ""
		if p.Weekly {
			var ds []string
			for i, n := range clinic.DayNames {
				if st.Days&(1<<i) != 0 {
					ds = append(ds, n)
				}
			}
			days = " " + strings.Join(ds, ",")
		}
		out = append(out, fmt.Sprintf("from %s%s %s (%s)", clinic.TimeOfDayText(st.At), days, st.Rate, p.Concentration.Dose(st.Rate).Format(u)))
	}
	return out
}

// strengths lists the library's strengths of a drug, in its unit.
func (s *Server) strengths(drugName string) []string {
	var out []string
	if d, ok := s.Svc.Library().Lookup(drugName); ok && d.Concentrations != nil {
		for _, x := range d.Concentrations.List {
			out = append(out, x.Format(d.DoseUnit))
		}
	}
	return out
}

func stepField(i int, name string) string { return "program.flex[" + strconv.Itoa(i) + "]." + name }

// fillForm writes a prescription into the form, as the page's fields.
func fillForm(f url.Values, rx *clinic.Prescription, u unit.MassUnit) {
	p := &rx.Program
	f.Set("program.mode", p.Mode.String())
	f.Set("program.concentration", p.Concentration.Format(u))
	if p.Mode == pump.ModeContinuous {
		f.Set("dose_per_day", rx.DosePerDay.Format(u))
	}
	if p.Max24h > 0 {
		f.Set("program.max_24h", p.Max24h.String())
	}
	if p.Weekly {
		f.Set("program.weekly", "yes")
	}
	for i, st := range p.Flex[:p.FlexSteps] {
		f.Set(stepField(i, "at"), clinic.TimeOfDayText(st.At))
		f.Set(stepField(i, "rate"), st.Rate.String())
		if p.Weekly {
			for j, n := range clinic.DayNames {
				if st.Days&(1<<j) != 0 {
					f.Add(stepField(i, "days"), n)
				}
			}
		}
	}
}

// compactSteps moves the filled step rows of a form up over empty ones, so
// that step i of the program is row i of the form (and a refusal of
// program.flex[i] shows next to it).
func compactSteps(f url.Values) {
	type row struct {
		at, rate string
		days     []string
	}
	var rows []row
	for i := range pump.MaxFlexSteps + 1 {
		r := row{strings.TrimSpace(f.Get(stepField(i, "at"))), strings.TrimSpace(f.Get(stepField(i, "rate"))), f[stepField(i, "days")]}
		for _, k := range []string{"at", "rate", "days"} {
			f.Del(stepField(i, k))
		}
		if r.at != "" || r.rate != "" {
			rows = append(rows, r)
		}
	}
	for i, r := range rows {
		f.Set(stepField(i, "at"), r.at)
		f.Set(stepField(i, "rate"), r.rate)
		f[stepField(i, "days")] = r.days
	}
}

// rxFromForm reads the form into a proposed prescription. What the form does
// not show is kept from the prescription in force: the drug, the population,
// the patient bolus (none when stopped: the pump gives none) and the
// low-reservoir threshold.
func rxFromForm(f url.Values, c *chart) (*clinic.Prescription, error) {
	rx := &clinic.Prescription{Reason: strings.TrimSpace(f.Get("reason")), ConfirmLargeChange: f.Get("confirm_large_change") == "yes",
		ConfirmConcentrationChange: f.Get("confirm_concentration_change") == "yes"}
	p := &rx.Program
	p.Drug = c.Implant.Drug
	if c.Rx != nil {
		p.Drug, p.PatientBolus, p.LowReservoir = c.Rx.Program.Drug, c.Rx.Program.PatientBolus, c.Rx.Program.LowReservoir
		rx.Population = c.Rx.Population
	}
	compactSteps(f)
	fields := []formField{
		{"program.mode", func(v string) error { return p.Mode.UnmarshalText([]byte(v)) }},
		{"program.concentration", quantity(&p.Concentration, "")},
	}
	if err := readForm(f, fields...); err != nil {
		return nil, err
	}
	switch p.Mode {
	case pump.ModeContinuous:
		fields = []formField{{"dose_per_day", quantity(&rx.DosePerDay, "")}}
	case pump.ModeFlex:
		p.Weekly = f.Get("program.weekly") == "yes"
		fields = nil
		for i := range pump.MaxFlexSteps + 1 {
			if f.Get(stepField(i, "at")) == "" && f.Get(stepField(i, "rate")) == "" {
				break
			}
			if i == pump.MaxFlexSteps {
				return nil, clinic.Errorf(clinic.EINVALID, "program.flex", "a flex program has at most %d steps", pump.MaxFlexSteps)
			}
			st := &p.Flex[i]
			p.FlexSteps = i + 1
			st.Days = pump.AllDays
			fields = append(fields,
				formField{stepField(i, "at"), func(v string) (err error) { st.At, err = clinic.ParseTimeOfDay(v); return err }},
				formField{stepField(i, "rate"), quantity(&st.Rate, "mL/day")})
			if p.Weekly {
				fields = append(fields, formField{stepField(i, "days"), func(string) (err error) {
					st.Days, err = clinic.ParseDays(f[stepField(i, "days")])
					return err
				}})
			}
		}
	case pump.ModeStopped:
		p.PatientBolus = pump.PatientBolus{}
	}
	max24h := quantity(&p.Max24h, "mL")
	if p.Mode == pump.ModeStopped {
		max24h = optional(max24h)
	}
	fields = append(fields, formField{"program.max_24h", max24h})
	return rx, readForm(f, fields...)
}

func (s *Server) rxPage(w http.ResponseWriter, r *http.Request, p *page, code int, rev *clinic.PrescriptionReview, refused error) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	if c.Implant == nil {
		return clinic.Errorf(clinic.EINVALID, "", "the patient has no implanted pump to prescribe for")
	}
	drugName := c.Implant.Drug
	if c.Rx != nil {
		drugName = c.Rx.Program.Drug
	}
	u := s.drugUnit(drugName)
	v := &rxView{chart: c, Unit: u.String(), Concs: s.strengths(drugName), Days: clinic.DayNames[:], Review: rev,
		Modes: []string{pump.ModeContinuous.String(), pump.ModeFlex.String(), pump.ModeMinimum.String(), pump.ModeStopped.String()}}
	if c.Rx != nil {
		v.Old = s.sideOf(c.Rx, u)
		if len(p.Form) == 0 {
			fillForm(p.Form, c.Rx, u)
		}
	}
	if p.Form.Get("program.mode") == "" {
		p.Form.Set("program.mode", pump.ModeContinuous.String())
	}
	if rev != nil {
		v.New = s.sideOf(rev.Proposed, rev.Unit)
		if rev.Change.Comparable {
			v.Change = rev.Change.Text(rev.Unit)
		}
	}
	if refused != nil {
		v.Refused = clinic.ErrorMessage(refused)
	}
	rows := 4
	for p.Form.Get(stepField(rows-2, "at")) != "" || p.Form.Get(stepField(rows-2, "rate")) != "" {
		rows++
	}
	for i := range min(rows, pump.MaxFlexSteps) {
		v.Rows = append(v.Rows, stepRow{N: i + 1, At: stepField(i, "at"), Rate: stepField(i, "rate"), DaysKey: stepField(i, "days")})
	}
	p.Title, p.Data = "Prescription — "+c.Rec.Patient.FamilyName+", "+c.Rec.Patient.GivenName, v
	s.render(w, code, "prescribe", p)
	return nil
}

func (s *Server) pagePrescribe(w http.ResponseWriter, r *http.Request, p *page) error {
	return s.rxPage(w, r, p, http.StatusOK, nil, nil)
}

// postPrescribe reviews (first press) or records (the confirmation) the
// prescription in the form. Every check is the service's: the review is
// clinic.Service.ReviewPrescription, the recording clinic.Service.Prescribe,
// which refuses a large change without confirm_large_change as the API does.
func (s *Server) postPrescribe(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	if c.Implant == nil {
		return clinic.Errorf(clinic.EINVALID, "", "the patient has no implanted pump to prescribe for")
	}
	f := p.Form
	rx, err := rxFromForm(f, c)
	if err != nil {
		formErr(p, err)
		return s.rxPage(w, r, p, http.StatusBadRequest, nil, nil)
	}
	// The confirmations are asked afresh on every review: never kept checked.
	f.Del("confirm_large_change")
	f.Del("confirm_concentration_change")
	asTyped := *rx
	// review is the service's review of what was typed, with its refusal
	// (the pump's validation, a hard limit) if any; a review that cannot be
	// made at all is an error.
	review := func() (*clinic.PrescriptionReview, error, error) {
		proposed := asTyped
		rev, err := s.Svc.ReviewPrescription(r.Context(), id, &proposed)
		if rev == nil {
			return nil, nil, err
		}
		p.Flash = "review"
		return rev, err, nil
	}
	if f.Get("step") != "confirm" || f.Get("review") != "" {
		// The first press reviews: old and new side by side, nothing written.
		rev, refused, err := review()
		if err != nil {
			if !formErr(p, err) {
				return err
			}
			return s.rxPage(w, r, p, http.StatusBadRequest, nil, nil)
		}
		code := http.StatusOK
		if refused != nil {
			formErr(p, refused)
			code = http.StatusBadRequest
		}
		return s.rxPage(w, r, p, code, rev, refused)
	}
	d, err := s.keyedTo(w, r, p, id, "prescription recorded", func(ctx context.Context) error { return s.Svc.Prescribe(ctx, id, rx) })
	if d {
		return err
	}
	if err != nil {
		if !formErr(p, err) {
			return err
		}
		// Refused: the review again, with the service's message next to the field.
		rev, refused, _ := review()
		return s.rxPage(w, r, p, http.StatusBadRequest, rev, refused)
	}
	done(w, r, id, "prescription recorded")
	return nil
}
