package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/store"
	"github.com/thecal/thecal/web"
)

var stores = []string{"sqlite", "postgres"}

// ingestSetup makes a server with one implanted pump to report for.
func ingestSetup(b *testing.B, db string) (*env, *client, string) {
	e := newEnv(b, benchStore(b, db))
	doc := e.clients["physician"]
	code, p := doc.do("POST", "/api/v1/patients", patientJSON("BENCH"))
	if code != 201 {
		b.Fatal(code, p)
	}
	code, im := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", int64(p["id"].(float64))), map[string]any{"model": "TP-40",
		"serial": "BENCH-1", "implanted_at": time.Now().UTC().Add(-400 * 24 * time.Hour).Format(time.RFC3339), "surgeon": "Dr B",
		"catheter_length": "50 cm", "tip_level": "T10", "drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "40 mL"})
	if code != 201 {
		b.Fatal(code, im)
	}
	// A monitor token reports for its own pump only.
	_, secret, err := e.svc.CreateToken(clinic.NewContext(context.Background(), clinic.System), clinic.TokenInput{Name: "bench monitor", Serial: "BENCH-1"})
	if err != nil {
		b.Fatal(err)
	}
	mon := *e.clients["monitor"]
	mon.bearer = secret
	return e, &mon, "BENCH-1"
}

func benchReport(serial string, i int) map[string]any {
	at := time.Now().UTC().Add(-time.Duration(i+1) * time.Second)
	return map[string]any{"format": "thecal-report/1", "serial": serial, "model": "TP-40", "interrogated_at": at.Format(time.RFC3339Nano),
		"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "drug": "baclofen",
			"concentration": "2000 mcg/mL", "basal": "0.5 mL/day", "reservoir": "30 mL", "delivered": "100 mL", "battery": "850000 µAh"},
		"log": []map[string]any{{"seq": i, "at": at.Format(time.RFC3339Nano), "event": "interrogate"}}}
}

