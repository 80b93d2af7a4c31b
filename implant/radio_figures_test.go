package implant

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// The radio attacks of issue 14 (findings 1–3), as scenarios over TCP on
// loopback against a real implant. Each scenario returns its figures; the
// tests of radio_test.go assert on them, and TestRadioFigures prints them for
// docs/telemetry.md. This file uses only what the tree had before the
// controls (main at 434d440), so it can be copied onto that tree to measure
// the figures before:
//
//	go test ./implant -run '^TestRadioFigures$' -v

// realFixture is a fixture whose link runs on a real-time clock (the pump
// keeps its step clock), as `thecal pump run` runs it: listen windows,
// handshake deadlines and radio time are real time.
func realFixture(t testing.TB, opts ...func(*telemetry.ServerConfig)) *fixture {
	t.Helper()
	start := time.Now()
	link := func() unit.Time { return t0 + unit.Time(time.Since(start)/time.Millisecond) }
	return newFixture(t, append(opts, func(c *telemetry.ServerConfig) { c.Clock = link })...)
}

// serveTCP serves the implant on a loopback port until the test ends.
func serveTCP(t testing.TB, f *fixture) string {
	t.Helper()
	l, err := telemetry.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { f.im.Serve(sctx, l); close(served) }()
	t.Cleanup(func() { cancel(); <-served })
	return l.Addr()
}

// attacker returns the i-th rotating loopback source address (127.1.0.0 up;
// 127.0.0.1 is the clinic's programmer).
func attacker(i int) *net.TCPAddr {
	return &net.TCPAddr{IP: net.IPv4(127, byte(1+i>>16), byte(i>>8), byte(i))}
}

// rawDial connects from local (nil: the system's choice, 127.0.0.1).
func rawDial(ctx context.Context, addr string, local *net.TCPAddr) (net.Conn, error) {
	d := net.Dialer{LocalAddr: local}
	return d.DialContext(ctx, "tcp", addr)
}

// dialAs opens a session as id over TCP from 127.0.0.1 and sends cmd in it.
func dialAs(ctx context.Context, f *fixture, addr string, id telemetry.Identity, cmd pump.Command) (*telemetry.Client, pumpwire.Response, error) {
	conn, err := telemetry.DialTCP(ctx, addr)
	if err != nil {
		return nil, nil, err
	}
	c, err := telemetry.Dial(ctx, conn, f.clientConfig(id))
	if err != nil {
		return nil, nil, err
	}
	r, err := c.Do(ctx, cmd)
	return c, r, err
}

// once runs one session as id: cmd, then a clean close.
func once(ctx context.Context, f *fixture, addr string, id telemetry.Identity, cmd pump.Command) error {
	c, _, err := dialAs(ctx, f, addr, id, cmd)
	if c != nil {
		c.Close()
	}
	return err
}

