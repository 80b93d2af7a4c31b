package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/store/postgres"
)

// TestTwoServersOnePostgres runs two real `thecal serve` processes on one
// PostgreSQL database (issue 13, item 8), started together on an empty
// schema so that they migrate at once (one waits on the advisory lock), and
// checks: a session opened on one is valid on the other, CSRF included; the
// sign-in form served by one is accepted by the other; concurrent clients
// writing through both leave every acknowledged write present and the audit
// chain intact; the same report posted to both at once is stored once, and
// a create sent to both under one Idempotency-Key is recorded once.
// (A sign-in lock raised through one service holding on another is
// clinictest's SignInLockShared, under a stepped clock.)
func TestTwoServersOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two servers")
	}
	base := os.Getenv("THECAL_TEST_POSTGRES")
	if base == "" {
		t.Skip("THECAL_TEST_POSTGRES is not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("thecal_two_%d", time.Now().UnixNano())
	dbURL, err := postgres.CreateSchema(ctx, base, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), base, schema) })
	bin := buildThecal(t)

	// Both start on the empty schema at once: both migrate, under the lock.
	var a, b *proc
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); a = startServeOn(t, bin, dbURL, true) }()
	go func() { defer wg.Done(); b = startServeOn(t, bin, dbURL, false) }()
	wg.Wait()
	if a == nil || b == nil {
		t.FailNow()
	}

	admin := login(t, a.base, "admin", a.password)
	pw := "a long enough password"
	call(t, admin, 201, "POST", "/api/v1/users", map[string]any{"username": "nurse", "name": "Nurse N", "role": "nurse", "password": pw})
	call(t, admin, 201, "POST", "/api/v1/users", map[string]any{"username": "doc", "name": "Dr D", "role": "physician", "password": pw})

	// A session opened on A works on B, for reads and for writes (CSRF).
	nurseA := login(t, a.base, "nurse", pw)
	nurseB := *nurseA
	nurseB.base = b.base
	if me := call(t, &nurseB, 200, "GET", "/api/v1/me", nil); me["name"] != "nurse" {
		t.Fatalf("the session from A on B: %v", me)
	}
	call(t, &nurseB, 201, "POST", "/api/v1/patients", map[string]any{"mrn": "TWO-0", "family_name": "Both", "birth_date": "1960-01-01", "sex": "female", "indication": "pain"})

	// The sign-in form served by A is accepted by B (a shared form key).
	if code := formSignIn(t, a.base, b.base, "nurse", pw); code != http.StatusSeeOther {
		t.Fatalf("sign-in form from A posted to B: %d", code)
	}

	// Concurrent clients through both servers: patients and reports.
	doc := login(t, b.base, "doc", pw)
	pat := call(t, doc, 201, "POST", "/api/v1/patients", map[string]any{"mrn": "TWO-PUMP", "family_name": "Pump", "birth_date": "1960-01-01", "sex": "male", "indication": "spasticity"})
	start := time.Now().UTC().Add(-time.Hour)
	call(t, doc, 201, "POST", fmt.Sprintf("/api/v1/patients/%d/implants", int64(pat["id"].(float64))), map[string]any{"model": "TP-20", "serial": "CR-1",
		"implanted_at": start.Format(time.RFC3339), "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"})
	tok := call(t, admin, 201, "POST", "/api/v1/tokens", map[string]any{"name": "monitor", "serial": "CR-1"})
	var mu sync.Mutex
	var ackedMRN []string
	var ackedAt []time.Time
	var failures atomic.Int64
	var cw sync.WaitGroup
	for w := range 16 {
		cw.Add(1)
		go func() {
			defer cw.Done()
			srv := []*proc{a, b}[w%2]
			doc := &session{base: srv.base, cookie: doc.cookie, csrf: doc.csrf, hc: &http.Client{Timeout: 20 * time.Second}}
			mon := &session{base: srv.base, bearer: tok["secret"].(string), hc: doc.hc}
			for i := range 25 {
				if i%2 == 0 {
					mrn := fmt.Sprintf("TWO-%d-%d", w, i)
					code, body, err := doc.do("POST", "/api/v1/patients", map[string]any{"mrn": mrn, "family_name": "Load", "birth_date": "1960-01-01", "sex": "male", "indication": "pain"})
					if err != nil || code != 201 {
						failures.Add(1)
						t.Errorf("patient through %s: %d %v %v", srv.base, code, body, err)
						continue
					}
					mu.Lock()
					ackedMRN = append(ackedMRN, mrn)
					mu.Unlock()
				} else {
					at := start.Add(time.Duration(w*1000+i) * time.Millisecond)
					code, body, err := mon.do("POST", "/api/v1/reports", crashReport(at))
					if err != nil || code != 201 {
						failures.Add(1)
						t.Errorf("report through %s: %d %v %v", srv.base, code, body, err)
						continue
					}
					mu.Lock()
					ackedAt = append(ackedAt, at)
					mu.Unlock()
				}
			}
		}()
	}
	cw.Wait()

	// The same report posted to both at once is stored once.
	dup := crashReport(start.Add(-time.Minute))
	codes := make(chan int, 8)
	var dw sync.WaitGroup
	for i := range 8 {
		dw.Add(1)
		go func() {
			defer dw.Done()
			srv := []*proc{a, b}[i%2]
			code, _, err := (&session{base: srv.base, bearer: tok["secret"].(string), hc: doc.hc}).do("POST", "/api/v1/reports", dup)
			if err != nil {
				code = -1
			}
			codes <- code
		}()
	}
	dw.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case 201:
			created++
		case 200:
		default:
			t.Errorf("the same report through both servers: %d", c)
		}
	}
	if created != 1 {
		t.Errorf("the same report through both servers was stored %d times", created)
	}

	// A create sent to both under one Idempotency-Key is recorded once:
	// every answer is the first one (the key is stored in the database).
	body := `{"mrn":"TWO-IDEM","family_name":"Keyed","birth_date":"1960-01-01","sex":"female","indication":"pain"}`
	ids := make(chan string, 8)
	var iw sync.WaitGroup
	for i := range 8 {
		iw.Add(1)
		go func() {
			defer iw.Done()
			srv := []*proc{a, b}[i%2]
			req, _ := http.NewRequest("POST", srv.base+"/api/v1/patients", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Cookie", "thecal_session="+doc.cookie)
			req.Header.Set("X-CSRF-Token", doc.csrf)
			req.Header.Set("Idempotency-Key", "two-servers-one-key")
			resp, err := doc.hc.Do(req)
			if err != nil {
				ids <- "error: " + err.Error()
				return
			}
			defer resp.Body.Close()
			var out map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&out)
			ids <- fmt.Sprintf("%d %v", resp.StatusCode, out["id"])
		}()
	}
	iw.Wait()
	close(ids)
	answers := map[string]int{}
	for id := range ids {
		answers[id]++
	}
	if len(answers) != 1 {
		t.Errorf("one create under one key through both servers answered %v: want one answer (201 and the one id) eight times", answers)
	}
	if body := call(t, doc, 200, "GET", "/api/v1/patients?q=TWO-IDEM", nil); body["total"] != 1.0 {
		t.Errorf("the keyed create through both servers stored %v patients", body["total"])
	}

	// Everything acknowledged is there, read through either server, and the
	// chain is intact as each server sees it.
	docA := &session{base: a.base, cookie: doc.cookie, csrf: doc.csrf, hc: doc.hc}
	for i, mrn := range ackedMRN {
		s := []*session{docA, doc}[i%2]
		body := call(t, s, 200, "GET", "/api/v1/patients?q="+url.QueryEscape(mrn), nil)
		found := false
		for _, x := range body["patients"].([]any) {
			found = found || x.(map[string]any)["mrn"] == mrn
		}
		if !found {
			t.Errorf("acknowledged patient %s not found through %s", mrn, s.base)
		}
	}
	for _, at := range ackedAt {
		code, body, err := (&session{base: a.base, bearer: tok["secret"].(string), hc: doc.hc}).do("POST", "/api/v1/reports", crashReport(at))
		if err != nil || code != 200 || body["duplicate"] != true {
			t.Errorf("acknowledged report at %v: %d %v", at, code, body)
		}
	}
	adminB := &session{base: b.base, cookie: admin.cookie, csrf: admin.csrf, hc: admin.hc}
	for _, s := range []*session{admin, adminB} {
		v := call(t, s, 200, "GET", "/api/v1/audit/verify", nil)
		if v["ok"] != true {
			t.Fatalf("audit chain through %s after concurrent writes to both: %v", s.base, v)
		}
	}
	t.Logf("%d patients and %d reports through two servers, %d failed; audit verified through both", len(ackedMRN), len(ackedAt), failures.Load())
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formSignIn fetches the sign-in form from one server and posts it, with
// the pre-session cookie, to another; it returns the status.
func formSignIn(t *testing.T, from, to, user, pw string) int {
	t.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(from + "/signin")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in the sign-in form:\n%s", body)
	}
	form := url.Values{"username": {user}, "password": {pw}, "csrf_token": {string(m[1])}, "next": {"/"}}
	req, _ := http.NewRequest("POST", to+"/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range resp.Cookies() {
		req.AddCookie(c)
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
