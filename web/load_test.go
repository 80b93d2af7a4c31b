package web_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinic/clinictest"
	"github.com/thecal/thecal/store/postgres"
	"github.com/thecal/thecal/store/sqlite"
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchStore opens the store a benchmark or load run uses: SQLite in a
// temporary directory, or PostgreSQL in a fresh schema when db is "postgres".
func benchStore(t testing.TB, db string) clinic.Store {
	ctx := context.Background()
	if db == "postgres" {
		base := os.Getenv("THECAL_TEST_POSTGRES")
		if base == "" {
			t.Skip("THECAL_TEST_POSTGRES is not set")
		}
		schema := fmt.Sprintf("thecal_bench_%d", time.Now().UnixNano())
		url, err := postgres.CreateSchema(ctx, base, schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), base, schema) })
		st, err := postgres.Open(ctx, url, 64)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	path := os.Getenv("THECAL_BENCH_SQLITE")
	if path == "" {
		path = filepath.Join(t.TempDir(), "bench.db")
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// TestLoad runs concurrent clients against the API on loopback for a while:
// reads of the worklist and of patient records, report posts, and edits of
// each client's own patient. Every request must succeed. By default a short
// run (20 clients, 2 s); THECAL_LOAD_CLIENTS=200 THECAL_LOAD_SECONDS=60 is the
// full run of docs/clinic.md, THECAL_LOAD_DB=postgres runs it on PostgreSQL.
func TestLoad(t *testing.T) {
	clients := envInt("THECAL_LOAD_CLIENTS", 20)
	secs := envInt("THECAL_LOAD_SECONDS", 2)
	if testing.Short() {
		secs = 1
	}
	st := benchStore(t, os.Getenv("THECAL_LOAD_DB"))
	var batches, batched atomic.Int64
	if g, ok := st.(interface{ ObserveBatches(func(int)) }); ok {
		g.ObserveBatches(func(n int) { batches.Add(1); batched.Add(int64(n)) })
	}
	e := newEnv(t, st)
	e.contract.off.Store(true) // measure the server, not the checker
	gen := clinictest.GenOptions{Patients: envInt("THECAL_LOAD_PATIENTS", 1000), Years: 2, Seed: 1}
	if err := clinictest.Generate(context.Background(), e.svc, e.svc.Store, gen, nil); err != nil {
		t.Fatal(err)
	}
	reader, writer := e.clients["read-only"], e.clients["nurse"]
	// Each client edits a patient of its own (no conflicts), and posts reports
	// for the generated pumps at times of its own (no duplicates).
	type own struct {
		id      int64
		version float64
		body    map[string]any
	}
	owns := make([]*own, clients)
	for i := range owns {
		code, p := writer.do("POST", "/api/v1/patients", patientJSON(fmt.Sprintf("LOAD-%d", i)))
		if code != 201 {
			t.Fatal(code, p)
		}
		owns[i] = &own{id: int64(p["id"].(float64)), version: p["version"].(float64), body: p}
	}
	var (
		mu        sync.Mutex
		lat       []time.Duration
		byKind    = map[string][]time.Duration{}
		errs, ops atomic.Int64
		firstErr  atomic.Value
	)
	batches.Store(0)
	batched.Store(0)
	deadline := time.Now().Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			var mine []time.Duration
			kinds := map[string][]time.Duration{}
			o := owns[c]
			for n := 0; time.Now().Before(deadline); n++ {
				start := time.Now()
				var code int
				var body map[string]any
				kind := [10]string{"worklist", "worklist", "worklist", "worklist", "record", "record", "record", "report", "report", "edit"}[rng.IntN(10)]
				switch kind {
				case "worklist":
					code, body = reader.do("GET", "/api/v1/worklist?limit=50", nil)
				case "record":
					code, body = reader.do("GET", fmt.Sprintf("/api/v1/patients/%d/record", 1+rng.IntN(gen.Patients)), nil)
				case "report":
					pump := rng.IntN(gen.Patients)
					at := time.Now().UTC().Add(-time.Duration(c*1_000_000+n) * time.Millisecond)
					// A nurse posts them: a monitor token is bound to one pump.
					code, body = writer.do("POST", "/api/v1/reports", map[string]any{"format": "thecal-report/1",
						"serial": fmt.Sprintf("GEN-SN-%07d", pump), "model": modelOf(e, pump), "interrogated_at": at.Format(time.RFC3339Nano),
						"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "reservoir": "14 mL", "battery": "850000 µAh"}})
				default:
					o.body["notes"] = fmt.Sprintf("load %d", n)
					o.body["version"] = o.version
					code, body = writer.do("PUT", fmt.Sprintf("/api/v1/patients/%d", o.id), o.body)
					if code == 200 {
						o.version = body["version"].(float64)
					}
				}
				mine = append(mine, time.Since(start))
				kinds[kind] = append(kinds[kind], time.Since(start))
				ops.Add(1)
				if code < 200 || code > 299 {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %v", code, body))
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, d := range kinds {
				byKind[k] = append(byKind[k], d...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	n := ops.Load()
	t.Logf("load: %d clients, %d s, %s: %d requests (%.0f/s), %d errors, p50 %v, p99 %v, max %v",
		clients, secs, storeName(), n, float64(n)/float64(secs), errs.Load(), percentile(lat, 0.50), percentile(lat, 0.99), percentile(lat, 1))
	for _, k := range []string{"worklist", "record", "report", "edit"} {
		t.Logf("  %-8s %6d requests, p50 %v, p99 %v, max %v", k, len(byKind[k]), percentile(byKind[k], 0.5), percentile(byKind[k], 0.99), percentile(byKind[k], 1))
	}
	if n := batches.Load(); n > 0 {
		t.Logf("  group commit: %d writes in %d commits (%.1f a commit)", batched.Load(), n, float64(batched.Load())/float64(n))
	}
	if errs.Load() > 0 {
		t.Fatalf("%d requests failed; first: %v", errs.Load(), firstErr.Load())
	}
}

func storeName() string {
	if os.Getenv("THECAL_LOAD_DB") == "postgres" {
		return "postgres"
	}
	return "sqlite"
}

// modelOf is the generated pump's model (the generator draws it; ask the store).
var models sync.Map

func modelOf(e *env, i int) string {
	if m, ok := models.Load(i); ok {
		return m.(string)
	}
	sys := clinic.NewContext(context.Background(), clinic.System)
	ps, err := e.svc.Patients(sys, clinic.PatientFilter{Query: fmt.Sprintf("GEN-%07d", i), Limit: 1})
	m := "TP-40"
	if err == nil && len(ps) == 1 {
		if rec, err := e.svc.PatientRecord(sys, ps[0].ID); err == nil && len(rec.Implants) > 0 {
			m = rec.Implants[0].Model.String()
		}
	}
	models.Store(i, m)
	return m
}
