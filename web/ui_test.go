package web_test

import (
	"bufio"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/demo"
	"github.com/thecal/thecal/web"
)

// uiClient signs in through the service and sends the session cookie itself
// (Go's cookie jar keeps Secure cookies for HTTPS only).
func uiClient(t *testing.T, c *demo.Clinic, role clinic.Role) (get func(path string) (int, string), post func(path string, v url.Values) (int, string)) {
	t.Helper()
	l := c.Login(role)
	_, secret, sess, err := c.Svc.Login(context.Background(), clinic.Credentials{Username: l.Username, Password: l.Password})
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) (int, string) {
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: secret})
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if loc := resp.Header.Get("Location"); loc != "" && len(b) == 0 {
			// An answer to a POST redirects with no body: say where.
			return resp.StatusCode, `<a href="` + html.EscapeString(loc) + `">`
		}
		return resp.StatusCode, string(b)
	}
	return func(path string) (int, string) {
			req, _ := http.NewRequest("GET", path, nil)
			return do(req)
		}, func(path string, v url.Values) (int, string) {
			if v.Get("csrf_token") == "-" {
				v.Del("csrf_token")
			} else {
				v.Set("csrf_token", sess.CSRF)
			}
			// A form of the pages carries its key (a new one unless the test
			// resends one; "-" sends none).
			switch v.Get("form_key") {
			case "-":
				v.Del("form_key")
			case "":
				v.Set("form_key", testFormKey())
			}
			req, _ := http.NewRequest("POST", path, strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return do(req)
		}
}

// postFollow posts a form and follows its answer's redirect (POST-redirect-GET).
func postFollow(get func(string) (int, string), post func(string, url.Values) (int, string), path string, v url.Values) (int, string) {
	code, body := post(path, v)
	if code != http.StatusSeeOther {
		return code, body
	}
	loc := body[strings.Index(body, `href="`)+len(`href="`):]
	loc = html.UnescapeString(loc[:strings.Index(loc, `"`)])
	u, _ := url.Parse(path)
	return get(u.Scheme + "://" + u.Host + loc)
}

var formKeys atomic.Int64

// testFormKey is a fresh form key, as a page makes one for each form.
func testFormKey() string {
	return fmt.Sprintf("test-form-%d-%d", time.Now().UnixNano(), formKeys.Add(1))
}

