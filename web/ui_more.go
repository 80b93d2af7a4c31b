package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// The chart's smaller forms: the trial decision, the implant record,
// complications and side effects; and the administrator's new user.

func (s *Server) moreRoutes() []uiRoute {
	return []uiRoute{
		{"POST /trials/{id}", clinic.WriteTrials, s.postTrial},
		{"POST /patients/{id}/implant", clinic.WriteImplants, s.postImplant},
		{"POST /patients/{id}/complication", clinic.WriteCare, s.postComplication},
		{"POST /patients/{id}/side-effect", clinic.WriteCare, s.postSideEffect},
		{"POST /users", clinic.ManageUsers, s.postUser},
		{"POST /refills/{id}/review", clinic.WriteCare, s.postReview},
		{"POST /follow-ups/{id}/done", clinic.WriteCare, s.postFollowUpDone},
	}
}

// chartAgain shows the chart with the form's error next to its field.
func (s *Server) chartAgain(w http.ResponseWriter, r *http.Request, p *page, patientID int64, err error) error {
	if !formErr(p, err) {
		return err
	}
	r.SetPathValue("id", strconv.FormatInt(patientID, 10))
	c, err2 := s.loadChart(r)
	if err2 != nil {
		return err2
	}
	p.Title, p.Data = c.Rec.Patient.FamilyName+", "+c.Rec.Patient.GivenName, c
	s.render(w, http.StatusBadRequest, "chart", p)
	return nil
}

func done(w http.ResponseWriter, r *http.Request, patientID int64, what string) {
	http.Redirect(w, r, doneURL(patientID, what), http.StatusSeeOther)
}

// pathRecord loads the record the path's id names as a T: not found when
// it is another kind of record.
func pathRecord[T any](s *Server, r *http.Request, what string) (*T, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rec, err := s.Svc.Record(r.Context(), id)
	if err != nil {
		return nil, err
	}
	v, ok := rec.(*T)
	if !ok {
		return nil, clinic.Errorf(clinic.ENOTFOUND, "id", "no %s %d", what, id)
	}
	return v, nil
}

// doneURL is the chart saying what was done.
func doneURL(patientID int64, what string) string {
	return fmt.Sprintf("/patients/%d?done=%s", patientID, strings.ReplaceAll(what, " ", "+"))
}

// keyedTo runs a chart form's write under its key (oncePage), its answer the
// chart saying what was done.
func (s *Server) keyedTo(w http.ResponseWriter, r *http.Request, p *page, patientID int64, what string, write func(ctx context.Context) error) (bool, error) {
	loc := doneURL(patientID, what)
	return s.oncePage(w, r, p, false, func(any) string { return loc }, write)
}

func parseScore(field, v string) (*clinic.Score, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	var sc clinic.Score
	if err := json.Unmarshal([]byte(v), &sc); err != nil {
		return nil, clinic.Errorf(clinic.EINVALID, field, "a number from 0 to 10, e.g. 6.5")
	}
	return &sc, nil
}

func parseDate(field, v string, def time.Time) (time.Time, error) {
	if strings.TrimSpace(v) == "" {
		return def, nil
	}
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, clinic.Errorf(clinic.EINVALID, field, "write the date as YYYY-MM-DD")
	}
	return t, nil
}

func (s *Server) postTrial(w http.ResponseWriter, r *http.Request, p *page) error {
	old, err := pathRecord[clinic.Trial](s, r, "trial")
	if err != nil {
		return err
	}
	id := old.ID
	t := *old
	f := p.Form
	if t.BaselinePain == nil {
		if t.BaselinePain, err = parseScore("baseline_pain", f.Get("baseline_pain")); err != nil {
			return s.chartAgain(w, r, p, old.PatientID, err)
		}
	}
	if t.TrialPain, err = parseScore("trial_pain", f.Get("trial_pain")); err != nil {
		return s.chartAgain(w, r, p, old.PatientID, err)
	}
	t.TrialFunction, t.Functional = f.Get("trial_function"), f.Get("functional")
	t.Decision, t.DecisionNote = f.Get("decision"), f.Get("decision_note")
	t.Version, _ = strconv.ParseInt(f.Get("version"), 10, 64)
	if d, err := s.keyedTo(w, r, p, old.PatientID, "trial updated", func(ctx context.Context) error {
		_, err := s.Svc.UpdateTrial(ctx, id, &t)
		return err
	}); d {
		return err
	} else if err != nil {
		return s.chartAgain(w, r, p, old.PatientID, err)
	}
	done(w, r, old.PatientID, "trial updated")
	return nil
}

