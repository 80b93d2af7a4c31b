package implant

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Issue 14 findings 1–3, end to end: a real implant served over TCP on
// loopback, attacked as the issue describes, with bounded counts and times
// (the scenarios are in radio_figures_test.go). Each fails on the tree before
// the controls; TestRadioFigures prints the figures of docs/telemetry.md.

// Finding 1: a flood of four-byte connections from rotating loopback
// addresses writes a few summary records, not two records a connection; the
// refill, program and emergency STOP stay in the log; the flood is charged
// radio time, at most what the radio listened; a clinician is served during
// it.
func TestRadioFloodKeepsTheLog(t *testing.T) {
	created := time.Now() // the link clock's start: the radio listened at most since
	f := realFixture(t, func(c *telemetry.ServerConfig) { c.ListenWindow = 5 * unit.Second })
	f.therapyRecords(t)
	addr := serveTCP(t, f)
	f.wake(telemetry.WakeRadio)
	fig := flood(t, f, addr, 6000, 4)
	listened := unit.Duration(time.Since(created)/time.Millisecond) + unit.Millisecond
	t.Logf("%d connections, %d admitted, %d records, radio %v, clinician %v", fig.Attempted, fig.Admitted, fig.Records, fig.Radio, fig.ClinicianWait)
	for k, ok := range fig.Survived {
		if !ok {
			t.Errorf("the flood evicted the %v record", k)
		}
	}
	if fig.ClinicianErr != nil {
		t.Errorf("clinician during the flood: %v", fig.ClinicianErr)
	}
	if fig.Admitted < 2*LogKeep/3 {
		t.Errorf("only %d connections admitted: the flood did not test the log", fig.Admitted)
	}
	// Two windows (the clinician's session closes the first), each with an
	// AUTH_FAILURES and a RADIO_UNAUTH (and a RADIO_REFUSALS if the radio
	// stopped listening), and the clinician's SESSION_START, COMMAND and
	// SESSION_END.
	if fig.Records > 2*3+3 {
		t.Errorf("%d records for a flood of %d connections", fig.Records, fig.Attempted)
	}
	var failed int64
	for _, r := range f.records(pumpwire.RecAuthFailures) {
		if r.B != int64(telemetry.CodeVersion) {
			t.Errorf("summary %v", r)
		}
		failed += r.A
	}
	if failed != int64(fig.Admitted) {
		t.Errorf("%d failed handshakes counted, %d admitted", failed, fig.Admitted)
	}
	if fig.Radio < unit.Second || fig.Radio > listened+telemetry.DefaultHandshakeTimeout {
		t.Errorf("the flood was charged %v of radio; the radio listened %v", fig.Radio, listened)
	}
}

// The records of peers that opened no session have their own bounded space:
// hundreds of listen windows, each with a failed handshake, fill it to
// LinkKeep and no further, and push nothing else out; the log served over the
// link skips the numbers dropped, and pages through the rest.
func TestLinkSpaceBounded(t *testing.T) {
	f := newFixture(t)
	f.therapyRecords(t)
	main := f.im.Records(0)
	windows := (LinkKeep+LinkKeep/4)/2 + 10
	for i := range windows {
		f.wake(telemetry.WakeRadio) // closes the window before
		conn, done := f.serve(fmt.Sprint("attacker-", i))
		conn.WriteFrame(ctx(t), []byte{2, 1, 0, 32})
		report(t, done)
	}
	if err := f.im.Flush(); err != nil {
		t.Fatal(err)
	}
	held := f.im.Records(0)
	var link int
	for _, r := range held {
		if r.Kind.Unauthenticated() {
			link++
		}
	}
	t.Logf("%d windows: %d records held, %d of them of peers that opened no session", windows, len(held), link)
	if link < LinkKeep || link > LinkKeep+LinkKeep/4 {
		t.Errorf("%d records of peers that opened no session held (%d windows)", link, windows)
	}
	for _, r := range main {
		if i := slices.IndexFunc(held, func(h pumpwire.Record) bool { return h.Seq == r.Seq }); i < 0 || held[i] != r {
			t.Fatalf("record #%d %v is gone", r.Seq, r.Kind)
		}
	}
	if held[0].Seq != 1 || held[len(held)-1].Seq-held[0].Seq+1 == uint64(len(held)) {
		t.Fatalf("the log holds #%d to #%d in %d records: nothing was dropped", held[0].Seq, held[len(held)-1].Seq, len(held))
	}
	// Read it over the link, a page at a time.
	f.readsBack(4000)
}

