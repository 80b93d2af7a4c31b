package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/demo"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/unit"
	"github.com/thecal/thecal/web"
	"github.com/thecal/thecal/web/webtest"
)

// demoServer seeds the demonstration clinic (clock stopped) behind the web server.
func demoServer(t *testing.T) (*demo.Clinic, *httptest.Server) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c, err := demo.New(ctx, db, drug.Default(), demo.Options{Dir: t.TempDir(), Passwords: map[string]string{
		"dr.hale": "physician-pass-1", "nurse.ode": "nurse-pass-0001", "admin": "harbour-lamp-0001"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.NewServer(c.Svc, nil)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	// The pumps and their monitors, the clock standing still: each monitor
	// reports once.
	if err := c.Start(ctx, ts.URL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	srv.SetStation(c.Station())
	return c, ts
}

// browser starts headless Chromium, or skips when it is absent outside CI.
func browser(t *testing.T) context.Context { return webtest.Browser(t, 120*time.Second) }

func shot(t *testing.T, ctx context.Context, name string) { webtest.Shot(t, ctx, name) }

func signIn(ctx context.Context, base, user, pw string) error {
	return webtest.SignIn(ctx, base, user, pw)
}

func text(ctx context.Context, t *testing.T, sel string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// TestBrowser drives the clinic's pages in headless Chromium.
func TestBrowser(t *testing.T) {
	ctx := browser(t)
	c, ts := demoServer(t)
	// Chromium keeps Secure cookies over plain HTTP only for "localhost".
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	phys, nurse, admin := c.Login(clinic.Physician), c.Login(clinic.Nurse), c.Login(clinic.Administrator)

	t.Run("sign in", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#username", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "signin")
		// A wrong password keeps the username typed and says why.
		if err := chromedp.Run(ctx, chromedp.SendKeys("#username", phys.Username, chromedp.ByQuery),
			chromedp.SendKeys("#password", "wrong-password", chromedp.ByQuery), chromedp.Click("#signin", chromedp.ByQuery),
			chromedp.WaitVisible("#error", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		var kept string
		if err := chromedp.Run(ctx, chromedp.Value("#username", &kept, chromedp.ByQuery)); err != nil || kept != phys.Username {
			t.Fatalf("username not kept after a refused sign-in: %q %v", kept, err)
		}
		// Signing in with the keyboard alone: the username field has the
		// focus, Tab moves to the password, Enter submits.
		if err := chromedp.Run(ctx, network.ClearBrowserCookies(), chromedp.Navigate(base+"/signin"), chromedp.WaitVisible("#username", chromedp.ByQuery),
			chromedp.KeyEvent(phys.Username), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(phys.Password), chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Run(wctx, chromedp.WaitVisible("header.top", chromedp.ByQuery)); err != nil {
			t.Fatalf("keyboard sign-in: %v", err)
		}
	})

	t.Run("tablet width", func(t *testing.T) {
		// A tablet in portrait: the worklist and a chart still fit the width.
		var overflow bool
		if err := chromedp.Run(ctx, emulation.SetDeviceMetricsOverride(820, 1180, 1, true),
			chromedp.Navigate(base+"/"), chromedp.WaitVisible("#worklist", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "worklist-tablet")
		if overflow {
			t.Errorf("the worklist scrolls sideways at tablet width")
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d", base, c.PatientByStage(demo.StageCritical).ID)),
			chromedp.WaitVisible("svg.plot", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &overflow)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "chart-tablet")
		if overflow {
			t.Errorf("the chart scrolls sideways at tablet width")
		}
		if err := chromedp.Run(ctx, emulation.ClearDeviceMetricsOverride()); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("worklist order and reasons", func(t *testing.T) {
		var names, reasons []string
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#worklist", chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#worklist tr.work .patient")].map(e => e.textContent)`, &names),
			chromedp.Evaluate(`[...document.querySelectorAll("#worklist tr.work .reason")].map(e => e.textContent)`, &reasons)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "worklist")
		// Urgent first, oldest first: the refill overdue since 13 Nov, then the
		// critical alarm raised today.
		want := []struct{ name, reason string }{
			{"Brennan, Thomas", "refill of morphine"},
			{"Novak, Maria", "critical alarm OCCLUSION"},
			{"Sato, Hiroshi", "elective replacement indicator"},
			{"Okafor, James", "wound check"},
			{"Moreau, Claire", "awaits a decision"},
		}
		if len(names) < len(want) {
			t.Fatalf("worklist shows %d items, want at least %d: %q", len(names), len(want), names)
		}
		for i, w := range want {
			if names[i] != w.name || !strings.Contains(reasons[i], w.reason) {
				t.Errorf("worklist row %d: %q (%q), want %q with %q", i+1, names[i], reasons[i], w.name, w.reason)
			}
		}
	})

	t.Run("lists: filter, page, search", func(t *testing.T) {
		// The worklist filtered to refills: the count line, and what to
		// prepare for each.
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#kind", chromedp.ByQuery),
			chromedp.SetValue("#kind", "refill", chromedp.ByQuery),
			chromedp.Evaluate(`document.body.dataset.old = "1"`, nil), // wait for the new page, not this one
			chromedp.Click(`form.filters button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible("body:not([data-old]) #worklist-count", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		count := text(ctx, t, "#worklist-count")
		if !regexp.MustCompile(`^1–\d+ of \d+$`).MatchString(count) {
			t.Errorf("worklist count line: %q", count)
		}
		if s := text(ctx, t, "#worklist"); !strings.Contains(s, "prepare morphine") || strings.Contains(s, "Critical alarm") {
			t.Errorf("refills only, with what to prepare: %.300s", s)
		}
		shot(t, ctx, "worklist-refills")
		// The patient search: two words in any order, accents as typed.
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/patients"), chromedp.WaitVisible("#q", chromedp.ByQuery),
			chromedp.SendKeys("#q", "maria novák", chromedp.ByQuery),
			chromedp.Evaluate(`document.body.dataset.old = "1"`, nil),
			chromedp.Click(`form.filters button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible("body:not([data-old]) #patients-count", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s, n := text(ctx, t, "#patient-list"), text(ctx, t, "#patients-count"); !strings.Contains(s, "Novak, Maria") || n != "1–1 of 1" {
			t.Errorf("search \"maria novák\": %q, %.200s", n, s)
		}
		shot(t, ctx, "patients-search")
	})

	stable := c.PatientByStage(demo.StageStable)
	critical := c.PatientByStage(demo.StageCritical)

	t.Run("chart", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d", base, critical.ID)),
			chromedp.WaitVisible("svg.plot", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "main"); !strings.Contains(s, "Critical alarm OCCLUSION") || !strings.Contains(s, "400 mcg/day") {
			t.Errorf("chart lacks the critical alarm or the dose in mcg: %.300s", s)
		}
		shot(t, ctx, "chart")
	})

	refills := func(id int64) int {
		rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), id)
		if err != nil {
			t.Fatal(err)
		}
		return len(rec.Refills)
	}

	t.Run("a refill with a wrong concentration is refused, nothing written", func(t *testing.T) {
		// Ziconotide 25 mcg/mL in the pump. Nothing is filled in for the
		// nurse; 250 mcg/mL (over the library's hard maximum 100) typed twice
		// is refused, and so is the other strength (100 mcg/mL) without a
		// physician's order; what was typed stays on the form.
		n0 := refills(stable.ID)
		page := fmt.Sprintf("%s/patients/%d/refill", base, stable.ID)
		var drugTyped, concTyped string
		if err := chromedp.Run(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#withdrawn", chromedp.ByQuery),
			chromedp.Value("#drug", &drugTyped, chromedp.ByQuery), chromedp.Value("#concentration", &concTyped, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if drugTyped != "" || concTyped != "" {
			t.Errorf("the form fills in the drug %q and concentration %q: they must be typed from the vial", drugTyped, concTyped)
		}
		fill := func(conc, again string) chromedp.Tasks {
			return chromedp.Tasks{chromedp.Navigate(page), chromedp.WaitVisible("#withdrawn", chromedp.ByQuery),
				chromedp.SendKeys("#withdrawn", "8.5", chromedp.ByQuery),
				chromedp.SendKeys("#drug", "ziconotide", chromedp.ByQuery), chromedp.SendKeys("#concentration", conc, chromedp.ByQuery),
				chromedp.SendKeys("#confirm_drug", "Prialt", chromedp.ByQuery), chromedp.SendKeys("#confirm_concentration", again, chromedp.ByQuery),
				chromedp.SendKeys("#lot", "ZIC-WRONG", chromedp.ByQuery), chromedp.SendKeys("#added", "20", chromedp.ByQuery),
				chromedp.Click("#record-refill", chromedp.ByQuery), chromedp.WaitVisible("#error", chromedp.ByQuery)}
		}
		for _, c := range []struct{ conc, again, want, field string }{
			{"250 mcg/mL", "250 mcg/mL", "250 mcg/mL is not a strength of ziconotide", "#conc-err"},
			{"100 mcg/mL", "100 mcg/mL", "no physician's order for ziconotide 100 mcg/mL: the pump runs ziconotide 25 mcg/mL", "#conc-err"},
			{"25 mcg/mL", "2.5 mcg/mL", "typed the second time is not 25 mcg/mL", "#confirm-conc-err"},
		} {
			if err := chromedp.Run(ctx, fill(c.conc, c.again)); err != nil {
				t.Fatal(err)
			}
			if s := text(ctx, t, c.field); !strings.Contains(s, c.want) {
				t.Errorf("%s typed, %s again: %q, want %q", c.conc, c.again, s, c.want)
			}
			var kept string
			if err := chromedp.Run(ctx, chromedp.Value("#concentration", &kept, chromedp.ByQuery)); err != nil || kept != c.conc {
				t.Errorf("the typed concentration was not kept: %q %v", kept, err)
			}
			if c.conc == "100 mcg/mL" {
				shot(t, ctx, "refill-wrong-concentration")
			}
		}
		if n := refills(stable.ID); n != n0 {
			t.Errorf("refused refills were recorded: %d → %d", n0, n)
		}
	})

	t.Run("refill with a discrepancy", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d/refill", base, stable.ID)),
			chromedp.WaitVisible("#withdrawn", chromedp.ByQuery),
			chromedp.SendKeys("#drug", "ziconotide", chromedp.ByQuery),
			chromedp.SendKeys("#concentration", "25 mcg/mL", chromedp.ByQuery),
			chromedp.SendKeys("#label", "PRIALT (ziconotide intrathecal infusion) 25 mcg/mL, 20 mL vial", chromedp.ByQuery),
			chromedp.SendKeys("#withdrawn", "8", chromedp.ByQuery),
			chromedp.SendKeys("#lot", "ZIC-DEMO", chromedp.ByQuery),
			chromedp.SendKeys("#added", "20", chromedp.ByQuery),
			chromedp.Click("#check-0", chromedp.ByQuery),
			chromedp.Click("#check-1", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "refill-form")
		if err := chromedp.Run(ctx, chromedp.Click("#record-refill", chromedp.ByQuery),
			chromedp.WaitVisible("#discrepancy-flag", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#discrepancy-flag"); !strings.Contains(s, "less than expected") {
			t.Errorf("flag: %q", s)
		}
		shot(t, ctx, "refill-result")
	})

	t.Run("a reload after a refill records nothing new", func(t *testing.T) {
		// Issue 11: reloading the refill result recorded the refill again and
		// raised a false "possible pocket fill" flag.
		before := refillsOf(t, c, stable.ID)
		var loc string
		if err := chromedp.Run(ctx, chromedp.Location(&loc)); err != nil || !strings.Contains(loc, "/refills/") {
			t.Fatalf("the refill's answer is not a page of its own (POST-redirect-GET): %q %v", loc, err)
		}
		for range 2 {
			if err := chromedp.Run(ctx, chromedp.Reload(), chromedp.WaitVisible("#discrepancy-flag", chromedp.ByQuery)); err != nil {
				t.Fatal(err)
			}
		}
		if after := refillsOf(t, c, stable.ID); after != before {
			t.Fatalf("reloading the result recorded something: %+v → %+v", before, after)
		}
		// The same form sent twice (a double press, a retried POST): recorded
		// once. (An hour later: the demonstration's clock stands still.)
		c.Clock.Set(c.Clock.Now().Add(time.Hour))
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d/refill", base, stable.ID)),
			chromedp.WaitVisible("#withdrawn", chromedp.ByQuery),
			chromedp.SendKeys("#withdrawn", "19.9", chromedp.ByQuery),
			chromedp.SendKeys("#drug", "ziconotide", chromedp.ByQuery), chromedp.SendKeys("#concentration", "25 mcg/mL", chromedp.ByQuery),
			chromedp.SendKeys("#confirm_drug", "ziconotide", chromedp.ByQuery), chromedp.SendKeys("#confirm_concentration", "25 mcg/mL", chromedp.ByQuery),
			chromedp.SendKeys("#lot", "ZIC-DEMO-2", chromedp.ByQuery),
			chromedp.SendKeys("#added", "20", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		var statuses []int
		if err := chromedp.Run(ctx, chromedp.Evaluate(`(async () => {
			const f = document.querySelector("#refill-form");
			const send = () => fetch(f.action, {method: "POST", body: new URLSearchParams(new FormData(f)), redirect: "manual"});
			const a = await send(), b = await send();
			return [a.type === "opaqueredirect" ? 303 : a.status, b.type === "opaqueredirect" ? 303 : b.status];
		})()`, &statuses, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) })); err != nil {
			t.Fatal(err)
		}
		if after := refillsOf(t, c, stable.ID); after.n != before.n+1 || after.flagged != before.flagged {
			t.Fatalf("the form sent twice (%v): %+v → %+v, want one refill more and no new flag", statuses, before, after)
		}
	})

	rxPage := fmt.Sprintf("%s/patients/%d/prescribe", base, stable.ID)
	overdue := c.PatientByStage(demo.StageOverdue)
	setDoseOn := func(page, d string) chromedp.Tasks {
		return chromedp.Tasks{chromedp.Navigate(page), chromedp.WaitVisible("#dose_per_day", chromedp.ByQuery),
			chromedp.SetValue("#dose_per_day", d, chromedp.ByQuery), chromedp.Click("#rx-review", chromedp.ByQuery),
			chromedp.WaitVisible("#rx-confirm", chromedp.ByQuery)}
	}

	t.Run("prescription over a hard limit is refused at review", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(rxPage), chromedp.WaitVisible("#dose_per_day", chromedp.ByQuery),
			chromedp.SetValue("#dose_per_day", "25 mcg/day", chromedp.ByQuery), chromedp.Click("#rx-review", chromedp.ByQuery),
			chromedp.WaitVisible("#refused-at-review", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "prescribe-review")
		if s := text(ctx, t, "#error"); !strings.Contains(s, "Refused") || !strings.Contains(s, "hard") {
			t.Errorf("hard limit: %q", s)
		}
		var confirms int
		if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("#rx-confirm").length`, &confirms)); err != nil || confirms != 0 {
			t.Errorf("a refused review offers to confirm (%d buttons, %v)", confirms, err)
		}
		if s := text(ctx, t, "#new-dose"); s != "25 mcg/day" {
			t.Errorf("the review does not show the proposal beside the current: %q", s)
		}
		var kept string
		_ = chromedp.Run(ctx, chromedp.Value("#dose_per_day", &kept, chromedp.ByQuery))
		if kept != "25 mcg/day" {
			t.Errorf("the typed dose was not kept: %q", kept)
		}
	})

	t.Run("prescription over a soft limit needs a reason", func(t *testing.T) {
		// Morphine: the library's soft daily limit is 20 mg/day. The cap is
		// raised with the dose: 2.1 mL/day over a 1 mL cap is refused at review.
		page := fmt.Sprintf("%s/patients/%d/prescribe", base, overdue.ID)
		if err := chromedp.Run(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#dose_per_day", chromedp.ByQuery),
			chromedp.SetValue("#dose_per_day", "21 mg/day", chromedp.ByQuery), chromedp.SetValue("#max_24h", "3 mL", chromedp.ByQuery),
			chromedp.Click("#rx-review", chromedp.ByQuery), chromedp.WaitVisible("#rx-confirm", chromedp.ByQuery),
			chromedp.Click("#confirm_large", chromedp.ByQuery),
			chromedp.Click("#rx-confirm", chromedp.ByQuery), chromedp.WaitVisible("#error", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#error"); !strings.Contains(s, "Reason required") {
			t.Errorf("soft limit without a reason: %q", s)
		}
		shot(t, ctx, "prescribe-reason")
		// With a reason (and the second confirmation) it is recorded.
		if err := chromedp.Run(ctx, chromedp.SendKeys("#reason", "cancer pain escalating; palliative care agreed", chromedp.ByQuery),
			chromedp.Click("#confirm_large", chromedp.ByQuery), chromedp.Click("#rx-confirm", chromedp.ByQuery),
			chromedp.WaitVisible("#rx-dose", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#rx-dose"); s != "21 mg/day" {
			t.Errorf("recorded dose %q, want 21 mg/day", s)
		}
	})

	t.Run("a large change needs the second confirmation; a flex program from the step editor", func(t *testing.T) {
		// Novak: baclofen 2000 mcg/mL, 400 mcg/day for 240 days. (The newly
		// implanted Okafor's dose cannot rise within a day: the label's once
		// every 24 h refuses it at review.)
		page := fmt.Sprintf("%s/patients/%d/prescribe", base, critical.ID)
		count := func(id int64) int {
			rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), id)
			if err != nil {
				t.Fatal(err)
			}
			return len(rec.Prescriptions)
		}
		n0 := count(critical.ID)
		if err := chromedp.Run(ctx, setDoseOn(page, "800 mcg/day"), chromedp.SendKeys("#reason", "spasms worse after the infection", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#change"); !strings.Contains(s, "400 mcg/day → 800 mcg/day (+100%)") {
			t.Errorf("review: change %q", s)
		}
		if s := text(ctx, t, "#findings"); !strings.Contains(s, "larger than the soft largest step, 15% of the current dose (cerebral)") {
			t.Errorf("review: the findings of the proposal: %q", s)
		}
		// Confirmed without ticking the second confirmation: refused, nothing written.
		if err := chromedp.Run(ctx, chromedp.Click("#rx-confirm", chromedp.ByQuery), chromedp.WaitVisible("#error", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#error"); !strings.Contains(s, "a second, explicit confirmation is required") || !strings.Contains(s, "more than 50%") {
			t.Errorf("a large change without the confirmation: %q", s)
		}
		if n := count(critical.ID); n != n0 {
			t.Fatalf("the refused change was recorded: %d → %d prescriptions", n0, n)
		}
		shot(t, ctx, "prescribe-large-change")
		// Ticked, it is recorded, with its reason on the chart.
		if err := chromedp.Run(ctx, chromedp.Click("#confirm_large", chromedp.ByQuery), chromedp.Click("#rx-confirm", chromedp.ByQuery),
			chromedp.WaitVisible("#rx-dose", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#rx-dose"); s != "800 mcg/day" {
			t.Errorf("recorded dose %q", s)
		}
		if s := text(ctx, t, "#rx-reason"); s != "spasms worse after the infection" {
			t.Errorf("the chart shows the reason %q", s)
		}
		if n := count(critical.ID); n != n0+1 {
			t.Fatalf("the confirmed change: %d → %d prescriptions", n0, n)
		}
		okafor := c.PatientByStage(demo.StagePriming) // baclofen 500 mcg/mL, 100 mcg/day
		page = fmt.Sprintf("%s/patients/%d/prescribe", base, okafor.ID)
		// A daily flex program of the same dose: 0.3 mL/day from 08:00, 0.1 mL/day from 20:00.
		if err := chromedp.Run(ctx, chromedp.Navigate(page), chromedp.WaitVisible("#mode", chromedp.ByQuery),
			chromedp.SetValue("#mode", "flex", chromedp.ByQuery),
			chromedp.SendKeys("#flex-0-at", "08:00", chromedp.ByQuery), chromedp.SendKeys("#flex-0-rate", "0.3", chromedp.ByQuery),
			chromedp.SendKeys("#flex-1-at", "20:00", chromedp.ByQuery), chromedp.SendKeys("#flex-1-rate", "0.1 mL/day", chromedp.ByQuery),
			chromedp.SendKeys("#reason", "more by day", chromedp.ByQuery),
			chromedp.Click("#rx-review", chromedp.ByQuery), chromedp.WaitVisible("#rx-confirm", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#new-mode"); !strings.Contains(s, "from 08:00 0.3 mL/day (150 mcg/day)") || !strings.Contains(s, "from 20:00 0.1 mL/day (50 mcg/day)") {
			t.Errorf("review of the flex program: %q", s)
		}
		shot(t, ctx, "prescribe-flex")
		if err := chromedp.Run(ctx, chromedp.Click("#rx-confirm", chromedp.ByQuery), chromedp.WaitVisible("#rx-program", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#rx-program"); !strings.Contains(s, "flex (daily): from 08:00 0.3 mL/day") {
			t.Errorf("chart: program %q", s)
		}
		if s := text(ctx, t, "#rx-dose"); s != "100 mcg/day" {
			t.Errorf("chart: daily dose %q, want 100 mcg/day", s)
		}
	})

	t.Run("patient document", func(t *testing.T) {
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d/document", base, critical.ID)),
			chromedp.WaitVisible("#emergency-card", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		card := text(ctx, t, "#emergency-card")
		for _, w := range []string{"TP-20", "200006", "baclofen", "2000 mcg/mL"} {
			if !strings.Contains(card, w) {
				t.Errorf("emergency card lacks %q: %q", w, card)
			}
		}
		if s := text(ctx, t, "main"); !strings.Contains(s, "Baclofen withdrawal") {
			t.Errorf("document lacks the baclofen withdrawal warning")
		}
		shot(t, ctx, "document")
		// Printed, the document fits one A4 page.
		var pdf []byte
		if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
			var err error
			pdf, _, err = page.PrintToPDF().WithPaperWidth(8.27).WithPaperHeight(11.69).WithPreferCSSPageSize(true).Do(ctx)
			return err
		})); err != nil {
			t.Fatal(err)
		}
		if n := pdfPages(pdf); n != 1 {
			t.Errorf("the printed document takes %d pages, want 1", n)
		}
		if err := os.WriteFile(filepath.Join("..", "artifacts", "screenshots", "document.pdf"), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("publish a drug library version", func(t *testing.T) {
		if err := signIn(ctx, base, phys.Username, phys.Password); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "clinic-library.json")
		if err := os.WriteFile(file, clinictest.ClinicLibrary("demo-clinic-2"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/library"), chromedp.WaitVisible("#file", chromedp.ByQuery),
			chromedp.SetUploadFiles("#file", []string{file}, chromedp.ByQuery),
			chromedp.SendKeys("#note", "pain committee review", chromedp.ByQuery),
			chromedp.Click(`form[action="/library"] button[type="submit"]`, chromedp.ByQuery),
			chromedp.WaitVisible("#published", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#in-force"); !strings.Contains(s, "demo-clinic-2") {
			t.Errorf("in force after publishing: %q", s)
		}
		if s := text(ctx, t, "#versions"); !strings.Contains(s, "pain committee review") {
			t.Errorf("versions: %q", s)
		}
		shot(t, ctx, "library")
		if v := c.Svc.Library().Version; v != "demo-clinic-2" {
			t.Errorf("the service's library in force is %s", v)
		}
	})

	t.Run("administrator pages", func(t *testing.T) {
		if err := signIn(ctx, base, admin.Username, admin.Password); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/audit?action=patient.create&order=oldest"), chromedp.WaitVisible("#audit", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		// People and patients by name; a creation's values as new.
		if s := text(ctx, t, "#audit"); !strings.Contains(s, "Moreau, Claire") || !strings.Contains(s, "family_name: none → Moreau") {
			t.Errorf("audit page: %.300s", s)
		}
		if n := text(ctx, t, "#audit-count"); n != "1–6 of 6" {
			t.Errorf("six patients created: %q", n)
		}
		shot(t, ctx, "audit")
		if err := chromedp.Run(ctx, chromedp.Click("#verify-link", chromedp.ByQuery), chromedp.WaitVisible("#verify", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#verify"); !strings.Contains(s, "intact") {
			t.Errorf("verification: %q", s)
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/users"), chromedp.WaitVisible("table", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "users")
	})

	t.Run("a nurse cannot change a prescription", func(t *testing.T) {
		if err := signIn(ctx, base, nurse.Username, nurse.Password); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := chromedp.Run(ctx, chromedp.Navigate(fmt.Sprintf("%s/patients/%d", base, stable.ID)), chromedp.WaitVisible("#refill-link", chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("#rx-link").length`, &n)); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("the nurse sees a prescription link")
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(rxPage), chromedp.WaitVisible("#error", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, "#error"); !strings.Contains(s, "nurse role may not") {
			t.Errorf("nurse on the prescription page: %q", s)
		}
	})

	t.Run("a critical alarm acknowledged without a note, then with one", func(t *testing.T) {
		// Issue 11: a critical OCCLUSION was acknowledged with an empty "what
		// was done" in one click; it left the worklist and the chart, and no
		// follow-up was created. (The nurse is signed in.)
		sys := clinic.NewContext(context.Background(), clinic.System)
		rec, err := c.Svc.PatientRecord(sys, critical.ID)
		if err != nil || len(rec.Alarms) == 0 {
			t.Fatalf("no alarm: %v", err)
		}
		a := rec.Alarms[0]
		chart := fmt.Sprintf("%s/patients/%d", base, critical.ID)
		note, button, errSel := fmt.Sprintf("#ack-note-%d", a.ID), fmt.Sprintf("#ack-%d", a.ID), fmt.Sprintf("#ack-err-%d", a.ID)
		before := writtenFor(t, c, critical.ID)
		// The browser asks for the note (required); without the browser's
		// check the server refuses it, and writes nothing.
		if err := chromedp.Run(ctx, chromedp.Navigate(chart), chromedp.WaitVisible(note, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelector(`+"`"+note+"`"+`).removeAttribute("required")`, nil),
			chromedp.Click(button, chromedp.ByQuery), chromedp.WaitVisible("#error", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, errSel); !strings.Contains(s, "say what was done") {
			t.Errorf("refusal of an empty note: %q", s)
		}
		shot(t, ctx, "ack-refused")
		if after := writtenFor(t, c, critical.ID); after != before {
			t.Fatalf("an acknowledgement without a note wrote something")
		}
		// With what was done: acknowledged, the follow-up made, and the alarm
		// still shown (the pump still reports it), on the chart and the worklist.
		if err := chromedp.Run(ctx, chromedp.SendKeys(note, "catheter access port aspirated, no flow; neurosurgery called", chromedp.ByQuery),
			chromedp.Click(button, chromedp.ByQuery), chromedp.WaitVisible(fmt.Sprintf("#acked-%d", a.ID), chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if s := text(ctx, t, fmt.Sprintf("#acked-%d", a.ID)); !strings.Contains(s, "acknowledged by nurse.ode") ||
			!strings.Contains(s, "neurosurgery called") || !strings.Contains(s, "Follow-up: catheter investigation") {
			t.Errorf("the acknowledged alarm on the chart: %q", s)
		}
		shot(t, ctx, "ack-done")
		var row string
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#worklist", chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#worklist tr.critical-alarm")].map(e => e.textContent).join("|")`, &row)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(row, "Novak") || !strings.Contains(row, "acknowledged") {
			t.Errorf("the worklist's critical alarm after the acknowledgement: %q", row)
		}
		var follow string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll("#worklist tr.follow-up")].map(e => e.textContent).join("|")`, &follow)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(follow, "catheter investigation") {
			t.Errorf("the follow-up is not on the worklist: %q", follow)
		}
		shot(t, ctx, "worklist-acknowledged")
		// The pump's next report no longer shows it: it leaves the worklist.
		c.Clock.Set(c.Clock.Now().Add(time.Hour))
		if _, err := c.Svc.Ingest(sys, &clinic.Report{Format: clinic.ReportFormat, Serial: "200006", Model: pump.TP20,
			InterrogatedAt: c.Clock.Now(), Source: "home_monitor", Status: clinic.ReportStatus{Running: true, Mode: "continuous",
				Drug: "baclofen", Concentration: rec.Prescriptions[len(rec.Prescriptions)-1].Program.Concentration,
				Reservoir: unit.Millilitres(10), Battery: pump.BatteryCapacity}}); err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible("#worklist", chromedp.ByQuery),
			chromedp.Evaluate(`[...document.querySelectorAll("#worklist tr.critical-alarm")].map(e => e.textContent).join("|")`, &row)); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(row, "Novak") {
			t.Errorf("cleared and acknowledged, still on the worklist: %q", row)
		}
	})
}

// writtenFor is what a refusal must leave as it was: the patient's records
// and the audit trail (but for the audited read of the chart shown again).
func writtenFor(t *testing.T, c *demo.Clinic, patientID int64) string {
	t.Helper()
	sys := clinic.NewContext(context.Background(), clinic.System)
	rec, err := c.Svc.PatientRecord(sys, patientID)
	if err != nil {
		t.Fatal(err)
	}
	rec.Worklist, rec.Dates = nil, clinic.Dates{}
	b, _ := json.Marshal(rec)
	return changesWritten(t, c.Svc) + " " + string(b)
}

// refills counts a patient's refills and those flagged.
type refills struct{ n, flagged int }

func refillsOf(t *testing.T, c *demo.Clinic, patientID int64) refills {
	t.Helper()
	rec, err := c.Svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), patientID)
	if err != nil {
		t.Fatal(err)
	}
	var r refills
	for _, rf := range rec.Refills {
		r.n++
		if rf.Flagged {
			r.flagged++
		}
	}
	return r
}

// pdfPages counts the page objects of a PDF.
func pdfPages(b []byte) int {
	return len(regexp.MustCompile(`/Type\s*/Page[^s]`).FindAll(b, -1))
}
