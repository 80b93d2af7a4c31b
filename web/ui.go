package web

// The server-rendered user interface: HTML pages over the same sessions,
// roles and clinic services as the JSON API. Forms carry the session's CSRF
// token in a hidden field. Every rule is the clinic service's: a page shows
// what the service decided, and a refused form is shown again with what was
// typed and the service's message next to the field it names.

import (
	"bytes"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// page is what every template receives.
type page struct {
	Title   string
	Who     *clinic.Principal
	CSRF    string
	Now     time.Time
	Nav     string
	Flash   string
	Err     string
	Field   string // the form field the error is about
	Form    url.Values
	Data    any
	Printed bool // a printable document: no navigation
	// Posted is the path a form was posted to (its key is kept when the
	// form is shown again: FormKey); Sent the form as it was sent (handlers
	// may rearrange Form), which identifies it under its key.
	Posted string
	Sent   url.Values
}

// Value is what was typed in a field (to keep it when a form is refused).
func (p *page) Value(name string) string { return p.Form.Get(name) }

// FieldErr is the error message when it is about the named field.
func (p *page) FieldErr(name string) string {
	if p.Err != "" && p.Field == name {
		return p.Err
	}
	return ""
}

// Can reports whether the signed-in role may do the action.
func (p *page) Can(a string) bool { return p.Who != nil && p.Who.Role.Can(clinic.Action(a)) }

var pages map[string]*template.Template

func init() {
	pages = map[string]*template.Template{}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		pages[base] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n))
	}
}

// uiRoute is one page route: the action it needs ("" for any signed-in user).
type uiRoute struct {
	pattern string
	action  clinic.Action
	h       func(w http.ResponseWriter, r *http.Request, p *page) error
}

func (s *Server) uiTable() []uiRoute {
	return []uiRoute{
		{"GET /{$}", clinic.ReadRecords, s.pageWorklist},
		{"GET /patients/{id}", clinic.ReadRecords, s.pageChart},
		{"GET /patients/{id}/refill", clinic.WriteCare, s.pageRefill},
		{"GET /refills/{id}", clinic.ReadRecords, s.pageRefillResult},
		{"POST /patients/{id}/refill", clinic.WriteCare, s.postRefill},
		{"GET /patients/{id}/prescribe", clinic.Prescribe, s.pagePrescribe},
		{"POST /patients/{id}/prescribe", clinic.Prescribe, s.postPrescribe},
		{"POST /alarms/{id}/ack", clinic.AckAlarms, s.postAck},
		{"GET /patients/{id}/document", clinic.ReadRecords, s.pageDocument},
		{"GET /patients/{id}/appointments.ics", clinic.ReadRecords, s.getICS},
		{"GET /patients", clinic.ReadRecords, s.pagePatients},
		{"GET /worklist.csv", clinic.ReadRecords, s.exportWorklist},
		{"GET /audit", clinic.ReadAudit, s.pageAudit},
		{"GET /audit.csv", clinic.ReadAudit, s.exportAudit},
		{"GET /users", clinic.ManageUsers, s.pageUsers},
		{"GET /library", "", s.pageLibrary},
		{"POST /library", clinic.PublishLibrary, s.postLibrary},
	}
}

// uiRoutes adds the pages to mux.
func (s *Server) uiRoutes(mux *http.ServeMux) {
	mux.Handle("GET /signin", headers(s.pageSignin))
	mux.Handle("POST /signin", headers(s.postSignin))
	mux.Handle("POST /signout", headers(s.postSignout))
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	for _, rt := range append(append(append(s.uiTable(), s.moreRoutes()...), s.accountRoutes()...), s.stationRoutes()...) {
		mux.Handle(rt.pattern, s.uiWrap(rt))
	}
}

// pageHeaders are set on every page: no caching, no sniffing, no framing,
// and nothing but the server's own style sheet.
func pageHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'")
}

func headers(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		hsts(w, r)
		h(w, r)
	})
}

// uiWrap signs in by the session cookie (or sends to the sign-in page),
// checks the CSRF field of a form, and the role.
func (s *Server) uiWrap(rt uiRoute) http.Handler {
	h := s.uiHandler(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(sw, r)
		d := time.Since(start)
		s.requests.WithLabelValues(rt.pattern, strconv.Itoa(sw.code)).Inc()
		s.latency.WithLabelValues(rt.pattern).Observe(d.Seconds())
		s.Logger.Info("page", "method", r.Method, "route", rt.pattern, "path", r.URL.Path, "status", sw.code,
			"duration_ms", float64(d.Microseconds())/1000)
	})
}