func (s *Server) postImplant(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := p.Form
	im := &clinic.Implant{Serial: f.Get("serial"), Surgeon: f.Get("surgeon"), TipLevel: f.Get("tip_level"),
		Site: f.Get("site"), Drug: f.Get("im_drug")}
	if im.ImplantedAt, err = parseDate("implanted_at", f.Get("implanted_at"), s.Svc.Now()); err != nil {
		return s.chartAgain(w, r, p, id, err)
	}
	if err := readForm(f,
		formField{"model", quantity(&im.Model, "")},
		formField{"catheter_length", quantity(&im.CatheterLength, "cm")},
		formField{"im_concentration", quantity(&im.Concentration, "")},
		formField{"initial_fill", quantity(&im.InitialFill, "mL")},
	); err != nil {
		return s.chartAgain(w, r, p, id, err)
	}
	if d, err := s.keyedTo(w, r, p, id, "implant recorded", func(ctx context.Context) error { return s.Svc.CreateImplant(ctx, id, im) }); d {
		return err
	} else if err != nil {
		// The chart has several forms: the implant's drug fields are im_….
		var e *clinic.Error
		if errors.As(err, &e) && (e.Field == "drug" || e.Field == "concentration") {
			e.Field = "im_" + e.Field
		}
		return s.chartAgain(w, r, p, id, err)
	}
	done(w, r, id, "implant recorded")
	return nil
}

func (s *Server) postComplication(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := p.Form
	c := &clinic.Complication{Type: f.Get("comp_type"), Description: f.Get("comp_description")}
	if c.Onset, err = parseDate("comp_onset", f.Get("comp_onset"), s.Svc.Now()); err != nil {
		return s.chartAgain(w, r, p, id, err)
	}
	if d, err := s.keyedTo(w, r, p, id, "complication recorded", func(ctx context.Context) error { return s.Svc.RecordComplication(ctx, id, c) }); d {
		return err
	} else if err != nil {
		var e *clinic.Error
		if errors.As(err, &e) && e.Field != "" {
			e.Field = "comp_" + e.Field
		}
		return s.chartAgain(w, r, p, id, err)
	}
	done(w, r, id, "complication recorded")
	return nil
}

func (s *Server) postSideEffect(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	f := p.Form
	e := &clinic.SideEffect{Type: f.Get("se_type"), Severity: f.Get("se_severity"), Notes: f.Get("se_notes"), ReportedAt: s.Svc.Now()}
	if d, err := s.keyedTo(w, r, p, id, "side effect recorded", func(ctx context.Context) error { return s.Svc.RecordSideEffect(ctx, id, e) }); d {
		return err
	} else if err != nil {
		var ce *clinic.Error
		if errors.As(err, &ce) && ce.Field != "" {
			ce.Field = "se_" + ce.Field
		}
		return s.chartAgain(w, r, p, id, err)
	}
	done(w, r, id, "side effect recorded")
	return nil
}

func (s *Server) postUser(w http.ResponseWriter, r *http.Request, p *page) error {
	f := p.Form
	name, role, pw := f.Get("name"), clinic.Role(f.Get("role")), f.Get("password")
	d, err := s.oncePage(w, r, p, true, func(any) string { return "/users" }, func(ctx context.Context) error {
		_, err := s.Svc.CreateUser(ctx, clinic.UserInput{Username: strings.TrimSpace(f.Get("username")), Name: &name, Role: &role, Password: &pw})
		return err
	})
	if d {
		return err
	}
	if err != nil {
		if !formErr(p, err) {
			return err
		}
		p.Form.Del("password")
		us, err2 := s.Svc.Users(r.Context())
		if err2 != nil {
			return err2
		}
		p.Title, p.Nav, p.Data = "Users and roles", "users", map[string]any{"Users": us, "Roles": clinic.Roles}
		s.render(w, http.StatusBadRequest, "users", p)
		return nil
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
	return nil
}

// Lists for the chart's selects.
var (
	complicationTypes = clinic.ComplicationTypes
	sideEffectTypes   = clinic.SideEffectTypes
)

func (s *Server) postReview(w http.ResponseWriter, r *http.Request, p *page) error {
	rf, err := pathRecord[clinic.Refill](s, r, "refill")
	if err != nil {
		return err
	}
	id := rf.ID
	v, _ := strconv.ParseInt(p.Form.Get("version"), 10, 64)
	if d, err := s.keyedTo(w, r, p, rf.PatientID, "refill flag reviewed", func(ctx context.Context) error {
		_, err := s.Svc.ReviewRefill(ctx, id, clinic.ReviewInput{Note: p.Form.Get("note"), Version: v})
		return err
	}); d {
		return err
	} else if err != nil {
		return s.chartAgain(w, r, p, rf.PatientID, err)
	}
	done(w, r, rf.PatientID, "refill flag reviewed")
	return nil
}

func (s *Server) postFollowUpDone(w http.ResponseWriter, r *http.Request, p *page) error {
	f, err := pathRecord[clinic.FollowUp](s, r, "follow-up")
	if err != nil {
		return err
	}
	id := f.ID
	in := clinic.FollowUpDone{Notes: p.Form.Get("notes")}
	in.Version, _ = strconv.ParseInt(p.Form.Get("version"), 10, 64)
	if in.PainScore, err = parseScore("pain_score", p.Form.Get("pain_score")); err != nil {
		return s.chartAgain(w, r, p, f.PatientID, err)
	}
	if d, err := s.keyedTo(w, r, p, f.PatientID, "follow-up done", func(ctx context.Context) error {
		_, err := s.Svc.CompleteFollowUp(ctx, id, in)
		return err
	}); d {
		return err
	} else if err != nil {
		return s.chartAgain(w, r, p, f.PatientID, err)
	}
	done(w, r, f.PatientID, "follow-up done")
	return nil
}
