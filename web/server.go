// Package web owns the clinic server's HTTP side: the JSON API
// (docs/openapi.yaml), authentication (password sessions in secure cookies
// with CSRF protection, and API tokens for home monitors), authorisation by
// role on every route with deny by default, request logs, /healthz and the
// Prometheus /metrics. It holds no business rule: every request becomes one
// call of the clinic.Service.
package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/programmer"
)

// TimeHeader carries the clinic's clock on every API answer.
const TimeHeader = "Thecal-Time"

// Cookie names.
const (
	SessionCookie = "thecal_session"
	CSRFCookie    = "thecal_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Server serves the API over a clinic.Service.
type Server struct {
	Svc    *clinic.Service
	Logger *slog.Logger
	// Export turns a patient's record into a FHIR R4 Bundle (package fhir).
	Export func(rec *clinic.PatientRecord, now time.Time) ([]byte, error)
	// MaxBody bounds a request body; MaxReport bounds a posted report.
	MaxBody, MaxReport int64
	// UI configures the pages (ui.go).
	UI UIConfig
	// MetricsToken, when set, serves /metrics on the API's listener to
	// requests bearing it ("Authorization: Bearer TOKEN"). Without it
	// /metrics is not on the API's listener: serve MetricsHandler on a
	// listener of its own (thecal serve --metrics-listen).
	MetricsToken string
	// FormKey signs the sign-in form's CSRF token (bound to the pre-session
	// cookie). Random per server unless set; ShareKeys sets the one every
	// server on the database shares.
	FormKey []byte

	// station is the programming station (SetStation; nil: none).
	station atomic.Pointer[programmer.Station]

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ingested *prometheus.CounterVec
	routes   []route
}

// route is one API route. Every route names the action it needs, or is marked
// public (sign-in, health, metrics) or open to any signed-in principal.
type route struct {
	pattern string
	action  clinic.Action
	public  bool // no authentication
	anyRole bool // any signed-in principal
	// form: the body may be multipart/form-data as well as JSON.
	form bool
	// idem: a create, which takes an Idempotency-Key (idempotency.go);
	// secret: its body carries a password (fingerprinted with argon2id).
	idem, secret bool
	h            func(w http.ResponseWriter, r *http.Request) error
}

// NewServer returns a server with its own Prometheus registry.
func NewServer(svc *clinic.Service, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{Svc: svc, Logger: logger, MaxBody: 1 << 20, MaxReport: 8 << 20, reg: prometheus.NewRegistry(), UI: DefaultUIConfig}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "thecal_http_requests_total",
		Help: "HTTP requests by route and status code."}, []string{"route", "code"})
	s.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "thecal_http_request_duration_seconds",
		Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"})
	s.ingested = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "thecal_reports_total",
		Help: "Pump interrogation reports received, by result."}, []string{"result"})
	s.reg.MustRegister(s.requests, s.latency, s.ingested,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.routes = s.table()
	s.FormKey = make([]byte, 32)
	if _, err := rand.Read(s.FormKey); err != nil {
		panic("web: no randomness: " + err.Error())
	}
	return s
}

// ShareKeys takes the keys every server on the database shares instead of
// this process's own: the sign-in form's CSRF key (a form served by one
// server is accepted by another behind the same load balancer).
func (s *Server) ShareKeys(ctx context.Context) error {
	key, err := s.Svc.SharedSecret(clinic.NewContext(ctx, clinic.System), "signin_form_key", 32)
	if err != nil {
		return err
	}
	s.FormKey = key
	return nil
}

// MetricsHandler serves the Prometheus metrics, for a listener of their own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg})
}

// metricsBehindToken serves the metrics to a request bearing MetricsToken.
func (s *Server) metricsBehindToken() http.Handler {
	h := s.MetricsHandler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(tok), []byte(s.MetricsToken)) != 1 {
			writeError(w, clinic.Errorf(clinic.EUNAUTHORIZED, "Authorization", "the metrics need the metrics token"))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// Registry is the server's metrics registry.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Routes lists the route patterns with the action each needs ("" for public).
func (s *Server) Routes() map[string]clinic.Action {
	m := map[string]clinic.Action{}
	for _, rt := range s.routes {
		m[rt.pattern] = rt.action
	}
	return m
}

// IdempotentRoutes lists the routes that take an Idempotency-Key.
func (s *Server) IdempotentRoutes() []string {
	var out []string
	for _, rt := range s.routes {
		if rt.idem {
			out = append(out, rt.pattern)
		}
	}
	return out
}

// Handler returns the HTTP handler: only the routes of the table exist.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range s.routes {
		if rt.action == "" && !rt.public && !rt.anyRole {
			panic("web: route " + rt.pattern + " names no action: every route is denied by default")
		}
		mux.Handle(rt.pattern, s.wrap(rt))
	}
	if s.MetricsToken != "" {
		mux.Handle("GET /metrics", s.metricsBehindToken())
	}
	s.uiRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, clinic.Errorf(clinic.ENOTFOUND, "", "no route %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

// wrap authenticates, authorises, times, logs and counts one route.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: 200}
		w = sw
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		// The clinic's clock, which the programmer and the home monitor date
		// their readings by (docs/loop.md, "One clock").
		w.Header().Set(TimeHeader, s.Svc.Now().UTC().Format(time.RFC3339Nano))
		hsts(w, r)
		var who string
		err := func() error {
			if rt.public {
				if err := jsonBody(r, rt.form); err != nil {
					return err
				}
				return rt.h(w, r)
			}
			p, err := s.authenticate(r)
			if err != nil {
				return err
			}
			who = p.Name
			if !rt.anyRole && !p.Role.Can(rt.action) {
				return clinic.Errorf(clinic.EFORBIDDEN, "", "the %s role may not do this (%s)", p.Role, rt.action)
			}
			if err := jsonBody(r, rt.form); err != nil {
				return err
			}
			r = r.WithContext(clinic.NewContext(r.Context(), p))
			if rt.idem {
				return s.keyedAPI(w, r, rt, func(r *http.Request) error { return rt.h(w, r) })
			}
			return rt.h(w, r)
		}()
		if err != nil {
			if clinic.ErrorCode(err) == clinic.EINTERNAL {
				s.Logger.Error("request failed", "route", rt.pattern, "err", err)
			}
			writeError(w, err)
		}
		d := time.Since(start)
		s.requests.WithLabelValues(rt.pattern, strconv.Itoa(sw.code)).Inc()
		s.latency.WithLabelValues(rt.pattern).Observe(d.Seconds())
		s.Logger.Info("request", "method", r.Method, "route", rt.pattern, "path", r.URL.Path, "status", sw.code,
			"duration_ms", float64(d.Microseconds())/1000, "principal", who)
	})
}

