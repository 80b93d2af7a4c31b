package web_test

// End-to-end tests of issue 14's findings 4–9 over HTTP (the attacks as they
// were run, on loopback, with bounded counts), each failing on the code
// before the fix.

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/web"
)

// sqliteEnv is newEnv on a SQLite database the test can also reach directly.
func sqliteEnv(t *testing.T) (*env, *store.DB) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "sec.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return newEnv(t, db), db
}

// login signs in over HTTP and returns a client with the session cookie.
func login(t *testing.T, base, user, pw, code string) (int, *client, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"username":%q,"password":%q,"totp":%q}`, user, pw, code)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	c := &client{t: t, base: base, http: http.DefaultClient}
	for _, ck := range resp.Cookies() {
		if ck.Name == web.SessionCookie {
			c.cookie = ck.Value
		}
		if ck.Name == web.CSRFCookie {
			c.csrf = ck.Value
		}
	}
	if resp.StatusCode != 200 && c.cookie != "" {
		t.Fatalf("a refused sign-in set a session cookie: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode, c, resp.Header
}

func auditActions(t *testing.T, e *env) map[string]int {
	t.Helper()
	sys := clinic.NewContext(context.Background(), clinic.System)
	n := map[string]int{}
	for after := int64(0); ; {
		es, err := e.svc.Audit(sys, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range es {
			n[x.Action]++
			after = x.Seq
		}
		if len(es) < 1000 {
			return n
		}
	}
}

func addUser(t *testing.T, e *env, name string, role clinic.Role, pw string) *clinic.User {
	t.Helper()
	u, err := e.svc.CreateUser(clinic.NewContext(context.Background(), clinic.System), clinic.UserInput{Username: name, Name: &name, Role: &role, Password: &pw})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// clock is a settable service clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Finding 4: 64 parallel wrong sign-ins; at most MaxHashes Argon2id hashes
// ever run at once, every attempt is answered, and a real sign-in still works.
func TestFinding4ParallelSignInsBoundHashes(t *testing.T) {
	e, _ := sqliteEnv(t)
	// Heavier than the test default so that hashes overlap; lighter than
	// production so that the test stays short.
	e.svc.PasswordParams = clinic.PasswordParams{Time: 1, Memory: 8 * 1024, Threads: 1}
	e.svc.MaxHashes = 4
	e.svc.AddressThrottle.Free, e.svc.AddressThrottle.LockAfter = 1000, 1000 // all 64 from loopback reach the hash
	pw := "a long enough password"
	for i := range 8 {
		addUser(t, e, fmt.Sprintf("par%d", i), clinic.Nurse, pw)
	}
	var wg sync.WaitGroup
	codes := make([]int, 64)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, _ = login(t, e.srv.URL, fmt.Sprintf("par%d", i%8), "wrong password number", "")
		}()
	}
	wg.Wait()
	running, peak, _ := e.svc.HashStats()
	if peak > 4 || peak < 1 || running != 0 {
		t.Fatalf("hashes at once: peak %d, running %d; want at most 4", peak, running)
	}
	for i, c := range codes {
		if c != 401 && c != 429 && c != 503 {
			t.Errorf("attempt %d: %d", i, c)
		}
	}
	// Each account saw 8 guesses at once: the back-off counts attempts in
	// flight, so only its 3 free ones reached the hash.
	if n := auditActions(t, e)["session.fail"]; n != 8*3 {
		t.Errorf("%d failed sign-ins audited, want 24 (3 free per account)", n)
	}
	if code, _, _ := login(t, e.srv.URL, "u-physician", pw, ""); code != 200 {
		t.Fatalf("a real sign-in after the burst: %d", code)
	}
}

// Finding 4: one client guessing one account is slowed, then locked, with an
// audit entry and an item on the administrator's security worklist; the
// administrator resolves it and the account signs in again.
func TestFinding4ThrottleBackoffAndLock(t *testing.T) {
	e, _ := sqliteEnv(t)
	ck := &clock{t: time.Now().UTC()}
	e.svc.Now = ck.Now
	pw := "a long enough password"
	addUser(t, e, "target", clinic.Physician, pw)
	var waits []string
	for i := range 3 {
		if code, _, _ := login(t, e.srv.URL, "target", "guess number "+fmt.Sprint(i), ""); code != 401 {
			t.Fatalf("free guess %d: %d", i, code)
		}
	}
	// The fourth at once is refused without a hash, with Retry-After.
	code, _, h := login(t, e.srv.URL, "target", "guess number 4", "")
	if code != 429 || h.Get("Retry-After") == "" {
		t.Fatalf("fourth guess at once: %d, Retry-After %q", code, h.Get("Retry-After"))
	}
	// Waiting each back-off, guesses go on until the tenth failure locks.
	for i := 3; i < 10; i++ {
		ck.Add(time.Minute + time.Second)
		code, _, h := login(t, e.srv.URL, "target", "guess number "+fmt.Sprint(i), "")
		if code != 401 {
			t.Fatalf("guess %d after its back-off: %d", i, code)
		}
		waits = append(waits, h.Get("Retry-After"))
	}
	ck.Add(2 * time.Minute)
	code, _, h = login(t, e.srv.URL, "target", pw, "")
	if code != 429 {
		t.Fatalf("right password while locked: %d", code)
	}
	acts := auditActions(t, e)
	if acts["session.fail"] != 10 || acts["signin.lock"] != 1 {
		t.Fatalf("audit: %d failures, %d locks", acts["session.fail"], acts["signin.lock"])
	}
	admin := e.clients["administrator"]
	code, body := admin.do("GET", "/api/v1/security/items?open=true", nil)
	items, _ := body["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("security worklist: %d %v", code, body)
	}
	it := items[0].(map[string]any)
	if it["kind"] != clinic.AccountLocked || it["subject"] != "target" {
		t.Fatalf("item: %v", it)
	}
	if code, _ := e.clients["nurse"].do("GET", "/api/v1/security/items", nil); code != 403 {
		t.Fatalf("a nurse reads the security worklist: %d", code)
	}
	if code, body := admin.do("POST", fmt.Sprintf("/api/v1/security/items/%d/resolve", int64(it["id"].(float64))), nil); code != 200 {
		t.Fatalf("resolve: %d %v", code, body)
	}
	if code, _, _ := login(t, e.srv.URL, "target", pw, ""); code != 200 {
		t.Fatalf("sign-in after the administrator unlocked: %d", code)
	}
}

// Finding 4: the accepted weak passwords are refused, naming the field.
func TestFinding4PasswordRule(t *testing.T) {
	e, _ := sqliteEnv(t)
	admin := e.clients["administrator"]
	for _, pw := range []string{strings.Repeat(" ", 12), strings.Repeat("\x00", 12), "password1234", "nurse.olsen12", "Nurse.Olsen1234"} {
		code, body := admin.do("POST", "/api/v1/users", map[string]any{"username": "nurse.olsen12", "name": "Ola Olsen", "role": "nurse", "password": pw})
		if c, f := errField(body); code != 400 || c != "invalid" || f != "password" {
			t.Errorf("password %q: %d %v", pw, code, body)
		}
	}
	// The username itself, exactly.
	code, body := admin.do("POST", "/api/v1/users", map[string]any{"username": "olsen.nurse.ward7", "name": "Ola Olsen", "role": "nurse", "password": "olsen.nurse.ward7"})
	if code != 400 {
		t.Errorf("the username as password: %d %v", code, body)
	}
	if code, body := admin.do("POST", "/api/v1/users", map[string]any{"username": "ola", "name": "Ola Olsen", "role": "nurse", "password": "violet staple harbour engine"}); code != 201 {
		t.Fatalf("a good password refused: %d %v", code, body)
	}
}

// Finding 4: the optional second factor, enrolled and used through the API.
func TestFinding4TOTP(t *testing.T) {
	e, _ := sqliteEnv(t)
	pw := "a long enough password"
	doc := e.clients["physician"]
	code, en := doc.do("POST", "/api/v1/me/totp", nil)
	if code != 200 {
		t.Fatalf("enrol: %d %v", code, en)
	}
	secret := en["secret"].(string)
	if !strings.HasPrefix(en["url"].(string), "otpauth://totp/") {
		t.Fatalf("url: %v", en["url"])
	}
	if code, _ := doc.do("POST", "/api/v1/me/totp/confirm", map[string]any{"code": "000000"}); code != 400 {
		t.Fatalf("a wrong code confirmed: %d", code)
	}
	now := e.svc.Now()
	c, _ := totp.GenerateCode(secret, now.Add(-30*time.Second))
	if code, body := doc.do("POST", "/api/v1/me/totp/confirm", map[string]any{"code": c}); code != 200 || body["two_factor"] != true {
		t.Fatalf("confirm: %d %v", code, body)
	}
	if code, _ := e.clients["nurse"].do("POST", "/api/v1/me/totp", nil); code != 403 {
		t.Fatalf("a nurse enrols: %d", code)
	}
	if code, _, _ := login(t, e.srv.URL, "u-physician", pw, ""); code != 401 {
		t.Fatalf("signed in without the code: %d", code)
	}
	c, _ = totp.GenerateCode(secret, now)
	if code, _, _ := login(t, e.srv.URL, "u-physician", pw, c); code != 200 {
		t.Fatalf("sign-in with the code: %d", code)
	}
	if code, _, _ := login(t, e.srv.URL, "u-physician", pw, c); code != 401 {
		t.Fatalf("the same code used twice: %d", code)
	}
	if n := auditActions(t, e)["user.two_factor"]; n != 1 {
		t.Fatalf("enrolment audited %d times", n)
	}
}

// Finding 7: nobody changes their own role; a password reset, a disable and a
// role change end sessions and tokens; re-enabling revives nothing.
func TestFinding7RoleAndSessions(t *testing.T) {
	e, _ := sqliteEnv(t)
	admin := e.clients["administrator"]
	_, me := admin.do("GET", "/api/v1/me", nil)
	self := int64(me["user_id"].(float64))
	code, body := admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", self), map[string]any{"role": "physician", "version": 1})
	if code != 403 {
		t.Fatalf("own role change: %d %v", code, body)
	}
	pw := "a long enough password"
	version := func(id int64) int64 {
		_, b := admin.do("GET", "/api/v1/users", nil)
		for _, u := range b["users"].([]any) {
			if m := u.(map[string]any); int64(m["id"].(float64)) == id {
				return int64(m["version"].(float64))
			}
		}
		t.Fatalf("no user %d", id)
		return 0
	}
	n := addUser(t, e, "nina", clinic.Nurse, pw)
	_, sess, _ := login(t, e.srv.URL, "nina", pw, "")
	if code, _ := sess.do("GET", "/api/v1/worklist", nil); code != 200 {
		t.Fatal(code)
	}
	newPW := "another long enough password"
	if code, b := admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", n.ID), map[string]any{"password": newPW, "version": version(n.ID)}); code != 200 {
		t.Fatalf("reset: %d %v", code, b)
	}
	if code, _ := sess.do("GET", "/api/v1/worklist", nil); code != 401 {
		t.Fatalf("session after a password reset: %d", code)
	}
	_, sess, _ = login(t, e.srv.URL, "nina", newPW, "")
	admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", n.ID), map[string]any{"disabled": true, "version": version(n.ID)})
	admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", n.ID), map[string]any{"disabled": false, "version": version(n.ID)})
	if code, _ := sess.do("GET", "/api/v1/worklist", nil); code != 401 {
		t.Fatalf("session revived by re-enabling: %d", code)
	}
	// A second administrator makes a token; a role change ends it and the sessions.
	a2 := addUser(t, e, "adm2", clinic.Administrator, pw)
	_, s2, _ := login(t, e.srv.URL, "adm2", pw, "")
	_, tok := s2.do("POST", "/api/v1/tokens", map[string]any{"name": "home", "serial": "S1"})
	mon := &client{t: t, base: e.srv.URL, http: http.DefaultClient, bearer: tok["secret"].(string)}
	if code, _ := mon.do("POST", "/api/v1/reports", "{}"); code != 400 {
		t.Fatalf("the new token: %d", code)
	}
	if code, b := admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", a2.ID), map[string]any{"role": "read-only", "version": version(a2.ID)}); code != 200 {
		t.Fatalf("role change: %d %v", code, b)
	}
	if code, _ := s2.do("GET", "/api/v1/users", nil); code != 401 {
		t.Fatalf("session after a role change: %d", code)
	}
	if code, _ := mon.do("POST", "/api/v1/reports", "{}"); code != 401 {
		t.Fatalf("token after its maker's role change: %d", code)
	}
}

// Finding 5: a prescription's dose edited in the database is found; record
// reads, FHIR exports and failed sign-ins are audited.
func TestFinding5RecordEditDetectedAndReadsAudited(t *testing.T) {
	e, db := sqliteEnv(t)
	nurse, doc, admin := e.clients["nurse"], e.clients["physician"], e.clients["administrator"]
	_, p := nurse.do("POST", "/api/v1/patients", patientJSON("M5"))
	pid := int64(p["id"].(float64))
	implant(t, doc, pid, "S5")
	code, rx := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", pid), map[string]any{"program": map[string]any{"drug": "baclofen",
		"concentration": "2000 mcg/mL", "mode": "continuous", "max_24h": "0.1 mL"}, "dose_per_day": "100 mcg/day", "reason": "titration"})
	if code != 201 {
		t.Fatalf("prescribe: %d %v", code, rx)
	}
	before := auditActions(t, e)
	nurse.do("GET", fmt.Sprintf("/api/v1/patients/%d/record", pid), nil)
	nurse.do("GET", fmt.Sprintf("/api/v1/patients/%d", pid), nil)
	doc.do("GET", fmt.Sprintf("/api/v1/patients/%d/fhir", pid), nil)
	login(t, e.srv.URL, "u-nurse", "not the password at all", "")
	after := auditActions(t, e)
	if after["patient.read"]-before["patient.read"] != 2 || after["patient.export"]-before["patient.export"] != 1 ||
		after["session.fail"]-before["session.fail"] != 1 {
		t.Fatalf("reads, exports, failed sign-ins audited: %v → %v", before, after)
	}
	if code, v := admin.do("GET", "/api/v1/audit/verify", nil); code != 200 || v["ok"] != true {
		t.Fatalf("verify before: %v", v)
	}
	if _, err := db.W.Exec(`UPDATE records SET data = replace(data, '"100 mcg/day"', '"1000 mcg/day"') WHERE kind = 'prescription'`); err != nil {
		t.Fatal(err)
	}
	code, v := admin.do("GET", "/api/v1/audit/verify", nil)
	if code != 200 || v["ok"] != false || !strings.Contains(v["problem"].(string), "changed outside the service") {
		t.Fatalf("verify after a dose edit in the database: %v", v)
	}
}

// Finding 6: a monitor token cannot fill the disk.
func TestFinding6ReportQuotas(t *testing.T) {
	e, _ := sqliteEnv(t)
	nurse, doc, mon := e.clients["nurse"], e.clients["physician"], e.clients["monitor"]
	for _, serial := range []string{"S1", "S2"} {
		_, p := nurse.do("POST", "/api/v1/patients", patientJSON("M6"+serial))
		implant(t, doc, int64(p["id"].(float64)), serial)
	}
	rep := func(serial string, log []map[string]any) map[string]any {
		return map[string]any{"format": "thecal-report/1", "serial": serial, "model": "TP-20", "interrogated_at": time.Now().UTC().Format(time.RFC3339Nano),
			"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "reservoir": "15 mL", "battery": "900000 µAh"}, "log": log}
	}
	big := []map[string]any{}
	for i := range 7000 {
		big = append(big, map[string]any{"seq": i + 1, "at": time.Now().UTC().Format(time.RFC3339), "event": "x", "detail": strings.Repeat("d", 1000)})
	}
	if code, b := mon.do("POST", "/api/v1/reports", rep("S1", big)); code != 413 {
		t.Fatalf("a 7 MiB report: %d %v", code, b)
	}
	long := []map[string]any{{"seq": 1, "at": time.Now().UTC().Format(time.RFC3339), "event": "alarm", "detail": strings.Repeat("d", 5000)}}
	if code, b := mon.do("POST", "/api/v1/reports", rep("S1", long)); code != 400 || b["error"].(map[string]any)["field"] != "log[0].detail" {
		t.Fatalf("a 5000-byte detail: %d %v", code, b)
	}
	if code, b := mon.do("POST", "/api/v1/reports", rep("S2", nil)); code != 403 {
		t.Fatalf("a report for another pump: %d %v", code, b)
	}
	day := []map[string]any{}
	for i := range 40 {
		day = append(day, map[string]any{"seq": i + 1, "at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "event": "stroke", "detail": "basal"})
	}
	if code, b := mon.do("POST", "/api/v1/reports", rep("S1", day)); code != 201 {
		t.Fatalf("a real report: %d %v", code, b)
	}
	es, _ := e.svc.Audit(clinic.NewContext(context.Background(), clinic.System), 0, 1000)
	last := es[len(es)-1]
	if last.Action != "report.create" || strings.Contains(string(last.After), "basal") || last.RecordHash == "" {
		t.Fatalf("the audit keeps a copy of the report: %s", last.After)
	}
	if code, b := e.clients["administrator"].do("POST", "/api/v1/tokens", map[string]any{"name": "unbound"}); code != 400 {
		t.Fatalf("a token bound to no pump: %d %v", code, b)
	}
}

// Finding 9: dates, names, media types, HSTS.
func TestFinding9Validation(t *testing.T) {
	e, _ := sqliteEnv(t)
	nurse := e.clients["nurse"]
	_, p := nurse.do("POST", "/api/v1/patients", patientJSON("M9"))
	pid := int64(p["id"].(float64))
	if code, b := nurse.do("POST", fmt.Sprintf("/api/v1/patients/%d/follow-ups", pid), map[string]any{"type": "dose_review", "due": "1970-01-01T00:00:00Z"}); code != 201 {
		t.Fatalf("follow-up: %d %v", code, b)
	}
	_, wl := nurse.do("GET", fmt.Sprintf("/api/v1/worklist?patient_id=%d&kind=follow_up", pid), nil)
	items := wl["items"].([]any)
	if len(items) != 1 || !strings.HasPrefix(items[0].(map[string]any)["due"].(string), "1970-01-01") {
		t.Fatalf("a follow-up due 1970-01-01 reads back as %v", wl)
	}
	for _, due := range []string{"0001-01-01T00:00:00Z", "9999-01-01T00:00:00Z"} {
		if code, b := nurse.do("POST", fmt.Sprintf("/api/v1/patients/%d/follow-ups", pid), map[string]any{"type": "dose_review", "due": due}); code != 400 {
			t.Errorf("due %s: %d %v", due, code, b)
		}
	}
	for _, bd := range []string{"0001-01-01", "9999-12-31", "1899-12-31"} {
		pj := patientJSON("MB" + bd)
		pj["birth_date"] = bd
		if code, b := nurse.do("POST", "/api/v1/patients", pj); code != 400 {
			t.Errorf("birth date %s: %d %v", bd, code, b)
		}
	}
	for i, name := range []string{"Doe\x00", "Doe\u202Eeod", "Do\xffe", "Doe\u2066x"} {
		pj := patientJSON(fmt.Sprintf("MN%d", i))
		pj["family_name"] = name
		if code, b := nurse.do("POST", "/api/v1/patients", fmt.Sprintf(`{"mrn":"MN%d","family_name":%q,"birth_date":"1970-01-01","sex":"male","indication":"pain"}`, i, name)); code != 400 {
			t.Errorf("family name %q: %d %v", name, code, b)
		}
	}
	if code, b := e.clients["administrator"].do("POST", "/api/v1/users", map[string]any{"username": "rlo", "name": "Ann\u202E", "role": "nurse", "password": "violet staple harbour engine"}); code != 400 {
		t.Errorf("a user name with a bidi override: %d %v", code, b)
	}
	// text/plain is not JSON.
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/patients", strings.NewReader(`{"mrn":"TP"}`))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("Cookie", web.SessionCookie+"="+nurse.cookie)
	req.Header.Set(web.CSRFHeader, nurse.csrf)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("text/plain body: %d", resp.StatusCode)
	}
	// HSTS over TLS only.
	tlsSrv := httptest.NewTLSServer(web.NewServer(e.svc, nil).Handler())
	defer tlsSrv.Close()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	for _, path := range []string{"/healthz", "/signin"} {
		r, err := hc.Get(tlsSrv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if !strings.Contains(r.Header.Get("Strict-Transport-Security"), "max-age=") {
			t.Errorf("%s over TLS: no HSTS", path)
		}
	}
	r, _ := http.Get(e.srv.URL + "/healthz")
	r.Body.Close()
	if r.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
}

// Finding 8: the sign-in form's redirect stays on this server, and the form
// needs its CSRF token bound to the pre-session cookie.
func TestFinding8RedirectAndLoginCSRF(t *testing.T) {
	e, _ := sqliteEnv(t)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := func(next string) (string, string) {
		resp, err := noFollow.Get(e.srv.URL + "/signin?next=" + url.QueryEscape(next))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var pre string
		for _, c := range resp.Cookies() {
			if c.Name == web.PreSessionCookie {
				pre = c.Value
			}
		}
		i := strings.Index(string(b), `name="csrf_token" value="`)
		if i < 0 || pre == "" {
			t.Fatalf("no CSRF token or pre-session cookie on the form")
		}
		tok := string(b)[i+len(`name="csrf_token" value="`):]
		return pre, tok[:strings.IndexByte(tok, '"')]
	}
	post := func(pre, tok, next string) *http.Response {
		v := url.Values{"username": {"u-nurse"}, "password": {"a long enough password"}, "next": {next}, "csrf_token": {tok}}
		req, _ := http.NewRequest("POST", e.srv.URL+"/signin", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if pre != "" {
			req.AddCookie(&http.Cookie{Name: web.PreSessionCookie, Value: pre})
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, next := range []string{"/\t/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/", "/\n/evil.example", "/%09/evil.example"} {
		pre, tok := form(next)
		resp := post(pre, tok, next)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		base, _ := url.Parse(e.srv.URL + "/signin")
		if resp.StatusCode != 303 || base.ResolveReference(loc).Host != base.Host || strings.ContainsAny(resp.Header.Get("Location"), "\t\n\\") {
			t.Errorf("next %q: %d Location %q", next, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	pre, tok := form("/patients/1")
	if resp := post(pre, tok, "/patients/1"); resp.Header.Get("Location") != "/patients/1" {
		t.Errorf("a path on this server: %q", resp.Header.Get("Location"))
	}
	// Login CSRF: no token, or another browser's token, is refused.
	if resp := post(pre, "", "/"); resp.StatusCode != 403 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	pre2, _ := form("/")
	if resp := post(pre2, tok, "/"); resp.StatusCode != 403 {
		t.Errorf("a token bound to another pre-session: %d", resp.StatusCode)
	}
	if resp := post("", tok, "/"); resp.StatusCode != 403 {
		t.Errorf("no pre-session cookie: %d", resp.StatusCode)
	}
}

func implant(t *testing.T, doc *client, pid int64, serial string) {
	t.Helper()
	if code, b := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", pid), map[string]any{"model": "TP-20", "serial": serial,
		"implanted_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "surgeon": "Dr C", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "20 mL"}); code != 201 {
		t.Fatalf("implant %s: %d %v", serial, code, b)
	}
}