// Finding 2: after one contact wake an emergency credential reads the status
// once; at 55 s and after it is refused, and cannot stop the pump at 160 s;
// nor after a clinician's contact session and a later radio wake.
func TestRadioContactWakeEndsWithItsSession(t *testing.T) {
	f := newFixture(t)
	fig := contactOutlived(t, f, serveTCP(t, f))
	for i, err := range fig.Results {
		refused := errors.Is(err, telemetry.ErrNoContactWake) || errors.Is(err, telemetry.ErrNotListening)
		if (i == 0) != (err == nil) || i > 0 && !refused {
			t.Errorf("emergency %v after the contact wake: %v", fig.At[i], err)
		}
	}
	if !fig.Pump0 || !fig.PumpLast {
		t.Error("the emergency credential stopped the pump on an old contact wake")
	}
	if !errors.Is(fig.AfterRadioWake, telemetry.ErrNoContactWake) {
		t.Errorf("emergency stop after a clinician's contact session and a radio wake: %v", fig.AfterRadioWake)
	}
	if len(f.records(pumpwire.RecordKind(pump.EvStop))) != 0 {
		t.Error("a STOP was logged")
	}
}

// Finding 3: five bad frames from the programmer's own address lock it out
// under a radio wake, but a fresh contact wake admits a clinician, and the
// next an emergency credential.
func TestRadioLockoutYieldsToContact(t *testing.T) {
	f := newFixture(t)
	fig := ownAddressLockout(t, f, serveTCP(t, f))
	if !errors.Is(fig.ClinicianAfterRadioWake, telemetry.ErrLockedOut) {
		t.Errorf("clinician under a radio wake: %v", fig.ClinicianAfterRadioWake)
	}
	if fig.Clinician != nil || fig.Emergency != nil {
		t.Errorf("under a fresh contact wake: clinician %v, emergency %v", fig.Clinician, fig.Emergency)
	}
}

// Finding 3: thirty silent connections do not keep a clinician out, and the
// pump closes every one of them at the latest at its handshake deadline;
// from the programmer's own address too (which they lock out: the clinician
// comes in on a contact wake).
func TestRadioSilentConnections(t *testing.T) {
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprint("own=", own), func(t *testing.T) {
			f := realFixture(t)
			fig := silentConnections(t, f, serveTCP(t, f), 30, own)
			if fig.Err != nil {
				t.Errorf("clinician: %v after %v", fig.Err, fig.Wait)
			}
			if fig.Closed != 30 {
				t.Errorf("the pump closed %d of 30 silent connections", fig.Closed)
			}
		})
	}
}

// Finding 3: a patient's open session yields to a clinician: the clinician
// is served, the patient's next request is answered ErrYielded, and the log
// has the patient's session closed before the clinician's opened.
func TestRadioPatientYields(t *testing.T) {
	f := realFixture(t)
	fig := patientHolds(t, f, serveTCP(t, f))
	if fig.Err != nil {
		t.Errorf("clinician: %v after %v", fig.Err, fig.Wait)
	}
	if !errors.Is(fig.HolderErr, telemetry.ErrYielded) {
		t.Errorf("the patient's next request: %v", fig.HolderErr)
	}
	want := []string{"SESSION_START patient", "SESSION_END patient", "SESSION_START clinician", "SESSION_END clinician"}
	var sessions []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		sessions = sessions[:0]
		for _, r := range f.im.Records(0) {
			switch pump.EventKind(r.Kind) {
			case pump.EvSessionStart, pump.EvSessionEnd:
				sessions = append(sessions, fmt.Sprint(pump.EventKind(r.Kind), " ", r.Role))
			}
		}
		if len(sessions) >= len(want) {
			break // the clinician's session is closed on the pump's side too
		}
	}
	if !slices.Equal(sessions, want) {
		t.Errorf("sessions in the log %v, want %v", sessions, want)
	}
}
