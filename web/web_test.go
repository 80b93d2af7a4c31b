package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/fhir"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

// client is one signed-in principal.
type client struct {
	t      testing.TB
	base   string
	cookie string
	csrf   string
	bearer string
	http   *http.Client
}

func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	code, data := c.send(method, path, body)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return code, out
}

// send makes a request and returns the status and the body undecoded.
func (c *client) send(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", web.SessionCookie+"="+c.cookie)
		if c.csrf != "" {
			req.Header.Set(web.CSRFHeader, c.csrf)
		}
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

func errField(m map[string]any) (string, string) {
	e, _ := m["error"].(map[string]any)
	code, _ := e["code"].(string)
	field, _ := e["field"].(string)
	return code, field
}

type env struct {
	srv     *httptest.Server
	svc     *clinic.Service
	clients map[string]*client
	// contract checks the clients' API traffic against docs/openapi.yaml.
	contract *contractCheck
}

const metricsToken = "metrics-token-for-tests"

var fast = clinic.PasswordParams{Time: 1, Memory: 1024, Threads: 1}

// newEnv starts a server on a fresh SQLite database with a signed-in client
// per role, a monitor token and an anonymous client.
func newEnv(t testing.TB, st clinic.Store) *env { return newEnvWith(t, st, nil) }

// newEnvWith is newEnv with the service set up by setup before anyone signs in.
func newEnvWith(t testing.TB, st clinic.Store, setup func(*clinic.Service)) *env {
	if st == nil {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "web.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		st = db
	}
	svc := clinic.NewService(st, drug.Default(), nil)
	svc.PasswordParams = fast
	if setup != nil {
		setup(svc)
	}
	s := web.NewServer(svc, nil)
	s.Export = fhir.Bundle
	s.MetricsToken = metricsToken
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	e := &env{srv: srv, svc: svc, clients: map[string]*client{}}
	e.contract = newContractCheck(t, &http.Transport{MaxIdleConnsPerHost: 256})
	if _, bench := t.(*testing.B); bench {
		e.contract.off.Store(true)
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: e.contract}
	sys := clinic.NewContext(context.Background(), clinic.System)
	pw := "a long enough password"
	for _, r := range clinic.Roles {
		name := "u-" + string(r)
		role := r
		if _, err := svc.CreateUser(sys, clinic.UserInput{Username: name, Name: &name, Role: &role, Password: &pw}); err != nil &&
			clinic.ErrorCode(err) != clinic.ECONFLICT { // a reused benchmark database has them
			t.Fatal(err)
		}
		c := &client{t: t, base: srv.URL, http: hc}
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q}`, name, pw)))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("login %s: %v %v", name, err, resp)
		}
		var lr struct {
			CSRF string `json:"csrf_token"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&lr)
		resp.Body.Close()
		for _, ck := range resp.Cookies() {
			if ck.Name == web.SessionCookie {
				c.cookie = ck.Value
				if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode {
					t.Fatalf("session cookie not HttpOnly, Secure, SameSite=Strict: %+v", ck)
				}
			}
		}
		c.csrf = lr.CSRF
		e.clients[string(r)] = c
	}
	// The monitor reports for pump S1 (a token is bound to one pump).
	_, secret, err := svc.CreateToken(sys, clinic.TokenInput{Name: "home monitor", Serial: "S1"})
	if err != nil {
		t.Fatal(err)
	}
	e.clients["monitor"] = &client{t: t, base: srv.URL, http: hc, bearer: secret}
	e.clients["anonymous"] = &client{t: t, base: srv.URL, http: hc}
	return e
}

func TestEveryRouteDocumentedAndGuarded(t *testing.T) {
	s := web.NewServer(clinic.NewService(nil, drug.Default(), nil), nil)
	doc, err := os.ReadFile("../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for pattern := range s.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		re := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(path) + `:\n(?:    .*\n|      .*\n|\s*\n)*?    ` + strings.ToLower(method) + `:`)
		if !re.Match(doc) {
			t.Errorf("%s is not documented in docs/openapi.yaml", pattern)
		}
	}
}

// TestAuthorisationMatrix sends every route as every role: a role without the
// route's action gets 403 (401 when not signed in), and nothing is written.
func TestAuthorisationMatrix(t *testing.T) {
	e := newEnv(t, nil)
	s := web.NewServer(e.svc, nil)
	roles := []string{"physician", "nurse", "administrator", "read-only", "monitor", "anonymous"}
	for pattern, action := range s.Routes() {
		method, path, _ := strings.Cut(pattern, " ")
		path = strings.ReplaceAll(path, "{id}", "999") // 999 exists nowhere: nothing is changed by an allowed role either
		for _, role := range roles {
			if action == "" {
				continue // public or any signed-in principal
			}
			before, _ := e.svc.Audit(clinic.NewContext(context.Background(), clinic.System), 0, 1000)
			code, body := e.clients[role].do(method, path, "{}")
			allowed := role != "anonymous" && clinic.Role(role).Can(action)
			switch {
			case role == "anonymous" && code != http.StatusUnauthorized:
				t.Errorf("%s anonymous: %d, want 401", pattern, code)
			case !allowed && role != "anonymous" && code != http.StatusForbidden:
				t.Errorf("%s as %s: %d, want 403", pattern, role, code)
			case allowed && (code == http.StatusForbidden || code == http.StatusUnauthorized):
				t.Errorf("%s as %s: refused %d %v", pattern, role, code, body)
			}
			if !allowed {
				after, _ := e.svc.Audit(clinic.NewContext(context.Background(), clinic.System), 0, 1000)
				if len(after) != len(before) {
					t.Errorf("%s as %s: a refused request wrote", pattern, role)
				}
			}
		}
	}
}

