package web

import (
	"context"
	"encoding"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/unit"
)

var funcs = template.FuncMap{
	"date": func(t any) string {
		switch v := t.(type) {
		case time.Time:
			if v.IsZero() {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		case *time.Time:
			if v == nil {
				return ""
			}
			return v.UTC().Format("2 Jan 2006")
		}
		return ""
	},
	"datetime": func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04") + " UTC" },
	"iso":      func(t time.Time) string { return t.UTC().Format(time.DateOnly) },
	// sayDate and sayWindow write a therapy date as every page says it
	// (clinic.DateFact.Say: a date to act on that has passed is "overdue:
	// call the clinic").
	"sayDate":   func(f *clinic.DateFact) string { return f.Say() },
	"sayWindow": func(w *clinic.Window) string { return w.Say() },
	"overdue":   func() string { return clinic.Overdue },
	"vol":       func(v unit.Volume) string { return v.String() },
	"rate":      func(r unit.Rate) string { return r.String() },
	"score": func(s *clinic.Score) string {
		if s == nil {
			return "—"
		}
		return unit.FormatFixed(int64(*s), 2)
	},
	"title":             func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"complicationTypes": func() []string { return complicationTypes },
	"sideEffectTypes":   func() []string { return sideEffectTypes },
	"slice3":            func() []string { return []string{"mild", "moderate", "severe"} },
	"slice2":            func() []string { return []string{"TP-20", "TP-40"} },
	"auditActions":      clinic.AuditActions,
	"refillFields":      refillFields,
	"trimDash":          func(s string) string { return strings.TrimPrefix(s, "—") },
	"has":               slices.Contains[[]string],
	"kindClass": func(k clinic.WorkKind) string {
		return strings.ReplaceAll(string(k), "_", "-")
	},
}

// drugUnit is the drug's own dose unit (never switched between mcg and mg).
func (s *Server) drugUnit(name string) unit.MassUnit {
	if d, ok := s.Svc.Library().Lookup(name); ok {
		return d.DoseUnit
	}
	return unit.Milligram
}

// doseText prints a daily dose in the drug's own unit.
func (s *Server) doseText(drugName string, d unit.DoseRate) string {
	return d.Format(s.drugUnit(drugName))
}

func (s *Server) concText(drugName string, c unit.Concentration) string {
	return c.Format(s.drugUnit(drugName))
}

// ---- worklist ----

// ---- chart ----

// chart is a patient's record arranged for the chart page.
type chart struct {
	Rec     *clinic.PatientRecord
	Implant *clinic.Implant
	Rx      *clinic.Prescription
	RxDose  string
	RxConc  string
	RxProg  string // the program: mode and rates
	// OrderState says the order's state and how it got there; Station that
	// the programming station reaches the pump.
	OrderState string
	Station    bool
	Unit       string
	Refill     *clinic.Refill
	Dates      *clinic.Dates // next refill, low reservoir, ERI, EOS…: the one source
	Timeline   []event
	DoseSVG    template.HTML
	ResSVG     template.HTML
	Alarms     []*clinic.Alarm // open: not acknowledged, or critical and not cleared
	// FollowUpOf is the follow-up an acknowledged alarm made, by alarm id.
	FollowUpOf map[int64]*clinic.FollowUp
	Age        int
}

type event struct {
	At    time.Time
	Kind  string
	Text  string
	Alert bool
}

func (s *Server) loadChart(r *http.Request) (*chart, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rec, err := s.Svc.PatientRecord(r.Context(), id)
	if err != nil {
		return nil, err
	}
	c := &chart{Rec: rec}
	for _, im := range rec.Implants {
		if im.Active() {
			c.Implant = im
		}
	}
	if n := len(rec.Prescriptions); n > 0 {
		c.Rx = rec.Prescriptions[n-1]
		u := s.drugUnit(c.Rx.Program.Drug)
		c.RxDose = c.Rx.DosePerDay.Format(u)
		c.RxConc = c.Rx.Program.Concentration.Format(u)
		c.RxProg = programText(&c.Rx.Program, u)
		c.Unit = u.String()
		c.OrderState = orderText(c.Rx)
	}
	if st := s.station.Load(); st != nil && c.Implant != nil {
		_, c.Station = st.Pumps[c.Implant.Serial]
	}
	if n := len(rec.Refills); n > 0 {
		c.Refill = rec.Refills[n-1]
	}
	c.Dates = &rec.Dates
	c.FollowUpOf = map[int64]*clinic.FollowUp{}
	for _, a := range rec.Alarms {
		if a.Open() && (a.AckedAt == nil || c.Implant != nil && a.ImplantID == c.Implant.ID) {
			c.Alarms = append(c.Alarms, a)
		}
		for _, f := range rec.FollowUps {
			if f.AlarmID == a.ID || f.ID == a.FollowUpID {
				c.FollowUpOf[a.ID] = f
			}
		}
	}
	now := s.Svc.Now()
	if b := rec.Patient.BirthDate; !b.IsZero() {
		c.Age = now.Year() - b.Year()
		if now.YearDay() < b.YearDay() {
			c.Age--
		}
	}
	c.Timeline = s.timeline(rec)
	c.DoseSVG, c.ResSVG = s.charts(rec, c, now)
	return c, nil
}

func (s *Server) timeline(rec *clinic.PatientRecord) []event {
	var ev []event
	for _, t := range rec.Trials {
		txt := fmt.Sprintf("Screening trial (%s) of %s: outcome %s", strings.ReplaceAll(t.Method, "_", " "), t.Drug, t.Outcome)
		if t.Reduction != "" {
			txt += ", pain reduced " + t.Reduction
		}
		if t.Decision != "" {
			txt += "; decision: " + strings.ReplaceAll(t.Decision, "_", " ") + " (" + t.DecidedBy + ")"
		} else {
			txt += "; awaiting a decision"
		}
		ev = append(ev, event{t.StartedAt, "Trial", txt, false})
	}
	for _, im := range rec.Implants {
		ev = append(ev, event{im.ImplantedAt, "Implant", fmt.Sprintf("Pump %s %s implanted by %s; catheter %s, tip %s; first fill %s of %s %s; priming volume %s",
			im.Model, im.Serial, im.Surgeon, im.CatheterLength, im.TipLevel, im.InitialFill, im.Drug,
			s.concText(im.Drug, im.Concentration), im.PrimingVolume), false})
		if im.ExplantedAt != nil {
			ev = append(ev, event{*im.ExplantedAt, "Explant", "Pump " + im.Serial + " removed: " + im.ExplantReason, false})
		}
	}
	for _, rx := range rec.Prescriptions {
		u := s.drugUnit(rx.Program.Drug)
		txt := fmt.Sprintf("%s at %s: %s — %s", rx.Program.Drug, rx.Program.Concentration.Format(u), rx.DosePerDay.Format(u), programText(&rx.Program, u))
		if rx.Reason != "" {
			txt += " — reason: " + rx.Reason
		}
		ev = append(ev, event{rx.StartAt, "Prescription", txt, false})
	}
	for _, rf := range rec.Refills {
		txt := fmt.Sprintf("withdrew %s, added %s of %s %s (lot %s); discrepancy %s: %s", rf.Withdrawn, rf.Added,
			rf.Drug, s.concText(rf.Drug, rf.Concentration), rf.Lot, rf.Discrepancy, strings.ReplaceAll(rf.Flag, "_", " "))
		ev = append(ev, event{rf.At, "Refill", txt, rf.Flagged || rf.DrugMismatch != ""})
	}
	for _, f := range rec.FollowUps {
		txt := "Follow-up (" + strings.ReplaceAll(f.Type, "_", " ") + ")"
		if f.DoneAt != nil {
			txt += " done"
		} else {
			txt += " due"
		}
		if f.Notes != "" {
			txt += ": " + f.Notes
		}
		ev = append(ev, event{f.Due, "Follow-up", txt, false})
	}
	for _, c := range rec.Complications {
		ev = append(ev, event{c.Onset, "Complication", strings.ReplaceAll(c.Type, "_", " ") + ": " + c.Description, c.ResolvedAt == nil})
	}
	for _, e := range rec.SideEffects {
		ev = append(ev, event{e.ReportedAt, "Side effect", e.Severity + " " + strings.ReplaceAll(e.Type, "_", " ") + " " + e.Notes, e.ResolvedAt == nil})
	}
	for _, ps := range rec.Sessions {
		txt := fmt.Sprintf("%s with %s: %s", ps.CreatedBy, ps.Programmer, strings.ReplaceAll(ps.Outcome, "_", " "))
		if ps.OrderID != 0 {
			txt += fmt.Sprintf(" (order %d)", ps.OrderID)
		}
		var seqs []string
		for _, st := range ps.Steps {
			if st.Seq != 0 {
				seqs = append(seqs, fmt.Sprintf("%s #%d", st.Action, st.Seq))
			}
		}
		if len(seqs) > 0 {
			txt += "; pump events " + strings.Join(seqs, ", ")
		}
		if ps.Note != "" {
			txt += " — " + ps.Note
		}
		ev = append(ev, event{ps.StartedAt, "Programming", txt, ps.Outcome == "failed" || ps.Note != ""})
	}
	for _, a := range rec.Alarms {
		txt := a.Code + " from pump " + a.Serial
		if a.AckedAt != nil {
			txt += " — acknowledged by " + a.AckedBy
		}
		ev = append(ev, event{a.RaisedAt, "Alarm", txt, a.AckedAt == nil})
	}
	// Newest first.
	for i := 1; i < len(ev); i++ {
		for j := i; j > 0 && ev[j].At.After(ev[j-1].At); j-- {
			ev[j], ev[j-1] = ev[j-1], ev[j]
		}
	}
	return ev
}

func (s *Server) pageChart(w http.ResponseWriter, r *http.Request, p *page) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	p.Title, p.Data = c.Rec.Patient.FamilyName+", "+c.Rec.Patient.GivenName, c
	p.Flash = r.URL.Query().Get("done")
	s.render(w, http.StatusOK, "chart", p)
	return nil
}