// checkICS is a strict reading of an iCalendar file (RFC 5545): CRLF line
// ends, lines of at most 75 octets, balanced BEGIN/END, the required
// properties of the calendar and of each event, and well-formed dates.
func checkICS(t *testing.T, s string) (events int) {
	t.Helper()
	if !strings.HasSuffix(s, "\r\n") {
		t.Fatal("ics: does not end with CRLF")
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := strings.Index(string(data), "\r\n"); i >= 0 {
			return i + 2, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return 0, nil, fmt.Errorf("line without CRLF: %q", data)
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		l := sc.Text()
		if len(l) > 75 {
			t.Errorf("ics: line over 75 octets: %q", l)
		}
		if strings.ContainsAny(l, "\r\n") {
			t.Errorf("ics: bare CR or LF in %q", l)
		}
		if strings.HasPrefix(l, " ") { // unfold
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	var stack []string
	props := map[string]map[string]int{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("ics: no colon in %q", l)
		}
		base, _, _ := strings.Cut(name, ";")
		switch base {
		case "BEGIN":
			stack = append(stack, value)
			props[value] = map[string]int{}
			if value == "VEVENT" {
				events++
			}
			continue
		case "END":
			if len(stack) == 0 || stack[len(stack)-1] != value {
				t.Fatalf("ics: END:%s does not close %v", value, stack)
			}
			comp := props[value]
			req := map[string][]string{"VCALENDAR": {"VERSION", "PRODID"}, "VEVENT": {"UID", "DTSTAMP", "DTSTART"}, "VALARM": {"ACTION", "TRIGGER"}}[value]
			for _, r := range req {
				if comp[r] != 1 {
					t.Errorf("ics: %s has %d %s, want 1", value, comp[r], r)
				}
			}
			stack = stack[:len(stack)-1]
			continue
		}
		if len(stack) == 0 {
			t.Fatalf("ics: property outside a component: %q", l)
		}
		props[stack[len(stack)-1]][base]++
		switch {
		case name == "DTSTART;VALUE=DATE", name == "DTEND;VALUE=DATE":
			if _, err := time.Parse("20060102", value); err != nil {
				t.Errorf("ics: %s: %v", name, err)
			}
		case base == "DTSTAMP":
			if _, err := time.Parse("20060102T150405Z", value); err != nil {
				t.Errorf("ics: DTSTAMP: %v", err)
			}
		case base == "SUMMARY" || base == "DESCRIPTION":
			if strings.Contains(strings.ReplaceAll(value, `\,`, ""), ",") || strings.Contains(strings.ReplaceAll(value, `\;`, ""), ";") {
				t.Errorf("ics: unescaped , or ; in %s: %q", base, value)
			}
		}
	}
	if len(stack) != 0 || lines[0] != "BEGIN:VCALENDAR" {
		t.Errorf("ics: unbalanced components %v", stack)
	}
	return events
}

func TestAppointmentsICS(t *testing.T) {
	c, ts := demoServer(t)
	get, _ := uiClient(t, c, clinic.Nurse)
	p := c.PatientByStage(demo.StageStable)
	code, body := get(fmt.Sprintf("%s/patients/%d/appointments.ics", ts.URL, p.ID))
	if code != 200 {
		t.Fatalf("ics: %d %s", code, body)
	}
	// The stable patient has a refill due and a dose review to come.
	if n := checkICS(t, body); n != 2 {
		t.Errorf("ics: %d events, want 2 (refill and dose review)\n%s", n, body)
	}
}

func TestFormsKeepWhatWasTyped(t *testing.T) {
	c, ts := demoServer(t)
	get, post := uiClient(t, c, clinic.Nurse)
	p := c.PatientByStage(demo.StageStable)
	u := fmt.Sprintf("%s/patients/%d/refill", ts.URL, p.ID)
	code, body := post(u, url.Values{"withdrawn": {"5"}, "drug": {"ziconotide"}, "concentration": {"25 mcg/mL"}, "lot": {"LOT-KEEP-ME"}, "added": {"99"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `value="LOT-KEEP-ME"`) || !strings.Contains(body, "at most the TP-20 reservoir") {
		t.Errorf("a refused refill does not show the form again with what was typed: %d\n%.2000s", code, body)
	}
	// Without the CSRF field nothing is written.
	code, _ = post(u, url.Values{"csrf_token": {"-"}, "withdrawn": {"5"}, "drug": {"ziconotide"}, "concentration": {"25 mcg/mL"}, "lot": {"L"}, "added": {"20"}})
	if code != http.StatusForbidden {
		t.Errorf("a form without its CSRF token: %d, want 403", code)
	}
	// A read-only page for the nurse works; the prescription page does not.
	if code, _ := get(fmt.Sprintf("%s/patients/%d", ts.URL, p.ID)); code != 200 {
		t.Errorf("chart: %d", code)
	}
	if code, _ := get(fmt.Sprintf("%s/patients/%d/prescribe", ts.URL, p.ID)); code != http.StatusForbidden {
		t.Errorf("nurse on the prescription page: %d, want 403", code)
	}
}

func TestPagesRender(t *testing.T) {
	c, ts := demoServer(t)
	get, post := uiClient(t, c, clinic.Physician)
	for _, p := range c.Patients {
		for _, path := range []string{"/patients/%d", "/patients/%d/document", "/patients/%d/appointments.ics"} {
			if code, body := get(ts.URL + fmt.Sprintf(path, p.ID)); code != 200 {
				t.Errorf("%s of %s: %d %.300s", path, p.Stage, code, body)
			}
		}
	}
	for _, path := range []string{"/", "/library"} {
		if code, body := get(ts.URL + path); code != 200 {
			t.Errorf("%s: %d %.300s", path, code, body)
		}
	}
	// The trial: a pain score that is not a number is shown again; then the decision.
	tp := c.PatientByStage(demo.StageTrial)
	rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), tp.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr := rec.Trials[0]
	path := fmt.Sprintf("%s/trials/%d", ts.URL, tr.ID)
	code, body := post(path, url.Values{"version": {fmt.Sprint(tr.Version)}, "trial_pain": {"three"}, "trial_function": {"walks 400 m"}})
	if code != http.StatusBadRequest || !strings.Contains(body, `value="walks 400 m"`) {
		t.Errorf("refused trial form: %d %.500s", code, body)
	}
	code, _ = post(path, url.Values{"version": {fmt.Sprint(tr.Version)}, "trial_pain": {"3"}, "functional": {"improved"}, "decision": {"implant"}})
	if code != http.StatusSeeOther {
		t.Errorf("trial decision: %d", code)
	}
	if code, _ := post(fmt.Sprintf("%s/patients/%d/complication", ts.URL, tp.ID), url.Values{"comp_type": {"csf_leak"}, "comp_description": {"post-dural puncture headache"}}); code != http.StatusSeeOther {
		t.Errorf("complication: %d", code)
	}
	if code, _ := post(fmt.Sprintf("%s/patients/%d/side-effect", ts.URL, tp.ID), url.Values{"se_type": {"nausea"}, "se_severity": {"mild"}}); code != http.StatusSeeOther {
		t.Errorf("side effect: %d", code)
	}
	code, body = post(fmt.Sprintf("%s/patients/%d/implant", ts.URL, tp.ID), url.Values{"model": {"TP-40"}, "serial": {"TP40-NEW-1"}, "surgeon": {"Dr Stone"},
		"catheter_length": {"50"}, "tip_level": {"T10"}, "im_drug": {"morphine"}, "im_concentration": {"10 mg/mL"}, "initial_fill": {"40"}})
	if code != http.StatusSeeOther {
		t.Errorf("implant: %d %.800s", code, body)
	}
	_, body = get(fmt.Sprintf("%s/patients/%d", ts.URL, tp.ID))
	for _, w := range []string{"decision: implant", "csf leak", "nausea", "TP40-NEW-1"} {
		if !strings.Contains(body, w) {
			t.Errorf("chart lacks %q after the forms", w)
		}
	}
}

func TestReviewAndFollowUpForms(t *testing.T) {
	c, ts := demoServer(t)
	get, post := uiClient(t, c, clinic.Nurse)
	sys := clinic.NewContext(context.Background(), clinic.System)
	// A refill with a discrepancy, then its review.
	st := c.PatientByStage(demo.StageStable)
	code, body := postFollow(get, post, fmt.Sprintf("%s/patients/%d/refill", ts.URL, st.ID), url.Values{"withdrawn": {"8"}, "drug": {"ziconotide"},
		"concentration": {"25 mcg/mL"}, "confirm_drug": {"Prialt"}, "confirm_concentration": {"25 mcg/mL"}, "lot": {"Z1"}, "added": {"20"}})
	if code != 200 || !strings.Contains(body, `id="discrepancy-flag"`) {
		t.Fatalf("refill: %d %.500s", code, body)
	}
	rec, err := c.Svc.PatientRecord(sys, st.ID)
	if err != nil {
		t.Fatal(err)
	}
	rf := rec.Refills[len(rec.Refills)-1]
	if code, _ := post(fmt.Sprintf("%s/refills/%d/review", ts.URL, rf.ID), url.Values{"version": {fmt.Sprint(rf.Version)}}); code != http.StatusBadRequest {
		t.Errorf("a review without a note: %d, want 400", code)
	}
	if code, _ := post(fmt.Sprintf("%s/refills/%d/review", ts.URL, rf.ID), url.Values{"version": {fmt.Sprint(rf.Version)}, "note": {"pocket fill ruled out; residual measured again"}}); code != http.StatusSeeOther {
		t.Errorf("review: %d", code)
	}
	// The newly implanted patient's first wound check.
	pr := c.PatientByStage(demo.StagePriming)
	rec, err = c.Svc.PatientRecord(sys, pr.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := rec.FollowUps[0]
	if code, body := post(fmt.Sprintf("%s/follow-ups/%d/done", ts.URL, f.ID), url.Values{"version": {fmt.Sprint(f.Version)}, "notes": {"wound clean"}}); code != http.StatusSeeOther {
		t.Errorf("follow-up done: %d %.500s", code, body)
	}
	_, body = get(fmt.Sprintf("%s/patients/%d", ts.URL, pr.ID))
	if !strings.Contains(body, "wound clean") {
		t.Errorf("the chart does not show the follow-up done")
	}
	// The critical alarm, acknowledged, stays on the worklist, marked so,
	// while the pump still reports it.
	cr := c.PatientByStage(demo.StageCritical)
	rec, err = c.Svc.PatientRecord(sys, cr.ID)
	if err != nil || len(rec.Alarms) == 0 {
		t.Fatalf("no alarm for %s: %v", cr.Name, err)
	}
	a := rec.Alarms[0]
	if code, body := post(fmt.Sprintf("%s/alarms/%d/ack", ts.URL, a.ID), url.Values{"version": {fmt.Sprint(a.Version)}, "note": {"catheter checked; neurosurgery called"}}); code != http.StatusSeeOther {
		t.Errorf("ack: %d %.300s", code, body)
	}
	_, body = get(ts.URL + "/")
	if !strings.Contains(body, "critical alarm OCCLUSION") || !strings.Contains(body, "acknowledged by nurse.ode") {
		t.Errorf("the acknowledged, still active alarm is not on the worklist marked acknowledged")
	}
	// A refill at another concentration without a physician's order is
	// refused; with the order, confirmed, it records the change and the bridge.
	form := url.Values{"withdrawn": {"2"}, "drug": {"baclofen"}, "concentration": {"500 mcg/mL"},
		"confirm_drug": {"baclofen"}, "confirm_concentration": {"500 mcg/mL"}, "lot": {"B5"}, "added": {"20"}}
	code, body = post(fmt.Sprintf("%s/patients/%d/refill", ts.URL, cr.ID), form)
	if code != http.StatusBadRequest || !strings.Contains(body, "no physician&#39;s order for baclofen 500 mcg/mL") {
		t.Errorf("refill at a new concentration, no order: %d\n%.3000s", code, body)
	}
	order := &clinic.Prescription{Program: rec.Prescriptions[len(rec.Prescriptions)-1].Program, DosePerDay: rec.Prescriptions[len(rec.Prescriptions)-1].DosePerDay,
		Reason: "dilute to 500 mcg/mL for finer steps", ConfirmConcentrationChange: true}
	order.Program.Concentration, order.Program.Rate = order.Program.Concentration/4, 0
	if err := c.Svc.Prescribe(sys, cr.ID, order); err != nil {
		t.Fatal(err)
	}
	if code, body = post(fmt.Sprintf("%s/patients/%d/refill", ts.URL, cr.ID), form); code != http.StatusBadRequest || !strings.Contains(body, "confirm it explicitly") {
		t.Errorf("the ordered change, not confirmed: %d\n%.3000s", code, body)
	}
	form.Set("confirm_concentration_change", "yes")
	code, body = postFollow(get, post, fmt.Sprintf("%s/patients/%d/refill", ts.URL, cr.ID), form)
	if code != 200 || !strings.Contains(body, `id="bridge"`) || !strings.Contains(body, "the old baclofen in tubing and catheter") ||
		!strings.Contains(body, "Patient boluses are locked out during the bridge") {
		t.Errorf("refill at the ordered concentration: %d\n%.3000s", code, body)
	}
}
