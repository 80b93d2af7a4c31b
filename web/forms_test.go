package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/demo"
)

// formsExempt are the page forms without a key, and why: each records
// nothing a repeat could record twice.
var formsExempt = map[string]string{
	"/signin":                "a sign-in makes a session, not a record",
	"/signout":               "ends the session; again, there is none to end",
	"/account/totp":          "a pending second-factor secret, replaced by the next",
	"/account/totp/confirm":  "a one-time code, refused when used again",
	"/security/{id}/resolve": "resolving a resolved item does nothing",
}

// TestEveryPageFormHasAKey renders every page of the demonstration for each
// role and checks that each form that writes carries a key (form_key), but
// those formsExempt names.
func TestEveryPageFormHasAKey(t *testing.T) {
	c, ts := demoServer(t)
	formRE := regexp.MustCompile(`(?s)<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>(.*?)</form>`)
	idRE := regexp.MustCompile(`/\d+`)
	seen := map[string]bool{}
	for _, role := range []clinic.Role{clinic.Physician, clinic.Nurse, clinic.Administrator} {
		get, _ := uiClient(t, c, role)
		pages := []string{"/", "/library", "/users", "/account"}
		for _, p := range c.Patients {
			pages = append(pages, fmt.Sprintf("/patients/%d", p.ID), fmt.Sprintf("/patients/%d/refill", p.ID), fmt.Sprintf("/patients/%d/prescribe", p.ID))
		}
		for _, path := range pages {
			code, body := get(ts.URL + path)
			if code != 200 {
				continue // not this role's, or no pump
			}
			for _, m := range formRE.FindAllStringSubmatch(body, -1) {
				action := idRE.ReplaceAllString(m[1], "/{id}")
				action = strings.Replace(action, "/{id}/{id}", "/{id}", 1)
				seen[action] = true
				if _, ok := formsExempt[action]; ok {
					continue
				}
				if !strings.Contains(m[2], `name="form_key" value="`) {
					t.Errorf("%s on %s (as %s) has no form key", m[1], path, role)
				}
			}
		}
	}
	for _, want := range []string{"/alarms/{id}/ack", "/trials/{id}", "/patients/{id}/implant", "/patients/{id}/complication",
		"/patients/{id}/side-effect", "/follow-ups/{id}/done", "/patients/{id}/refill", "/patients/{id}/prescribe", "/users", "/library"} {
		if !seen[want] {
			t.Errorf("no page showed the form %s", want)
		}
	}
}

