package implant

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// The attacks of issue 4, end to end: a real implant (pump core, simulated
// hardware, event log) behind the telemetry server. Each test checks the
// refusal as the attacker sees it, that the pump core is untouched, and that
// the implant's event log shows the attack.

func overdose() pump.Prescription {
	rx := morphine(5 * unit.MillilitrePerDay)
	rx.Max24h = 10 * unit.Millilitre
	return rx
}

// untouched fails unless the core still runs rx.
func (f *fixture) untouched(rx pump.Prescription) {
	f.t.Helper()
	st := f.core()
	if st.RxHash != pump.HashOf(&rx) || !st.Delivering {
		f.dump()
		f.t.Fatalf("the pump no longer runs the prescription: %+v", st.Rx)
	}
}

func TestAttackUnauthenticatedCommand(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	f.wake(telemetry.WakeRadio)
	conn, done := f.serve("attacker")
	msg, err := pumpwire.AppendMessage(nil, pumpwire.Request{Command: pump.NewProgram(overdose(), f.core().RxHash)})
	if err != nil {
		t.Fatal(err)
	}
	// A cleartext command in a data frame, as a CRC-protected legacy link
	// would have accepted it.
	frame, _ := telemetry.AppendFrame(nil, telemetry.FrameData, append([]byte{0}, msg...))
	conn.WriteFrame(ctx(t), frame)
	rep := report(t, done)
	if !errors.Is(rep.Err, telemetry.ErrUnauthenticated) {
		t.Errorf("session ended with %v", rep.Err)
	}
	f.untouched(rx)
	f.mustLog(pumpwire.RecAuthFailures, telemetry.ErrUnauthenticated)
	f.mustLog(pumpwire.RecRadioUnauth, nil)
}

func TestAttackReplayWithinSession(t *testing.T) {
	f := newFixture(t)
	f.ready(morphine(500 * unit.Rate(unit.Microlitre)))
	f.wake(telemetry.WakeRadio)
	c, tp, done := f.dial(f.w.clinician, "programmer", nil)
	if _, err := c.Do(ctx(t), pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: unit.Hour}); err != nil {
		t.Fatal(err)
	}
	tp.Inject(tp.DataFrames()[0])
	rep := report(t, done)
	if !errors.Is(rep.Err, telemetry.ErrIntegrity) {
		t.Errorf("session ended with %v", rep.Err)
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvClinicianBolusStart))); n != 1 {
		t.Errorf("%d clinician boluses started, want 1", n)
	}
	r := f.mustLog(pumpwire.RecIntegrity, telemetry.ErrIntegrity)
	if r.Serial != 101 || r.Role != pump.RoleClinician {
		t.Errorf("integrity record %v", r)
	}
}

func TestAttackReplayAcrossSessions(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	f.wake(telemetry.WakeRadio)
	c, tp, done := f.dial(f.w.clinician, "programmer", nil)
	if _, err := c.Do(ctx(t), pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: unit.Hour}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	report(t, done)
	recorded := tp.Frames() // hello, finish, bolus, close
	f.clock.Advance(2 * unit.Hour)

	// The whole recorded session, replayed: fails at the handshake.
	f.wake(telemetry.WakeRadio)
	conn, done2 := f.serve("attacker")
	for _, fr := range recorded {
		conn.WriteFrame(ctx(t), fr)
	}
	if rep := report(t, done2); !errors.Is(rep.Err, telemetry.ErrHandshake) {
		t.Errorf("replayed session ended with %v", rep.Err)
	}
	// The recorded command injected into a fresh session of the same peer.
	f.wake(telemetry.WakeRadio)
	_, tp3, done3 := f.dial(f.w.clinician, "programmer", nil)
	tp3.Inject(recorded[2])
	if rep := report(t, done3); !errors.Is(rep.Err, telemetry.ErrIntegrity) {
		t.Errorf("injected frame ended the session with %v", rep.Err)
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvClinicianBolusStart))); n != 1 {
		t.Errorf("%d clinician boluses started, want the original one", n)
	}
	f.untouched(rx)
	f.mustLog(pumpwire.RecAuthFailures, telemetry.ErrHandshake)
	f.mustLog(pumpwire.RecIntegrity, telemetry.ErrIntegrity)
}

