package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/demo"
	"github.com/thecal/thecal/pump"
)

// written counts the audit entries of changes (not of reads: a page audits
// the record it shows) and the patient's prescriptions: what a refused
// request must leave as it was.
func written(t *testing.T, svc *clinic.Service, patientID int64) (changes, prescriptions int) {
	t.Helper()
	sys := clinic.NewContext(context.Background(), clinic.System)
	es, err := svc.Audit(sys, 0, 1000)
	if err != nil || len(es) == 1000 {
		t.Fatalf("audit: %d entries, %v: more than one page", len(es), err)
	}
	for _, e := range es {
		if e.Action != "patient.read" {
			changes++
		}
	}
	rec, err := svc.PatientRecord(sys, patientID)
	if err != nil {
		t.Fatal(err)
	}
	return changes, len(rec.Prescriptions)
}

// TestAPILargeChangeNeedsConfirmation: through the API, a change of the
// daily dose beyond the drug's threshold is refused without
// confirm_large_change (400 on that field, nothing written) and recorded
// with it; a flex program is taken, stored and given back in the JSON form
// docs/openapi.yaml describes.
func TestAPILargeChangeNeedsConfirmation(t *testing.T) {
	e := newEnv(t, nil)
	// The clock stands two days back for the first prescription: the
	// label's baclofen increases come at least 24 h apart.
	ck := &clock{t: time.Now().UTC().Add(-74 * time.Hour)}
	e.svc.Now = ck.Now
	nurse, doc := e.clients["nurse"], e.clients["physician"]
	_, p := nurse.do("POST", "/api/v1/patients", patientJSON("M1"))
	pid := int64(p["id"].(float64))
	if code, out := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", pid), map[string]any{"model": "TP-20", "serial": "S1",
		"implanted_at": ck.Now().Add(-time.Hour).Format(time.RFC3339), "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"}); code != 201 {
		t.Fatalf("implant: %d %v", code, out)
	}
	path := fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid)
	rx := func(dose string, confirm bool) string {
		return fmt.Sprintf(`{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},`+
			`"dose_per_day":%q,"reason":"spasticity, spinal origin","confirm_large_change":%v}`, dose, confirm)
	}
	if code, out := doc.do("POST", path, rx("200 mcg/day", false)); code != 201 {
		t.Fatalf("first prescription: %d %v", code, out)
	}
	ck.Add(49 * time.Hour)
	audit0, rxs0 := written(t, e.svc, pid)
	// The review says it all before anything is written.
	code, rev := doc.do("POST", path+"/review", rx("500 mcg/day", false))
	if code != 200 {
		t.Fatalf("review: %d %v", code, rev)
	}
	ch := rev["change"].(map[string]any)
	if ch["large"] != true || ch["percent"] != "150%" || ch["threshold"] != "50%" || ch["old"] != "200 mcg/day" ||
		rev["current"].(map[string]any)["dose_per_day"] != "200 mcg/day" || rev["proposed"].(map[string]any)["program"].(map[string]any)["rate"] != "0.25 mL/day" ||
		rev["needs_reason"] != true || rev["refused"] != nil || rev["most_per_day"] != "500 mcg/day" {
		t.Fatalf("review: %v", rev)
	}
	// What the pump refuses, and a hard limit, refuse at review: 400 on the field.
	code, rev = doc.do("POST", path+"/review", `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"0.1 mL"},"dose_per_day":"500 mcg/day"}`)
	if c, f := errField(rev); code != 400 || c != "invalid" || f != "program.max_24h" {
		t.Fatalf("review of a program the pump refuses: %d %v", code, rev)
	}
	if code, out := e.clients["nurse"].do("POST", path+"/review", rx("500 mcg/day", false)); code != 403 {
		t.Fatalf("a nurse reviews a prescription: %d %v", code, out)
	}
	if a, n := written(t, e.svc, pid); a != audit0 || n != rxs0 {
		t.Fatalf("a review wrote: audit %d → %d, prescriptions %d → %d", audit0, a, rxs0, n)
	}
	code, out := doc.do("POST", path, rx("500 mcg/day", false))
	if c, f := errField(out); code != 400 || c != "invalid" || f != "confirm_large_change" {
		t.Fatalf("+150%% without the confirmation: %d %v", code, out)
	}
	if msg := out["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "200 mcg/day → 500 mcg/day (+150%)") {
		t.Errorf("message %q does not give the change", msg)
	}
	if a, n := written(t, e.svc, pid); a != audit0 || n != rxs0 {
		t.Fatalf("the refused change wrote: audit %d → %d, prescriptions %d → %d", audit0, a, rxs0, n)
	}
	code, out = doc.do("POST", path, rx("500 mcg/day", true))
	if code != 201 || out["confirm_large_change"] != true {
		t.Fatalf("+150%% confirmed: %d %v", code, out)
	}
	findings, _ := out["findings"].([]any)
	found := false
	for _, f := range findings {
		found = found || f.(map[string]any)["kind"] == clinic.KindLargeChange
	}
	if !found {
		t.Errorf("no large_change finding recorded: %v", findings)
	}

	// A weekly flex program with a patient bolus, in the API's JSON form.
	flex := `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"flex","weekly":true,` +
		`"flex":[{"at":"07:00","rate":"0.3 mL/day","days":["mon","tue","wed","thu","fri"]},{"at":"07:00","rate":"0.25 mL/day","days":["sun","sat"]},{"at":"21:30","rate":"0.2 mL/day"}],` +
		`"patient_bolus":{"volume":"0.01 mL","duration":"10m","lockout":"6h","max_per_24h":3},"max_24h":"0.4 mL","low_reservoir":"2.5 mL"},` +
		`"reason":"more at day, less at night"}`
	code, out = doc.do("POST", path, flex)
	if c, f := errField(out); code != 400 || c != "invalid" || f != "program.flex[2].days" {
		t.Fatalf("a weekly step without days: %d %v", code, out)
	}
	flex = strings.Replace(flex, `"rate":"0.2 mL/day"}`, `"rate":"0.2 mL/day","days":["sun","mon","tue","wed","thu","fri","sat"]}`, 1)
	ck.Add(25 * time.Hour)
	code, out = doc.do("POST", path, flex)
	if code != 201 {
		t.Fatalf("flex program: %d %v", code, out)
	}
	id := int64(out["id"].(float64))
	code, got := doc.do("GET", fmt.Sprintf("/api/v1/records/%d", id), nil)
	if code != 200 {
		t.Fatalf("read back: %d %v", code, got)
	}
	prog := got["program"].(map[string]any)
	steps := prog["flex"].([]any)
	if prog["mode"] != "flex" || prog["weekly"] != true || len(steps) != 3 || prog["low_reservoir"] != "2.5 mL" ||
		prog["patient_bolus"].(map[string]any)["lockout"] != "6h" || got["dose_per_day"] != "520.832 mcg/day" {
		t.Fatalf("flex program read back: %v", got)
	}
	if s := steps[2].(map[string]any); s["at"] != "21:30" || s["rate"] != "0.2 mL/day" || len(s["days"].([]any)) != 7 {
		t.Errorf("step 3 read back: %v", s)
	}
}

