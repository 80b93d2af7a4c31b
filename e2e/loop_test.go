package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/thecal/thecal/monitor"
	"github.com/thecal/thecal/store/postgres"
)

// The closed loop with real processes (issue 12): thecal serve, thecal pump
// run, thecal monitor run and thecal program sync, each its own process,
// talking over loopback; the clinic on SQLite and on PostgreSQL.

// proc is a running thecal process whose output is kept.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer // stdout and stderr
	done chan struct{}
}

func (w *world) spawn(args ...string) *proc {
	w.t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Dir, p.cmd.Env = w.dir, w.env
	p.cmd.Stdout, p.cmd.Stderr = (*lockedWriter)(p), (*lockedWriter)(p)
	if err := p.cmd.Start(); err != nil {
		w.t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	w.t.Cleanup(func() { p.cmd.Process.Kill(); <-p.done })
	return p
}

type lockedWriter proc

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits until the output matches re, and returns the first submatch.
func (p *proc) wait(t *testing.T, re *regexp.Regexp, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if m := re.FindStringSubmatch(p.output()); m != nil {
			return m[len(m)-1]
		}
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.cmd.Args[1], p.output())
		default:
		}
	}
	t.Fatalf("%s: no %q within %v:\n%s", p.cmd.Args[1], re, within, p.output())
	return ""
}

func (p *proc) count(s string) int { return strings.Count(p.output(), s) }

