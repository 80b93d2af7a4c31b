package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
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

// BenchmarkIngestAPIConcurrent posts reports through the API from 32
// monitors at once, each for its own pump: the group commit shares each
// durable commit among the reports that arrive together, and answers each
// only after the commit that holds it.
func BenchmarkIngestAPIConcurrent(b *testing.B) {
	const monitors = 32
	for _, db := range stores {
		b.Run(db, func(b *testing.B) {
			e := newEnv(b, benchStore(b, db))
			doc := e.clients["physician"]
			sys := clinic.NewContext(context.Background(), clinic.System)
			mons := make([]*client, monitors)
			for m := range mons {
				code, p := doc.do("POST", "/api/v1/patients", patientJSON(fmt.Sprintf("BENCH-%d", m)))
				if code != 201 {
					b.Fatal(code, p)
				}
				serial := fmt.Sprintf("BENCH-C%d", m)
				code, im := doc.do("POST", fmt.Sprintf("/api/v1/patients/%d/implants", int64(p["id"].(float64))), map[string]any{"model": "TP-40",
					"serial": serial, "implanted_at": time.Now().UTC().Add(-400 * 24 * time.Hour).Format(time.RFC3339), "surgeon": "Dr B",
					"catheter_length": "50 cm", "tip_level": "T10", "drug": "baclofen", "concentration": "2000 mcg/mL", "initial_fill": "40 mL"})
				if code != 201 {
					b.Fatal(code, im)
				}
				_, secret, err := e.svc.CreateToken(sys, clinic.TokenInput{Name: "bench monitor " + serial, Serial: serial})
				if err != nil {
					b.Fatal(err)
				}
				mon := *e.clients["monitor"]
				mon.bearer = secret
				mons[m] = &mon
			}
			var next, seq atomic.Int64
			b.ReportAllocs()
			b.SetParallelism((monitors + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.RunParallel(func(pb *testing.PB) {
				m := int(next.Add(1)-1) % monitors
				serial := fmt.Sprintf("BENCH-C%d", m)
				for pb.Next() {
					if code, body := mons[m].do("POST", "/api/v1/reports", benchReport(serial, int(seq.Add(1)))); code != 201 {
						b.Error(code, body)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
		})
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

// BenchmarkWorklist reads the first page (100 items) of a generated
// clinic's worklist through the API (THECAL_SCALE_PATIENTS, default 200).
func BenchmarkWorklist(b *testing.B) {
	for _, db := range stores {
		b.Run(db, func(b *testing.B) {
			e := newScaleEnv(b, db, 200, 3)
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
