package web

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/programmer"
)

// The programming station (issue 12, item 5): from the chart, a nurse or a
// physician runs the programmer's visit (package programmer, the engine
// thecal program sync runs) against a pump the server reaches, as the
// clinic's programmer station — with the station's own credential, so that
// the pump's event log names the station and the clinic's audit the
// signed-in clinician. The review reads the pump and the order and writes
// nothing; the confirmation opens a new session, checks that neither the
// pump's program nor the order changed since the review, programs (or
// refills, bridges and programs), reads back and records, then redirects.

// SetStation gives the server its programming station (nil: none). Safe to
// call while serving.
func (s *Server) SetStation(st *programmer.Station) { s.station.Store(st) }

func (s *Server) stationRoutes() []uiRoute {
	return []uiRoute{
		{"GET /patients/{id}/station", clinic.ProgramPumps, s.pageStation},
		{"POST /patients/{id}/station", clinic.ProgramPumps, s.postStation},
		{"POST /reports/{id}/adopt", clinic.Prescribe, s.postAdopt},
	}
}

// stationView is the station page.
type stationView struct {
	*chart
	Reachable bool
	Action    string // program or refill
	Review    string // the visit's review, as the programmer prints it
	Order     *clinic.PumpOrder
	Changes   bool // the visit changes the pump
	Replaces  string
	Refused   string
}

// stationOpen opens a session of the station with the pump with the serial.
func (s *Server) stationOpen(ctx context.Context, serial string) (*programmer.Programmer, *bytes.Buffer, error) {
	st := s.station.Load()
	if st == nil {
		return nil, nil, clinic.Errorf(clinic.EUNAVAILABLE, "", "this server has no programming station")
	}
	sess, err := st.Open(ctx, serial)
	if err != nil {
		return nil, nil, clinic.Errorf(clinic.EUNAVAILABLE, "", "the station cannot reach pump %s: %s", serial, stationExplain(err))
	}
	out := &bytes.Buffer{}
	return &programmer.Programmer{S: sess, Lib: s.Svc.Library(), Out: out, Confirm: func(string) bool { return true }}, out, nil
}

// refillFields are the station's refill form's fields, carried from the
// review to the confirmation.
func refillFields() []string {
	return []string{"withdrawn", "drug", "concentration", "confirm_drug", "confirm_concentration", "label", "lot", "added", "reason", "confirm_change"}
}

func stationExplain(err error) string {
	if errors.Is(err, programmer.ErrUnreachable) {
		return err.Error()
	}
	return peer.Explain(err)
}

func (s *Server) pageStation(w http.ResponseWriter, r *http.Request, p *page) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	return s.stationPage(w, p, http.StatusOK, &stationView{chart: c})
}

func (s *Server) stationPage(w http.ResponseWriter, p *page, code int, v *stationView) error {
	if v.Implant != nil {
		if st := s.station.Load(); st != nil {
			_, v.Reachable = st.Pumps[v.Implant.Serial]
		}
	}
	p.Title, p.Data = "Programming station: "+v.Rec.Patient.FamilyName+", "+v.Rec.Patient.GivenName, v
	s.render(w, code, "station", p)
	return nil
}

// refillForm reads the station's refill fields.
func refillForm(f url.Values) (programmer.RefillVisit, error) {
	var rv programmer.RefillVisit
	rv.Lot = strings.TrimSpace(f.Get("lot"))
	rv.In.Drug = strings.TrimSpace(f.Get("drug"))
	rv.In.ConfirmDrug, rv.In.Label = strings.TrimSpace(f.Get("confirm_drug")), strings.TrimSpace(f.Get("label"))
	err := readForm(f,
		formField{"withdrawn", quantity(&rv.In.Withdrawn, "mL")},
		formField{"added", quantity(&rv.In.Added, "mL")},
		formField{"concentration", quantity(&rv.In.Concentration, "")},
		formField{"confirm_concentration", optional(quantity(&rv.In.ConfirmConcentration, ""))},
	)
	if err != nil {
		return rv, err
	}
	switch {
	case rv.In.Drug == "":
		return rv, clinic.Errorf(clinic.EINVALID, "drug", "the drug filled is required: read it from the vial")
	case rv.Lot == "":
		return rv, clinic.Errorf(clinic.EINVALID, "lot", "the drug lot number is required")
	}
	return rv, nil
}