// ---- alarms ----

func (s *Server) postAck(w http.ResponseWriter, r *http.Request, p *page) error {
	alarm, err := pathRecord[clinic.Alarm](s, r, "alarm")
	if err != nil {
		return err
	}
	id := alarm.ID
	v, _ := strconv.ParseInt(p.Form.Get("version"), 10, 64)
	loc := doneURL(alarm.PatientID, "alarm acknowledged")
	d, err := s.oncePage(w, r, p, false, func(any) string { return loc }, func(ctx context.Context) error {
		_, err := s.Svc.AckAlarm(ctx, id, clinic.AckInput{Note: p.Form.Get("note"), Version: v})
		return err
	})
	if d {
		return err
	}
	if err != nil {
		// What was done is refused next to the alarm's own form (the chart
		// has other forms with a note).
		var e *clinic.Error
		if errors.As(err, &e) && e.Field == "note" {
			e.Field = "ack_note"
		}
		return s.chartAgain(w, r, p, alarm.PatientID, err)
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
	return nil
}

// ---- refill ----

// refillView is the refill page: the form, then the accounting the service did.
type refillView struct {
	*chart
	Result   *clinic.Refill
	Step     int
	Checks   []string
	Concs    []string
	LastFill string
	// Order is the physician's order the refill must match; Change says the
	// change of drug or concentration it orders from what the pump holds
	// ("" when none): the refill then needs its explicit confirmation.
	Order, Change string
	// Filled is the recorded refill's concentration in its drug's unit.
	Filled string
}

// observation is the post-refill checklist (the clinic's own, on the form).
var observation = []string{
	"Reservoir pocket checked: no swelling, redness or fluid",
	"Patient observed 30 minutes: alert, breathing normally",
	"No signs of overdose (drowsiness, slow breathing, small pupils)",
	"No signs of withdrawal (itching, fever, rising spasticity, agitation)",
	"Next refill date given to the patient",
}

// refillPage shows the refill form, or the recorded refill. The drug and the
// concentration are never filled in for the nurse: they are typed from the
// vial, and confirmed (typed again, or the label's text), as
// drug.CheckFill asks.
func (s *Server) refillPage(w http.ResponseWriter, r *http.Request, p *page, code int, res *clinic.Refill) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	if c.Implant == nil {
		return clinic.Errorf(clinic.EINVALID, "", "the patient has no implanted pump to refill")
	}
	v := &refillView{chart: c, Result: res, Checks: observation}
	if res != nil {
		v.Filled = s.concText(res.Drug, res.Concentration)
	}
	fillDrug, fillConc := c.Implant.Drug, c.Implant.Concentration
	if c.Refill != nil {
		v.LastFill = fmt.Sprintf("%s of %s %s on %s", c.Refill.Added, c.Refill.Drug, s.concText(c.Refill.Drug, c.Refill.Concentration), c.Refill.At.Format("2 Jan 2006"))
		fillDrug, fillConc = c.Refill.Drug, c.Refill.Concentration
	} else {
		v.LastFill = fmt.Sprintf("%s of %s %s on %s (first fill)", c.Implant.InitialFill, c.Implant.Drug, s.concText(c.Implant.Drug, c.Implant.Concentration), c.Implant.ImplantedAt.Format("2 Jan 2006"))
	}
	v.Concs = s.strengths(fillDrug)
	var order *clinic.Prescription
	for _, rx := range c.Rec.Prescriptions {
		if rx.ImplantID == c.Implant.ID && (order == nil || rx.ID > order.ID) {
			order = rx
		}
	}
	if order != nil {
		v.Order = order.Program.Drug + " " + s.concText(order.Program.Drug, order.Program.Concentration)
		if order.Program.Drug != fillDrug || order.Program.Concentration != fillConc {
			v.Change = fmt.Sprintf("the physician's order of %s is for %s; the pump holds %s %s", order.CreatedAt.Format("2 Jan 2006"),
				v.Order, fillDrug, s.concText(fillDrug, fillConc))
			v.Concs = append(v.Concs, s.strengths(order.Program.Drug)...)
		}
	}
	p.Title, p.Data = "Refill — "+c.Rec.Patient.FamilyName+", "+c.Rec.Patient.GivenName, v
	s.render(w, code, "refill", p)
	return nil
}