// Every bit of a program data frame, flipped in turn: the pump keeps its
// prescription every time and logs every attempt.
func TestAttackBitFlip(t *testing.T) {
	f := newFixture(t, func(c *telemetry.ServerConfig) { c.MaxFailures = 1 << 30 })
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	prog := pump.NewProgram(overdose(), f.core().RxHash)
	// The program's data frame: header, fragment flags, message, AEAD tag.
	msg, err := pumpwire.AppendMessage(nil, pumpwire.Request{Command: prog})
	if err != nil {
		t.Fatal(err)
	}
	size := telemetry.HeaderLen + 1 + len(msg) + 16
	bits := size * 8
	if testing.Short() {
		bits = 64
	}
	before := len(f.records(pumpwire.RecIntegrity)) + len(f.records(pumpwire.RecAuthFailed))
	for bit := range bits {
		f.wake(telemetry.WakeRadio)
		c, _, done := f.dial(f.w.clinician, "programmer", func(i int, fr []byte) [][]byte {
			if i == 2 {
				fr[bit/8] ^= 1 << (bit % 8)
			}
			return [][]byte{fr}
		})
		if _, err := c.Do(ctx(t), prog); err == nil {
			t.Fatalf("bit %d: the program was accepted", bit)
		}
		rep := report(t, done)
		if rep.Err == nil {
			t.Fatalf("bit %d: session ended cleanly", bit)
		}
	}
	f.untouched(rx)
	if n := len(f.records(pumpwire.RecIntegrity)) + len(f.records(pumpwire.RecAuthFailed)) - before; n != bits {
		t.Errorf("%d integrity records for %d flipped bits", n, bits)
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvProgram))); n != 1 {
		t.Errorf("%d PROGRAM records, want the original one", n)
	}
}

func TestAttackReorderedOrDuplicated(t *testing.T) {
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	bolus := pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: unit.Hour}
	t.Run("reordered", func(t *testing.T) {
		f := newFixture(t)
		f.ready(rx)
		f.wake(telemetry.WakeRadio)
		var held []byte
		c, _, done := f.dial(f.w.clinician, "programmer", func(i int, fr []byte) [][]byte {
			switch i {
			case 2: // the stop: held back
				held = fr
				return nil
			case 3: // the bolus goes first, then the stop
				return [][]byte{fr, held}
			}
			return [][]byte{fr}
		})
		if _, err := c.DoAll(ctx(t), pump.Stop{}, bolus); err == nil {
			t.Error("reordered frames were answered")
		}
		if rep := report(t, done); !errors.Is(rep.Err, telemetry.ErrIntegrity) {
			t.Errorf("session ended with %v", rep.Err)
		}
		if len(f.records(pumpwire.RecordKind(pump.EvStop))) != 0 || len(f.records(pumpwire.RecordKind(pump.EvClinicianBolusStart))) != 0 {
			t.Error("a reordered command reached the core")
		}
		f.untouched(rx)
		f.mustLog(pumpwire.RecIntegrity, telemetry.ErrIntegrity)
	})
	t.Run("duplicated", func(t *testing.T) {
		f := newFixture(t)
		f.ready(rx)
		f.wake(telemetry.WakeRadio)
		c, _, done := f.dial(f.w.clinician, "programmer", func(i int, fr []byte) [][]byte {
			if i == 2 {
				return [][]byte{fr, fr}
			}
			return [][]byte{fr}
		})
		c.Do(ctx(t), bolus)
		if rep := report(t, done); !errors.Is(rep.Err, telemetry.ErrIntegrity) {
			t.Errorf("session ended with %v", rep.Err)
		}
		if n := len(f.records(pumpwire.RecordKind(pump.EvClinicianBolusStart))); n != 1 {
			t.Errorf("the duplicated bolus started %d times", n)
		}
		f.mustLog(pumpwire.RecIntegrity, telemetry.ErrIntegrity)
	})
}