// stop ends the process with SIGTERM (kill: SIGKILL) and waits for it.
func (p *proc) stop(kill bool) {
	if kill {
		p.cmd.Process.Kill()
	} else {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
	<-p.done
}

// api is a client of the clinic's API: a session (cookie and CSRF token) or
// a bearer token.
type api struct {
	t            *testing.T
	base         string
	cookie, csrf string
	bearer       string
}

func (a *api) call(method, path string, in, out any) int {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	if a.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+a.bearer)
	} else if a.cookie != "" {
		req.Header.Set("Cookie", a.cookie)
		req.Header.Set("X-CSRF-Token", a.csrf)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		a.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func signInAPI(t *testing.T, base, user, pw string) *api {
	t.Helper()
	b, _ := json.Marshal(map[string]string{"username": user, "password": pw})
	resp, err := http.Post(base+"/api/v1/session", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		CSRF string `json:"csrf_token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("sign-in of %s: %d", user, resp.StatusCode)
	}
	var cs []string
	for _, c := range resp.Cookies() {
		cs = append(cs, c.Name+"="+c.Value)
	}
	return &api{t: t, base: base, cookie: strings.Join(cs, "; "), csrf: out.CSRF}
}

// loop is a clinic, a pump and its home monitor as real processes, with a
// patient implanted with the pump and an order for it.
type loop struct {
	*world
	db        string
	clinic    *proc
	url       string
	pump      *pumpProc
	monitor   *proc
	nurse, dr *api
	patient   int64
	order     int64
}

const monitorEvery = "2s"

var listening = regexp.MustCompile(`thecal serve: listening" addr=(\S+)`)

// startClinic runs thecal serve on db (the first time creating its
// administrator, whose password it returns).
func (l *loop) startClinic(first bool) string {
	l.t.Helper()
	args := []string{"serve", "--db", l.db, "--listen", "127.0.0.1:0"}
	if first {
		args = append(args, "--init-admin", "admin")
	} else if l.url != "" {
		args[4] = strings.TrimPrefix(l.url, "http://")
	}
	l.clinic = l.spawn(args...)
	l.url = "http://" + l.clinic.wait(l.t, listening, 30*time.Second)
	if first {
		return l.clinic.wait(l.t, regexp.MustCompile(`password \(shown once\): (\S+)`), 5*time.Second)
	}
	return ""
}

func (l *loop) startMonitor() *proc {
	return l.spawn("monitor", "run", "--state", "monitor", "--pump", l.pump.addr, "--clinic", l.url, "--token-file", "monitor.token",
		"--id", "monitor.id", "--trust", "clinic.pub", "--serial", "4001", "--every", monitorEvery, "--max-backoff", "2s")
}

func newLoop(t *testing.T, db string) *loop {
	l := &loop{world: newWorld(t), db: db}
	l.ok("keys", "issue", "--authority", "clinic.key", "--role", "monitor", "--serial", "301", "--name", "Home monitor of J. Doe", "--out", "monitor.id")
	adminPW := l.startClinic(true)
	admin := signInAPI(t, l.url, "admin", adminPW)
	for _, u := range [][2]string{{"dr.hale", "physician"}, {"nurse.ode", "nurse"}} {
		admin.call("POST", "/api/v1/users", map[string]any{"username": u[0], "name": u[0], "role": u[1], "password": "correct horse battery staple"}, nil)
	}
	var tok struct{ Secret string }
	admin.call("POST", "/api/v1/tokens", map[string]any{"name": "home monitor of 4001", "serial": "4001"}, &tok)
	l.write("monitor.token", tok.Secret)
	l.nurse = signInAPI(t, l.url, "nurse.ode", "correct horse battery staple")
	l.dr = signInAPI(t, l.url, "dr.hale", "correct horse battery staple")
	var p struct{ ID int64 }
	l.nurse.call("POST", "/api/v1/patients", map[string]any{"mrn": "MRN-4001", "family_name": "Doe", "given_name": "Jane", "birth_date": "1970-01-01",
		"sex": "female", "indication": "pain"}, &p)
	l.patient = p.ID
	l.dr.call("POST", fmt.Sprintf("/api/v1/patients/%d/implants", p.ID), map[string]any{"model": "TP-20", "serial": "4001",
		"implanted_at": time.Now().UTC().Add(-time.Hour).Format(time.RFC3339), "surgeon": "Dr Stone", "catheter_length": "50 cm", "tip_level": "T10",
		"drug": "morphine", "concentration": "10 mg/mL", "initial_fill": "20 mL"}, nil)
	var rx struct{ ID int64 }
	l.dr.call("POST", fmt.Sprintf("/api/v1/patients/%d/prescriptions", p.ID), map[string]any{"program": map[string]any{"drug": "morphine",
		"concentration": "10 mg/mL", "mode": "continuous", "max_24h": "1 mL"}, "dose_per_day": "5 mg/day", "population": "opioid-tolerant",
		"reason": "opioid-tolerant: 60 mg/day oral morphine"}, &rx)
	l.order = rx.ID
	var own struct{ Secret string }
	l.nurse.call("POST", "/api/v1/me/tokens", map[string]any{"name": "programmer"}, &own)
	l.write("nurse.token", own.Secret)
	// The pump, with a scheduled window for its monitor every 2 s, filled
	// by the programmer alone (the clinic recorded the first fill at the implant).
	l.pump = l.start("--monitor-every", monitorEvery)
	l.expect(0, []string{"Refill recorded", "the clinic's record was not updated"},
		"program", "refill", "--wake", "pump", "--withdrawn", "0mL", "--added", "20mL", "--drug", "morphine", "--concentration", "10mg/mL", "--confirm-drug", "morphine", "--confirm-concentration", "10mg/mL", "--yes")
	l.monitor = l.startMonitor()
	l.monitor.wait(t, regexp.MustCompile(`sent the reading`), 30*time.Second)
	return l
}

func (w *world) write(name, s string) {
	w.t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, name), []byte(s+"\n"), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// orderState reads the order's state.
func (l *loop) orderState(id int64) string {
	var rx struct{ State string }
	l.nurse.call("GET", fmt.Sprintf("/api/v1/records/%d", id), nil, &rx)
	return rx.State
}

func (l *loop) waitState(id int64, state string) {
	l.t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if l.orderState(id) == state {
			return
		}
	}
	l.t.Fatalf("order %d is %s, not %s\nmonitor:\n%s", id, l.orderState(id), state, l.monitor.output())
}

// work returns the patient's worklist items of a kind.
func (l *loop) work(kind string) []map[string]any {
	var out struct{ Items []map[string]any }
	l.nurse.call("GET", fmt.Sprintf("/api/v1/worklist?kind=%s&patient_id=%d", kind, l.patient), nil, &out)
	return out.Items
}

// sync runs thecal program sync against the clinic.
func (l *loop) sync(want ...string) string {
	return l.expect(0, want, "program", "sync", "--wake", "pump", "--clinic", l.url, "--token-file", "nurse.token", "--yes")
}

// TestLoopRealProcesses: the order recorded by the physician is programmed
// by thecal program sync (the pump beside the order, the clinic's findings,
// programmed, read back, the session uploaded), is programmed, then verified
// at the home monitor's next report; on SQLite and on PostgreSQL.
func TestLoopRealProcesses(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { realLoop(t, "sqlite:clinic.db") })
	t.Run("postgres", func(t *testing.T) {
		base := os.Getenv("THECAL_TEST_POSTGRES")
		if base == "" {
			t.Skip("THECAL_TEST_POSTGRES is not set: the loop on PostgreSQL is not tested")
		}
		b := make([]byte, 6)
		rand.Read(b)
		schema := "thecal_e2e_" + hex.EncodeToString(b)
		url, err := postgres.CreateSchema(context.Background(), base, schema)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { postgres.DropSchema(context.Background(), base, schema) })
		realLoop(t, url)
	})
}

