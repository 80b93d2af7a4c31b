package web_test

// Measurements for docs/clinic.md, run on demand (they take real memory and
// time, so they are not part of the ordinary run):
//
//	THECAL_MEASURE=1 go test ./web -run 'TestMeasure' -v -count=1

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
)

// vmHWM is the process's peak resident set size so far, in MiB.
func vmHWM(t *testing.T) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// TestMeasureSignInMemory: 64 parallel wrong sign-ins at the production cost
// (Argon2id t=3, 64 MiB, 4 lanes), MaxHashes 4, then a real sign-in.
func TestMeasureSignInMemory(t *testing.T) {
	if os.Getenv("THECAL_MEASURE") == "" {
		t.Skip("set THECAL_MEASURE=1 to measure")
	}
	e, _ := sqliteEnv(t)
	pw := "a long enough password"
	e.svc.PasswordParams = clinic.DefaultPasswordParams
	addUser(t, e, "real.user", clinic.Nurse, pw)
	e.svc.AddressThrottle.Free, e.svc.AddressThrottle.LockAfter = 1000, 1000
	before := vmHWM(t)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login(t, e.srv.URL, fmt.Sprintf("nobody%d", i), "wrong password here", "")
		}()
	}
	time.Sleep(50 * time.Millisecond)
	t0 := time.Now()
	code, _, _ := login(t, e.srv.URL, "real.user", pw, "")
	real := time.Since(t0)
	wg.Wait()
	_, peak, refused := e.svc.HashStats()
	t.Logf("64 parallel wrong sign-ins: peak RSS %.0f MiB (before %.0f MiB), hashes at once %d (cap %d), refused busy %d, burst %.1f s; a real sign-in during the burst: %d in %.1f s",
		vmHWM(t), before, peak, e.svc.MaxHashes, refused, time.Since(start).Seconds(), code, real.Seconds())
}

// TestMeasureReportSize: the size of the demonstration clinic's reports, and
// of one carrying a day's event log at the cap.
func TestMeasureReportSize(t *testing.T) {
	if os.Getenv("THECAL_MEASURE") == "" {
		t.Skip("set THECAL_MEASURE=1 to measure")
	}
	c, _ := demoServer(t)
	ctx := clinic.NewContext(context.Background(), clinic.System)
	largest := 0
	for _, p := range c.Patients {
		rec, err := c.Svc.PatientRecord(ctx, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rec.Reports {
			b, _ := json.Marshal(r.Report)
			largest = max(largest, len(b))
		}
	}
	ev := clinic.ReportEvent{Seq: 123456, At: time.Date(2026, 3, 1, 2, 0, 0, 0, time.UTC), Event: "alarm", Detail: "LOW_RESERVOIR at 2.0 mL"}
	b, _ := json.Marshal(ev)
	t.Logf("largest demonstration report: %d bytes; one log entry %d bytes; with %d entries (the cap): about %d bytes",
		largest, len(b)+1, clinic.MaxLogEntries, largest+clinic.MaxLogEntries*(len(b)+1))
}