func TestAttackPatientProgram(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	_, err := f.do(f.w.patient, pump.NewProgram(overdose(), f.core().RxHash))
	if !errors.Is(err, telemetry.ErrForbidden) {
		t.Errorf("patient program: %v", err)
	}
	f.untouched(rx)
	r := f.mustLog(pumpwire.RecCommandRefused, telemetry.ErrForbidden)
	if pump.CommandKind(r.A) != pump.CmdProgram || r.Role != pump.RolePatient || r.Serial != 201 {
		t.Errorf("refusal record %v", r)
	}
	// The patient's own right still works.
	resp, err := f.do(f.w.patient, pump.PatientActivation{})
	if err != nil || !resp.(*pumpwire.BolusResult).Given() {
		t.Errorf("patient bolus after the refusal: %v %v", resp, err)
	}
}

func TestAttackMonitorBolus(t *testing.T) {
	f := newFixture(t)
	f.ready(morphine(500 * unit.Rate(unit.Microlitre)))
	for _, req := range []pump.Command{pump.PatientActivation{}, pump.ClinicianBolus{Volume: unit.Millilitre, Duration: unit.Hour}} {
		if _, err := f.do(f.w.monitor, req); !errors.Is(err, telemetry.ErrForbidden) {
			t.Errorf("monitor %v: %v", req.Kind(), err)
		}
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvPatientBolusStart))) + len(f.records(pumpwire.RecordKind(pump.EvClinicianBolusStart))); n != 0 {
		t.Errorf("%d boluses started", n)
	}
	r := f.mustLog(pumpwire.RecCommandRefused, telemetry.ErrForbidden)
	if r.Role != pump.RoleMonitor || r.Serial != 301 {
		t.Errorf("refusal record %v", r)
	}
}

// The emergency credential (a regional authority the pump trusts) may read
// status, stop the pump and set the minimum rate, under a contact wake only,
// and every step of its session is logged as critical.
func TestAttackEmergencyBeyondRights(t *testing.T) {
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	t.Run("beyond stop and minimum rate", func(t *testing.T) {
		f := newFixture(t)
		f.ready(rx)
		hash := f.core().RxHash
		for _, req := range []pump.Command{
			pump.NewProgram(overdose(), hash), pump.Bridge(pump.NewProgram(overdose(), hash)),
			pump.ClinicianBolus{Volume: unit.Millilitre, Duration: unit.Hour},
			pump.Prime{}, pump.Refill{Added: unit.Millilitre, Drug: "morphine", Concentration: 1}, pump.Resume{},
			pump.SetClock{SenderClock: t0}, pump.Acknowledge{}, pump.PatientActivation{}, pump.Interrogate{},
			pump.ReadLog{}, pump.SilenceTone{},
		} {
			if _, err := f.do(f.w.emergency, req); !errors.Is(err, telemetry.ErrForbidden) {
				t.Errorf("emergency %v: %v", req.Kind(), err)
			}
		}
		f.untouched(rx)
		if n := len(f.records(pumpwire.RecCommandRefused)); n != 12 {
			t.Errorf("%d refusals logged, want 12", n)
		}
		for _, r := range f.records(pumpwire.RecCommandRefused) {
			if !r.Critical() {
				t.Errorf("emergency refusal not critical: %v", r)
			}
		}
		// What it may do.
		if _, err := f.do(f.w.emergency, pump.SetMinimumRate{}); err != nil {
			t.Fatal(err)
		}
		if st := f.core(); st.Rx.Mode != pump.ModeMinimum || !st.Delivering {
			t.Errorf("after minimum rate: %+v", st.Rx)
		}
		if _, err := f.do(f.w.emergency, pump.Stop{}); err != nil {
			t.Fatal(err)
		}
		if st := f.core(); st.Running || !st.Alarms.Has(pump.PumpStopped) {
			t.Errorf("after stop: running %v alarms %b", st.Running, st.Alarms)
		}
		for _, k := range []pump.EventKind{pump.EvStop, pump.EvProgram} {
			rs := f.records(pumpwire.RecordKind(k))
			if r := rs[len(rs)-1]; !r.Critical() || r.Serial != 401 {
				t.Errorf("the emergency's %v is not loud: %v", k, r)
			}
		}
		start := f.records(pumpwire.RecordKind(pump.EvSessionStart))
		if last := start[len(start)-1]; last.Reason != pump.RoleEmergency || last.Serial != 401 || !last.Critical() ||
			telemetry.WakeKind(last.A) != telemetry.WakeContact {
			t.Errorf("emergency session start %v", last)
		}
	})
	t.Run("without contact wake", func(t *testing.T) {
		for _, wake := range []telemetry.WakeKind{telemetry.WakeRadio, telemetry.WakeScheduled} {
			f := newFixture(t)
			f.ready(rx)
			f.clock.Advance(2 * unit.Minute) // the contact wake of the clinician's sessions is over
			f.wake(wake)
			c, _, done := f.dial(f.w.emergency, "er", nil)
			if _, err := c.Do(ctx(t), pump.Stop{}); !errors.Is(err, telemetry.ErrNoContactWake) {
				t.Errorf("%v wake: %v", wake, err)
			}
			report(t, done)
			f.untouched(rx)
			if r := f.mustLog(pumpwire.RecAuthFailures, telemetry.ErrNoContactWake); r.A != 1 {
				t.Errorf("record %v", r)
			}
		}
	})
}