// postStation runs a step of the station's visit: review (read only) or
// confirm (program or refill, read back, record, redirect).
func (s *Server) postStation(w http.ResponseWriter, r *http.Request, p *page) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	if c.Implant == nil {
		return clinic.Errorf(clinic.EINVALID, "", "the patient has no implanted pump")
	}
	f := p.Form
	v := &stationView{chart: c, Action: f.Get("action")}
	if v.Action != "program" && v.Action != "refill" {
		return clinic.Errorf(clinic.EINVALID, "action", "program or refill")
	}
	var rv programmer.RefillVisit
	if v.Action == "refill" {
		if rv, err = refillForm(f); err != nil {
			formErr(p, err)
			return s.stationPage(w, p, http.StatusBadRequest, v)
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Minute)
	defer cancel()
	pr, out, err := s.stationOpen(ctx, c.Implant.Serial)
	if err != nil {
		p.Err = clinic.ErrorMessage(err)
		return s.stationPage(w, p, http.StatusServiceUnavailable, v)
	}
	pr.Reason = strings.TrimSpace(f.Get("reason"))
	pr.ConfirmConcentrationChange = f.Get("confirm_change") != ""
	leave := false
	defer func() { pr.S.Close(leave) }()
	clock := func() time.Time { return s.Svc.Now() }
	rec := programmer.ServiceRecords{Svc: s.Svc}
	confirm := f.Get("step") == "confirm"
	var visit *programmer.Visit
	if confirm {
		// Nothing may have changed since the review the clinician confirmed.
		st := pr.S.Status()
		if hex.EncodeToString(st.RxHash[:]) != f.Get("replaces") {
			p.Err = "the pump's program changed since your review: review again"
			return s.stationPage(w, p, http.StatusConflict, v)
		}
		visit, err = pr.StartVisit(ctx, rec, clock)
	} else {
		visit, err = pr.ReviewVisit(ctx, rec, clock)
	}
	if err != nil {
		p.Err = clinic.ErrorMessage(err)
		if clinic.ErrorCode(err) == clinic.EINTERNAL {
			p.Err = stationExplain(err)
		}
		return s.stationPage(w, p, http.StatusBadGateway, v)
	}
	visit.Station = true
	v.Order = visit.Order
	if confirm && (visit.Order.Order == nil || strconv.FormatInt(visit.Order.Order.ID, 10) != f.Get("order_id")) {
		p.Err = "the order changed since your review: review again"
		return s.stationPage(w, p, http.StatusConflict, v)
	}
	if v.Action == "refill" {
		err = pr.PlanVisitRefill(ctx, visit, rv)
	} else {
		err = pr.PlanOrder(visit)
	}
	if err != nil {
		visit.Write(out)
		v.Review, v.Refused = out.String(), refusalText(err)
		return s.stationPage(w, p, http.StatusBadRequest, v)
	}
	if !confirm {
		if v.Action == "refill" {
			visit.WriteRefill(out, s.Svc.Library())
		} else {
			visit.Write(out)
		}
		st := pr.S.Status()
		v.Review, v.Changes, v.Replaces = out.String(), visit.Change != nil || v.Action == "refill", hex.EncodeToString(st.RxHash[:])
		p.Flash = "review"
		return s.stationPage(w, p, http.StatusOK, v)
	}
	// The form's key holds the session's record (the visit's last write): a
	// second press of the same confirmation is sent where the first went.
	var res *clinic.SessionResult
	var runErr error
	patientID := c.Rec.Patient.ID
	location := func(result any) string {
		r, _ := result.(*clinic.SessionResult)
		if r == nil {
			return doneURL(patientID, "programming session recorded")
		}
		return doneURL(patientID, fmt.Sprintf("session %d (%s): order %d is %s", r.Session.ID, strings.ReplaceAll(r.Session.Outcome, "_", " "), r.Report.Order, r.Report.State))
	}
	d, err := s.oncePage(w, r, p, false, location, func(keyed context.Context) error {
		visit.Records = keyedRecords{ServiceRecords: rec, keyed: keyed}
		if v.Action == "refill" {
			res, runErr = pr.RefillOrder(ctx, visit)
		} else {
			res, runErr = pr.ProgramOrder(ctx, visit)
		}
		if res == nil {
			return runErr
		}
		return nil
	})
	if d {
		return err
	}
	if err != nil {
		visit.Write(out)
		v.Review, v.Refused = out.String(), refusalText(err)
		return s.stationPage(w, p, http.StatusBadGateway, v)
	}
	loc := location(res)
	if runErr != nil {
		loc += "+" + url.QueryEscape("; "+refusalText(runErr))
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
	return nil
}

// keyedRecords is the service for a confirmed visit: the form's key (in
// keyed's context) is the session record's, and no other write's.
type keyedRecords struct {
	programmer.ServiceRecords
	keyed context.Context
}

func (k keyedRecords) RecordSession(ctx context.Context, up *clinic.SessionUpload) (*clinic.SessionResult, error) {
	return k.ServiceRecords.RecordSession(k.keyed, up)
}

func (k keyedRecords) RecordRefill(ctx context.Context, patientID int64, rf *clinic.Refill) (*clinic.Refill, error) {
	return k.ServiceRecords.RecordRefill(clinic.WithIdempotency(ctx, nil), patientID, rf)
}

func refusalText(err error) string {
	if e := clinic.ErrorMessage(err); e != "internal error" {
		return e
	}
	return strings.TrimPrefix(stationExplain(err), "programmer: ")
}

// postAdopt records the program a report shows the pump running as the
// patient's order.
func (s *Server) postAdopt(w http.ResponseWriter, r *http.Request, p *page) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rep, err := pathRecord[clinic.StoredReport](s, r, "report")
	if err != nil {
		return err
	}
	location := func(result any) string {
		if rx, ok := result.(*clinic.Prescription); ok {
			return doneURL(rx.PatientID, fmt.Sprintf("the pump's program recorded as order %d (%s)", rx.ID, rx.OrderState()))
		}
		return doneURL(rep.PatientID, "the pump's program recorded as the order")
	}
	var rx *clinic.Prescription
	d, err := s.oncePage(w, r, p, false, location, func(ctx context.Context) (err error) {
		rx, err = s.Svc.AdoptProgram(ctx, id, clinic.AdoptInput{Reason: p.Form.Get("reason"),
			ConfirmLargeChange: p.Form.Get("confirm_large_change") != "", ConfirmConcentrationChange: p.Form.Get("confirm_concentration_change") != ""})
		return err
	})
	if d {
		return err
	}
	if err != nil {
		return s.chartAgain(w, r, p, rep.PatientID, err)
	}
	http.Redirect(w, r, location(rx), http.StatusSeeOther)
	return nil
}

// orderText says an order's state, how it got there, for the chart.
func orderText(rx *clinic.Prescription) string {
	switch rx.OrderState() {
	case clinic.Verified:
		s := "verified"
		if rx.VerifiedAt != nil {
			s += " " + rx.VerifiedAt.UTC().Format("2 Jan 2006 15:04") + " UTC by the pump's home monitor"
		}
		if rx.ProgrammedAt != nil {
			s += fmt.Sprintf("; programmed %s by %s", rx.ProgrammedAt.UTC().Format("2 Jan 2006 15:04"), rx.ProgrammedBy)
		}
		if rx.FromReport != 0 {
			s += fmt.Sprintf("; recorded from the pump's program (report %d)", rx.FromReport)
		}
		return s
	case clinic.Programmed:
		return fmt.Sprintf("programmed %s UTC by %s; verified at the pump's next home-monitor report", rx.ProgrammedAt.UTC().Format("2 Jan 2006 15:04"), rx.ProgrammedBy)
	}
	if rx.State == "" {
		return "recorded before orders had states"
	}
	return "ordered: not programmed yet"
}