func TestCSRFAndTokens(t *testing.T) {
	e := newEnv(t, nil)
	nurse := *e.clients["nurse"]
	nurse.csrf = ""
	code, body := nurse.do("POST", "/api/v1/patients", patientJSON("M1"))
	if c, f := errField(body); code != 403 || c != "forbidden" || f != web.CSRFHeader {
		t.Fatalf("no CSRF token: %d %v", code, body)
	}
	nurse.csrf = "wrong"
	if code, _ := nurse.do("POST", "/api/v1/patients", patientJSON("M1")); code != 403 {
		t.Fatalf("wrong CSRF token: %d", code)
	}
	// Reads need no CSRF token; a token is no session.
	if code, _ := nurse.do("GET", "/api/v1/worklist", nil); code != 200 {
		t.Fatalf("read without CSRF: %d", code)
	}
	bad := &client{t: t, base: e.srv.URL, http: http.DefaultClient, bearer: "thecal_nope"}
	if code, _ := bad.do("POST", "/api/v1/reports", "{}"); code != 401 {
		t.Fatalf("unknown token: %d", code)
	}
}

func patientJSON(mrn string) map[string]any {
	return map[string]any{"mrn": mrn, "family_name": "Doe", "given_name": "Jan", "birth_date": "1970-01-01", "sex": "male", "indication": "spasticity", "origin": "spinal"}
}

func TestBadInputNamesFieldWritesNothing(t *testing.T) {
	e := newEnv(t, nil)
	nurse, doc := e.clients["nurse"], e.clients["physician"]
	code, p := nurse.do("POST", "/api/v1/patients", patientJSON("M1"))
	if code != 201 {
		t.Fatalf("create: %d %v", code, p)
	}
	pid := int64(p["id"].(float64))
	code, im := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", pid), map[string]any{"model": "TP-20", "serial": "S1",
		"implanted_at": "2026-01-05T08:00:00Z", "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"})
	if code != 201 {
		t.Fatalf("implant: %d %v", code, im)
	}
	sys := clinic.NewContext(context.Background(), clinic.System)
	before, _ := e.svc.Audit(sys, 0, 1000)
	cases := []struct {
		c      *client
		method string
		path   string
		body   string
		status int
		field  string
	}{
		{nurse, "POST", "/api/v1/patients", `{"mrn":"M2","family_name":"D","birth_date":"yesterday","sex":"male","indication":"pain"}`, 400, "birth_date"},
		{nurse, "POST", "/api/v1/patients", `{"mrn":"M2","family_name":"D","birth_date":"1970-01-01","sex":"male","indication":"pain","shoe_size":42}`, 400, "shoe_size"},
		{nurse, "POST", "/api/v1/patients", `{"mrn":7}`, 400, "mrn"},
		{nurse, "POST", "/api/v1/patients", `{"mrn":"M2"`, 400, ""},
		{nurse, "POST", "/api/v1/patients", `{"mrn":"M1","family_name":"D","birth_date":"1970-01-01","sex":"male","indication":"pain"}`, 409, "mrn"},
		{nurse, "POST", fmt.Sprintf("/api/v1/patients/%d/refills", pid), `{"drug":"baclofen","concentration":"2000 mcg/mL","lot":"L","withdrawn":"10","added":"20 mL"}`, 400, "withdrawn"},
		{nurse, "POST", fmt.Sprintf("/api/v1/patients/%d/refills", pid), `{"drug":"baclofen","concentration":"2000 mcg/mL","lot":"L","withdrawn":"10 mL","added":"25 mL"}`, 400, "added"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"stopped"}}`, 400, "reason"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"stopped"},"reason":"typo"}`, 400, "reason"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous"},"dose_per_day":"100 mcg/day"}`, 400, "program.max_24h"},
		{doc, "POST", "/api/v1/patients/999/prescriptions", `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"100 mcg/day","reason":"x"}`, 404, "patient_id"},
		// The old flat form is refused, naming the first field that moved into "program".
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","dose_per_day":"100 mcg/day","max_24h":"1 mL"}`, 400, "drug"},
		// json/v2: exact names, each field once, the JSON pointer of a nested field.
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"Drug":"baclofen"}}`, 400, "program.Drug"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","drug":"morphine"}}`, 400, "program.drug"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","mode":"bolus"}}`, 400, "program.mode"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"mode":"flex","flex":[{"at":"08:00","rate":"0.1 mL/day"},{"at":"8pm","rate":"0.1 mL/day"}]}}`, 400, "program.flex[1].at"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"mode":"flex","flex":[{"at":"08:00","rate":"0.1 mL/day","days":["mon"]}]}}`, 400, "program.flex[0].days"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"mode":"flex","weekly":true,"flex":[{"at":"08:00","rate":"0.1 mL/day","days":["mon","someday"]}]}}`, 400, "program.flex[0].days"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"patient_bolus":{"volume":"0.02 mL","lockout":"4 hours"}}}`, 400, "program.patient_bolus.lockout"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"100 mcg/day","confirm_large_change":"yes"}`, 400, "confirm_large_change"},
		{doc, "POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"100 mcg/day","reason":"x"} {}`, 400, ""},
		{nurse, "POST", "/api/v1/patients", `{"mrn":"M2","mrn":"M3","family_name":"D","birth_date":"1970-01-01","sex":"male","indication":"pain"}`, 400, "mrn"},
		{nurse, "GET", "/api/v1/patients/abc", ``, 404, "id"},
		{nurse, "GET", "/api/v1/worklist?limit=-3", ``, 400, "limit"},
		{e.clients["monitor"], "POST", "/api/v1/reports", `{"format":"thecal-report/1","serial":"S1","model":"TP-20","interrogated_at":"2026-01-05T09:00:00Z","source":"home_monitor","status":{"mode":"continuous","reservoir":"eighteen"}}`, 400, "status.reservoir"},
	}
	for _, c := range cases {
		var body any
		if c.body != "" {
			body = c.body
		}
		code, out := c.c.do(c.method, c.path, body)
		_, field := errField(out)
		if code != c.status || field != c.field {
			t.Errorf("%s %s %s: %d %q, want %d %q (%v)", c.method, c.path, c.body, code, field, c.status, c.field, out)
		}
	}
	after, _ := e.svc.Audit(sys, 0, 1000)
	if len(after) != len(before) {
		t.Errorf("refused requests wrote %d audit entries", len(after)-len(before))
	}
	// A too large body.
	big := `{"mrn":"` + strings.Repeat("x", 2<<20) + `"}`
	if code, out := nurse.do("POST", "/api/v1/patients", big); code != 413 {
		t.Errorf("2 MiB body: %d %v", code, out)
	}
}