func realLoop(t *testing.T, db string) {
	l := newLoop(t, db)
	if s := l.orderState(l.order); s != "ordered" {
		t.Fatalf("a new order is %s", s)
	}
	out := l.sync("Interrogation uploaded to the clinic", fmt.Sprintf("Order %d by dr.hale", l.order), "current  ordered",
		"0.5 mL = 5 mg", "The clinic's rules", "the prescriber's reason: opioid-tolerant", "Programmed: the pump stored the order",
		"Read back: the pump runs the order exactly", "by nurse.ode", fmt.Sprintf("order %d is programmed", l.order))
	if s := l.orderState(l.order); s != "programmed" && s != "verified" {
		t.Fatalf("after sync the order is %s:\n%s", s, out)
	}
	l.waitState(l.order, "verified")
	// The pump runs it, and its log names the programmer's session.
	l.expect(0, []string{"morphine 10 mg/mL, continuous 0.5 mL/day", `SESSION_START  clinician #101 "Dr. A. Ruiz", contact wake`, "PROGRAM"},
		"program", "status", "--wake", "pump", "--log", "40")
	// A second sync finds nothing to program.
	l.sync("The pump runs the order already: nothing to program.", fmt.Sprintf("order %d is verified", l.order))
	// A refill with the clinic: checked by the clinic first, recorded from the same session.
	l.expect(0, []string{"Refill, as the clinic will record it", "lot MOR-4001", "Refilled: the pump recorded 20 mL of morphine 10 mg/mL",
		"Refill recorded in the clinic", "programming session"},
		"program", "refill", "--wake", "pump", "--clinic", l.url, "--token-file", "nurse.token", "--lot", "MOR-4001",
		"--withdrawn", "19.9mL", "--added", "20mL", "--drug", "morphine", "--concentration", "10mg/mL", "--confirm-drug", "morphine", "--confirm-concentration", "10mg/mL", "--yes")
	// Another concentration than the pump runs needs the physician's order for it: nothing sent.
	l.expect(1, []string{"no physician's order for morphine 25 mg/mL", "nothing was sent"},
		"program", "refill", "--wake", "pump", "--clinic", l.url, "--token-file", "nurse.token", "--lot", "MOR-4002",
		"--withdrawn", "19.9mL", "--added", "20mL", "--drug", "morphine", "--concentration", "25mg/mL", "--confirm-drug", "morphine",
		"--confirm-concentration", "25mg/mL", "--yes")
}

// TestLoopReprogrammedOutsideTheClinic: thecal program set without --clinic
// says the record was not updated; the monitor's next report raises a
// critical prescription_mismatch naming the field; the physician records the
// pump's program as the order, which clears it.
func TestLoopReprogrammedOutsideTheClinic(t *testing.T) {
	l := newLoop(t, "sqlite:clinic.db")
	l.sync("Programmed: the pump stored the order")
	l.waitState(l.order, "verified")
	if items := l.work("prescription_mismatch"); len(items) != 0 {
		t.Fatalf("a mismatch before anything changed: %v", items)
	}
	l.expect(0, []string{"Programmed: the pump stored the new prescription", "the clinic's record was not updated"},
		"program", "set", "--wake", "pump", "--dose", "6mg/day", "--reason", "pain 7/10 at the home visit", "--yes")
	var items []map[string]any
	for deadline := time.Now().Add(30 * time.Second); len(items) == 0 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		items = l.work("prescription_mismatch")
	}
	if len(items) != 1 || items[0]["priority"] != float64(1) || !strings.Contains(items[0]["reason"].(string), "program.rate: the pump runs 0.6 mL/day, the clinic ordered 0.5 mL/day") {
		t.Fatalf("mismatch items: %v\nmonitor:\n%s", items, l.monitor.output())
	}
	report := int64(items[0]["record_id"].(float64))
	var adopted struct {
		ID    int64
		State string
	}
	l.dr.call("POST", fmt.Sprintf("/api/v1/reports/%d/adopt", report), map[string]any{"reason": "the raise at the home visit was agreed",
		"confirm_large_change": true}, &adopted)
	if adopted.State != "verified" {
		t.Errorf("the adopted order is %s", adopted.State)
	}
	if items := l.work("prescription_mismatch"); len(items) != 0 {
		t.Fatalf("after recording the pump's program as the order: %v", items)
	}
	// And the monitor's next reports agree.
	n := l.monitor.count("sent the reading")
	for deadline := time.Now().Add(30 * time.Second); l.monitor.count("sent the reading") < n+2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if items := l.work("prescription_mismatch"); len(items) != 0 {
		t.Fatalf("the next report: %v", items)
	}
}

