package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

// sameSite reports whether loc, as a browser resolves it against the sign-in
// page (dropping tabs and newlines, reading "\" as "/", as the URL standard
// says), stays on this server.
func sameSite(loc string) bool {
	clean := strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		if r == '\\' {
			return '/'
		}
		return r
	}, strings.TrimFunc(loc, func(r rune) bool { return r <= ' ' }))
	u, err := url.Parse(clean)
	if err != nil {
		return false
	}
	base, _ := url.Parse("https://thecal.example/signin")
	return base.ResolveReference(u).Host == "thecal.example"
}

// FuzzSafeNext: whatever next is, the result is a path on this server that
// no browser reads as another host, and a path on this server is kept.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/patients/1", "/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example",
		"/%2F/evil.example", "/a?b=c", "javascript:alert(1)", "/\x00", "\\\\evil", "/ /evil", "/.//evil", "/\u3000/evil", "http:/evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := web.SafeNext(next)
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || !sameSite(got) {
			t.Fatalf("SafeNext(%q) = %q: not a path on this server", next, got)
		}
		for _, r := range got {
			if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' {
				t.Fatalf("SafeNext(%q) = %q: holds %q", next, got, r)
			}
		}
		if web.SafeNext(got) != got {
			t.Fatalf("SafeNext is not stable on %q", got)
		}
	})
}

// FuzzSignIn posts arbitrary sign-in forms and JSON bodies: never a server
// error, never a session without the right password, never a redirect off
// this server.
func FuzzSignIn(f *testing.F) {
	db, err := sqlite.Open(context.Background(), filepath.Join(f.TempDir(), "fuzz.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	svc := clinic.NewService(db, drug.Default(), nil)
	svc.PasswordParams = fast
	name, role, pw := "fuzz", clinic.Nurse, "a long enough password"
	if _, err := svc.CreateUser(clinic.NewContext(context.Background(), clinic.System), clinic.UserInput{Username: name, Name: &name, Role: &role, Password: &pw}); err != nil {
		f.Fatal(err)
	}
	h := web.NewServer(svc, nil).Handler()
	for _, s := range [][4]string{{"fuzz", "a long enough password", "/\t/evil.example", ""}, {"fuzz", "wrong", "//x", "123456"},
		{"", "", "", ""}, {"fuzz\x00", "a long enough password", "/", ""}, {"Fuzz", "a long enough password\u202e", "/a", "1"}} {
		f.Add(s[0], s[1], s[2], s[3], true)
		f.Add(s[0], s[1], s[2], s[3], false)
	}
	f.Fuzz(func(t *testing.T, user, pass, next, code string, asForm bool) {
		var req *http.Request
		if asForm {
			get := httptest.NewRecorder()
			h.ServeHTTP(get, httptest.NewRequest("GET", "/signin", nil))
			var pre *http.Cookie
			for _, c := range get.Result().Cookies() {
				if c.Name == web.PreSessionCookie {
					pre = c
				}
			}
			body := get.Body.String()
			i := strings.Index(body, `name="csrf_token" value="`) + len(`name="csrf_token" value="`)
			tok := body[i : i+strings.IndexByte(body[i:], '"')]
			v := url.Values{"username": {user}, "password": {pass}, "next": {next}, "totp": {code}, "csrf_token": {tok}}
			req = httptest.NewRequest("POST", "/signin", strings.NewReader(v.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(pre)
		} else {
			req = httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(user+pass+next+code))
			req.Header.Set("Content-Type", "application/json")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		res := w.Result()
		if res.StatusCode >= 500 && res.StatusCode != 503 {
			t.Fatalf("%d: %s", res.StatusCode, w.Body.String())
		}
		session := false
		for _, c := range res.Cookies() {
			session = session || c.Name == web.SessionCookie && c.Value != ""
		}
		right := asForm && strings.TrimSpace(user) == name && pass == pw
		if session && !right {
			t.Fatalf("a session for %q / %q", user, pass)
		}
		if loc := res.Header.Get("Location"); loc != "" && !sameSite(loc) {
			t.Fatalf("next %q: Location %q leaves the server", next, loc)
		}
	})
}