func (s *Server) pageRefill(w http.ResponseWriter, r *http.Request, p *page) error {
	return s.refillPage(w, r, p, http.StatusOK, nil)
}

func formErr(p *page, err error) bool {
	if code := clinic.ErrorCode(err); code == clinic.EINVALID || code == clinic.ECONFLICT {
		p.Err, p.Field = clinic.ErrorMessage(err), clinic.ErrorField(err)
		if p.Field == "" {
			p.Field = "form"
		}
		return true
	}
	return false
}

func (s *Server) postRefill(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := p.Form
	rf := &clinic.Refill{Drug: strings.TrimSpace(f.Get("drug")), ConfirmDrug: strings.TrimSpace(f.Get("confirm_drug")),
		Label: strings.TrimSpace(f.Get("label")), ConfirmConcentrationChange: f.Get("confirm_concentration_change") == "yes",
		Lot: f.Get("lot"), Observation: strings.Join(f["check"], "; ")}
	if note := strings.TrimSpace(f.Get("observation")); note != "" {
		rf.Observation = strings.TrimPrefix(rf.Observation+"; "+note, "; ")
	}
	// The confirmation of a change is asked afresh each time.
	f.Del("confirm_concentration_change")
	if err := readForm(f,
		formField{"concentration", optional(quantity(&rf.Concentration, ""))},
		formField{"confirm_concentration", optional(quantity(&rf.ConfirmConcentration, ""))},
		formField{"withdrawn", quantity(&rf.Withdrawn, "mL")},
		formField{"added", quantity(&rf.Added, "mL")},
		formField{"boluses", optional(quantity(&rf.Boluses, "mL"))},
	); err != nil {
		formErr(p, err)
		return s.refillPage(w, r, p, http.StatusBadRequest, nil)
	}
	// Recorded once under the form's key, then the result is a page of its
	// own (POST-redirect-GET): a reload of it records nothing (it once
	// recorded the refill again, and flagged a false pocket fill).
	where := func(any) string { return fmt.Sprintf("/refills/%d", rf.ID) }
	d, err := s.oncePage(w, r, p, false, where, func(ctx context.Context) error { return s.Svc.RecordRefill(ctx, id, rf) })
	if d {
		return err
	}
	if err != nil {
		if formErr(p, err) {
			return s.refillPage(w, r, p, http.StatusBadRequest, nil)
		}
		return err
	}
	http.Redirect(w, r, where(nil), http.StatusSeeOther)
	return nil
}