// hsts tells browsers to use HTTPS only, on a request that came over TLS
// (a header sent over plain HTTP is ignored by browsers and tells nothing).
func hsts(w http.ResponseWriter, r *http.Request) {
	if r.TLS != nil {
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// jsonBody refuses a request that sends a body as anything but JSON
// (multipart/form-data too where form is set): a text/plain body is a
// "simple" cross-site request a browser sends without asking, JSON is not.
func jsonBody(r *http.Request, form bool) error {
	if r.ContentLength == 0 {
		return nil // no body: nothing to read as anything
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && (mt == "application/json" || form && mt == "multipart/form-data") {
		return nil
	}
	allowed := "application/json"
	if form {
		allowed += " or multipart/form-data"
	}
	return clinic.Errorf(clinic.EINVALID, "Content-Type", "send the body as %s, not %q", allowed, r.Header.Get("Content-Type"))
}

// clientAddr is the address a request came from (for the sign-in throttle).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate reads a bearer API token, or a session cookie, which for a
// request that changes anything also needs the CSRF header matching the session.
func (s *Server) authenticate(r *http.Request) (*clinic.Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || tok == "" {
			return nil, clinic.Errorf(clinic.EUNAUTHORIZED, "Authorization", "use \"Bearer TOKEN\"")
		}
		return s.Svc.AuthenticateToken(r.Context(), tok)
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, clinic.Errorf(clinic.EUNAUTHORIZED, "", "sign in first (POST /api/v1/session) or send an API token")
	}
	p, sess, err := s.Svc.Authenticate(r.Context(), c.Value)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		got := r.Header.Get(CSRFHeader)
		if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
			return nil, clinic.Errorf(clinic.EFORBIDDEN, CSRFHeader, "missing or wrong CSRF token: send the csrf_token from sign-in in the %s header", CSRFHeader)
		}
	}
	return p, nil
}

// status maps a domain error code to an HTTP status, in one place.
func status(code string) int {
	switch code {
	case clinic.EINVALID:
		return http.StatusBadRequest
	case clinic.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case clinic.EFORBIDDEN:
		return http.StatusForbidden
	case clinic.ENOTFOUND:
		return http.StatusNotFound
	case clinic.ECONFLICT:
		return http.StatusConflict
	case clinic.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case clinic.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	case clinic.ETHROTTLED:
		return http.StatusTooManyRequests
	}
	return http.StatusInternalServerError
}

// ErrorBody is the body of every error response.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Field   string `json:"field,omitempty"`
		Message string `json:"message"`
		// Problems lists every problem of an input refused as a whole (a
		// drug library file), each with its field path and reason.
		Problems []clinic.Problem `json:"problems,omitempty"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, err error) {
	code := clinic.ErrorCode(err)
	if errors.Is(err, context.Canceled) {
		code = clinic.EUNAVAILABLE
	}
	var b ErrorBody
	b.Error.Code, b.Error.Field, b.Error.Message = code, clinic.ErrorField(err), clinic.ErrorMessage(err)
	b.Error.Problems = clinic.ErrorProblems(err)
	if code == clinic.EUNAUTHORIZED {
		w.Header().Set("WWW-Authenticate", `Bearer realm="thecal"`)
	}
	retryAfter(w, err)
	writeJSON(w, status(code), b)
}

// retryAfter sets Retry-After (whole seconds) on a throttled answer.
func retryAfter(w http.ResponseWriter, err error) {
	if d := clinic.ErrorRetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, _ := encodeJSON(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, clinic.Errorf(clinic.ENOTFOUND, "id", "%q is not a record id", r.PathValue("id"))
	}
	return id, nil
}

func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, clinic.Errorf(clinic.EINVALID, name, "must be a whole number, 0 or more")
	}
	return n, nil
}