// therapyRecords are the records no radio attack may evict: the refill, the
// program, and an emergency STOP.
func (f *fixture) therapyRecords(t testing.TB) {
	t.Helper()
	f.ready(morphine(500 * unit.Rate(unit.Microlitre)))
	if _, err := f.do(f.w.emergency, pump.Stop{}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) survived() map[pump.EventKind]bool {
	out := map[pump.EventKind]bool{}
	for _, k := range []pump.EventKind{pump.EvRefill, pump.EvProgram, pump.EvStop} {
		out[k] = len(f.records(pumpwire.RecordKind(k))) > 0
	}
	return out
}

// floodFigures are finding 1's figures.
type floodFigures struct {
	Attempted, Admitted, Refused int
	Records                      uint64        // event-log records written during the flood
	Radio                        unit.Duration // radio time charged to connections that did not authenticate
	LogFrom                      uint64        // the log's first record afterwards
	Survived                     map[pump.EventKind]bool
	ClinicianWait                time.Duration // a clinician's status read during the flood, dial to answer
	ClinicianErr                 error
}

// flood connects from rotating loopback addresses, workers at a time, each
// connection sending the four bytes 02 01 00 20 (a frame of an unknown
// version) and reading the pump's answer, until n connections were made or
// the radio stopped listening. A third of the way in, a clinician (from
// 127.0.0.1, under the same radio wake) reads the status.
func flood(t testing.TB, f *fixture, addr string, n, workers int) floodFigures {
	t.Helper()
	var fig floodFigures
	logBefore := f.status().LogNext
	var next, admitted, refused atomic.Int64
	var quiet atomic.Bool // the radio stopped listening
	var wg sync.WaitGroup
	clinician := make(chan struct{})
	var clinicianOnce sync.Once
	for range workers {
		wg.Go(func() {
			for !quiet.Load() {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if i == n/3 {
					clinicianOnce.Do(func() { close(clinician) })
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := rawDial(ctx, addr, attacker(i))
				if err != nil {
					cancel()
					continue
				}
				c.Write([]byte{0x02, 0x01, 0x00, 0x20})
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				reply, _ := io.ReadAll(c)
				c.Close()
				cancel()
				code := telemetry.ErrorCode(0)
				if len(reply) == 6 && reply[1] == byte(telemetry.FrameAlert) {
					code = telemetry.ErrorCode(uint16(reply[4])<<8 | uint16(reply[5]))
				}
				switch code {
				case telemetry.CodeVersion:
					admitted.Add(1)
				case telemetry.CodeNotListening:
					refused.Add(1)
					quiet.Store(true)
				default:
					refused.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		select {
		case <-clinician:
		case <-time.After(30 * time.Second):
			fig.ClinicianErr = errors.New("the flood never reached a third")
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		start := time.Now()
		fig.ClinicianErr = once(ctx, f, addr, f.w.clinician, pump.ReadStatus{})
		fig.ClinicianWait = time.Since(start)
	})
	wg.Wait()
	// The implant writes a listen window's summaries when it ends; have it
	// write them now (a tree without summaries has no Flush).
	if fl, ok := any(f.im).(interface{ Flush() error }); ok {
		if err := fl.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	fig.Attempted, fig.Admitted, fig.Refused = int(min(next.Load(), int64(n))), int(admitted.Load()), int(refused.Load())
	fig.Records = f.status().LogNext - logBefore
	fig.Survived = f.survived()
	for _, r := range f.im.Records(0) {
		if k := r.Kind.String(); k == "RADIO" || k == "RADIO_UNAUTH" {
			fig.Radio += unit.Duration(r.A)
		}
	}
	fig.LogFrom = f.im.Records(0)[0].Seq
	return fig
}

// contactFigures are finding 2's figures: what an emergency credential could
// do at 2, 55, 108 and 160 s after one contact wake, and its stop after a
// clinician's contact session and a later plain radio wake.
type contactFigures struct {
	At              []unit.Duration
	Results         []error
	AfterRadioWake  error
	Pump0, PumpLast bool // the pump was running before, and after the last attempt
}

func contactOutlived(t testing.TB, f *fixture, addr string) contactFigures {
	t.Helper()
	fig := contactFigures{At: []unit.Duration{2 * unit.Second, 55 * unit.Second, 108 * unit.Second, 160 * unit.Second}}
	fig.Pump0 = f.core().Running
	f.wake(telemetry.WakeContact)
	elapsed := unit.Duration(0)
	for i, at := range fig.At {
		f.clock.Advance(at - elapsed)
		elapsed = at
		var cmd pump.Command = pump.ReadStatus{}
		if i == len(fig.At)-1 {
			cmd = pump.Stop{}
		}
		fig.Results = append(fig.Results, once(ctx(t), f, addr, f.w.emergency, cmd))
	}
	fig.PumpLast = f.core().Running
	// A clinician's contact session, then a plain radio wake: the emergency
	// credential tries to stop the pump.
	if !fig.PumpLast {
		f.wake(telemetry.WakeContact)
		if err := once(ctx(t), f, addr, f.w.clinician, pump.Resume{}); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Advance(10 * unit.Minute)
	f.wake(telemetry.WakeContact)
	if err := once(ctx(t), f, addr, f.w.clinician, pump.ReadStatus{}); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(5 * unit.Second)
	f.wake(telemetry.WakeRadio)
	fig.AfterRadioWake = once(ctx(t), f, addr, f.w.emergency, pump.Stop{})
	return fig
}

// lockoutFigures are finding 3's first figures: after five bad frames from
// the programmer's own address, a fresh contact wake each for a clinician and
// an emergency credential.
type lockoutFigures struct {
	BadFrames               int
	Clinician, Emergency    error
	ClinicianAfterRadioWake error
}

func ownAddressLockout(t testing.TB, f *fixture, addr string) lockoutFigures {
	t.Helper()
	var fig lockoutFigures
	f.wake(telemetry.WakeRadio)
	for range 5 {
		c, err := rawDial(ctx(t), addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte{0x02, 0x01, 0x00, 0x20})
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.ReadAll(c)
		c.Close()
		fig.BadFrames++
	}
	f.wake(telemetry.WakeRadio)
	fig.ClinicianAfterRadioWake = once(ctx(t), f, addr, f.w.clinician, pump.ReadStatus{})
	f.wake(telemetry.WakeContact)
	fig.Clinician = once(ctx(t), f, addr, f.w.clinician, pump.ReadStatus{})
	f.wake(telemetry.WakeContact)
	fig.Emergency = once(ctx(t), f, addr, f.w.emergency, pump.ReadStatus{})
	return fig
}

// blockFigures are finding 3's other figures: how long a clinician waited
// for a status read (dial to answer) while the radio was held.
type blockFigures struct {
	Wait time.Duration
	Err  error
	// HolderErr is what the holder (the patient) got on its next request
	// after the clinician's answer.
	HolderErr error
	// Closed is how many of the silent connections the pump had closed
	// when the clinician's answer came, and after all.
	ClosedAtAnswer, Closed int
}

// silentConnections opens n connections from rotating loopback addresses
// that send nothing, then has a clinician read the status under a radio wake;
// or, own, from the programmer's own address (127.0.0.1), then under a
// contact wake, as `thecal program` with THECAL_WAKE does.
func silentConnections(t testing.TB, f *fixture, addr string, n int, own bool) blockFigures {
	t.Helper()
	var fig blockFigures
	f.wake(telemetry.WakeRadio)
	var closed atomic.Int64
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, n)
	for i := range n {
		from := attacker(1000 + i)
		if own {
			from = nil
		}
		c, err := rawDial(ctx(t), addr, from)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Go(func() {
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			io.ReadAll(c) // returns when the pump closes it
			closed.Add(1)
		})
	}
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if own {
		f.wake(telemetry.WakeContact)
	}
	start := time.Now()
	fig.Err = once(cctx, f, addr, f.w.clinician, pump.ReadStatus{})
	fig.Wait = time.Since(start)
	fig.ClosedAtAnswer = int(closed.Load())
	for _, c := range conns {
		if fig.Err != nil {
			c.Close() // the figure is taken: do not wait on the old code's queue
		}
	}
	wg.Wait()
	fig.Closed = int(closed.Load())
	for _, c := range conns {
		c.Close()
	}
	return fig
}

// patientHolds has a patient's device open a session (a status read) and
// keep it open, then a clinician read the status.
func patientHolds(t testing.TB, f *fixture, addr string) blockFigures {
	t.Helper()
	var fig blockFigures
	f.wake(telemetry.WakeRadio)
	pc, _, err := dialAs(ctx(t), f, addr, f.w.patient, pump.ReadStatus{})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	fig.Err = once(cctx, f, addr, f.w.clinician, pump.ReadStatus{})
	fig.Wait = time.Since(start)
	_, fig.HolderErr = pc.Do(ctx(t), pump.ReadStatus{})
	pc.Close()
	return fig
}

// TestRadioFigures prints the figures of docs/telemetry.md ("The radio under
// attack"). It asserts nothing: the tests of radio_test.go do.
func TestRadioFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("figures")
	}
	t.Run("flood", func(t *testing.T) {
		f := realFixture(t, func(c *telemetry.ServerConfig) { c.ListenWindow = 20 * unit.Second })
		f.therapyRecords(t)
		addr := serveTCP(t, f)
		f.wake(telemetry.WakeRadio)
		start := time.Now()
		fig := flood(t, f, addr, 6000, 4)
		t.Logf("flood: %d connections in %v, %d admitted, %d refused; %d log records written, the log begins at #%d; radio charged %v; refill, program, stop kept: %v; clinician: %v in %v",
			fig.Attempted, time.Since(start).Round(time.Millisecond), fig.Admitted, fig.Refused, fig.Records, fig.LogFrom, fig.Radio,
			fig.Survived, fig.ClinicianErr, fig.ClinicianWait.Round(time.Millisecond))
	})
	t.Run("contact", func(t *testing.T) {
		f := newFixture(t)
		f.therapyRecords(t)
		f.wake(telemetry.WakeContact)
		if _, err := f.do(f.w.clinician, pump.Resume{}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(10 * unit.Minute)
		fig := contactOutlived(t, f, serveTCP(t, f))
		for i, at := range fig.At {
			t.Logf("contact: emergency at %v after one contact wake: %v", at, fig.Results[i])
		}
		t.Logf("contact: running before %v, after %v; emergency stop after a clinician's contact session and a radio wake: %v", fig.Pump0, fig.PumpLast, fig.AfterRadioWake)
	})
	t.Run("lockout", func(t *testing.T) {
		f := newFixture(t)
		fig := ownAddressLockout(t, f, serveTCP(t, f))
		t.Logf("lockout: after %d bad frames from 127.0.0.1: clinician under a radio wake: %v; under a fresh contact wake: clinician %v, emergency %v",
			fig.BadFrames, fig.ClinicianAfterRadioWake, fig.Clinician, fig.Emergency)
	})
	for _, own := range []bool{false, true} {
		t.Run(fmt.Sprint("silent/own=", own), func(t *testing.T) {
			f := realFixture(t)
			fig := silentConnections(t, f, serveTCP(t, f), 30, own)
			t.Logf("silent: 30 silent connections (from the programmer's address: %v): clinician %v after %v; %d of them closed by then, %d in all",
				own, fig.Err, fig.Wait.Round(time.Millisecond), fig.ClosedAtAnswer, fig.Closed)
		})
	}
	t.Run("patient", func(t *testing.T) {
		f := realFixture(t)
		fig := patientHolds(t, f, serveTCP(t, f))
		t.Logf("patient: clinician %v after %v; the patient's next request: %v", fig.Err, fig.Wait.Round(time.Millisecond), fig.HolderErr)
	})
}