// dialRefused expects the pump to refuse id's credential at the handshake,
// with the core untouched and the refusal logged.
func dialRefused(t *testing.T, f *fixture, id telemetry.Identity, want error) {
	t.Helper()
	f.wake(telemetry.WakeContact)
	c, _, done := f.dial(id, "peer", nil)
	if _, err := c.Do(ctx(t), pump.Stop{}); !errors.Is(err, want) {
		t.Errorf("peer got %v, want %v", err, want)
	}
	if rep := report(t, done); !errors.Is(rep.Err, want) || rep.Info.Authenticated() {
		t.Errorf("session ended with %v", rep.Err)
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvStop))); n != 0 {
		t.Error("the stop reached the core")
	}
	f.mustLog(pumpwire.RecAuthFailures, want)
	f.mustLog(pumpwire.RecRadioUnauth, nil)
}

func TestAttackUntrustedAuthority(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	dialRefused(t, f, f.w.forged, telemetry.ErrUntrusted)
	f.untouched(rx)
}

// A credential revoked while the pump runs (the clinic pushes the new list).
func TestAttackRevokedCredential(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	trust := f.w.pump.Trust
	trust.Revoked = []uint64{f.w.clinician.Credential.Serial}
	if err := f.im.SetTrust(trust); err != nil {
		t.Fatal(err)
	}
	dialRefused(t, f, f.w.clinician, telemetry.ErrRevoked)
	f.untouched(rx)
}