// TestPageLargeChangeNeedsConfirmation: on the prescription page, the review
// shows the change and asks for the second confirmation; a confirmation
// posted without it is refused by the service (nothing written), and with
// it the prescription is recorded.
func TestPageLargeChangeNeedsConfirmation(t *testing.T) {
	c, ts := demoServer(t)
	get, post := uiClient(t, c, clinic.Physician)
	p := c.PatientByStage(demo.StageCritical) // baclofen 400 mcg/day
	u := fmt.Sprintf("%s/patients/%d/prescribe", ts.URL, p.ID)
	if code, body := get(u); code != 200 || !strings.Contains(body, `value="400 mcg/day"`) || !strings.Contains(body, `name="program.flex[0].at"`) {
		t.Fatalf("prescription page: %d %.1000s", code, body)
	}
	form := url.Values{"program.mode": {"continuous"}, "program.concentration": {"2000 mcg/mL"}, "dose_per_day": {"800 mcg/day"},
		"program.max_24h": {"1 mL"}, "reason": {"spasms worse after the infection"}}
	code, body := post(u, form)
	if code != 200 || !strings.Contains(body, `id="confirm_large"`) || !strings.Contains(body, "400 mcg/day → 800 mcg/day (&#43;100%)") {
		t.Fatalf("review of a doubled dose: %d %.3000s", code, body)
	}
	audit0, rxs0 := written(t, c.Svc, p.ID)
	form.Set("step", "confirm")
	code, body = post(u, form)
	if code != http.StatusBadRequest || !strings.Contains(body, "a second, explicit confirmation is required") || !strings.Contains(body, `id="confirm_large"`) {
		t.Fatalf("confirmed without the second confirmation: %d %.3000s", code, body)
	}
	if a, n := written(t, c.Svc, p.ID); a != audit0 || n != rxs0 {
		t.Fatalf("the refused page wrote: audit %d → %d, prescriptions %d → %d", audit0, a, rxs0, n)
	}
	form.Set("confirm_large_change", "yes")
	if code, body = post(u, form); code != http.StatusSeeOther {
		t.Fatalf("with the second confirmation: %d %.2000s", code, body)
	}
	if _, n := written(t, c.Svc, p.ID); n != rxs0+1 {
		t.Fatalf("the confirmed change was not recorded")
	}
}