// pageRefillResult shows a recorded refill: the accounting the service did.
func (s *Server) pageRefillResult(w http.ResponseWriter, r *http.Request, p *page) error {
	rf, err := pathRecord[clinic.Refill](s, r, "refill")
	if err != nil {
		return err
	}
	r.SetPathValue("id", strconv.FormatInt(rf.PatientID, 10))
	return s.refillPage(w, r, p, http.StatusOK, rf)
}

// formField reads one form field.
type formField struct {
	name string
	read func(v string) error
}

// readForm reads form fields in order, refusing the first that does not read
// with its name and the reader's own message (a quantity's says what it
// expected and which units are allowed).
func readForm(f url.Values, fields ...formField) error {
	for _, fd := range fields {
		if err := fd.read(strings.TrimSpace(f.Get(fd.name))); err != nil {
			return clinic.Errorf(clinic.EINVALID, fd.name, "%v", err)
		}
	}
	return nil
}

// quantity reads a value that reads itself from text (a unit quantity): a
// bare number typed in a field labelled with defaultUnit gets that unit.
func quantity(dst encoding.TextUnmarshaler, defaultUnit string) func(string) error {
	return func(v string) error {
		if defaultUnit != "" {
			v = withUnit(v, defaultUnit)
		}
		return dst.UnmarshalText([]byte(v))
	}
}