// TestMonitorKill9WhileClinicDown: the clinic stops; the monitor keeps
// reading the pump and queues the reports; it is killed with SIGKILL and
// restarted; the clinic comes back: every report the monitor read arrives
// once, in the order read, with the pump's event log continuous across them.
func TestMonitorKill9WhileClinicDown(t *testing.T) {
	l := newLoop(t, "sqlite:clinic.db")
	l.monitor.wait(t, regexp.MustCompile(`(?s)sent the reading.*sent the reading`), 30*time.Second)
	l.clinic.stop(false)
	// The monitor reads on while the clinic is down.
	for deadline := time.Now().Add(30 * time.Second); l.monitor.count("read pump") < 5 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(l.monitor.output(), "sending again later") {
		t.Fatalf("the monitor did not queue while the clinic was down:\n%s", l.monitor.output())
	}
	l.monitor.stop(true) // kill -9
	l.monitor = l.startMonitor()
	for deadline := time.Now().Add(30 * time.Second); l.monitor.count("read pump") < 2 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	l.startClinic(false)
	// Back: the queue drains (a reading sent with none left waiting).
	l.monitor.wait(t, regexp.MustCompile(`sent the reading[^\n]*; 0 waiting`), 90*time.Second)
	l.monitor.stop(false)
	q, err := monitor.OpenQueue(filepath.Join(l.dir, "monitor"))
	if err != nil {
		t.Fatal(err)
	}
	_, read, sent, err := q.Position(context.Background(), "4001")
	waiting, _ := q.Len(context.Background())
	rejected, _ := q.Rejected(context.Background())
	q.Close()
	// A reading taken as the monitor stopped may still wait (it goes at the
	// next start); none is lost or refused.
	if err != nil || waiting > 1 || rejected != 0 || sent+int64(waiting) != read {
		t.Fatalf("queue: read %d, sent %d, waiting %d, rejected %d (%v)", read, sent, waiting, rejected, err)
	}
	// The clinic holds every reading once, in the order read.
	var rec struct {
		Reports []struct {
			ID             int64     `json:"id"`
			Source         string    `json:"source"`
			InterrogatedAt time.Time `json:"interrogated_at"`
			Status         struct {
				LogNext uint64 `json:"log_next"`
			} `json:"status"`
			Log []struct {
				Seq uint64 `json:"seq"`
			} `json:"log"`
		} `json:"reports"`
	}
	l.nurse.call("GET", fmt.Sprintf("/api/v1/patients/%d/record", l.patient), nil, &rec)
	var mine []int
	for i := len(rec.Reports) - 1; i >= 0; i-- { // oldest first
		if rec.Reports[i].Source == "home_monitor" {
			mine = append(mine, i)
		}
	}
	if int64(len(mine)) != sent {
		t.Fatalf("the monitor sent %d of its %d readings; the clinic holds %d of its reports", sent, read, len(mine))
	}
	for k := 1; k < len(mine); k++ {
		prev, cur := rec.Reports[mine[k-1]], rec.Reports[mine[k]]
		if !cur.InterrogatedAt.After(prev.InterrogatedAt) || cur.ID <= prev.ID {
			t.Errorf("report %d (%s) arrived after report %d (%s)", cur.ID, cur.InterrogatedAt, prev.ID, prev.InterrogatedAt)
		}
		if len(cur.Log) > 0 && cur.Log[0].Seq != prev.Status.LogNext {
			t.Errorf("report %d's log starts at #%d, the one before ended at #%d: records lost", cur.ID, cur.Log[0].Seq, prev.Status.LogNext)
		}
	}
	t.Logf("%d readings, %d reports stored once each, in order (%d sent, duplicates answered as such)", read, len(mine), sent)
}