// A flood of handshakes from one address: five failures lock it out for ten
// minutes, what follows costs no radio time, and the core's battery lost
// exactly its quiescent drain and the radio time of the five failures. The log
// holds summaries, one per kind and reason per listen window, not a record
// per connection.
func TestAttackHandshakeFlood(t *testing.T) {
	f := newFixture(t) // no prescription: no strokes, no tones, only quiescent drain and radio
	var before unit.Charge
	var start unit.Time
	f.im.Do(func(d *device.Device, now unit.Time) error { before, start = d.Core.Battery(), now; return nil })
	f.wake(telemetry.WakeRadio)
	refusedAt := 0
	for i := range 100 {
		f.wake(telemetry.WakeRadio) // even an attacker that keeps the radio awake
		conn, done := f.serve("attacker")
		c, err := telemetry.Dial(ctx(t), conn, f.clientConfig(f.w.forged))
		if err == nil {
			_, err = c.Do(ctx(t), pump.Stop{})
		}
		if errors.Is(err, telemetry.ErrLockedOut) && refusedAt == 0 {
			refusedAt = i
		}
		report(t, done)
	}
	if refusedAt != 5 {
		t.Errorf("locked out from attempt %d, want 5", refusedAt)
	}
	if err := f.im.Flush(); err != nil {
		t.Fatal(err)
	}
	var after unit.Charge
	var now unit.Time
	f.im.Do(func(d *device.Device, t unit.Time) error { after, now = d.Core.Battery(), t; return nil })
	sum := func(k pumpwire.RecordKind) (a, b int64) {
		for _, r := range f.records(k) {
			a, b = a+r.A, b+r.B
		}
		return a, b
	}
	radio, conns := sum(pumpwire.RecRadioUnauth)
	if conns != 5 {
		t.Errorf("%d connections charged radio time, want 5", conns)
	}
	want := pump.QuiescentCurrent.Over(now.Sub(start)) + pump.RadioCurrent.Over(unit.Duration(radio))
	if before-after != want {
		t.Errorf("battery lost %v, want quiescent + radio of 5 handshakes = %v", before-after, want)
	}
	if bound := 5 * pump.RadioCurrent.Over(telemetry.DefaultHandshakeTimeout); before-after-pump.QuiescentCurrent.Over(now.Sub(start)) > bound {
		t.Errorf("radio drain %v over the bound %v", before-after, bound)
	}
	if failed, _ := sum(pumpwire.RecAuthFailures); failed != 5 {
		t.Errorf("%d failed handshakes counted, want 5", failed)
	}
	// The address and the static key the forged credential came with.
	if r := f.mustLog(pumpwire.RecLockouts, telemetry.ErrLockedOut); r.A != 2 || !r.Critical() {
		t.Errorf("lock-out record %v", r)
	}
	if refused, _ := sum(pumpwire.RecRadioRefusals); refused != 1 {
		t.Errorf("%d refusals counted, want one per lock-out", refused)
	}
	// Ten minutes later the address may try again.
	f.clock.Advance(10 * unit.Minute)
	f.wake(telemetry.WakeRadio)
	c, _, done := f.dial(f.w.monitor, "attacker", nil)
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err != nil {
		t.Errorf("after the lock-out: %v", err)
	}
	c.Close()
	report(t, done)
}