// BenchmarkIngestAPI posts reports through the API one after another: each is
// authenticated, validated, stored with its audit entry and worklist, and
// committed durably before the answer.
func BenchmarkIngestAPI(b *testing.B) {
	for _, db := range stores {
		b.Run(db, func(b *testing.B) {
			_, mon, serial := ingestSetup(b, db)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if code, body := mon.do("POST", "/api/v1/reports", benchReport(serial, i)); code != 201 {
					b.Fatal(code, body)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// BenchmarkIngestIdempotencyKey posts reports as BenchmarkIngestAPI does,
// without a key and with a new Idempotency-Key each (the key's lookup and
// its stored answer, in the same transaction): the cost of nothing recorded
// twice.
func BenchmarkIngestIdempotencyKey(b *testing.B) {
	for _, db := range stores {
		for _, keyed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/keyed=%v", db, keyed), func(b *testing.B) {
				_, mon, serial := ingestSetup(b, db)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					body, _ := json.Marshal(benchReport(serial, i))
					h := map[string]string{}
					if keyed {
						h[web.IdempotencyHeader] = fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
					}
					if code, _, out := mon.raw("POST", "/api/v1/reports", "application/json", string(body), h); code != 201 {
						b.Fatal(code, string(out))
					}
					i++
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
			})
		}
	}
}

// BenchmarkIngestRawBatch inserts the same rows an ingest writes (the report
// record, its audit entry, the patient's worklist items) straight into the
// same database, 100 reports per transaction in multi-row INSERTs: the ceiling
// the API is compared with.
func BenchmarkIngestRawBatch(b *testing.B) {
	for _, db := range stores {
		b.Run(db, func(b *testing.B) {
			e, _, serial := ingestSetup(b, db)
			st := e.svc.Store.(*store.DB)
			ctx := context.Background()
			const batch = 100
			b.ReportAllocs()
			var pending int
			var recs, audits, works []string
			var args, aargs, wargs []any
			seq := int64(1_000_000_000)
			flush := func() {
				tx, err := st.W.BeginTx(ctx, nil)
				if err != nil {
					b.Fatal(err)
				}
				for _, q := range []struct {
					sql  string
					rows []string
					args []any
				}{
					{"INSERT INTO records (patient_id, kind, at, ukey, is_open, version, data, created_at, updated_at) VALUES ", recs, args},
					{"INSERT INTO work_items (patient_id, kind, record_id, priority, high_risk, show_from, due, reason) VALUES ", works, wargs},
					{"INSERT INTO audit (seq, at, actor, actor_id, action, entity, entity_id, patient_id, before_json, after_json, prev_hash, hash) VALUES ", audits, aargs},
				} {
					if _, err := tx.ExecContext(ctx, store.Rebind(&st.Dialect, q.sql+strings.Join(q.rows, ", ")), q.args...); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Commit(); err != nil {
					b.Fatal(err)
				}
				recs, works, audits, args, wargs, aargs, pending = recs[:0], works[:0], audits[:0], args[:0], wargs[:0], aargs[:0], 0
			}
			i := 0
			for b.Loop() {
				rep := benchReport(serial, i)
				data, _ := json.Marshal(rep)
				at := time.Now().UnixMilli()
				recs = append(recs, "(?, ?, ?, ?, ?, 1, ?, ?, ?)")
				args = append(args, 1, "report", at, fmt.Sprintf("%s@raw%d", serial, i), false, string(data), at, at)
				// Its audit entry, with a hash of the same size as the API's.
				seq++
				h := sha256.Sum256(data)
				audits = append(audits, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
				aargs = append(aargs, seq, at, "token:bench", 1, "report.create", "report", seq, 1, "null", string(data), "", hex.EncodeToString(h[:]))
				works = append(works, "(?, ?, ?, ?, ?, ?, ?, ?)", "(?, ?, ?, ?, ?, ?, ?, ?)")
				wargs = append(wargs, 1, "refill", 0, 3, true, at, at, "raw", 1, "replacement", 0, 3, false, at, at, "raw")
				pending++
				i++
				if pending == batch {
					flush()
				}
			}
			if pending > 0 {
				flush()
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
	}
}

// worklistEnv makes (or reuses) a generated clinic of THECAL_BENCH_PATIENTS
// patients (default 500) with THECAL_BENCH_YEARS of history (default 5).
func worklistEnv(t testing.TB, db string) *env {
	e := newEnv(t, benchStore(t, db))
	n := envInt("THECAL_BENCH_PATIENTS", 500)
	sys := clinic.NewContext(context.Background(), clinic.System)
	have, _ := e.svc.Patients(sys, clinic.PatientFilter{Query: fmt.Sprintf("GEN-%07d", n-1), Limit: 1})
	if len(have) == 0 {
		start := time.Now()
		err := clinictest.Generate(context.Background(), e.svc, e.svc.Store, clinictest.GenOptions{Patients: n, Years: envInt("THECAL_BENCH_YEARS", 5), Seed: 1},
			func(done int) {
				if done%10000 == 0 {
					t.Logf("generated %d patients in %v", done, time.Since(start).Round(time.Second))
				}
			})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d patients with %d years of history in %v", n, envInt("THECAL_BENCH_YEARS", 5), time.Since(start).Round(time.Second))
	}
	return e
}

// BenchmarkWorklist reads the first page (100 items) of the clinic's worklist
// through the API.
func BenchmarkWorklist(b *testing.B) {
	for _, db := range stores {
		b.Run(db, func(b *testing.B) {
			e := worklistEnv(b, db)
			c := e.clients["read-only"]
			b.ReportAllocs()
			for b.Loop() {
				if code, body := c.do("GET", "/api/v1/worklist?limit=100", nil); code != 200 {
					b.Fatal(code, body)
				}
			}
		})
	}
}

// TestWorklistLatency measures the worklist through the API over 1000
// requests (first pages, later pages, each kind) and holds p99 under 50 ms.
// THECAL_BENCH_PATIENTS=100000 is the figure of docs/clinic.md.
func TestWorklistLatency(t *testing.T) {
	for _, db := range stores {
		t.Run(db, func(t *testing.T) {
			if db == "sqlite" && os.Getenv("THECAL_BENCH_PATIENTS") == "" && testing.Short() {
				t.Skip("short")
			}
			e := worklistEnv(t, db)
			c := e.clients["read-only"]
			kinds := []string{"", "refill", "replacement", "critical_alarm", "follow_up", "volume_discrepancy", "dose_trend"}
			var lat []time.Duration
			items := 0
			for i := range 1000 {
				q := fmt.Sprintf("/api/v1/worklist?limit=100&offset=%d", (i%5)*100)
				if k := kinds[i%len(kinds)]; k != "" {
					q += "&kind=" + k
				}
				start := time.Now()
				code, body := c.do("GET", q, nil)
				lat = append(lat, time.Since(start))
				if code != 200 {
					t.Fatal(code, body)
				}
				if i == 0 {
					items = len(body["items"].([]any))
				}
			}
			p50, p99 := percentile(lat, 0.5), percentile(lat, 0.99)
			t.Logf("worklist, %s, %d patients: first page %d items; p50 %v, p99 %v, max %v", db, envInt("THECAL_BENCH_PATIENTS", 500), items, p50, p99, percentile(lat, 1))
			if p99 >= 50*time.Millisecond {
				t.Errorf("worklist p99 %v, want under 50 ms", p99)
			}
		})
	}
}
