package web_test

// Scale and load (issue 13, item 7): a generated clinic (demo.Generate, the
// generator of `thecal demo --patients`), the latency of the worklist, the
// patient search and the chart, and many concurrent clients mixing reads and
// report posts. CI runs small versions that check correctness; the figures
// of docs/benchmarks.md come from the same tests at full size:
//
//	THECAL_SCALE_PATIENTS=10000 THECAL_SCALE_YEARS=10 THECAL_BENCH_SQLITE=/tmp/scale.db go test ./web -run 'TestScaleLatency|TestLoad' -v
//
// Nothing here asserts a time: the tests log the figures and fail only on
// errors and wrong answers.

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/demo"
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
// temporary directory (or THECAL_BENCH_SQLITE, kept for reuse), or
// PostgreSQL when db is "postgres", in a fresh schema (or
// THECAL_BENCH_SCHEMA, kept for reuse).
func benchStore(t testing.TB, db string) clinic.Store {
	ctx := context.Background()
	if db == "postgres" {
		base := os.Getenv("THECAL_TEST_POSTGRES")
		if base == "" {
			t.Skip("THECAL_TEST_POSTGRES is not set")
		}
		schema := os.Getenv("THECAL_BENCH_SCHEMA")
		keep := schema != ""
		if !keep {
			schema = fmt.Sprintf("thecal_bench_%d", time.Now().UnixNano())
		}
		url, err := postgres.CreateSchema(ctx, base, schema)
		if err != nil && keep {
			url, err = schemaURL(base, schema) // made by an earlier run
		}
		if err != nil {
			t.Fatal(err)
		}
		if !keep {
			t.Cleanup(func() { _ = postgres.DropSchema(context.Background(), base, schema) })
		}
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

// schemaURL is the URL of an existing schema.
func schemaURL(base, schema string) (string, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = $1", schema).Scan(&n); err != nil || n == 0 {
		return "", fmt.Errorf("schema %s: %v (found %d)", schema, err, n)
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema, nil
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// scaleEnv is a server over a generated clinic of THECAL_SCALE_PATIENTS
// patients (default small) with up to THECAL_SCALE_YEARS of history; a
// reused database that has them already is not generated again.
type scaleEnv struct {
	*env
	patients, years int
	pumps           []pumpRef // implanted pumps, to report for
	ids             []int64   // generated patients' ids
}

type pumpRef struct {
	serial, model string
}

func newScaleEnv(t testing.TB, db string, defPatients, defYears int) *scaleEnv {
	st := benchStore(t, db)
	e := &scaleEnv{env: newEnv(t, st), patients: envInt("THECAL_SCALE_PATIENTS", defPatients), years: envInt("THECAL_SCALE_YEARS", defYears)}
	e.contract.off.Store(true) // measure the server, not the checker
	sys := clinic.NewContext(context.Background(), clinic.System)
	have, err := e.svc.PatientList(sys, clinic.PatientFilter{Query: demo.GeneratedMRN(e.patients - 1)})
	if err != nil {
		t.Fatal(err)
	}
	if have.Total == 0 {
		start := time.Now()
		err := demo.Generate(context.Background(), e.svc, demo.GenerateOptions{Patients: e.patients, Years: e.years, Seed: 1,
			Progress: func(done int) {
				if done%2000 == 0 {
					t.Logf("generated %d patients in %v", done, time.Since(start).Round(time.Second))
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("generated %d patients with up to %d years of history in %v", e.patients, e.years, time.Since(start).Round(time.Second))
	}
	for off := 0; ; off += clinic.MaxPage {
		pg, err := e.svc.PatientList(sys, clinic.PatientFilter{Status: clinic.StatusImplanted, Query: "gen", Limit: clinic.MaxPage, Offset: off})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range pg.Patients {
			e.pumps = append(e.pumps, pumpRef{r.Serial, r.Model})
			e.ids = append(e.ids, r.ID)
		}
		if len(pg.Patients) < clinic.MaxPage {
			break
		}
	}
	if len(e.pumps) < e.patients/2 {
		t.Fatalf("%d implanted pumps among %d generated patients", len(e.pumps), e.patients)
	}
	return e
}

// measure runs n requests from fn and logs their latency.
func measure(t *testing.T, what string, n int, fn func(i int) (code int, ok bool)) {
	t.Helper()
	lat := make([]time.Duration, 0, n)
	for i := range n {
		start := time.Now()
		code, ok := fn(i)
		lat = append(lat, time.Since(start))
		if code != 200 || !ok {
			t.Fatalf("%s, request %d: %d (ok %v)", what, i, code, ok)
		}
	}
	t.Logf("%-16s %5d requests: p50 %v, p99 %v, max %v", what, n, percentile(lat, 0.5), percentile(lat, 0.99), percentile(lat, 1))
}

// TestScaleLatency measures, on a generated clinic, the worklist (pages,
// filters, sorts), the patient search (names in any order, MRNs, serials,
// drugs) and the chart page, each checked for the right answer.
func TestScaleLatency(t *testing.T) {
	for _, db := range stores {
		t.Run(db, func(t *testing.T) {
			e := newScaleEnv(t, db, 200, 3)
			n := envInt("THECAL_SCALE_REQUESTS", 200)
			c := e.clients["nurse"]
			t.Logf("%s: %d generated patients, up to %d years of history", db, e.patients, e.years)
			wl := []string{"", "kind=refill", "kind=replacement", "priority=1", "drug=baclofen", "sort=due", "kind=follow_up&sort=patient",
				"due_from=" + time.Now().Format(time.DateOnly) + "&due_to=" + time.Now().Add(30*24*time.Hour).Format(time.DateOnly)}
			measure(t, "worklist", n, func(i int) (int, bool) {
				code, b := c.do("GET", fmt.Sprintf("/api/v1/worklist?limit=50&offset=%d&%s", (i/len(wl))%3*50, wl[i%len(wl)]), nil)
				total, _ := b["total"].(float64)
				return code, total >= float64(len(b["items"].([]any)))
			})
			// Searches that must find: an MRN, a pump serial, a drug; names
			// by prefixes and in full, in any order.
			rng := rand.New(rand.NewPCG(3, 4))
			for _, sc := range []struct {
				what  string
				query func() string
				found bool
			}{
				{"search MRN", func() string { return demo.GeneratedMRN(rng.IntN(e.patients)) }, true},
				{"search serial", func() string { return e.pumps[rng.IntN(len(e.pumps))].serial }, true},
				{"search drug", func() string { return []string{"baclofen", "morphine", "ziconotide"}[rng.IntN(3)] }, true},
				{"search prefixes", func() string { return []string{"nov mar", "mül an", "gar jo", "o'b liam"}[rng.IntN(4)] }, false},
				{"search name", func() string {
					return []string{"María Novák", "novak maria", "Dvořák Jiří", "jiri dvorak"}[rng.IntN(4)]
				}, false},
			} {
				measure(t, sc.what, n/5, func(i int) (int, bool) {
					code, b := c.do("GET", "/api/v1/patients?limit=20&q="+url.QueryEscape(sc.query()), nil)
					total, _ := b["total"].(float64)
					return code, total >= 1 || !sc.found // a name may be absent from a small clinic
				})
			}
			measure(t, "chart", min(n, len(e.ids)), func(i int) (int, bool) {
				code, ct, body := c.get(fmt.Sprintf("/patients/%d", e.ids[(i*7919)%len(e.ids)]))
				return code, strings.HasPrefix(ct, "text/html") && strings.Contains(body, "<svg")
			})
		})
	}
}

// TestLoad runs concurrent clients against the API on loopback for a while:
// reads of the worklist and of patient records, report posts for the
// generated pumps, and edits of each client's own patient. Every request
// must succeed. By default a short run (20 clients, 2 s, on SQLite);
// THECAL_LOAD_CLIENTS=200 THECAL_LOAD_SECONDS=60 is the run of
// docs/benchmarks.md, THECAL_LOAD_DB=postgres runs it on PostgreSQL.
func TestLoad(t *testing.T) {
	clients := envInt("THECAL_LOAD_CLIENTS", 20)
	secs := envInt("THECAL_LOAD_SECONDS", 2)
	// THECAL_LOAD_THINK_MS: each client's mean pause between requests (0:
	// none — the clients saturate the server and the figures are its
	// capacity; 1000: each client a request a second on average).
	think := time.Duration(envInt("THECAL_LOAD_THINK_MS", 0)) * time.Millisecond
	if testing.Short() {
		secs = 1
	}
	db := os.Getenv("THECAL_LOAD_DB")
	e := newScaleEnv(t, db, 300, 2)
	var batches, batched atomic.Int64
	if g, ok := e.svc.Store.(interface{ ObserveBatches(func(int)) }); ok {
		g.ObserveBatches(func(n int) { batches.Add(1); batched.Add(int64(n)) })
		defer g.ObserveBatches(nil)
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
	run := time.Now().UnixNano()
	for i := range owns {
		code, p := writer.do("POST", "/api/v1/patients", patientJSON(fmt.Sprintf("LOAD-%d-%d", run, i)))
		if code != 201 {
			t.Fatal(code, p)
		}
		owns[i] = &own{id: int64(p["id"].(float64)), version: p["version"].(float64), body: p}
	}
	var (
		mu        sync.Mutex
		byKind    = map[string][]time.Duration{}
		errs, ops atomic.Int64
		firstErr  atomic.Value
	)
	batches.Store(0)
	batched.Store(0)
	start := time.Now()
	deadline := start.Add(time.Duration(secs) * time.Second)
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(run)))
			kinds := map[string][]time.Duration{}
			o := owns[c]
			for n := 0; time.Now().Before(deadline); n++ {
				if think > 0 { // a person reading the page before the next click
					time.Sleep(time.Duration(rng.ExpFloat64() * float64(think)))
				}
				start := time.Now()
				var code int
				var body []byte
				kind := [10]string{"worklist", "worklist", "worklist", "worklist", "record", "record", "record", "report", "report", "edit"}[rng.IntN(10)]
				// The load runs in this process: the clients read each
				// answer whole but decode only what they use.
				switch kind {
				case "worklist":
					code, body = reader.send("GET", "/api/v1/worklist?limit=50", nil)
				case "record":
					code, body = reader.send("GET", fmt.Sprintf("/api/v1/patients/%d/record", e.ids[rng.IntN(len(e.ids))]), nil)
				case "report":
					p := e.pumps[rng.IntN(len(e.pumps))]
					at := time.Now().UTC().Add(-time.Duration(c*1_000_000+n) * time.Millisecond)
					// A nurse posts them: a monitor token is bound to one pump.
					code, body = writer.send("POST", "/api/v1/reports", map[string]any{"format": "thecal-report/1",
						"serial": p.serial, "model": p.model, "interrogated_at": at.Format(time.RFC3339Nano),
						"source": "home_monitor", "status": map[string]any{"mode": "continuous", "running": true, "reservoir": "14 mL", "battery": "850000 µAh"}})
				default:
					o.body["notes"] = fmt.Sprintf("load %d", n)
					o.body["version"] = o.version
					code, body = writer.send("PUT", fmt.Sprintf("/api/v1/patients/%d", o.id), o.body)
					if code == 200 {
						var v struct {
							Version float64 `json:"version"`
						}
						_ = json.Unmarshal(body, &v)
						o.version = v.Version
					}
				}
				kinds[kind] = append(kinds[kind], time.Since(start))
				ops.Add(1)
				if code < 200 || code > 299 {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %d %.300s", kind, code, body))
				}
			}
			mu.Lock()
			for k, d := range kinds {
				byKind[k] = append(byKind[k], d...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	var all []time.Duration
	for _, d := range byKind {
		all = append(all, d...)
	}
	name := db
	if name == "" {
		name = "sqlite"
	}
	n := ops.Load()
	t.Logf("load: %d clients (think %v), %d s, %s, %d patients: %d requests (%.0f/s), %d errors, p50 %v, p99 %v, max %v",
		clients, think, secs, name, e.patients, n, float64(n)/elapsed, errs.Load(), percentile(all, 0.50), percentile(all, 0.99), percentile(all, 1))
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
