package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/thecal/thecal/clinic"
)

// TestBrowserSecurity drives issue 14's findings 4 and 8 in real Chromium:
// the open redirect, login CSRF from another site, and two-factor sign-in
// set up on the account page.
func TestBrowserSecurity(t *testing.T) {
	ctx := browser(t)
	c, ts := demoServer(t)
	base := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	nurse, phys := c.Login(clinic.Nurse), c.Login(clinic.Physician)
	host := strings.TrimPrefix(base, "http://")

	t.Run("next with a tab stays on this server", func(t *testing.T) {
		var loc string
		err := chromedp.Run(ctx, network.ClearBrowserCookies(),
			chromedp.Navigate(base+"/signin?next="+url.QueryEscape("/\t/evil.example")),
			chromedp.WaitVisible("#username", chromedp.ByQuery),
			chromedp.SendKeys("#username", nurse.Username, chromedp.ByQuery),
			chromedp.SendKeys("#password", nurse.Password, chromedp.ByQuery),
			chromedp.Click("#signin", chromedp.ByQuery),
			chromedp.WaitVisible("header.top", chromedp.ByQuery),
			chromedp.Location(&loc))
		if err != nil {
			t.Fatal(err)
		}
		if u, _ := url.Parse(loc); u.Host != host {
			t.Fatalf("signed in and sent to %s", loc)
		}
	})

	t.Run("a sign-in form on another site does not sign the browser in", func(t *testing.T) {
		// 127.0.0.1 is another site than localhost for the browser.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<form id="f" method="post" action="%s/signin"><input name="username" value="%s"><input name="password" value="%s"><input name="next" value="/"></form><script>document.getElementById("f").submit()</script>`,
				base, nurse.Username, nurse.Password)
		}))
		defer evil.Close()
		var body string
		err := chromedp.Run(ctx, network.ClearBrowserCookies(),
			chromedp.Navigate(base+"/signin"), // the browser has a pre-session cookie of its own
			chromedp.WaitVisible("#username", chromedp.ByQuery),
			chromedp.Navigate(evil.URL),
			chromedp.WaitVisible("body", chromedp.ByQuery),
			chromedp.Sleep(300*time.Millisecond),
			chromedp.Text("body", &body, chromedp.ByQuery),
			chromedp.Navigate(base+"/"),
			chromedp.WaitVisible("#username", chromedp.ByQuery))
		if err != nil {
			t.Fatalf("%v (page said %.200q)", err, body)
		}
		if !strings.Contains(body, "another site") {
			t.Fatalf("the cross-site form was not refused: %.300q", body)
		}
	})

	t.Run("two-factor sign-in set up on the account page", func(t *testing.T) {
		if err := signIn(ctx, base, phys.Username, phys.Password); err != nil {
			t.Fatal(err)
		}
		var secret string
		err := chromedp.Run(ctx, chromedp.Navigate(base+"/account"),
			chromedp.WaitVisible("#enrol-totp", chromedp.ByQuery), chromedp.Click("#enrol-totp", chromedp.ByQuery),
			chromedp.WaitVisible("#totp-qr", chromedp.ByQuery), chromedp.Text("#totp-secret", &secret, chromedp.ByQuery))
		if err != nil {
			t.Fatal(err)
		}
		shot(t, ctx, "account-totp")
		now := c.Svc.Now()
		code, _ := totp.GenerateCode(strings.TrimSpace(secret), now.Add(-30*time.Second))
		if err := chromedp.Run(ctx, chromedp.SendKeys("#code", code, chromedp.ByQuery), chromedp.Click("#confirm-totp", chromedp.ByQuery),
			chromedp.WaitVisible("#flash", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		// Without the code the password alone does not sign in.
		var msg string
		if err := chromedp.Run(ctx, network.ClearBrowserCookies(), chromedp.Navigate(base+"/signin"),
			chromedp.WaitVisible("#username", chromedp.ByQuery),
			chromedp.SendKeys("#username", phys.Username, chromedp.ByQuery), chromedp.SendKeys("#password", phys.Password, chromedp.ByQuery),
			chromedp.Click("#signin", chromedp.ByQuery), chromedp.WaitVisible("#error", chromedp.ByQuery),
			chromedp.Text("#error", &msg, chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(msg, "code") {
			t.Fatalf("without the code: %q", msg)
		}
		code, _ = totp.GenerateCode(strings.TrimSpace(secret), now)
		if err := chromedp.Run(ctx, chromedp.SendKeys("#password", phys.Password, chromedp.ByQuery), chromedp.SendKeys("#totp", code, chromedp.ByQuery),
			chromedp.Click("#signin", chromedp.ByQuery), chromedp.WaitVisible("header.top", chromedp.ByQuery)); err != nil {
			t.Fatal(err)
		}
	})
}
