package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/web"
)

// post sends a raw body with a content type as the client.
func (c *client) post(path, contentType string, body []byte) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if c.cookie != "" {
		req.Header.Set("Cookie", web.SessionCookie+"="+c.cookie)
		req.Header.Set(web.CSRFHeader, c.csrf)
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
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return resp.StatusCode, out
}

func libraryForm(t *testing.T, file []byte, note string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, err := mw.CreateFormFile("file", "library.json")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	mw.WriteField("note", note)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func TestLibraryPublishAPI(t *testing.T) {
	e := newEnv(t, nil)
	sys := clinic.NewContext(context.Background(), clinic.System)
	count := func() int {
		a, _ := e.svc.Audit(sys, 0, 1000)
		return len(a)
	}
	path := "/api/v1/library?note=" + url.QueryEscape("committee review")
	before := count()
	// A nurse, an administrator, a monitor: 403, nothing written.
	for _, role := range []string{"nurse", "administrator", "read-only", "monitor"} {
		if code, body := e.clients[role].post(path, "application/json", clinictest.ClinicLibrary("clinic-1")); code != 403 {
			t.Fatalf("%s: %d %v", role, code, body)
		}
	}
	// An invalid file: 400 naming every field at fault.
	bad := strings.Replace(string(clinictest.ClinicLibrary("clinic-1")), `"dose_unit": "mcg"`, `"dose_unit": "grains"`, 1)
	bad = strings.Replace(bad, `"published": "2026-11-24"`, `"published": "24/11/2026"`, 1)
	code, body := e.clients["physician"].post(path, "application/json", []byte(bad))
	if c, f := errField(body); code != 400 || c != "invalid" || f != "file" {
		t.Fatalf("invalid file: %d %v", code, body)
	}
	probs, _ := body["error"].(map[string]any)["problems"].([]any)
	fields := map[string]bool{}
	for _, p := range probs {
		m := p.(map[string]any)
		if m["reason"] == "" {
			t.Errorf("problem without a reason: %v", m)
		}
		fields[m["field"].(string)] = true
	}
	if !fields["drugs[0].dose_unit"] || !fields["published"] {
		t.Fatalf("problems %v: want drugs[0].dose_unit and published", probs)
	}
	if count() != before {
		t.Fatal("a refused publication wrote")
	}
	// Raw JSON body, then a multipart form.
	code, body = e.clients["physician"].post(path, "application/json", clinictest.ClinicLibrary("clinic-1"))
	if code != 201 || body["version"] != "clinic-1" || body["note"] != "committee review" || body["published_by"] != "u-physician" {
		t.Fatalf("publish: %d %v", code, body)
	}
	ct, form := libraryForm(t, clinictest.ClinicLibrary("clinic-2"), "second review")
	if code, body := e.clients["physician"].post("/api/v1/library", ct, form); code != 201 || body["version"] != "clinic-2" {
		t.Fatalf("publish form: %d %v", code, body)
	}
	// The same version again: 409 on version.
	ct, form = libraryForm(t, clinictest.ClinicLibrary("clinic-2"), "again")
	if code, body := e.clients["physician"].post("/api/v1/library", ct, form); code != 409 {
		t.Fatalf("duplicate: %d %v", code, body)
	} else if c, f := errField(body); c != "conflict" || f != "version" {
		t.Fatalf("duplicate: %v", body)
	}
	// The versions, for any clinical or administrative role.
	for _, role := range []string{"nurse", "administrator", "read-only"} {
		code, body := e.clients[role].do("GET", "/api/v1/library/versions", nil)
		inForce, _ := body["in_force"].(map[string]any)
		vs, _ := body["versions"].([]any)
		if code != 200 || inForce["version"] != "clinic-2" || len(vs) != 2 {
			t.Fatalf("versions as %s: %d %v", role, code, body)
		}
	}
	if code, _ := e.clients["monitor"].do("GET", "/api/v1/library/versions", nil); code != 403 {
		t.Fatalf("monitor reads versions: %d", code)
	}
	if e.svc.Library().Version != "clinic-2" {
		t.Fatalf("in force: %s", e.svc.Library().Version)
	}
}

// page sends a page request with the client's session, not following redirects.
func (c *client) page(method, path, contentType string, body []byte) (int, string, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Cookie", web.SessionCookie+"="+c.cookie)
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func libraryPageForm(t *testing.T, csrf string, file []byte, note string) (string, []byte) {
	return libraryPageFormKeyed(t, csrf, testFormKey(), file, note)
}

// libraryPageFormKeyed is the library page's form with its key.
func libraryPageFormKeyed(t *testing.T, csrf, key string, file []byte, note string) (string, []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("csrf_token", csrf)
	mw.WriteField("form_key", key)
	if file != nil {
		fw, _ := mw.CreateFormFile("file", "library.json")
		fw.Write(file)
	}
	mw.WriteField("note", note)
	mw.Close()
	return mw.FormDataContentType(), b.Bytes()
}

func TestLibraryPage(t *testing.T) {
	e := newEnv(t, nil)
	nurse, dr := e.clients["nurse"], e.clients["physician"]
	code, _, body := nurse.page("GET", "/library", "", nil)
	if code != 200 || !strings.Contains(body, "thecal-default-1") || strings.Contains(body, `action="/library"`) ||
		!strings.Contains(body, "Only a physician") {
		t.Fatalf("nurse's library page: %d", code)
	}
	ct, form := libraryPageForm(t, nurse.csrf, clinictest.ClinicLibrary("clinic-1"), "nurse try")
	if code, _, _ := nurse.page("POST", "/library", ct, form); code != 403 {
		t.Fatalf("nurse publishes: %d", code)
	}
	// Without the CSRF field: refused.
	ct, form = libraryPageForm(t, "", clinictest.ClinicLibrary("clinic-1"), "no csrf")
	if code, _, _ := dr.page("POST", "/library", ct, form); code != 403 {
		t.Fatalf("no CSRF: %d", code)
	}
	// A refused file: every problem shown, the note kept.
	bad := strings.Replace(string(clinictest.ClinicLibrary("clinic-1")), `"dose_unit": "mcg"`, `"dose_unit": "grains"`, 1)
	bad = strings.Replace(bad, `"format": "thecal-drug-library/1",`, `"format": "thecal-drug-library/1", "colour": "red",`, 1)
	ct, form = libraryPageForm(t, dr.csrf, []byte(bad), "committee <review> 3")
	code, _, body = dr.page("POST", "/library", ct, form)
	if code != 400 || !strings.Contains(body, "<code>drugs[0].dose_unit</code>") || !strings.Contains(body, "<code>colour</code>") ||
		!strings.Contains(body, "committee &lt;review&gt; 3</textarea>") {
		t.Fatalf("refused file: %d\n%s", code, body)
	}
	if e.svc.Library().Version != "thecal-default-1" {
		t.Fatal("a refused file was put in force")
	}
	// Published: the new version in force and in the list.
	ct, form = libraryPageForm(t, dr.csrf, clinictest.ClinicLibrary("clinic-1"), "committee review 3")
	code, loc, _ := dr.page("POST", "/library", ct, form)
	if code != 303 || loc != "/library?published=clinic-1" {
		t.Fatalf("publish: %d %q", code, loc)
	}
	code, _, body = dr.page("GET", loc, "", nil)
	if code != 200 || !strings.Contains(body, "Version <strong>clinic-1</strong> published") ||
		!strings.Contains(body, "In force: version <strong>clinic-1</strong>") || !strings.Contains(body, "committee review 3") {
		t.Fatalf("after publishing: %d\n%s", code, body)
	}
	// A forged "published" link says nothing.
	if _, _, body := dr.page("GET", "/library?published=evil", "", nil); strings.Contains(body, "evil") {
		t.Fatal("the published notice shows any text")
	}
}
