package web_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/drug"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/store/postgres"
	"github.com/thecal/thecal/store/sqlite"
	"github.com/thecal/thecal/unit"
	"github.com/thecal/thecal/web"
)

// raw sends a request with a body as it is and the headers given, and
// returns the answer as it came.
func (c *client) raw(method, path, contentType, body string, headers map[string]string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.cookie != "" {
		req.Header.Set("Cookie", web.SessionCookie+"="+c.cookie)
		req.Header.Set(web.CSRFHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// storeWritten is everything a request could have written: the audit trail's
// length and the number of records, patients, users, tokens and library
// versions.
func storeWritten(t *testing.T, svc *clinic.Service) string {
	t.Helper()
	var out string
	err := svc.Store.View(context.Background(), func(tx clinic.Tx) error {
		recs, err := tx.RecordsAfter(0, 1<<30)
		if err != nil {
			return err
		}
		ps, err := tx.PatientsAfter(0, 1<<30)
		if err != nil {
			return err
		}
		us, err := tx.Users()
		if err != nil {
			return err
		}
		ts, err := tx.Tokens()
		if err != nil {
			return err
		}
		ls, err := tx.LibraryVersions()
		if err != nil {
			return err
		}
		seq, _, err := tx.AuditHead()
		out = fmt.Sprintf("audit %d, records %d, patients %d, users %d, tokens %d, libraries %d", seq, len(recs), len(ps), len(us), len(ts), len(ls))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// idemFixture is a patient with a pump (serial S1, the monitor token's) on
// baclofen, with a critical alarm, and a patient without a pump.
type idemFixture struct {
	withPump, without int64
	alarm             *clinic.Alarm
}

func newIdemFixture(t *testing.T, svc *clinic.Service) idemFixture {
	t.Helper()
	sys := clinic.NewContext(context.Background(), clinic.System)
	var f idemFixture
	now := time.Now().UTC()
	for i, id := range []*int64{&f.withPump, &f.without} {
		p := &clinic.Patient{MRN: fmt.Sprintf("IDEM-%d", i), FamilyName: "Doe", GivenName: "Jo", BirthDate: clinic.Date{Time: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)},
			Sex: "female", Indication: "spasticity", Origin: "spinal"}
		if err := svc.CreatePatient(sys, p); err != nil {
			t.Fatal(err)
		}
		*id = p.ID
	}
	im := &clinic.Implant{Model: pump.TP20, Serial: "S1", ImplantedAt: now.Add(-2 * time.Hour), Surgeon: "Dr C", CatheterLength: mustLength(t, "50 cm"),
		TipLevel: "T10", Drug: "baclofen", Concentration: mustConcentration(t, "2000 mcg/mL"), InitialFill: unit.Millilitres(20)}
	if err := svc.CreateImplant(sys, f.withPump, im); err != nil {
		t.Fatal(err)
	}
	rx := clinictest.ContinuousRx("baclofen", "2000 mcg/mL", "400 mcg/day", "maintenance from screening")
	if err := svc.Prescribe(sys, f.withPump, rx); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Ingest(sys, clinictest.Report("S1", "TP-20", now.Add(-time.Hour), "19.9 mL", "OCCLUSION")); err != nil {
		t.Fatal(err)
	}
	rec, err := svc.PatientRecord(sys, f.withPump)
	if err != nil || len(rec.Alarms) != 1 {
		t.Fatalf("fixture alarm: %v %+v", err, rec)
	}
	f.alarm = rec.Alarms[0]
	return f
}

func mustConcentration(t *testing.T, s string) unit.Concentration {
	var c unit.Concentration
	if err := c.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return c
}

func mustRate(t *testing.T, s string) unit.Rate {
	var r unit.Rate
	if err := r.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return r
}

func mustLength(t *testing.T, s string) unit.Length {
	var l unit.Length
	if err := l.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return l
}

func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// TestIdempotencyEveryCreate sends every create of the API twice under one
// key (the second answers the first's status and body and writes nothing),
// then under the same key another body (409 on Idempotency-Key, nothing
// written). The table must name every route that takes the key.
func TestIdempotencyEveryCreate(t *testing.T) {
	e := newEnv(t, nil)
	f := newIdemFixture(t, e.svc)
	now := time.Now().UTC()
	report := func(reservoir string) string {
		return fmt.Sprintf(`{"format":"thecal-report/1","serial":"S1","model":"TP-20","interrogated_at":%q,"source":"home_monitor",
			"status":{"mode":"continuous","running":true,"drug":"baclofen","concentration":"2000 mcg/mL","basal":"0.2 mL/day",
			"reservoir":%q,"delivered":"0.1 mL","battery":"990000 µAh","active_alarms":["OCCLUSION"]}}`, now.Format(time.RFC3339Nano), reservoir)
	}
	lib := func(version string) string { return string(clinictest.ClinicLibrary(version)) }
	// The loop's creates: a programming session with its read-back, and the
	// program a report shows recorded as the order.
	session := func(outcome string) string {
		at := now.Add(-20 * time.Minute)
		return fmt.Sprintf(`{"session":{"serial":"S1","programmer":"Dr. A. Ruiz","started_at":%q,"ended_at":%q,"outcome":%q,"steps":[{"action":"interrogate"},{"action":"read_back"}]},
			"report":{"format":"thecal-report/1","serial":"S1","model":"TP-20","interrogated_at":%q,"source":"programmer",
			"status":{"mode":"continuous","running":true,"drug":"baclofen","concentration":"2000 mcg/mL","basal":"0.2 mL/day",
			"reservoir":"19.8 mL","delivered":"0.1 mL","battery":"990000 µAh","active_alarms":["OCCLUSION"]}}}`,
			at.Add(-time.Minute).Format(time.RFC3339Nano), at.Format(time.RFC3339Nano), outcome, at.Format(time.RFC3339Nano))
	}
	rxs := clinictest.ContinuousRx("baclofen", "2000 mcg/mL", "600 mcg/day", "").Program
	rxs.Rate = mustRate(t, "0.15 mL/day") // a decrease: an increase within a day of the last is refused (titration)
	shown := clinictest.PumpReport("S1", "TP-20", now.Add(-30*time.Minute), "programmer", rxs)
	shown.Status.ActiveAlarms = []string{"OCCLUSION"}
	sr, err := e.svc.Ingest(clinic.NewContext(context.Background(), clinic.System), shown)
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		route, as, path, body, other string
		status, replay               int // the first answer's status; a repeat's (0: the same)
	}
	cases := []tc{
		{route: "POST /api/v1/patients", as: "nurse", path: "/api/v1/patients",
			body:  `{"mrn":"K-1","family_name":"Roe","given_name":"Al","birth_date":"1960-02-03","sex":"male","indication":"pain"}`,
			other: `{"mrn":"K-2","family_name":"Roe","given_name":"Al","birth_date":"1960-02-03","sex":"male","indication":"pain"}`, status: 201},
		{route: "POST /api/v1/patients/{id}/trials", as: "physician", path: fmt.Sprintf("/api/v1/patients/%d/trials", f.without),
			body:  fmt.Sprintf(`{"method":"continuous","drug":"morphine","dose_per_day":"0.5 mg/day","started_at":%q}`, now.Add(-time.Hour).Format(time.RFC3339)),
			other: fmt.Sprintf(`{"method":"continuous","drug":"morphine","dose_per_day":"0.6 mg/day","started_at":%q}`, now.Add(-time.Hour).Format(time.RFC3339)), status: 201},
		{route: "POST /api/v1/patients/{id}/implants", as: "physician", path: fmt.Sprintf("/api/v1/patients/%d/implants", f.without),
			body: fmt.Sprintf(`{"model":"TP-40","serial":"K-SN-1","implanted_at":%q,"surgeon":"Dr C","catheter_length":"50 cm","tip_level":"T10","drug":"baclofen","concentration":"2000 mcg/mL","initial_fill":"40 mL"}`,
				now.Add(-time.Hour).Format(time.RFC3339)),
			other: fmt.Sprintf(`{"model":"TP-40","serial":"K-SN-2","implanted_at":%q,"surgeon":"Dr C","catheter_length":"50 cm","tip_level":"T10","drug":"baclofen","concentration":"2000 mcg/mL","initial_fill":"40 mL"}`,
				now.Add(-time.Hour).Format(time.RFC3339)), status: 201},
		{route: "POST /api/v1/patients/{id}/prescriptions", as: "physician", path: fmt.Sprintf("/api/v1/patients/%d/prescriptions", f.withPump),
			body:  `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"380 mcg/day","reason":"drowsy in the afternoon; small decrease"}`,
			other: `{"program":{"drug":"baclofen","concentration":"2000 mcg/mL","mode":"continuous","max_24h":"1 mL"},"dose_per_day":"360 mcg/day","reason":"drowsy in the afternoon; small decrease"}`, status: 201},
		{route: "POST /api/v1/patients/{id}/refills", as: "nurse", path: fmt.Sprintf("/api/v1/patients/%d/refills", f.withPump),
			body:  `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"K1","withdrawn":"19.9 mL","added":"20 mL"}`,
			other: `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"K2","withdrawn":"19.9 mL","added":"20 mL"}`, status: 201},
		{route: "POST /api/v1/patients/{id}/follow-ups", as: "nurse", path: fmt.Sprintf("/api/v1/patients/%d/follow-ups", f.withPump),
			body:  fmt.Sprintf(`{"type":"dose_review","due":%q}`, now.Add(30*24*time.Hour).Format(time.RFC3339)),
			other: fmt.Sprintf(`{"type":"dose_review","due":%q}`, now.Add(31*24*time.Hour).Format(time.RFC3339)), status: 201},
		{route: "POST /api/v1/patients/{id}/complications", as: "nurse", path: fmt.Sprintf("/api/v1/patients/%d/complications", f.withPump),
			body:  fmt.Sprintf(`{"type":"infection","onset":%q,"description":"wound redness"}`, now.Add(-time.Hour).Format(time.RFC3339)),
			other: fmt.Sprintf(`{"type":"infection","onset":%q,"description":"wound redness and fever"}`, now.Add(-time.Hour).Format(time.RFC3339)), status: 201},
		{route: "POST /api/v1/patients/{id}/side-effects", as: "nurse", path: fmt.Sprintf("/api/v1/patients/%d/side-effects", f.withPump),
			body: `{"type":"nausea","severity":"mild"}`, other: `{"type":"nausea","severity":"moderate"}`, status: 201},
		{route: "POST /api/v1/alarms/{id}/ack", as: "nurse", path: fmt.Sprintf("/api/v1/alarms/%d/ack", f.alarm.ID),
			body:  fmt.Sprintf(`{"note":"catheter access port aspirated; neurosurgery called","version":%d}`, f.alarm.Version),
			other: fmt.Sprintf(`{"note":"patient seen, catheter imaging booked","version":%d}`, f.alarm.Version), status: 200},
		{route: "POST /api/v1/reports", as: "monitor", path: "/api/v1/reports", body: report("19.8 mL"), other: report("19.7 mL"), status: 201},
		{route: "POST /api/v1/users", as: "administrator", path: "/api/v1/users",
			body:  `{"username":"k.user","name":"Kay User","role":"nurse","password":"purple otter sails at dawn"}`,
			other: `{"username":"k.user2","name":"Kay User","role":"nurse","password":"purple otter sails at dawn"}`, status: 201},
		{route: "POST /api/v1/tokens", as: "administrator", path: "/api/v1/tokens", body: `{"name":"monitor two","serial":"S2"}`,
			other: `{"name":"monitor three","serial":"S3"}`, status: 201, replay: 409},
		{route: "POST /api/v1/library", as: "physician", path: "/api/v1/library?note=committee+review", body: lib("k-lib-1"),
			other: lib("k-lib-2"), status: 201},
		{route: "POST /api/v1/programming-sessions", as: "nurse", path: "/api/v1/programming-sessions", body: session("unchanged"),
			other: session("failed"), status: 201},
		{route: "POST /api/v1/reports/{id}/adopt", as: "physician", path: fmt.Sprintf("/api/v1/reports/%d/adopt", sr.ReportID),
			body:  `{"reason":"the pump's rate was agreed at the visit","confirm_large_change":true}`,
			other: `{"reason":"the rate the patient needs at night","confirm_large_change":true}`, status: 200},
		{route: "POST /api/v1/me/tokens", as: "nurse", path: "/api/v1/me/tokens", body: `{"name":"programmer one"}`,
			other: `{"name":"programmer two"}`, status: 201, replay: 409},
	}
	s := web.NewServer(e.svc, nil)
	var covered []string
	for _, c := range cases {
		covered = append(covered, c.route)
	}
	for _, r := range s.IdempotentRoutes() {
		if !slices.Contains(covered, r) {
			t.Errorf("%s takes an Idempotency-Key but is not tested here", r)
		}
	}
	for _, c := range cases {
		t.Run(c.route, func(t *testing.T) {
			cl := e.clients[c.as]
			key := newKey()
			hk := map[string]string{web.IdempotencyHeader: key}
			before := storeWritten(t, e.svc)
			code1, _, body1 := cl.raw("POST", c.path, "application/json", c.body, hk)
			if code1 != c.status {
				t.Fatalf("first: %d %s", code1, body1)
			}
			after := storeWritten(t, e.svc)
			if after == before {
				t.Fatalf("the first request wrote nothing")
			}
			code2, h2, body2 := cl.raw("POST", c.path, "application/json", c.body, hk)
			want := c.replay
			if want == 0 {
				want = code1
			}
			if code2 != want || h2.Get(web.ReplayedHeader) != "true" || c.replay == 0 && !bytes.Equal(body1, body2) {
				t.Fatalf("the repeat: %d %q\n%s\nfirst: %s", code2, h2.Get(web.ReplayedHeader), body2, body1)
			}
			if w := storeWritten(t, e.svc); w != after {
				t.Fatalf("the repeat wrote: %s → %s", after, w)
			}
			code3, _, body3 := cl.raw("POST", c.path, "application/json", c.other, hk)
			var eb web.ErrorBody
			_ = json.Unmarshal(body3, &eb)
			if code3 != 409 || eb.Error.Field != web.IdempotencyHeader {
				t.Fatalf("another body under the key: %d %s", code3, body3)
			}
			if w := storeWritten(t, e.svc); w != after {
				t.Fatalf("another body under the key wrote: %s → %s", after, w)
			}
		})
	}

	t.Run("bad keys", func(t *testing.T) {
		nurse := e.clients["nurse"]
		before := storeWritten(t, e.svc)
		for _, k := range []string{"", strings.Repeat("k", 256), "two words", "ключ"} {
			code, _, b := nurse.raw("POST", "/api/v1/patients", "application/json", `{"mrn":"K-9","family_name":"Roe","given_name":"Al","birth_date":"1960-02-03","sex":"male","indication":"pain"}`,
				map[string]string{web.IdempotencyHeader: k})
			var eb web.ErrorBody
			_ = json.Unmarshal(b, &eb)
			if code != 400 || eb.Error.Field != web.IdempotencyHeader {
				t.Errorf("key %q: %d %s", k, code, b)
			}
		}
		if w := storeWritten(t, e.svc); w != before {
			t.Fatalf("a bad key wrote: %s → %s", before, w)
		}
	})

	t.Run("keys are each user's", func(t *testing.T) {
		// The same key from two users is two requests.
		key := newKey()
		for i, as := range []string{"nurse", "physician"} {
			body := fmt.Sprintf(`{"mrn":"K-U%d","family_name":"Roe","given_name":"Al","birth_date":"1960-02-03","sex":"male","indication":"pain"}`, i)
			if code, h, b := e.clients[as].raw("POST", "/api/v1/patients", "application/json", body, map[string]string{web.IdempotencyHeader: key}); code != 201 || h.Get(web.ReplayedHeader) != "" {
				t.Fatalf("%s: %d %s", as, code, b)
			}
		}
	})

	t.Run("a refused request leaves the key free", func(t *testing.T) {
		nurse, key := e.clients["nurse"], newKey()
		hk := map[string]string{web.IdempotencyHeader: key}
		bad := `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"K3","withdrawn":"25 mL","added":"20 mL"}`
		if code, _, b := nurse.raw("POST", fmt.Sprintf("/api/v1/patients/%d/refills", f.withPump), "application/json", bad, hk); code != 400 {
			t.Fatalf("a bad refill: %d %s", code, b)
		}
		good := `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"K3","withdrawn":"19.9 mL","added":"20 mL"}`
		if code, _, b := nurse.raw("POST", fmt.Sprintf("/api/v1/patients/%d/refills", f.withPump), "application/json", good, hk); code != 201 {
			t.Fatalf("the corrected refill under the same key: %d %s", code, b)
		}
	})

	t.Run("a multipart upload resent with another boundary is the same request", func(t *testing.T) {
		doc, key := e.clients["physician"], newKey()
		form := func() (string, string) {
			var b bytes.Buffer
			mw := multipart.NewWriter(&b) // a random boundary each time
			fw, _ := mw.CreateFormFile("file", "library.json")
			fw.Write(clinictest.ClinicLibrary("k-lib-multipart"))
			mw.WriteField("note", "committee review")
			mw.Close()
			return mw.FormDataContentType(), b.String()
		}
		ct, body := form()
		code1, _, b1 := doc.raw("POST", "/api/v1/library", ct, body, map[string]string{web.IdempotencyHeader: key})
		ct, body = form()
		code2, h2, b2 := doc.raw("POST", "/api/v1/library", ct, body, map[string]string{web.IdempotencyHeader: key})
		if code1 != 201 || code2 != 201 || h2.Get(web.ReplayedHeader) != "true" || !bytes.Equal(b1, b2) {
			t.Fatalf("%d %s / %d %s", code1, b1, code2, b2)
		}
	})
}

// TestIdempotencyConcurrentRequests sends one refill eight times at once
// under one key: one refill is recorded, and every answer is its answer.
func TestIdempotencyConcurrentRequests(t *testing.T) {
	e := newEnv(t, nil)
	f := newIdemFixture(t, e.svc)
	nurse, key := e.clients["nurse"], newKey()
	body := `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"C1","withdrawn":"19.9 mL","added":"20 mL"}`
	before := refillCount(t, e.svc, f.withPump)
	var wg sync.WaitGroup
	bodies := make([][]byte, 8)
	codes := make([]int, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _, bodies[i] = nurse.raw("POST", fmt.Sprintf("/api/v1/patients/%d/refills", f.withPump), "application/json", body,
				map[string]string{web.IdempotencyHeader: key})
		}()
	}
	wg.Wait()
	for i := range 8 {
		if codes[i] != 201 || !bytes.Equal(bodies[i], bodies[0]) {
			t.Errorf("answer %d: %d %s (first %s)", i, codes[i], bodies[i], bodies[0])
		}
	}
	if n := refillCount(t, e.svc, f.withPump); n != before+1 {
		t.Fatalf("%d refills recorded, want 1", n-before)
	}
}

func refillCount(t *testing.T, svc *clinic.Service, patientID int64) int {
	t.Helper()
	rec, err := svc.PatientRecord(clinic.NewContext(context.Background(), clinic.System), patientID)
	if err != nil {
		t.Fatal(err)
	}
	return len(rec.Refills)
}

// TestIdempotencyAcrossServersAndRestart: the keys are in the database, so a
// repeat sent to a second server on the same database, or to a server
// started again, answers the first answer (SQLite; PostgreSQL too when
// THECAL_TEST_POSTGRES names one).
func TestIdempotencyAcrossServersAndRestart(t *testing.T) {
	type opener func(t *testing.T) (open func() clinic.Store)
	stores := map[string]opener{
		"sqlite": func(t *testing.T) func() clinic.Store {
			path := filepath.Join(t.TempDir(), "idem.db")
			return func() clinic.Store {
				db, err := sqlite.Open(context.Background(), path)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		},
		"postgres": func(t *testing.T) func() clinic.Store {
			base := os.Getenv("THECAL_TEST_POSTGRES")
			if base == "" {
				t.Skip("THECAL_TEST_POSTGRES is not set")
			}
			schema := "thecal_idem_" + newKey()[:12]
			url, err := postgres.CreateSchema(context.Background(), base, schema)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), base, schema) })
			return func() clinic.Store {
				db, err := postgres.Open(context.Background(), url, 8)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				return db
			}
		},
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			open := mk(t)
			first := newEnv(t, open())
			f := newIdemFixture(t, first.svc)
			key := newKey()
			path := fmt.Sprintf("/api/v1/patients/%d/refills", f.withPump)
			body := `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"R1","withdrawn":"19.9 mL","added":"20 mL"}`
			nurse := first.clients["nurse"]
			code1, _, b1 := nurse.raw("POST", path, "application/json", body, map[string]string{web.IdempotencyHeader: key})
			if code1 != 201 {
				t.Fatalf("first: %d %s", code1, b1)
			}
			// A second server on the same database (the nurse's session is in
			// the database too).
			for _, st := range []clinic.Store{first.svc.Store, open()} {
				svc := clinic.NewService(st, drug.Default(), nil)
				srv := httptest.NewServer(web.NewServer(svc, nil).Handler())
				other := *nurse
				other.base = srv.URL
				code, h, b := other.raw("POST", path, "application/json", body, map[string]string{web.IdempotencyHeader: key})
				srv.Close()
				if code != 201 || h.Get(web.ReplayedHeader) != "true" || !bytes.Equal(b, b1) {
					t.Fatalf("the repeat on another server: %d %s", code, b)
				}
			}
			if n := refillCount(t, first.svc, f.withPump); n != 1 {
				t.Fatalf("%d refills, want 1", n)
			}
			// Eight at once, to two servers: one refill more; every answer is
			// its answer (on PostgreSQL the losers meet the key in the
			// unique index and answer the winner's).
			svc2 := clinic.NewService(open(), drug.Default(), nil)
			srv2 := httptest.NewServer(web.NewServer(svc2, nil).Handler())
			defer srv2.Close()
			key2 := newKey()
			body2 := `{"drug":"baclofen","concentration":"2000 mcg/mL","confirm_drug":"baclofen","confirm_concentration":"2000 mcg/mL","lot":"R2","withdrawn":"19.9 mL","added":"20 mL"}`
			var wg sync.WaitGroup
			codes, bodies := make([]int, 8), make([][]byte, 8)
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cl := *nurse
					if i%2 == 1 {
						cl.base = srv2.URL
					}
					codes[i], _, bodies[i] = cl.raw("POST", path, "application/json", body2, map[string]string{web.IdempotencyHeader: key2})
				}()
			}
			wg.Wait()
			for i := range 8 {
				if codes[i] != 201 || !bytes.Equal(bodies[i], bodies[0]) {
					t.Errorf("answer %d: %d %s (first %s)", i, codes[i], bodies[i], bodies[0])
				}
			}
			if n := refillCount(t, first.svc, f.withPump); n != 2 {
				t.Fatalf("%d refills after the burst, want 2", n)
			}
		})
	}
}

