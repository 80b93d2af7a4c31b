package web

// The sign-in page (issue 14, findings 4 and 8). The form carries a CSRF
// token bound to a pre-session cookie, so that another site cannot sign a
// browser in to an account of its choosing (login CSRF); the address to go to
// afterwards ("next") is accepted only as a path on this server.

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/thecal/thecal/clinic"
)

// PreSessionCookie holds a random value the sign-in form's CSRF token is bound to.
const PreSessionCookie = "thecal_presession"

// signinToken is the sign-in form's CSRF token for a pre-session value: an
// HMAC under the server's form key, so that it cannot be made without the
// key nor used with another browser's cookie.
func (s *Server) signinToken(pre string) string {
	m := hmac.New(sha256.New, s.FormKey)
	m.Write([]byte("thecal-signin/1\x00" + pre))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// preSession returns the request's pre-session value, setting a new cookie
// when there is none (or a malformed one).
func (s *Server) preSession(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(PreSessionCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	v := clinic.NewSecret("")
	http.SetCookie(w, &http.Cookie{Name: PreSessionCookie, Value: v, Path: "/signin", MaxAge: 3600,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	return v
}

// checkSigninToken reports whether the form's token is the one bound to the
// request's pre-session cookie.
func (s *Server) checkSigninToken(r *http.Request, token string) bool {
	c, err := r.Cookie(PreSessionCookie)
	if err != nil || c.Value == "" || token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.signinToken(c.Value))) == 1
}

// SafeNext returns next when it is a path on this server, and "/" otherwise.
// It parses next with net/url and rebuilds it from its path and query, so
// that nothing a browser could read as another host survives: a scheme, a
// host, "//" or "/\" at the start, control characters and white space (a
// tab that a browser drops: "/\t/evil.example" is "//evil.example" to it).
func SafeNext(next string) string {
	if next == "" || len(next) > 2048 {
		return "/"
	}
	for _, r := range next {
		if r == '\\' || r == 0x7f || r < 0x20 || unicode.IsSpace(r) || unicode.IsControl(r) || r == 0xFFFD {
			return "/"
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || u.Fragment != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	out := (&url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}).String()
	if !strings.HasPrefix(out, "/") || strings.HasPrefix(out, "//") {
		return "/"
	}
	return out
}

func (s *Server) pageSignin(w http.ResponseWriter, r *http.Request) {
	p := &page{Title: "Sign in", Form: url.Values{"next": {SafeNext(r.URL.Query().Get("next"))}}}
	p.CSRF = s.signinToken(s.preSession(w, r))
	s.render(w, http.StatusOK, "signin", p)
}

func (s *Server) postSignin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	user, pw := strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	next := SafeNext(r.PostForm.Get("next"))
	// The form is shown again with what was typed, except the password and code.
	p := &page{Title: "Sign in", Form: url.Values{"username": {r.PostForm.Get("username")}, "next": {next}}}
	again := func(code int, field, msg string) {
		p.Err, p.Field = msg, field
		p.CSRF = s.signinToken(s.preSession(w, r))
		s.render(w, code, "signin", p)
	}
	if !s.checkSigninToken(r, r.PostForm.Get("csrf_token")) {
		again(http.StatusForbidden, "", "the sign-in form is out of date or came from another site: sign in again")
		return
	}
	if user == "" || pw == "" {
		again(http.StatusBadRequest, "username", "enter your username and password")
		return
	}
	_, secret, sess, err := s.Svc.Login(r.Context(), clinic.Credentials{Username: user, Password: pw,
		TOTP: strings.TrimSpace(r.PostForm.Get("totp")), Addr: clientAddr(r)})
	if err != nil {
		if clinic.ErrorCode(err) == clinic.EINTERNAL {
			s.Logger.Error("sign-in failed", "err", err)
		}
		field := clinic.ErrorField(err)
		if field != "totp" {
			field = "password"
		}
		retryAfter(w, err)
		again(status(clinic.ErrorCode(err)), field, clinic.ErrorMessage(err))
		return
	}
	setSessionCookies(w, secret, sess)
	http.SetCookie(w, &http.Cookie{Name: PreSessionCookie, Value: "", Path: "/signin", MaxAge: -1, HttpOnly: true, Secure: true,
		SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// setSessionCookies sets the session and CSRF cookies of a new session.
func setSessionCookies(w http.ResponseWriter, secret string, sess *clinic.Session) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: sess.CSRF, Path: "/", Expires: sess.ExpiresAt,
		Secure: true, SameSite: http.SameSiteStrictMode})
}

func clearSessionCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: "", Path: "/", MaxAge: -1, Secure: true, SameSite: http.SameSiteStrictMode})
}

func (s *Server) postSignout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(SessionCookie); err == nil {
		if _, sess, err := s.Svc.Authenticate(r.Context(), c.Value); err == nil {
			_ = r.ParseForm()
			if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("csrf_token")), []byte(sess.CSRF)) == 1 {
				_ = s.Svc.Logout(r.Context(), c.Value)
			}
		}
	}
	clearSessionCookies(w)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
