package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// docView is the patient's take-home document and emergency card.
type docView struct {
	*chart
	Opioid, Baclofen bool
	Recent           bool // implanted in the last 6 weeks
	Clinic           string
	Phone            string
}

// UIConfig is the clinic's settings for the pages.
type UIConfig struct {
	// ClinicName and ClinicPhone appear on patient documents and calendars.
	ClinicName, ClinicPhone string
}

// DefaultUIConfig is the demonstration clinic's.
var DefaultUIConfig = UIConfig{ClinicName: "Thecal Pain and Spasticity Clinic", ClinicPhone: "+44 20 7946 0000 (24 hours)"}

func (s *Server) pageDocument(w http.ResponseWriter, r *http.Request, p *page) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	v := &docView{chart: c, Clinic: s.UI.ClinicName, Phone: s.UI.ClinicPhone}
	if c.Rx != nil {
		if d, ok := s.Svc.Library().Lookup(c.Rx.Program.Drug); ok {
			v.Baclofen = d.Name == "baclofen"
			v.Opioid = d.Name == "morphine" || d.Name == "hydromorphone" || d.Name == "fentanyl" || d.Name == "sufentanil"
		}
	}
	if c.Implant != nil {
		v.Recent = s.Svc.Now().Sub(c.Implant.ImplantedAt) < 42*24*time.Hour
	}
	p.Title, p.Data, p.Printed = "Your drug pump — "+c.Rec.Patient.GivenName+" "+c.Rec.Patient.FamilyName, v, true
	s.render(w, http.StatusOK, "document", p)
	return nil
}

// getICS writes the patient's refill and follow-up appointments as an
// iCalendar file (RFC 5545).
func (s *Server) getICS(w http.ResponseWriter, r *http.Request, p *page) error {
	c, err := s.loadChart(r)
	if err != nil {
		return err
	}
	type appt struct {
		uid, summary, desc string
		at                 time.Time
	}
	var as []appt
	// The dates are the chart's and the worklist's (clinic.Dates). A date to
	// act on that has passed is today's event, "overdue: call the clinic".
	now := s.Svc.Now()
	d, im := c.Dates, c.Implant
	if w := d.Replacement; im != nil && w != nil && (w.AtERI || !w.From.After(now) || d.NextRefill != nil && d.NextRefill.AfterEOS) {
		a := appt{uid: fmt.Sprintf("replacement-%d@thecal", im.ID), summary: "Pump replacement: " + s.UI.ClinicName, at: w.By,
			desc: "The battery of your drug pump is near its end: the pump must be replaced before this day. The new pump is filled at the operation. Call " + s.UI.ClinicPhone + " if the clinic has not called you to plan it."}
		if w.Past {
			a.summary, a.at = "Pump replacement "+clinic.Overdue, now
			a.desc = "The replacement of your drug pump is " + clinic.Overdue + " on " + s.UI.ClinicPhone + " today."
		}
		as = append(as, a)
	}
	if f := d.NextRefill; im != nil && f != nil && !f.AfterEOS {
		a := appt{uid: fmt.Sprintf("refill-%d-%d@thecal", im.ID, refillID(c)), summary: "Pump refill at " + s.UI.ClinicName, at: f.Date,
			desc: "Your drug pump needs a refill on or before this day. Do not miss it: the pump must not run empty. Call " + s.UI.ClinicPhone + " to change the time."}
		if f.Past {
			a.summary, a.at = "Pump refill "+clinic.Overdue, now
			a.desc = "Your pump refill is " + clinic.Overdue + " on " + s.UI.ClinicPhone + " today: the pump must not run empty."
		}
		as = append(as, a)
	}
	for _, f := range c.Rec.FollowUps {
		if f.DoneAt == nil {
			as = append(as, appt{fmt.Sprintf("follow-up-%d@thecal", f.ID), strings.ReplaceAll(f.Type, "_", " ") + " at " + s.UI.ClinicName,
				"Follow-up visit for your drug pump. Call " + s.UI.ClinicPhone + " to change the time.", f.Due})
		}
	}
	var b strings.Builder
	line := func(s string) { b.WriteString(foldICS(s)) }
	line("BEGIN:VCALENDAR")
	line("VERSION:2.0")
	line("PRODID:-//Thecal//Clinic server//EN")
	line("CALSCALE:GREGORIAN")
	line("METHOD:PUBLISH")
	stamp := s.Svc.Now().UTC().Format("20060102T150405Z")
	for _, a := range as {
		d := a.at.UTC()
		line("BEGIN:VEVENT")
		line("UID:" + a.uid)
		line("DTSTAMP:" + stamp)
		line("DTSTART;VALUE=DATE:" + d.Format("20060102"))
		line("DTEND;VALUE=DATE:" + d.AddDate(0, 0, 1).Format("20060102"))
		line("SUMMARY:" + escapeICS(a.summary))
		line("DESCRIPTION:" + escapeICS(a.desc))
		line("BEGIN:VALARM")
		line("ACTION:DISPLAY")
		line("DESCRIPTION:" + escapeICS(a.summary))
		line("TRIGGER:-P2D")
		line("END:VALARM")
		line("END:VEVENT")
	}
	line("END:VCALENDAR")
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=\"thecal-appointments-%d.ics\"", c.Rec.Patient.ID))
	_, err = w.Write([]byte(b.String()))
	return err
}

// refillID is the newest refill's id (0 before the first): a new fill is a new
// refill appointment.
func refillID(c *chart) int64 {
	if c.Refill == nil {
		return 0
	}
	return c.Refill.ID
}

// escapeICS escapes a TEXT value (RFC 5545 §3.3.11).
func escapeICS(s string) string {
	return strings.NewReplacer("\\", "\\\\", ";", "\\;", ",", "\\,", "\n", "\\n", "\r", "").Replace(s)
}

// foldICS ends a content line with CRLF, folding it at 75 octets without
// splitting a UTF-8 sequence (RFC 5545 §3.1).
func foldICS(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		l := len(string(r))
		if n+l > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += l
	}
	b.WriteString("\r\n")
	return b.String()
}