// Oversized, truncated and unknown-version frames over TCP, before and after
// the handshake: typed refusals, no crash, the core untouched, all logged.
func TestAttackMalformedFrames(t *testing.T) {
	f := newFixture(t, func(c *telemetry.ServerConfig) { c.MaxFailures = 1 << 30 })
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	l, err := telemetry.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { f.im.Serve(sctx, l); close(served) }()
	defer func() { cancel(); <-served }()

	cases := []struct {
		name  string
		bytes []byte
		want  error
	}{
		{"unknown version", []byte{2, 1, 0, 32}, telemetry.ErrVersion},
		{"oversized", []byte{1, 1, 0x10, 0x01}, telemetry.ErrTooLarge},
		{"unknown type", []byte{1, 0x55, 0, 0}, telemetry.ErrFrameType},
		{"truncated", []byte{1, 1, 0, 32, 1, 2, 3}, telemetry.ErrTruncated},
	}
	raw := func(b []byte) error {
		nc, err := net.Dial("tcp", l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write(b)
		nc.(*net.TCPConn).CloseWrite()
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		reply, _ := io.ReadAll(nc)
		if len(reply) == 6 && reply[1] == byte(telemetry.FrameAlert) {
			return telemetry.ErrorCode(uint16(reply[4])<<8 | uint16(reply[5])).Err()
		}
		return errors.New("no alert")
	}
	for _, c := range cases {
		t.Run("before handshake/"+c.name, func(t *testing.T) {
			f.wake(telemetry.WakeRadio)
			if err := raw(c.bytes); !errors.Is(err, c.want) {
				t.Errorf("alert %v, want %v", err, c.want)
			}
			f.mustLog(pumpwire.RecAuthFailures, c.want)
		})
	}
	for _, c := range cases {
		if c.name == "truncated" {
			continue // over a stream, truncation after the handshake is the session-cut test
		}
		t.Run("after handshake/"+c.name, func(t *testing.T) {
			f.wake(telemetry.WakeRadio)
			conn, err := telemetry.DialTCP(ctx(t), l.Addr())
			if err != nil {
				t.Fatal(err)
			}
			cl, err := telemetry.Dial(ctx(t), conn, f.clientConfig(f.w.clinician))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cl.Do(ctx(t), pump.ReadStatus{}); err != nil {
				t.Fatal(err)
			}
			conn.WriteFrame(ctx(t), c.bytes)
			if _, err := cl.Do(ctx(t), pump.ReadStatus{}); err == nil {
				t.Error("session survived a malformed frame")
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				found := false
				for _, r := range f.records(pumpwire.RecIntegrity) {
					found = found || r.B == int64(telemetry.CodeOf(c.want))
				}
				if found {
					break
				}
				if time.Now().After(deadline) {
					f.dump()
					t.Fatalf("no INTEGRITY record with %v", c.want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	f.untouched(rx)
}

// A session cut in the middle of the program frame: the old prescription is
// still running (the core keeps delivering at its rate).
func TestAttackSessionCutMidProgram(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	l, err := telemetry.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() { f.im.Serve(sctx, l); close(served) }()
	defer func() { cancel(); <-served }()

	f.wake(telemetry.WakeContact)
	conn, err := telemetry.DialTCP(ctx(t), l.Addr())
	if err != nil {
		t.Fatal(err)
	}
	cut := &cutConn{StreamConn: conn, after: 2} // the third frame, the program, is cut in half
	cl, err := telemetry.Dial(ctx(t), cut, f.clientConfig(f.w.clinician))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Do(ctx(t), pump.NewProgram(overdose(), f.core().RxHash)); err == nil {
		t.Fatal("a cut program was acknowledged")
	}
	var closed bool
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && !closed; time.Sleep(10 * time.Millisecond) {
		closed = len(f.records(pumpwire.RecordKind(pump.EvSessionEnd))) == 3
	}
	if !closed {
		f.dump()
		t.Fatal("the cut session was not closed")
	}
	f.untouched(rx)
	// The old program keeps delivering: a day later, 0.5 mL more.
	d0 := f.core().Delivered
	f.clock.Advance(unit.Day)
	if got := f.core().Delivered - d0; got < 499*unit.Microlitre || got > 501*unit.Microlitre {
		t.Errorf("delivered %v in the day after the cut, want 0.5 mL", got)
	}
	if n := len(f.records(pumpwire.RecordKind(pump.EvProgram))); n != 1 {
		t.Errorf("%d PROGRAM records", n)
	}
}

// cutConn writes its first `after` frames whole, then half of the next one,
// and closes: a radio link lost in the middle of a frame.
type cutConn struct {
	*telemetry.StreamConn
	after, n int
}

func (c *cutConn) WriteFrame(ctx context.Context, frame []byte) error {
	c.n++
	if c.n <= c.after {
		return c.StreamConn.WriteFrame(ctx, frame)
	}
	// Half the frame as if the header promised it whole, then silence.
	if err := c.StreamConn.WriteFrame(ctx, frame[:len(frame)/2]); err != nil {
		return err
	}
	c.StreamConn.Close()
	return nil
}

// The pump trusts the regional emergency authority for emergency access only:
// a clinician (or patient) credential that authority issued is refused every
// command, and the refusal is logged.
func TestAttackForeignAuthorityBeyondEmergency(t *testing.T) {
	f := newFixture(t)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	mallory := f.w.identity(f.w.er, telemetry.RoleClinician, 999, "Mallory")
	for _, req := range []pump.Command{pump.Interrogate{}, pump.NewProgram(overdose(), f.core().RxHash), pump.Stop{}} {
		if _, err := f.do(mallory, req); !errors.Is(err, telemetry.ErrForbidden) {
			t.Errorf("%v: %v", req.Kind(), err)
		}
	}
	f.untouched(rx)
	r := f.mustLog(pumpwire.RecCommand, telemetry.ErrForbidden)
	if r.Serial != 999 {
		t.Errorf("record %v", r)
	}
	// The same authority's emergency credential still works.
	if _, err := f.do(f.w.emergency, pump.ReadStatus{}); err != nil {
		t.Errorf("emergency: %v", err)
	}
}