func (s *Server) uiHandler(rt uiRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w)
		hsts(w, r)
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		who, sess, err := s.Svc.Authenticate(r.Context(), c.Value)
		if err != nil {
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		p := &page{Who: who, CSRF: sess.CSRF, Now: s.Svc.Now().UTC(), Form: url.Values{}}
		if r.Method == http.MethodPost {
			if limit, ok := uploadRoutes[rt.pattern]; ok && isMultipart(r) {
				// A form with a file: read it whole (up to the route's
				// limit) before the CSRF check; the handler takes the file.
				r.Body = http.MaxBytesReader(w, r.Body, limit)
				if err := r.ParseMultipartForm(limit); err != nil {
					var mbe *http.MaxBytesError
					if errors.As(err, &mbe) {
						s.uiError(w, p, clinic.Errorf(clinic.ETOOLARGE, "", "the form is larger than %d bytes", limit))
					} else {
						s.uiError(w, p, clinic.Errorf(clinic.EINVALID, "", "the form could not be read"))
					}
					return
				}
				defer func() { _ = r.MultipartForm.RemoveAll() }()
				r.PostForm = url.Values(r.MultipartForm.Value)
			} else {
				r.Body = http.MaxBytesReader(w, r.Body, s.MaxBody)
				if err := r.ParseForm(); err != nil {
					s.uiError(w, p, clinic.Errorf(clinic.EINVALID, "", "the form could not be read"))
					return
				}
			}
			got := r.PostForm.Get("csrf_token")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
				s.uiError(w, p, clinic.Errorf(clinic.EFORBIDDEN, "", "the form is out of date (CSRF check): reload the page and try again"))
				return
			}
			p.Form, p.Posted, p.Sent = r.PostForm, r.URL.Path, maps.Clone(r.PostForm)
		}
		if rt.action != "" && !who.Role.Can(rt.action) {
			s.uiError(w, p, clinic.Errorf(clinic.EFORBIDDEN, "", "the %s role may not do this (%s)", who.Role, rt.action))
			return
		}
		ctx := clinic.NewContext(r.Context(), who)
		if r.Method == http.MethodPost && !unkeyedForms[rt.pattern] {
			// Every form that writes carries its key (idempotency.go).
			if !validKey(p.Form.Get(formKeyField)) {
				s.uiError(w, p, clinic.Errorf(clinic.EINVALID, formKeyField, "the form is out of date (it has no key): reload the page and fill it in again"))
				return
			}
			if s.replayForm(w, r.WithContext(ctx), p) {
				return // a form sent already under its key: nothing runs again
			}
		}
		if err := rt.h(w, r.WithContext(ctx), p); err != nil {
			if clinic.ErrorCode(err) == clinic.EINTERNAL {
				s.Logger.Error("page failed", "route", rt.pattern, "err", err)
			}
			s.uiError(w, p, err)
		}
	})
}

// unkeyedForms are the page forms without a key: none records anything a
// repeat could record twice (a pending second-factor secret replaced by the
// next; a one-time code refused when used again; resolving a resolved item
// does nothing). Sign-in and sign-out are outside these routes.
var unkeyedForms = map[string]bool{
	"POST /account/totp":          true,
	"POST /account/totp/confirm":  true,
	"POST /security/{id}/resolve": true,
}

// uploadRoutes are the page routes whose form may carry a file
// (multipart/form-data), with the most bytes the form may have.
var uploadRoutes = map[string]int64{
	"POST /library": clinic.MaxLibraryFile + 64<<10,
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

func (s *Server) uiError(w http.ResponseWriter, p *page, err error) {
	p.Title, p.Err = "Cannot do this", clinic.ErrorMessage(err)
	s.render(w, status(clinic.ErrorCode(err)), "error", p)
}

// render writes a page; a template that fails writes nothing half-done.
func (s *Server) render(w http.ResponseWriter, code int, name string, p *page) {
	var b bytes.Buffer
	if err := pages[name].Execute(&b, p); err != nil {
		s.Logger.Error("template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = b.WriteTo(w)
}
