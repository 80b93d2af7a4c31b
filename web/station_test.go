package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/demo"
)

// TestStationPages (plain HTTP): the programming station from the chart. The
// review reads the pump and the order and writes nothing; the confirmation
// programs, reads back and records, then redirects; the same confirmation
// sent again is sent where the first went and records nothing; a
// an administrator may not; a pump reprogrammed since the review is refused.
func TestStationPages(t *testing.T) {
	c, ts := demoServer(t)
	c.Clock.Run(1) // every reading at its own time (a report's key is its pump and time)
	sys := clinic.NewContext(context.Background(), clinic.System)
	pt := c.PatientByStage(demo.StageStable) // ziconotide 25 mcg/mL
	rec, err := c.Svc.PatientRecord(sys, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	old := rec.Prescriptions[len(rec.Prescriptions)-1]
	rx := clinictest.ContinuousRx("ziconotide", "25 mcg/mL", "5.2 mcg/day", "pain 5/10; a small increase within the titration rule")
	rx.Program.Max24h = old.Program.Max24h
	rx.Population = old.Population
	if err := c.Svc.Prescribe(sys, pt.ID, rx); err != nil {
		t.Fatal(err)
	}
	get, post := uiClient(t, c, clinic.Nurse)
	station := ts.URL + "/patients/" + itoa(pt.ID) + "/station"
	if code, body := get(ts.URL + "/patients/" + itoa(pt.ID)); code != 200 || !strings.Contains(body, `id="station-link"`) || !strings.Contains(body, "ordered: not programmed yet") {
		t.Fatalf("chart %d: no station link or order state", code)
	}
	sessions := func() int {
		r, err := c.Svc.PatientRecord(sys, pt.ID)
		if err != nil {
			t.Fatal(err)
		}
		return len(r.Sessions)
	}
	before := sessions()
	code, body := post(station, url.Values{"action": {"program"}, "step": {"review"}})
	if code != 200 || !strings.Contains(body, `id="review"`) || !strings.Contains(body, "current") || !strings.Contains(body, "ordered") || sessions() != before {
		t.Fatalf("review %d (sessions %d → %d):\n%s", code, before, sessions(), body)
	}
	replaces := regexp.MustCompile(`name="replaces" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	orderID := regexp.MustCompile(`name="order_id" value="(\d+)"`).FindStringSubmatch(body)
	if replaces == nil || orderID == nil || orderID[1] != itoa(rx.ID) {
		t.Fatalf("the confirmation form: %v %v", replaces, orderID)
	}
	confirm := url.Values{"action": {"program"}, "step": {"confirm"}, "replaces": {replaces[1]}, "order_id": {orderID[1]}, "form_key": {testFormKey()}}
	// A pump reprogrammed since the review: refused.
	stale := url.Values{"action": {"program"}, "step": {"confirm"}, "replaces": {strings.Repeat("0", 64)}, "order_id": {orderID[1]}}
	if code, body := post(station, stale); code != http.StatusConflict || !strings.Contains(body, "changed since your review") {
		t.Fatalf("a stale confirmation: %d", code)
	}
	code, body = post(station, confirm)
	if code != http.StatusSeeOther || !strings.Contains(body, "programmed") || sessions() != before+1 {
		t.Fatalf("confirmation %d: %s", code, body)
	}
	again := url.Values{}
	for k, v := range confirm {
		again[k] = v
	}
	if code2, body2 := post(station, again); code2 != http.StatusSeeOther || body2 != body || sessions() != before+1 {
		t.Fatalf("the confirmation sent again: %d %s (sessions %d)", code2, body2, sessions())
	}
	v, _ := c.Svc.Record(sys, rx.ID)
	if o := v.(*clinic.Prescription); o.OrderState() == clinic.Ordered || o.ProgrammedBy != "nurse.ode" {
		t.Fatalf("the order after the station: %+v", o.OrderStatus)
	}
	// An administrator may not use the station.
	_, adminPost := uiClient(t, c, clinic.Administrator)
	if code, _ := adminPost(station, url.Values{"action": {"program"}, "step": {"review"}}); code != http.StatusForbidden {
		t.Errorf("an administrator at the station: %d", code)
	}
}

// TestAccountProgrammerToken: a nurse makes her own programmer token on the
// account page; its secret is shown once and acts as her; the form sent
// again makes no second token.
func TestAccountProgrammerToken(t *testing.T) {
	c, ts := demoServer(t)
	_, post := uiClient(t, c, clinic.Nurse)
	form := url.Values{"token_name": {"my programmer"}, "form_key": {testFormKey()}}
	code, body := post(ts.URL+"/account/token", form)
	m := regexp.MustCompile(`id="token-secret">([^<]+)<`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("account token %d:\n%s", code, body)
	}
	p, err := c.Svc.AuthenticateToken(context.Background(), m[1])
	if err != nil || p.Name != "nurse.ode" || p.Role != clinic.Nurse {
		t.Fatalf("the token's principal %+v %v", p, err)
	}
	if code, body := post(ts.URL+"/account/token", form); code != http.StatusSeeOther || !strings.Contains(body, "/account?token=shown") {
		t.Fatalf("the form sent again: %d %s", code, body)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestStationRefill (plain HTTP): a refill through the station — reviewed
// with the clinic's accounting, confirmed, the pump refilled and the refill
// recorded from the same session.
func TestStationRefill(t *testing.T) {
	c, ts := demoServer(t)
	c.Clock.Run(1)
	sys := clinic.NewContext(context.Background(), clinic.System)
	pt := c.PatientByStage(demo.StageStable) // ziconotide 25 mcg/mL, 20 mL filled 21 days ago
	_, post := uiClient(t, c, clinic.Nurse)
	station := ts.URL + "/patients/" + itoa(pt.ID) + "/station"
	fill := url.Values{"action": {"refill"}, "step": {"review"}, "withdrawn": {"15.9 mL"}, "drug": {"ziconotide"},
		"concentration": {"25 mcg/mL"}, "confirm_drug": {"ziconotide"}, "confirm_concentration": {"25 mcg/mL"}, "lot": {"ZIC-25A"}, "added": {"20 mL"}}
	code, body := post(station, fill)
	if code != 200 || !strings.Contains(body, "Refill, as the clinic will record it") || !strings.Contains(body, "ZIC-25A") {
		t.Fatalf("refill review %d:\n%s", code, body)
	}
	replaces := regexp.MustCompile(`name="replaces" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	orderID := regexp.MustCompile(`name="order_id" value="(\d+)"`).FindStringSubmatch(body)
	if replaces == nil || orderID == nil || !strings.Contains(body, `name="lot" value="ZIC-25A"`) {
		t.Fatalf("the confirmation form does not carry the refill")
	}
	confirm := url.Values{"step": {"confirm"}, "replaces": {replaces[1]}, "order_id": {orderID[1]}}
	for k, v := range fill {
		if k != "step" {
			confirm[k] = v
		}
	}
	if code, body := post(station, confirm); code != http.StatusSeeOther || !strings.Contains(body, "refilled") {
		t.Fatalf("refill confirmation %d: %s", code, body)
	}
	rec, err := c.Svc.PatientRecord(sys, pt.ID)
	if err != nil {
		t.Fatal(err)
	}
	rf := rec.Refills[len(rec.Refills)-1]
	ps := rec.Sessions[0] // newest first
	if rf.Lot != "ZIC-25A" || rf.Added != 20*1000*1000 || ps.RefillID != rf.ID || ps.Outcome != "refilled" || !ps.Station {
		t.Fatalf("refill %+v; session %+v", rf, ps)
	}
}
