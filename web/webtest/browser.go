// Package webtest starts the headless Chromium that the browser tests drive
// (the web package's, and the end-to-end tests of the whole system), signs in
// through the sign-in page and keeps screenshots. It is used by tests only.
package webtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Chromium is Debian's chromium, where .ci/run installs it.
const Chromium = "/usr/bin/chromium"

// Browser starts headless Chromium (a fresh profile, 1280×800) for at most
// timeout, or skips the test when Chromium is absent outside CI.
func Browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	if _, err := os.Stat(Chromium); err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("browser tests skipped: %s not found (install Debian's chromium; with CI set they must run)", Chromium)
		}
		t.Fatalf("CI is set but %s is missing: install chromium", Chromium)
	}
	profile, err := os.MkdirTemp("", "thecal-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // after Chromium has stopped (cleanups run last-in first-out); it may still write as it stops
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(Chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 800))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	ctx, cancel3 := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancel3)
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Shot keeps a PNG of the whole page in artifacts/screenshots/NAME.png (from
// a package directory of the module).
func Shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	var b []byte
	if err := chromedp.Run(ctx, chromedp.WaitReady("body", chromedp.ByQuery), chromedp.FullScreenshot(&b, 100)); err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "artifacts", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// SignIn signs in on the sign-in page at base, a fresh browser session.
func SignIn(ctx context.Context, base, user, pw string) error {
	err := chromedp.Run(ctx,
		network.ClearBrowserCookies(),
		chromedp.Navigate(base+"/signin"),
		chromedp.WaitVisible("#username", chromedp.ByQuery),
		chromedp.SendKeys("#username", user, chromedp.ByQuery),
		chromedp.SendKeys("#password", pw, chromedp.ByQuery),
		chromedp.Click("#signin", chromedp.ByQuery),
	)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(wctx, chromedp.WaitVisible("header.top", chromedp.ByQuery)); err != nil {
		var loc, body string
		_ = chromedp.Run(ctx, chromedp.Location(&loc), chromedp.Text("body", &body, chromedp.ByQuery))
		return fmt.Errorf("not signed in as %s: at %s: %.300s", user, loc, body)
	}
	return nil
}