// TestPageFormsOnce sends every form that writes twice with its key (the
// second sent where the first went, nothing new recorded), then with the
// same key and other values (409, nothing recorded), then without a key
// (refused, nothing recorded).
func TestPageFormsOnce(t *testing.T) {
	c, ts := demoServer(t)
	sys := clinic.NewContext(context.Background(), clinic.System)
	record := func(id int64) *clinic.PatientRecord {
		rec, err := c.Svc.PatientRecord(sys, id)
		if err != nil {
			t.Fatal(err)
		}
		return rec
	}
	stable, critical, priming := c.PatientByStage(demo.StageStable), c.PatientByStage(demo.StageCritical), c.PatientByStage(demo.StagePriming)
	trialPt := c.PatientByStage(demo.StageTrial)
	type tc struct {
		name  string
		role  clinic.Role
		path  func() string
		form  func() url.Values
		other func(url.Values) // changes the form
		where string           // where the answer sends the browser (a prefix)
	}
	cases := []tc{
		{name: "refill", role: clinic.Nurse, path: func() string { return fmt.Sprintf("/patients/%d/refill", stable.ID) },
			form: func() url.Values {
				return url.Values{"withdrawn": {"8"}, "drug": {"ziconotide"}, "concentration": {"25 mcg/mL"}, "confirm_drug": {"ziconotide"}, "confirm_concentration": {"25 mcg/mL"}, "lot": {"F1"}, "added": {"20"}}
			},
			other: func(v url.Values) { v.Set("lot", "F2") }, where: "/refills/"},
		{name: "refill flag review", role: clinic.Nurse, path: func() string {
			rfs := record(stable.ID).Refills
			return fmt.Sprintf("/refills/%d/review", rfs[len(rfs)-1].ID)
		}, form: func() url.Values {
			rfs := record(stable.ID).Refills
			return url.Values{"version": {fmt.Sprint(rfs[len(rfs)-1].Version)}, "note": {"pocket fill ruled out; residual measured again"}}
		}, other: func(v url.Values) { v.Set("note", "catheter checked instead") }, where: fmt.Sprintf("/patients/%d?done=", stable.ID)},
		{name: "prescription", role: clinic.Physician, path: func() string { return fmt.Sprintf("/patients/%d/prescribe", critical.ID) },
			form: func() url.Values {
				return url.Values{"step": {"confirm"}, "program.mode": {"continuous"}, "program.concentration": {"2000 mcg/mL"},
					"dose_per_day": {"380 mcg/day"}, "program.max_24h": {"1 mL"}, "reason": {"drowsy in the afternoon; small decrease"}}
			},
			other: func(v url.Values) { v.Set("dose_per_day", "360 mcg/day") }, where: fmt.Sprintf("/patients/%d?done=", critical.ID)},
		{name: "alarm acknowledgement", role: clinic.Nurse, path: func() string { return fmt.Sprintf("/alarms/%d/ack", record(critical.ID).Alarms[0].ID) },
			form: func() url.Values {
				a := record(critical.ID).Alarms[0]
				return url.Values{"version": {fmt.Sprint(a.Version)}, "note": {"catheter access port aspirated; neurosurgery called"}}
			},
			other: func(v url.Values) { v.Set("note", "patient seen; imaging booked") }, where: fmt.Sprintf("/patients/%d?done=", critical.ID)},
		{name: "trial", role: clinic.Physician, path: func() string { return fmt.Sprintf("/trials/%d", record(trialPt.ID).Trials[0].ID) },
			form: func() url.Values {
				tr := record(trialPt.ID).Trials[0]
				return url.Values{"version": {fmt.Sprint(tr.Version)}, "trial_pain": {"3"}, "functional": {"improved"}}
			},
			other: func(v url.Values) { v.Set("trial_pain", "4") }, where: fmt.Sprintf("/patients/%d?done=", trialPt.ID)},
		{name: "implant", role: clinic.Physician, path: func() string { return fmt.Sprintf("/patients/%d/implant", trialPt.ID) },
			form: func() url.Values {
				return url.Values{"model": {"TP-40"}, "serial": {"TP40-FORM-1"}, "surgeon": {"Dr Iris Stone"}, "catheter_length": {"45"},
					"tip_level": {"T10"}, "im_drug": {"morphine"}, "im_concentration": {"10 mg/mL"}, "initial_fill": {"40"}}
			},
			other: func(v url.Values) { v.Set("serial", "TP40-FORM-2") }, where: fmt.Sprintf("/patients/%d?done=", trialPt.ID)},
		{name: "complication", role: clinic.Nurse, path: func() string { return fmt.Sprintf("/patients/%d/complication", stable.ID) },
			form: func() url.Values {
				return url.Values{"comp_type": {"csf_leak"}, "comp_description": {"headache on standing"}}
			},
			other: func(v url.Values) { v.Set("comp_description", "headache lying down too") }, where: fmt.Sprintf("/patients/%d?done=", stable.ID)},
		{name: "side effect", role: clinic.Nurse, path: func() string { return fmt.Sprintf("/patients/%d/side-effect", stable.ID) },
			form: func() url.Values {
				return url.Values{"se_type": {"nausea"}, "se_severity": {"mild"}, "se_notes": {"after the refill"}}
			},
			other: func(v url.Values) { v.Set("se_severity", "moderate") }, where: fmt.Sprintf("/patients/%d?done=", stable.ID)},
		{name: "follow-up done", role: clinic.Nurse, path: func() string { return fmt.Sprintf("/follow-ups/%d/done", record(priming.ID).FollowUps[0].ID) },
			form: func() url.Values {
				f := record(priming.ID).FollowUps[0]
				return url.Values{"version": {fmt.Sprint(f.Version)}, "notes": {"wound clean and dry"}}
			},
			other: func(v url.Values) { v.Set("notes", "wound a little red") }, where: fmt.Sprintf("/patients/%d?done=", priming.ID)},
		{name: "new user", role: clinic.Administrator, path: func() string { return "/users" },
			form: func() url.Values {
				return url.Values{"username": {"form.user"}, "name": {"Form User"}, "role": {"nurse"}, "password": {"purple otter sails at dawn"}}
			},
			other: func(v url.Values) { v.Set("username", "form.user2") }, where: "/users"},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			_, post := uiClient(t, c, k.role)
			path := ts.URL + k.path()
			form := k.form()
			key := testFormKey()
			send := func(v url.Values) (int, string) {
				w := url.Values{}
				for n, vs := range v {
					w[n] = slices.Clone(vs)
				}
				w.Set("form_key", key)
				return post(path, w)
			}
			before := storeWritten(t, c.Svc)
			code, body := send(form)
			if code != http.StatusSeeOther || !strings.Contains(body, `href="`+k.where) {
				t.Fatalf("first: %d %.600s", code, body)
			}
			after := storeWritten(t, c.Svc)
			if after == before {
				t.Fatal("the form wrote nothing")
			}
			code2, body2 := send(form)
			if code2 != http.StatusSeeOther || body2 != body {
				t.Fatalf("the form sent again: %d %.300s, want where the first went: %s", code2, body2, body)
			}
			if w := storeWritten(t, c.Svc); w != after {
				t.Fatalf("the form sent again wrote: %s → %s", after, w)
			}
			other := k.form()
			k.other(other)
			if code3, body3 := send(other); code3 != http.StatusConflict || !strings.Contains(body3, "This form was sent") {
				t.Fatalf("other values under the key: %d %.300s", code3, body3)
			}
			if w := storeWritten(t, c.Svc); w != after {
				t.Fatalf("other values under the key wrote: %s → %s", after, w)
			}
			other.Set("form_key", "-")
			if code4, _ := post(path, other); code4 != http.StatusBadRequest {
				t.Fatalf("no key: %d, want 400", code4)
			}
			if w := storeWritten(t, c.Svc); w != after {
				t.Fatalf("a form without its key wrote: %s → %s", after, w)
			}
		})
	}

	t.Run("library", func(t *testing.T) {
		e := newEnv(t, nil)
		dr := e.clients["physician"]
		key := testFormKey()
		send := func(version string) (int, string) {
			ct, form := libraryPageFormKeyed(t, dr.csrf, key, clinictest.ClinicLibrary(version), "committee review")
			code, loc, _ := dr.page("POST", "/library", ct, form)
			return code, loc
		}
		before := storeWritten(t, e.svc)
		if code, loc := send("form-lib-1"); code != 303 || loc != "/library?published=form-lib-1" {
			t.Fatalf("first: %d %q", code, loc)
		}
		after := storeWritten(t, e.svc)
		if after == before {
			t.Fatal("nothing published")
		}
		if code, loc := send("form-lib-1"); code != 303 || loc != "/library?published=form-lib-1" {
			t.Fatalf("again: %d %q", code, loc)
		}
		if code, _ := send("form-lib-2"); code != http.StatusConflict {
			t.Fatalf("another file under the key: %d", code)
		}
		if w := storeWritten(t, e.svc); w != after {
			t.Fatalf("wrote: %s → %s", after, w)
		}
	})
}