// optional reads a field only when something was typed in it.
func optional(read func(string) error) func(string) error {
	return func(v string) error {
		if v == "" {
			return nil
		}
		return read(v)
	}
}

// withUnit adds the unit to a bare number typed in a field labelled with it.
func withUnit(v, u string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return v
	}
	if _, err := strconv.ParseFloat(v, 64); err == nil {
		return v + " " + u
	}
	return v
}

// ---- administration ----

func (s *Server) pageUsers(w http.ResponseWriter, r *http.Request, p *page) error {
	us, err := s.Svc.Users(r.Context())
	if err != nil {
		return err
	}
	items, err := s.Svc.SecurityItems(r.Context(), false)
	if err != nil {
		return err
	}
	p.Title, p.Nav, p.Data = "Users and roles", "users", map[string]any{"Users": us, "Roles": clinic.Roles, "Security": items}
	s.render(w, http.StatusOK, "users", p)
	return nil
}

type libDrug struct {
	Name, Unit, Concs, Soft, Hard string
	// Gaps is what the library leaves empty for the drug (drug.Drug.Gaps):
	// said once here, not on every prescription.
	Gaps []string
}

func (s *Server) pageLibrary(w http.ResponseWriter, r *http.Request, p *page) error {
	if v := r.URL.Query().Get("published"); v != "" {
		p.Flash = v
	}
	return s.renderLibrary(w, r, p, http.StatusOK, nil)
}

// postLibrary publishes an uploaded library file (clinic.Service.PublishLibrary).
// A refused file shows the library page again with every problem (field path
// and reason) and the note kept.
func (s *Server) postLibrary(w http.ResponseWriter, r *http.Request, p *page) error {
	note := p.Form.Get("note")
	var data []byte
	if r.MultipartForm != nil {
		if fhs := r.MultipartForm.File["file"]; len(fhs) > 0 {
			f, err := fhs[0].Open()
			if err != nil {
				return clinic.Errorf(clinic.EINVALID, "file", "the file could not be read")
			}
			data, err = io.ReadAll(f)
			f.Close()
			if err != nil {
				return clinic.Errorf(clinic.EINVALID, "file", "the file could not be read")
			}
		}
	}
	var v *clinic.LibraryVersion
	where := func(result any) string {
		if lv, ok := result.(*clinic.LibraryVersion); ok {
			return "/library?published=" + url.QueryEscape(lv.Version)
		}
		return "/library"
	}
	d, err := s.oncePage(w, r, p, false, where, func(ctx context.Context) (err error) {
		v, err = s.Svc.PublishLibrary(ctx, data, note)
		return err
	})
	if d {
		return err
	}
	if err != nil {
		if !formErr(p, err) {
			return err
		}
		return s.renderLibrary(w, r, p, http.StatusBadRequest, clinic.ErrorProblems(err))
	}
	http.Redirect(w, r, "/library?published="+url.QueryEscape(v.Version), http.StatusSeeOther)
	return nil
}

func (s *Server) renderLibrary(w http.ResponseWriter, r *http.Request, p *page, code int, problems []clinic.Problem) error {
	st, err := s.Svc.LibraryVersions(r.Context())
	if err != nil {
		return err
	}
	lib := s.Svc.Library()
	if p.Flash != st.InForce.Version {
		p.Flash = "" // say "published" only of the version in force
	}
	var ds []libDrug
	for _, d := range lib.Drugs {
		ld := libDrug{Name: d.Name, Unit: d.DoseUnit.String(), Gaps: d.Gaps()}
		if d.Concentrations != nil {
			var cs []string
			for _, c := range d.Concentrations.List {
				cs = append(cs, c.Format(d.DoseUnit))
			}
			ld.Concs = strings.Join(cs, ", ")
		}
		ld.Soft, ld.Hard = limitText(d.DailyDose.SoftMax, d.DoseUnit), limitText(d.DailyDose.HardMax, d.DoseUnit)
		ds = append(ds, ld)
	}
	p.Title, p.Nav, p.Data = "Drug library", "library", map[string]any{"Version": lib.Version, "Digest": lib.Digest, "Drugs": ds,
		"BuiltIn": st.InForce.BuiltIn, "Versions": st.Versions, "Problems": problems}
	s.render(w, code, "library", p)
	return nil
}

func limitText(v *drug.Sourced[unit.DoseRate], u unit.MassUnit) string {
	if v == nil {
		return "—"
	}
	return v.Value.Format(u) + " (" + v.Source + ")"
}