// TestPageFlexProgram: the step editor records a weekly flex program; the
// pump's refusal names the step's field and keeps what was typed.
func TestPageFlexProgram(t *testing.T) {
	c, ts := demoServer(t)
	_, post := uiClient(t, c, clinic.Physician)
	p := c.PatientByStage(demo.StageCritical) // baclofen 400 mcg/day = 0.2 mL/day
	u := fmt.Sprintf("%s/patients/%d/prescribe", ts.URL, p.ID)
	form := url.Values{"program.mode": {"flex"}, "program.concentration": {"2000 mcg/mL"}, "program.max_24h": {"1 mL"},
		"program.weekly": {"yes"}, "reason": {"more by day"},
		// Rows 1 and 3 filled, row 2 left empty: the steps move up.
		"program.flex[0].at": {"07:00"}, "program.flex[0].rate": {"0.22"}, "program.flex[0].days": {"mon", "tue", "wed", "thu", "fri", "sat", "sun"},
		"program.flex[2].at": {"07:00"}, "program.flex[2].rate": {"0.18 mL/day"}, "program.flex[2].days": {"sat"}}
	code, body := post(u, form)
	if code != http.StatusBadRequest || !strings.Contains(body, "(program.flex[1].at): starts at the same time as flex[0] on the same day") ||
		!strings.Contains(body, `id="refused-at-review"`) || strings.Contains(body, `id="rx-confirm"`) ||
		!strings.Contains(body, `name="program.flex[1].rate" size="12" placeholder="0.5 mL/day" aria-label="step 2 rate" value="0.18 mL/day"`) {
		t.Fatalf("two steps at 07:00 on Saturday, reviewed: %d %.3000s", code, body)
	}
	// Confirmed as it is, the service refuses it; nothing is written.
	audit0, rxs0 := written(t, c.Svc, p.ID)
	form.Set("step", "confirm")
	if code, body = post(u, form); code != http.StatusBadRequest || !strings.Contains(body, "starts at the same time") {
		t.Fatalf("two steps at 07:00 on Saturday, confirmed: %d %.3000s", code, body)
	}
	if a, n := written(t, c.Svc, p.ID); a != audit0 || n != rxs0 {
		t.Fatalf("the refused program was written")
	}
	form.Del("step")
	form.Del("program.flex[2].at")
	form.Set("program.flex[2].at", "21:00")
	code, body = post(u, form)
	if code != 200 || !strings.Contains(body, "from 21:00 sat 0.18 mL/day (360 mcg/day)") {
		t.Fatalf("review of the flex program: %d %.3000s", code, body)
	}
	form.Set("step", "confirm")
	if code, body = post(u, form); code != http.StatusSeeOther {
		t.Fatalf("record the flex program: %d %.3000s", code, body)
	}
	rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	rx := rec.Prescriptions[len(rec.Prescriptions)-1].Program
	if rx.Mode != pump.ModeFlex || !rx.Weekly || rx.FlexSteps != 2 || rx.Flex[1].Days != 1<<6 || rx.Flex[1].At != 21*60*60*1000 {
		t.Fatalf("recorded program: %+v", rx)
	}
}
