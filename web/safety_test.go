package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/unit"
	"github.com/thecal/thecal/web"
)

// The safety matrix of issue 11: every clinical rule × every clinic path
// (the JSON API and the pages; the programmer's path is in package
// programmer, TestSafetyMatrix). Each row sets a patient up through the
// service, then asks each path for what the rule must refuse, and checks the
// refusal (status, field, the rule's words) and that nothing was written:
// the audit trail's changes and the patient's records are as they were. A
// refused request writes nothing, so the API and the page ask the same
// patient in turn.

// safetyEnv is a clinic whose clock the set-up moves through the past; the
// requests are made at base, the wall clock when the sign-ins were made.
type safetyEnv struct {
	*env
	t    *testing.T
	ck   *clock
	base time.Time
	sys  context.Context
	page func(path string, v url.Values) (int, string)
}

func newSafetyEnv(t *testing.T) *safetyEnv {
	e := newEnv(t, nil)
	base := time.Now().UTC().Truncate(time.Millisecond)
	s := &safetyEnv{env: e, t: t, ck: &clock{t: base.Add(-60 * 24 * time.Hour)}, base: base,
		sys: clinic.NewContext(context.Background(), clinic.System)}
	e.svc.Now = s.ck.Now
	// A page session for the physician (who may also record refills),
	// signed in at base, when the requests are made.
	s.at(0)
	_, secret, sess, err := e.svc.Login(context.Background(), clinic.Credentials{Username: "u-physician", Password: "a long enough password"})
	if err != nil {
		t.Fatal(err)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	s.page = func(path string, v url.Values) (int, string) {
		v.Set("csrf_token", sess.CSRF)
		if v.Get("form_key") == "" {
			v.Set("form_key", testFormKey()) // every page form carries its key
		}
		req, _ := http.NewRequest("POST", e.srv.URL+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: web.SessionCookie, Value: secret})
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	return s
}

// at sets the clock to base + d (d ≤ 0 in the set-up).
func (s *safetyEnv) at(d time.Duration) { s.ck.mu.Lock(); s.ck.t = s.base.Add(d); s.ck.mu.Unlock() }

func days(n float64) time.Duration { return time.Duration(n * 24 * float64(time.Hour)) }

func (s *safetyEnv) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

func (s *safetyEnv) patient(mrn, indication string) int64 {
	s.t.Helper()
	p := &clinic.Patient{MRN: mrn, FamilyName: "Matrix", GivenName: mrn, BirthDate: clinic.Date{Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
		Sex: "female", Indication: indication}
	s.must(s.svc.CreatePatient(s.sys, p))
	return p.ID
}

func (s *safetyEnv) implant(pid int64, drugName, conc, fill string) {
	s.t.Helper()
	im := &clinic.Implant{Model: pump.TP20, Serial: fmt.Sprintf("MX-%d", pid), ImplantedAt: s.ck.Now().Add(-time.Hour), Surgeon: "Dr Stone",
		CatheterLength: parseQ[unit.Length](s.t, "50 cm"), TipLevel: "T10", Drug: drugName, Concentration: parseQ[unit.Concentration](s.t, conc),
		InitialFill: parseQ[unit.Volume](s.t, fill)}
	s.must(s.svc.CreateImplant(s.sys, pid, im))
}

// rx records a continuous prescription through the service.
func (s *safetyEnv) rx(pid int64, drugName, conc, dose, population string, edit func(*clinic.Prescription)) {
	s.t.Helper()
	rx := &clinic.Prescription{Program: pump.Prescription{Drug: drugName, Concentration: parseQ[unit.Concentration](s.t, conc), Mode: pump.ModeContinuous,
		Max24h: parseQ[unit.Volume](s.t, "5 mL")}, DosePerDay: parseQ[unit.DoseRate](s.t, dose), Population: population,
		Reason: "set-up of the safety matrix", ConfirmLargeChange: true}
	if edit != nil {
		edit(rx)
	}
	s.must(s.svc.Prescribe(s.sys, pid, rx))
}

func parseQ[T any, P interface {
	*T
	UnmarshalText([]byte) error
}](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := P(&v).UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return v
}

// state is what a refused request must leave as it was: the audit trail's
// changes (a page or a review audits the record it reads, not a change) and
// the patient's prescriptions and refills, as stored.
func (s *safetyEnv) state(pid int64) string {
	s.t.Helper()
	es, err := s.svc.Audit(s.sys, 0, 10_000)
	s.must(err)
	changes := 0
	for _, e := range es {
		if e.Action != "patient.read" {
			changes++
		}
	}
	rec, err := s.svc.PatientRecord(s.sys, pid)
	s.must(err)
	b, err := json.Marshal([]any{rec.Prescriptions, rec.Refills, rec.Implants})
	s.must(err)
	return fmt.Sprintf("%d changes; %s", changes, b)
}

// refillBody is a refill typed twice as the API takes it.
func refillBody(drugName, conc, withdrawn string) map[string]any {
	return map[string]any{"drug": drugName, "concentration": conc, "confirm_drug": drugName, "confirm_concentration": conc,
		"lot": "MX-1", "withdrawn": withdrawn, "added": "20 mL"}
}

// asForm is a JSON body as the page's form: each member as a field.
func asForm(body map[string]any) url.Values {
	v := url.Values{}
	for k, x := range body {
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		case bool:
			if x {
				v.Set(k, "yes")
			}
		}
	}
	return v
}

// rxBody is a continuous prescription as the API takes it.
func rxBody(drugName, conc, dose, max24h, reason string, confirm bool) map[string]any {
	return map[string]any{"program": map[string]any{"drug": drugName, "concentration": conc, "mode": "continuous", "max_24h": max24h},
		"dose_per_day": dose, "reason": reason, "confirm_large_change": confirm}
}

// rxForm is the same prescription as the prescription page's form, at the
// confirmation (step confirm); review leaves it at the first press.
func rxForm(mode, conc, dose, max24h, reason string, confirm, review bool) url.Values {
	v := url.Values{"program.mode": {mode}, "program.concentration": {conc}, "dose_per_day": {dose}, "program.max_24h": {max24h}, "reason": {reason}}
	if confirm {
		v.Set("confirm_large_change", "yes")
	}
	if !review {
		v.Set("step", "confirm")
	}
	return v
}

func TestSafetyMatrix(t *testing.T) {
	type request struct {
		path string // under /api/v1/patients/{id} or /patients/{id}
		api  any    // the JSON body; nil: no API request in this row
		page url.Values
	}
	for _, c := range []struct {
		rule  string
		setup func(s *safetyEnv, pid int64)
		req   request
		field string // the API's field; "" for the form as a whole
		words string // in the API's message and on the page
	}{
		// Item 1: drug and concentration at every refill.
		{"refill: baclofen 2000 mcg/mL into a morphine pump, no order",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "10 mg/mL", "20 mL")
				s.rx(pid, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant", nil)
				s.at(-days(50))
			},
			request{path: "refills", api: refillBody("baclofen", "2000 mcg/mL", "15 mL")},
			"drug", "no physician's order for baclofen 2000 mcg/mL: the pump runs morphine 10 mg/mL"},
		{"refill: ziconotide 250 mcg/mL, over the hard maximum 100",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "ziconotide", "25 mcg/mL", "20 mL")
				s.rx(pid, "ziconotide", "25 mcg/mL", "1.2 mcg/day", "", nil)
			},
			request{path: "refills", api: refillBody("ziconotide", "250 mcg/mL", "19 mL")},
			"concentration", "250 mcg/mL is not a strength of ziconotide the library lists 25 mcg/mL, 100 mcg/mL"},
		{"refill: no concentration typed",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "5 mg/day", "opioid-tolerant", nil)
			},
			request{path: "refills", api: map[string]any{"drug": "morphine", "confirm_drug": "morphine", "lot": "L", "withdrawn": "15 mL", "added": "20 mL"}},
			"concentration", "required: the concentration as the vial states it"},
		{"refill: not confirmed",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "5 mg/day", "opioid-tolerant", nil)
			},
			request{path: "refills", api: map[string]any{"drug": "morphine", "concentration": "25 mg/mL", "lot": "L", "withdrawn": "15 mL", "added": "20 mL"}},
			"confirm_drug", "type the drug and the concentration a second time from the vial, or give the vial label's text"},
		{"refill: the label names another strength",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "5 mg/day", "opioid-tolerant", nil)
			},
			request{path: "refills", api: map[string]any{"drug": "morphine", "concentration": "25 mg/mL", "label": "Infumorph 200 (morphine) 10 mg/mL",
				"lot": "L", "withdrawn": "15 mL", "added": "20 mL"}},
			"label", "the label states 10 mg/mL, but 25 mg/mL was typed"},
		{"refill: the other strength, 10 instead of 25 mg/mL, no order",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "5 mg/day", "opioid-tolerant", nil)
			},
			request{path: "refills", api: refillBody("morphine", "10 mg/mL", "15 mL")},
			"concentration", "no physician's order for morphine 10 mg/mL: the pump runs morphine 25 mg/mL"},
		{"refill: the other strength as ordered, the change not confirmed",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "5 mg/day", "opioid-tolerant", nil)
				s.at(-days(50))
				s.rx(pid, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant", func(rx *clinic.Prescription) { rx.ConfirmConcentrationChange = true })
			},
			request{path: "refills", api: refillBody("morphine", "10 mg/mL", "15 mL")},
			"confirm_concentration_change", "morphine 25 mg/mL → morphine 10 mg/mL (2.5× weaker)"},
		// Item 5: a refill after the pump ran empty.
		{"refill: the pump ran empty 21 days ago, no restart order",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "10 mg/mL", "20 mL")
				s.rx(pid, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant", nil) // 0.5 mL/day: empty after 39 days
			},
			request{path: "refills", api: refillBody("morphine", "10 mg/mL", "0.5 mL")},
			"", "resuming the dose before is a physician's decision"},
		// Item 2: a change is reviewed as a change.
		{"review: a hard limit refuses at review",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "ziconotide", "25 mcg/mL", "20 mL")
				s.rx(pid, "ziconotide", "25 mcg/mL", "1.2 mcg/day", "", nil)
			},
			request{path: "prescriptions/review", api: rxBody("ziconotide", "25 mcg/mL", "25 mcg/day", "2 mL", "", false),
				page: rxForm("continuous", "25 mcg/mL", "25 mcg/day", "2 mL", "", false, true)},
			"dose_per_day", "daily dose 25 mcg/day (≈1.042 mcg/h) is above the hard maximum 21.6 mcg/day"},
		{"prescription: morphine 4 → 200 mg/day with the reason \"typo\", not confirmed",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "4 mg/day", "opioid-tolerant", nil)
			},
			request{path: "prescriptions", api: rxBody("morphine", "25 mg/mL", "200 mg/day", "9 mL", "typo", false),
				page: rxForm("continuous", "25 mg/mL", "200 mg/day", "9 mL", "typo", false, false)},
			"confirm_large_change", "4 mg/day → 200 mg/day (+4900%) is more than 50%"},
		{"prescription: the same, confirmed, with the reason \"typo\"",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "25 mg/mL", "20 mL")
				s.rx(pid, "morphine", "25 mg/mL", "4 mg/day", "opioid-tolerant", nil)
			},
			request{path: "prescriptions", api: rxBody("morphine", "25 mg/mL", "200 mg/day", "9 mL", "typo", true),
				page: rxForm("continuous", "25 mg/mL", "200 mg/day", "9 mL", "typo", true, false)},
			"reason", "\"typo\" is 4 characters"},
		{"prescription: a fourth ziconotide increase in 7 days, against the whole history",
			func(s *safetyEnv, pid int64) {
				s.at(-days(8))
				s.implant(pid, "ziconotide", "25 mcg/mL", "20 mL")
				s.rx(pid, "ziconotide", "25 mcg/mL", "2.4 mcg/day", "", nil)
				for i, d := range []string{"4.8 mcg/day", "7.2 mcg/day", "9.6 mcg/day"} {
					s.at(-days(8) + days(2*float64(i+1)))
					s.rx(pid, "ziconotide", "25 mcg/mL", d, "", nil)
				}
			},
			request{path: "prescriptions", api: rxBody("ziconotide", "25 mcg/mL", "12 mcg/day", "2 mL", "titration for pain 7/10", true),
				page: rxForm("continuous", "25 mcg/mL", "12 mcg/day", "2 mL", "titration for pain 7/10", true, false)},
			"dose_per_day", "this would be increase 4 in the 7 days"},
		// Item 3: limits count everything the pump may give.
		{"prescription: ziconotide 2.4 mcg/day + 8 boluses of 1 mcg = 10.4 mcg/day, a first dose",
			func(s *safetyEnv, pid int64) { s.implant(pid, "ziconotide", "25 mcg/mL", "20 mL") },
			request{path: "prescriptions", api: map[string]any{"program": map[string]any{"drug": "ziconotide", "concentration": "25 mcg/mL", "mode": "continuous",
				"rate": "0.096 mL/day", "max_24h": "1 mL", "patient_bolus": map[string]any{"volume": "0.04 mL", "duration": "10m", "lockout": "3h", "max_per_24h": 8}},
				"reason": "severe neuropathic pain, agreed plan"}},
			"dose_per_day", "starting dose with every allowed patient bolus (basal 2.4 mcg/day + boluses 8 mcg/day) 10.4 mcg/day (≈0.4333 mcg/h) is above the hard maximum 2.4 mcg/day"},
		{"prescription: basal within the limit, with the patient boluses over it",
			func(s *safetyEnv, pid int64) {
				s.at(-days(20))
				s.implant(pid, "ziconotide", "25 mcg/mL", "20 mL")
				s.rx(pid, "ziconotide", "25 mcg/mL", "2.4 mcg/day", "", nil)
				for i, d := range []string{"4.8 mcg/day", "7.2 mcg/day", "9.6 mcg/day", "12 mcg/day", "14.4 mcg/day", "16.8 mcg/day"} {
					s.at(-days(20) + days(3*float64(i+1)))
					s.rx(pid, "ziconotide", "25 mcg/mL", d, "", func(rx *clinic.Prescription) {
						rx.Program.PatientBolus = pump.PatientBolus{Volume: parseQ[unit.Volume](s.t, "0.04 mL"), Duration: 10 * unit.Minute, Lockout: 6 * unit.Hour, MaxPer24h: 4}
					})
				}
			},
			request{path: "prescriptions", api: map[string]any{"program": map[string]any{"drug": "ziconotide", "concentration": "25 mcg/mL", "mode": "continuous",
				"rate": "0.768 mL/day", "max_24h": "1 mL", "patient_bolus": map[string]any{"volume": "0.04 mL", "duration": "10m", "lockout": "6h", "max_per_24h": 4}},
				"reason": "titration for pain 6/10"},
				page: rxForm("continuous", "25 mcg/mL", "19.2 mcg/day", "1 mL", "titration for pain 6/10", false, false)},
			"dose_per_day", "daily dose with every allowed patient bolus (basal 19.2 mcg/day + boluses 4 mcg/day) 23.2 mcg/day (≈0.9667 mcg/h) is above the hard maximum 21.6 mcg/day"},
		// Item 5: withdrawal and interruption.
		{"prescription: a 90% baclofen decrease without a reason",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "baclofen", "500 mcg/mL", "20 mL")
				s.rx(pid, "baclofen", "500 mcg/mL", "400 mcg/day", "", nil)
			},
			request{path: "prescriptions", api: rxBody("baclofen", "500 mcg/mL", "40 mcg/day", "1 mL", "", true),
				page: rxForm("continuous", "500 mcg/mL", "40 mcg/day", "1 mL", "", true, false)},
			"reason", "a decrease of 360 mcg/day (15 mcg/h) from 400 mcg/day (≈16.67 mcg/h) to 40 mcg/day (≈1.667 mcg/h) (−90%) is more than 50%"},
		{"prescription: baclofen stopped without a reason",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "baclofen", "2000 mcg/mL", "20 mL")
				s.rx(pid, "baclofen", "2000 mcg/mL", "400 mcg/day", "", nil)
			},
			request{path: "prescriptions", api: map[string]any{"program": map[string]any{"drug": "baclofen", "concentration": "2000 mcg/mL", "mode": "stopped"}, "confirm_large_change": true},
				page: rxForm("stopped", "2000 mcg/mL", "", "", "", true, false)},
			"reason", "stopping baclofen: abrupt discontinuation, whatever the cause"},
		{"prescription: baclofen at the minimum rate without a reason",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "baclofen", "2000 mcg/mL", "20 mL")
				s.rx(pid, "baclofen", "2000 mcg/mL", "400 mcg/day", "", nil)
			},
			request{path: "prescriptions", api: map[string]any{"program": map[string]any{"drug": "baclofen", "concentration": "2000 mcg/mL", "mode": "minimum", "max_24h": "0.1 mL"}, "confirm_large_change": true},
				page: rxForm("minimum", "2000 mcg/mL", "", "0.1 mL", "", true, false)},
			"reason", "the minimum rate (96 mcg/day (4 mcg/h) of baclofen) keeps the catheter open but is no therapeutic dose"},
		{"prescription: resuming the dose after the pump ran empty, without a reason",
			func(s *safetyEnv, pid int64) {
				s.implant(pid, "morphine", "10 mg/mL", "20 mL")
				s.rx(pid, "morphine", "10 mg/mL", "5 mg/day", "opioid-tolerant", nil)
			},
			request{path: "prescriptions", api: rxBody("morphine", "10 mg/mL", "5.5 mg/day", "1 mL", "", false),
				page: rxForm("continuous", "10 mg/mL", "5.5 mg/day", "1 mL", "", false, false)},
			"reason", "tolerance may be lost; resuming 5.5 mg/day is a physician's decision"},
	} {
		t.Run(c.rule, func(t *testing.T) {
			s := newSafetyEnv(t)
			s.at(-days(60))
			pid := s.patient("MX", "pain")
			c.setup(s, pid)
			s.at(0)
			before := s.state(pid)
			if c.req.api != nil {
				code, out := s.clients["physician"].do("POST", fmt.Sprintf("/api/v1/patients/%d/%s", pid, c.req.path), c.req.api)
				_, field := errField(out)
				msg, _ := out["error"].(map[string]any)["message"].(string)
				if code != 400 || field != c.field || !strings.Contains(msg, c.words) {
					t.Errorf("API: %d on %q: %q\nwant 400 on %q saying %q", code, field, msg, c.field, c.words)
				}
				if after := s.state(pid); after != before {
					t.Errorf("API: the refusal wrote:\n%s\n%s", before, after)
				}
			}
			form := c.req.page
			pagePath := "prescribe"
			if c.req.path == "refills" {
				pagePath = "refill"
				if form == nil {
					form = asForm(c.req.api.(map[string]any))
				}
			}
			if form == nil {
				t.Logf("page: no form for this rule (the prescription page keeps the patient bolus in force)")
				return
			}
			code, body := s.page(fmt.Sprintf("/patients/%d/%s", pid, pagePath), form)
			if code != 400 || !strings.Contains(html.UnescapeString(body), c.words) {
				t.Errorf("page: %d; want 400 saying %q\n%s", code, c.words, errorsOf(body))
			}
			if after := s.state(pid); after != before {
				t.Errorf("page: the refusal wrote:\n%s\n%s", before, after)
			}
		})
	}
}

// errorsOf is what a page says went wrong, for a failure message.
func errorsOf(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, `class="alert"`) || strings.Contains(l, `class="error"`) && !strings.Contains(l, `class="error"></span>`) {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return strings.Join(out, "\n")
}