func TestVersionConflictAndIngestOverHTTP(t *testing.T) {
	e := newEnv(t, nil)
	nurse, doc, mon := e.clients["nurse"], e.clients["physician"], e.clients["monitor"]
	_, p := nurse.do("POST", "/api/v1/patients", patientJSON("M1"))
	id := int64(p["id"].(float64))
	p["notes"] = "first"
	if code, _ := nurse.do("PUT", fmt.Sprintf("/api/v1/patients/%d", id), p); code != 200 {
		t.Fatal(code)
	}
	p["notes"] = "second, from a stale copy"
	code, out := doc.do("PUT", fmt.Sprintf("/api/v1/patients/%d", id), p)
	if c, f := errField(out); code != 409 || c != "conflict" || f != "version" {
		t.Fatalf("stale update: %d %v", code, out)
	}
	doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", id), map[string]any{"model": "TP-20", "serial": "S1",
		"implanted_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"})
	rep := map[string]any{"format": "thecal-report/1", "serial": "S1", "model": "TP-20", "interrogated_at": time.Now().UTC().Format(time.RFC3339Nano),
		"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "drug": "baclofen", "concentration": "2000 mcg/mL",
			"basal": "0.05 mL/day", "reservoir": "19 mL", "delivered": "1 mL", "battery": "990000 µAh", "active_alarms": []string{"OCCLUSION"}}}
	if code, out := mon.do("POST", "/api/v1/reports", rep); code != 201 || out["duplicate"] != false {
		t.Fatalf("first post: %d %v", code, out)
	}
	if code, out := mon.do("POST", "/api/v1/reports", rep); code != 200 || out["duplicate"] != true {
		t.Fatalf("second post of the same report: %d %v", code, out)
	}
	code, wl := nurse.do("GET", "/api/v1/worklist?kind=critical_alarm", nil)
	items, _ := wl["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("worklist: %d %v", code, wl)
	}
	code, _ = doc.do("GET", fmt.Sprintf("/api/v1/patients/%d/fhir", id), nil)
	if code != 200 {
		t.Fatalf("fhir: %d", code)
	}
	code, v := e.clients["administrator"].do("GET", "/api/v1/audit/verify", nil)
	if code != 200 || v["ok"] != true {
		t.Fatalf("audit verify: %d %v", code, v)
	}
	code, _ = e.clients["anonymous"].do("GET", "/healthz", nil)
	if code != 200 {
		t.Fatalf("healthz %d", code)
	}
	// The metrics are behind their own token (issue 14, finding 9).
	if code, _ := e.clients["anonymous"].do("GET", "/metrics", nil); code != 401 {
		t.Fatalf("metrics without the token: %d", code)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), `thecal_reports_total{result="duplicate"} 1`) {
		t.Fatalf("metrics:\n%s", m)
	}
}