// TestIdempotencyKeysExpire: a key is kept clinic.IdempotencyTTL; after it
// the key is free again, and an answer older than that is removed when the
// next one is stored.
func TestIdempotencyKeysExpire(t *testing.T) {
	e := newEnv(t, nil)
	db := e.svc.Store.(*store.DB)
	nurse, key := e.clients["nurse"], newKey()
	body := func(mrn string) string {
		return fmt.Sprintf(`{"mrn":%q,"family_name":"Roe","given_name":"Al","birth_date":"1960-02-03","sex":"male","indication":"pain"}`, mrn)
	}
	age := func(d time.Duration) {
		if _, err := db.W.Exec("UPDATE idempotency_keys SET created_at = created_at - ?", d.Milliseconds()); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, b := nurse.raw("POST", "/api/v1/patients", "application/json", body("E-1"), map[string]string{web.IdempotencyHeader: key}); code != 201 {
		t.Fatalf("%d %s", code, b)
	}
	age(clinic.IdempotencyTTL - time.Minute)
	if code, h, _ := nurse.raw("POST", "/api/v1/patients", "application/json", body("E-1"), map[string]string{web.IdempotencyHeader: key}); code != 201 || h.Get(web.ReplayedHeader) != "true" {
		t.Fatalf("within the day: %d", code)
	}
	age(2 * time.Minute)
	if code, h, b := nurse.raw("POST", "/api/v1/patients", "application/json", body("E-2"), map[string]string{web.IdempotencyHeader: newKey()}); code != 201 || h.Get(web.ReplayedHeader) != "" {
		t.Fatalf("%d %s", code, b)
	}
	// The answer past the day was removed when the next was stored.
	var rows int
	if err := db.R.QueryRow("SELECT COUNT(*) FROM idempotency_keys").Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("%d answers kept (%v), want the newest only", rows, err)
	}
	if code, h, b := nurse.raw("POST", "/api/v1/patients", "application/json", body("E-3"), map[string]string{web.IdempotencyHeader: key}); code != 201 || h.Get(web.ReplayedHeader) != "" {
		t.Fatalf("after the day the key is free: %d %s", code, b)
	}
}
