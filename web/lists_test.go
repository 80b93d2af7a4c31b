package web_test

import (
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/thecal/thecal/web"
)

// get fetches a page or file with the client's session and returns its
// status, content type and body.
func (c *client) get(path string) (int, string, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Cookie", web.SessionCookie+"="+c.cookie)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// TestListsOverTheAPI: the patient list and the worklist answer a page with
// its total; filters and a bad parameter named in the refusal.
func TestListsOverTheAPI(t *testing.T) {
	e := newEnv(t, nil)
	nurse, ro := e.clients["nurse"], e.clients["read-only"]
	for i := range 7 {
		p := patientJSON(fmt.Sprintf("LIST-%d", i))
		p["family_name"], p["given_name"] = "Novák", fmt.Sprintf("Given%d", i)
		if code, b := nurse.do("POST", "/api/v1/patients", p); code != 201 {
			t.Fatal(code, b)
		}
	}
	code, b := ro.do("GET", "/api/v1/patients?q=novak&limit=3&offset=3", nil)
	if code != 200 || b["total"] != 7.0 || len(b["patients"].([]any)) != 3 || b["offset"] != 3.0 {
		t.Fatalf("patients page: %d %v", code, b)
	}
	if first := b["patients"].([]any)[0].(map[string]any); first["status"] != "referred" || first["given_name"] != "Given3" {
		t.Errorf("fourth by name: %v", first)
	}
	code, b = ro.do("GET", "/api/v1/worklist?limit=10", nil)
	if code != 200 || b["total"] == nil || b["limit"] != 10.0 {
		t.Fatalf("worklist page: %d %v", code, b)
	}
	for q, field := range map[string]string{
		"/api/v1/patients?status=gone":                "status",
		"/api/v1/patients?limit=5000":                 "limit",
		"/api/v1/patients?sort=shoe":                  "sort",
		"/api/v1/worklist?priority=9":                 "priority",
		"/api/v1/worklist?due_from=yesterday":         "due_from",
		"/api/v1/worklist?kind=coffee":                "kind",
		"/api/v1/worklist?patient_id=-3":              "patient_id",
		"/api/v1/audit?order=sideways":                "order",
		"/api/v1/audit?from=2026-13-01":               "from",
		"/api/v1/audit?from=2026-02-01&to=2026-01-01": "to",
	} {
		c := ro
		if strings.Contains(q, "audit") {
			c = e.clients["administrator"]
		}
		code, b := c.do("GET", q, nil)
		if got, f := errField(b); code != 400 || got != "invalid" || f != field {
			t.Errorf("%s: %d %v, want 400 on %s", q, code, b, field)
		}
	}
	// The audit over the API: filtered by person and action, with names
	// and changes.
	code, b = e.clients["administrator"].do("GET", "/api/v1/audit?actor=u-nurse&action=patient.create&limit=2", nil)
	if code != 200 || b["total"] != 7.0 || len(b["entries"].([]any)) != 2 {
		t.Fatalf("audit page: %d %v", code, b)
	}
	ent := b["entries"].([]any)[0].(map[string]any)
	if ent["actor_name"] != "u-nurse" || ent["patient_name"] != "Novák, Given6" || ent["changes"] == nil {
		t.Errorf("newest entry: %v", ent)
	}
}

// TestCSVExports: the worklist and audit exports hold the rows the filter
// selects under a header, and no cell a spreadsheet would run.
func TestCSVExports(t *testing.T) {
	e := newEnv(t, nil)
	nurse := e.clients["nurse"]
	for i := range 3 {
		p := patientJSON(fmt.Sprintf("CSV-%d", i))
		p["family_name"] = "=HYPERLINK(\"http://evil.example\")"
		if code, b := nurse.do("POST", "/api/v1/patients", p); code != 201 {
			t.Fatal(code, b)
		}
	}
	code, ct, body := e.clients["administrator"].get("/audit.csv?action=patient.create&order=oldest")
	if code != 200 || !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("audit.csv: %d %s %.200s", code, ct, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || rows[0][0] != "seq" || rows[1][4] != "patient.create" {
		t.Fatalf("audit.csv rows: %q", rows)
	}
	if name := rows[1][8]; !strings.HasPrefix(name, "'=HYPERLINK") {
		t.Errorf("a formula in a cell is not defused: %q", name)
	}
	if !strings.Contains(rows[1][9], "mrn:  → CSV-0") {
		t.Errorf("changes: %q", rows[1][9])
	}
	code, _, body = nurse.get("/worklist.csv")
	if code != 200 || !strings.HasPrefix(body, "priority,high_risk,patient,") {
		t.Fatalf("worklist.csv: %d %.200s", code, body)
	}
	// A refused filter is an error page, not a file.
	if code, ct, _ := nurse.get("/worklist.csv?priority=7"); code != 400 || strings.HasPrefix(ct, "text/csv") {
		t.Errorf("bad filter: %d %s", code, ct)
	}
	// The audit export is the administrator's only.
	if code, _, _ := nurse.get("/audit.csv"); code != 403 {
		t.Errorf("nurse's audit export: %d", code)
	}
}
