package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/thecal/thecal/web/webtest"
)

func browser(t *testing.T) context.Context { return webtest.Browser(t, 3*time.Minute) }

func shot(t *testing.T, ctx context.Context, name string) { webtest.Shot(t, ctx, name) }

func signIn(t *testing.T, ctx context.Context, base, user, pw string) {
	t.Helper()
	if err := webtest.SignIn(ctx, base, user, pw); err != nil {
		t.Fatal(err)
	}
}

func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	var s string
	if err := chromedp.Run(ctx, chromedp.Text(sel, &s, chromedp.ByQuery)); err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// demoInfo is what thecal demo --dir writes to DIR/demo.json.
type demoInfo struct {
	URL     string `json:"url"`
	Signins []struct {
		Role, Username, Password string
	} `json:"signins"`
	Identity string `json:"identity"`
	Trust    string `json:"trust"`
	Token    string `json:"token"`
	Patients []struct {
		ID                                int64
		Name, MRN, Stage, Serial, Address string
		State                             string
	} `json:"patients"`
}

func (d *demoInfo) password(user string) string {
	for _, s := range d.Signins {
		if s.Username == user {
			return s.Password
		}
	}
	return ""
}

// TestLoopInTheBrowser runs thecal demo --dir as its own process, and in
// real Chromium: a physician orders a dose change; a nurse programs it from
// the chart through the programming station; the pump runs it (read back by
// thecal program, pointed at the demo pump as demo.json says); the order is
// programmed, then verified after the pump's home monitor's next report.
func TestLoopInTheBrowser(t *testing.T) {
	ctx := browser(t)
	w := &world{t: t, dir: t.TempDir(), env: append(os.Environ(), "THECAL_ID=", "THECAL_TRUST=", "THECAL_WAKE=", "THECAL_PUMP=", "THECAL_SERIAL=")}
	dir := filepath.Join(w.dir, "demo")
	d := w.spawn("demo", "--dir", dir, "--listen", "127.0.0.1:0", "--speed", "3600")
	d.wait(t, regexp.MustCompile(`Ctrl-C stops the demonstration`), 60*time.Second)
	var info demoInfo
	b, err := os.ReadFile(filepath.Join(dir, "demo.json"))
	if err == nil {
		err = json.Unmarshal(b, &info)
	}
	if err != nil {
		t.Fatalf("demo.json: %v", err)
	}
	base := strings.Replace(info.URL, "127.0.0.1", "localhost", 1) // the session cookie is Secure: localhost keeps it over http
	var sato = info.Patients[0]
	for _, p := range info.Patients {
		if p.MRN == "DEMO-0005" { // morphine 25 mg/mL, 4 mg/day = 0.16 mL/day
			sato = p
		}
	}
	if sato.MRN != "DEMO-0005" || sato.Address == "" || sato.State == "" {
		t.Fatalf("demo.json: %s", b)
	}
	chart := fmt.Sprintf("%s/patients/%d", base, sato.ID)

	// The physician orders 5 mg/day.
	signIn(t, ctx, base, "dr.hale", info.password("dr.hale"))
	err = chromedp.Run(ctx, chromedp.Navigate(chart+"/prescribe"), chromedp.WaitVisible("#dose_per_day", chromedp.ByQuery),
		chromedp.SetValue("#dose_per_day", "5 mg/day", chromedp.ByQuery), chromedp.Click("#rx-review", chromedp.ByQuery),
		chromedp.WaitVisible("#rx-confirm", chromedp.ByQuery),
		chromedp.SendKeys("#reason", "pain 6/10 at the visit; a 25% increase agreed with the patient", chromedp.ByQuery),
		chromedp.Click("#rx-confirm", chromedp.ByQuery), chromedp.WaitVisible("#rx-dose", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if s := textOf(t, ctx, "#rx-dose"); s != "5 mg/day" {
		t.Fatalf("the order's dose on the chart: %q", s)
	}
	if s := textOf(t, ctx, "#order-state"); !strings.Contains(s, "ordered: not programmed yet") {
		t.Fatalf("a new order's state on the chart: %q", s)
	}

	// The nurse programs it from the chart through the programming station.
	signIn(t, ctx, base, "nurse.ode", info.password("nurse.ode"))
	err = chromedp.Run(ctx, chromedp.Navigate(chart), chromedp.Click("#station-link", chromedp.ByQuery),
		chromedp.WaitVisible("#review-order", chromedp.ByQuery), chromedp.Click("#review-order", chromedp.ByQuery),
		chromedp.WaitVisible("#review", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	review := textOf(t, ctx, "#review")
	for _, want := range []string{"current", "ordered", "0.16 mL = 4 mg", "0.2 mL = 5 mg", "The clinic's rules", "the prescriber's reason"} {
		if !strings.Contains(review, want) {
			t.Errorf("the station's review lacks %q:\n%s", want, review)
		}
	}
	shot(t, ctx, "station-review")
	err = chromedp.Run(ctx, chromedp.Click("#confirm", chromedp.ByQuery), chromedp.WaitVisible("#order-state", chromedp.ByQuery))
	if err != nil {
		t.Fatal(err)
	}
	if s := textOf(t, ctx, "p.notice"); !strings.Contains(s, "(programmed)") {
		t.Errorf("after the confirmation: %q", s)
	}
	state := textOf(t, ctx, "#order-state")
	if !strings.HasPrefix(state, "programmed") && !strings.HasPrefix(state, "verified") {
		t.Fatalf("the order after the station's session: %q", state)
	}

	// The pump runs it: read back with thecal program, as demo.json says.
	var out []byte
	for i := 0; i < 20; i++ {
		cmd := exec.Command(bin, "program", "status", "--id", info.Identity, "--trust", info.Trust, "--pump", sato.Address, "--wake", sato.State)
		cmd.Env = w.env
		if out, err = cmd.CombinedOutput(); err == nil {
			break
		}
		time.Sleep(300 * time.Millisecond) // the home monitor may be in session
	}
	if err != nil || !strings.Contains(string(out), "morphine 25 mg/mL, continuous 0.2 mL/day") {
		t.Fatalf("thecal program status on the demo pump: %v\n%s", err, out)
	}

	// Verified after the home monitor's next report.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		if err := chromedp.Run(ctx, chromedp.Navigate(chart), chromedp.WaitVisible("#order-state", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(textOf(t, ctx, "#order-state"), "verified") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the order is not verified: %q", textOf(t, ctx, "#order-state"))
		}
	}
	shot(t, ctx, "station-verified")
	d.stop(false)
}
