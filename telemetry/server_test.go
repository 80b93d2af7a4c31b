package telemetry

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

const time60 = 60 * unit.Second

// A clinician session end to end: the handler sees who is asking and under
// which wake, the answers come back typed, the log has the whole story, and
// the radio time is charged at RadioCurrent.
func TestClinicianSession(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	f.dev.log = bytes.Repeat([]byte("entry..."), 1500) // 12000 bytes
	c, _, done := f.dial(f.w.clinician, "programmer", nil)
	if got := c.Pump(); got.Serial != 4001 || got.Role != RolePump {
		t.Errorf("pump credential %+v", got)
	}
	st, err := c.Do(ctx(t), pump.Interrogate{})
	if err != nil || *st.(*pumpwire.Status) != *standInStatus() {
		t.Fatalf("interrogate: %v %v", st, err)
	}
	lg, err := c.Do(ctx(t), pump.ReadLog{From: 0})
	if err != nil || len(lg.(*pumpwire.Log).Entries) != 12000 || lg.(*pumpwire.Log).More {
		t.Fatalf("read log: %v", err)
	}
	p := testProgram(5)
	ack, err := c.Do(ctx(t), p)
	if err != nil || ack.(*pumpwire.Ack).Seq == 0 {
		t.Fatalf("program: %v %v", ack, err)
	}
	if f.dev.current() != p {
		t.Error("prescription not stored")
	}
	// Pipelined requests: one round trip for three answers.
	rs, err := c.DoAll(ctx(t), pump.ReadStatus{}, pump.Stop{}, pump.Resume{})
	if err != nil || len(rs) != 3 || rs[1].Kind() != pumpwire.KindAck {
		t.Fatalf("DoAll: %v %v", rs, err)
	}
	c.Close()
	rep := report(t, done)
	if rep.Err != nil || rep.Commands != 6 {
		t.Errorf("report %+v", rep)
	}
	if rep.Radio <= 0 || rep.Charge != radioCurrent.Over(rep.Radio) {
		t.Errorf("radio %v charged %v", rep.Radio, rep.Charge)
	}
	for _, s := range f.dev.sessions {
		if s.Role != RoleClinician || s.Name != "Dr. Clinician" || s.Serial != 101 || s.Wake != WakeContact || s.Session != 1 {
			t.Errorf("handler saw %+v", s)
		}
	}
	closed := f.events.mustLog(t, EventSessionClosed, nil)
	if closed.Radio != rep.Radio || closed.Charge != rep.Charge || closed.Err != nil {
		t.Errorf("closing event %v", closed)
	}
	if n := f.events.count(EventCommand); n != 6 {
		t.Errorf("%d command events", n)
	}
	if f.srv.RadioUsed() != rep.Radio {
		t.Errorf("budget used %v, session %v", f.srv.RadioUsed(), rep.Radio)
	}
}

// TestRadioCharge pins the charge arithmetic to pump.RadioCurrent's value.
func TestRadioCharge(t *testing.T) {
	// 5 mA for one minute is 83.333 µAh.
	if got := radioCurrent.Over(unit.Minute); got != 300_000_000_000 {
		t.Errorf("charge of a minute: %v", got)
	}
}

// The radio only listens for ListenWindow after a wake.
func TestWakeBeforeRadio(t *testing.T) {
	f := newFixture(t)
	conn, done := f.serve("programmer")
	if _, err := Dial(ctx(t), conn, f.clientConfig(f.w.clinician)); !errors.Is(err, ErrNotListening) {
		t.Errorf("without a wake: %v", err)
	}
	if rep := report(t, done); !errors.Is(rep.Err, ErrNotListening) || rep.Radio != 0 {
		t.Errorf("report %+v", rep)
	}
	f.wake(WakeScheduled)
	f.clock.Advance(DefaultListenWindow)
	conn, done = f.serve("programmer")
	if _, err := Dial(ctx(t), conn, f.clientConfig(f.w.monitor)); !errors.Is(err, ErrNotListening) {
		t.Errorf("after the window: %v", err)
	}
	report(t, done)

	f.wake(WakeScheduled)
	if k, ok := f.srv.Listening(); !ok || k != WakeScheduled {
		t.Errorf("Listening = %v %v", k, ok)
	}
	c, _, done := f.dial(f.w.monitor, "relay", nil)
	mustDo(t, c, pump.ReadStatus{})
	c.Close()
	report(t, done)
	// A clean session re-opens the window for a reconnection...
	f.clock.Advance(DefaultListenWindow - unit.Second)
	c, _, done = f.dial(f.w.monitor, "relay", nil)
	c.Close()
	report(t, done)
	// ...but not for ever.
	f.clock.Advance(DefaultListenWindow)
	if _, ok := f.srv.Listening(); ok {
		t.Error("still listening a window after the last session")
	}
	// A contact wake outranks a scheduled one still in its window.
	f.wake(WakeScheduled)
	f.wake(WakeContact)
	if k, _ := f.srv.Listening(); k != WakeContact {
		t.Errorf("wake %v, want contact", k)
	}
	if n := f.events.count(EventRefused); n != 0 {
		t.Errorf("a silent radio logged %d refusals", n)
	}
}

// The daily radio budget: once spent, no sessions until the next UTC day;
// contact wakes have a reserve on top.
func TestRadioBudget(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) {
		c.DailyBudget = 2 * unit.Second
		c.ContactReserve = 2 * unit.Second
	}).wake(WakeRadio)
	// Each session takes about a quarter of a second of the fake clock.
	var sessions int
	for {
		conn, done := f.serve("programmer")
		c, err := Dial(ctx(t), conn, f.clientConfig(f.w.clinician))
		if err == nil {
			_, err = c.Do(ctx(t), pump.ReadStatus{})
			c.Close()
		}
		rep := report(t, done)
		if err != nil {
			if !errors.Is(err, ErrBudget) || !errors.Is(rep.Err, ErrBudget) {
				t.Fatalf("session %d: %v / %v", sessions, err, rep.Err)
			}
			break
		}
		sessions++
		if sessions > 100 {
			t.Fatal("budget never ran out")
		}
	}
	if used := f.srv.RadioUsed(); used > 2*unit.Second+unit.Second {
		t.Errorf("used %v of a 2 s budget", used)
	}
	f.events.mustLog(t, EventRefused, ErrBudget)
	// The contact reserve still lets an emergency programmer in.
	f.wake(WakeContact)
	c, _, done := f.dial(f.w.emergency, "er", nil)
	if _, err := c.Do(ctx(t), pump.Stop{}); err != nil {
		t.Errorf("emergency stop on the contact reserve: %v", err)
	}
	c.Close()
	report(t, done)
	// The next day the budget is back.
	f.clock.Advance(unit.Day)
	f.wake(WakeRadio)
	if f.srv.RadioUsed() != 0 {
		t.Error("budget not reset")
	}
	c, _, done = f.dial(f.w.clinician, "programmer", nil)
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err != nil {
		t.Errorf("next day: %v", err)
	}
	c.Close()
	report(t, done)
}

// A session that runs into the budget is cut, not refused half-way through a
// message, and the cut is not counted as the peer's failure.
func TestBudgetCutsSession(t *testing.T) {
	f := newFixture(t, func(c *ServerConfig) { c.DailyBudget = 300 * unit.Millisecond }).wake(WakeRadio)
	c, _, done := f.dial(f.w.clinician, "programmer", nil)
	var err error
	for i := 0; err == nil && i < 100; i++ {
		_, err = c.Do(ctx(t), pump.ReadStatus{})
	}
	if !errors.Is(err, ErrBudget) {
		t.Errorf("got %v, want ErrBudget", err)
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, ErrBudget) {
		t.Errorf("session ended with %v", rep.Err)
	}
	if _, ok := f.events.find(EventLockout, nil); ok {
		t.Error("budget cut counted as a failure")
	}
}

// One session holds the radio at a time. Another authenticated peer of the
// same or lower priority waits for it until its handshake deadline, then is
// refused (encrypted, ErrBusy); one that arrives as the holder closes gets it.
func TestBusy(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	c, _, done := f.dial(f.w.clinician, "programmer", nil)
	mustDo(t, c, pump.ReadStatus{})
	p, _, done2 := f.dial(f.w.patient, "ptm", nil)
	if _, err := p.Do(ctx(t), pump.ReadStatus{}); !errors.Is(err, ErrBusy) {
		t.Errorf("second session: %v", err)
	}
	if rep := report(t, done2); !errors.Is(rep.Err, ErrBusy) || rep.Info.Authenticated() {
		t.Errorf("second session's report %+v", rep)
	}
	mustDo(t, c, pump.ReadStatus{}) // the holder never noticed
	// A second clinician while the first closes: it waits, then is served.
	c2, _, done3 := f.dial(f.w.clinician, "programmer-2", nil)
	answered := make(chan error, 1)
	go func() { _, err := c2.Do(ctx(t), pump.ReadStatus{}); answered <- err }()
	c.Close()
	report(t, done)
	if err := <-answered; err != nil {
		t.Errorf("the waiting clinician: %v", err)
	}
	c2.Close()
	report(t, done3)
	f.events.mustLog(t, EventRefused, ErrBusy)
	if _, ok := f.events.find(EventLockout, nil); ok {
		t.Error("a busy radio counted as a failure")
	}
}

// The role table, whole: every role, every command, every wake. The rights
// of the patient, the monitor and the emergency programmer are written out
// here, apart from the pump's command table they come from, so granting them
// a command fails this test until it is reviewed here; a clinician may send
// every command of the link but the patient's own press.
func TestRolesTable(t *testing.T) {
	all := []pump.CommandKind{0x42, 0x81}
	var clinician []pump.CommandKind
	for _, s := range pump.Commands() {
		all = append(all, s.Kind)
		if s.Roles != pump.ByDevice && s.Kind != pump.CmdPatientActivation {
			clinician = append(clinician, s.Kind)
		}
	}
	want := map[Role][]pump.CommandKind{
		RoleClinician: clinician,
		RolePatient:   {pump.CmdReadStatus, pump.CmdPatientActivation, pump.CmdSilenceTone},
		RoleMonitor:   {pump.CmdReadStatus, pump.CmdReadLog},
		RoleEmergency: {pump.CmdReadStatus, pump.CmdStop, pump.CmdSetMinimumRate},
		RolePump:      nil,
		Role(0):       nil,
		Role(99):      nil,
	}
	for role, allowed := range want {
		for _, wake := range []WakeKind{WakeContact, WakeRadio, WakeScheduled} {
			for _, k := range all {
				err := Allowed(role, wake, k)
				ok := slices.Contains(allowed, k) && (role != RoleEmergency || wake == WakeContact)
				if (err == nil) != ok {
					t.Errorf("Allowed(%v, %v, %v) = %v, want allowed %v", role, wake, k, err, ok)
				}
				if err != nil && !errors.Is(err, ErrForbidden) {
					t.Errorf("refusal %v is not ErrForbidden", err)
				}
			}
		}
		got := Rights(role)
		slices.Sort(got)
		slices.Sort(allowed)
		if !slices.Equal(got, allowed) {
			t.Errorf("Rights(%v) = %v, want %v", role, got, allowed)
		}
	}
}

// A peer with a pump credential, or an unknown command, gets nowhere.
func TestPumpRoleAndUnknownCommand(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	// Another pump's identity cannot open a session.
	other := f.w.identity(RolePump, 4002, "TP-40 #4002")
	dialRefused(t, f, other, ErrRole)

	f = newFixture(t).wake(WakeContact)
	c, _, _ := f.dial(f.w.clinician, "programmer", nil)
	checkRefused(t, f, c, pumpwire.Unknown{Type: 0x42, Body: []byte("from the future")}, ErrUnknownCommand)
	// The device's own commands have no wire form: a peer's is unknown.
	checkRefused(t, f, c, pumpwire.Unknown{Type: pumpwire.Kind(pump.CmdDrain), Body: make([]byte, 8)}, ErrUnknownCommand)
	// A command whose body does not decode (a negative priming volume).
	checkRefused(t, f, c, pumpwire.Unknown{Type: pumpwire.Kind(pump.CmdPrime), Body: []byte{0x80, 0, 0, 0, 0, 0, 0, 0}}, ErrMalformed)
	// A response sent as a request.
	checkRefused(t, f, c, &pumpwire.Ack{Seq: 1}, ErrUnexpected)
	// The session survives them all.
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err != nil {
		t.Errorf("after refusals: %v", err)
	}
}

// A device answer of the wrong kind (the command table names the right one)
// or a log larger than asked is replaced by an internal error.
func TestWrongAnswerIsAnInternalError(t *testing.T) {
	answers := map[pump.CommandKind]pumpwire.Response{
		pump.CmdStop:       standInStatus(),
		pump.CmdReadStatus: &pumpwire.Ack{},
		pump.CmdReadLog:    &pumpwire.Log{Entries: make([]byte, 11)},
		pump.CmdResume:     nil,
	}
	f := newFixture(t, func(c *ServerConfig) {
		c.Handler = HandlerFunc(func(_ SessionInfo, c pump.Command) pumpwire.Response { return answers[c.Kind()] })
	}).wake(WakeContact)
	c, _, _ := f.dial(f.w.clinician, "programmer", nil)
	for _, cmd := range []pump.Command{pump.Stop{}, pump.ReadStatus{}, pump.ReadLog{MaxBytes: 10}, pump.Resume{}} {
		if _, err := c.Do(ctx(t), cmd); !errors.Is(err, ErrInternal) {
			t.Errorf("%v: %v, want ErrInternal", cmd.Kind(), err)
		}
	}
}

// The peer authenticates the pump before revealing its own credential.
func TestClientAuthenticatesPump(t *testing.T) {
	w := testWorld(t)
	rogue, err := Enrol(w.rng, w.other, 4001, "TP-20 #4001", t0.Add(-unit.Day), t0.Add(unit.Day))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pump Enrolment
		cfg  func(*ClientConfig)
		want error
	}{
		{"rogue authority", Enrolment{Identity: rogue.Identity, Trust: w.pump.Trust}, nil, ErrUntrusted},
		{"wrong serial", w.pump, func(c *ClientConfig) { c.PumpSerial = 4002 }, ErrWrongPump},
		{"revoked pump", w.pump, func(c *ClientConfig) { c.Trust.Revoked = []uint64{4001} }, ErrRevoked},
		{"not a pump", Enrolment{Identity: w.clinician, Trust: w.pump.Trust}, nil, ErrRole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixture{t: t, w: w, clock: NewStepClock(t0, 0), events: &recorder{}, dev: &device{}}
			srv, err := NewServer(ServerConfig{Enrolment: Enrolment{Identity: tc.pump.Identity, Trust: tc.pump.Trust},
				Handler: f.dev, Clock: f.clock.Now, Events: f.events.add, RadioCurrent: radioCurrent})
			if tc.want == ErrRole {
				// NewServer itself refuses a non-pump identity; serve it anyway.
				if err == nil {
					t.Fatal("server with a clinician identity")
				}
				srv = &Server{cfg: ServerConfig{Enrolment: tc.pump, Handler: f.dev, Clock: f.clock.Now, RadioCurrent: radioCurrent,
					ListenWindow: time60, MaxFailures: 5, Lockout: DefaultLockout, DailyBudget: DefaultDailyBudget,
					HandshakeTimeout: DefaultHandshakeTimeout, IdleTimeout: DefaultIdleTimeout, MaxSession: DefaultMaxSession, MaxTrackedPeers: 8},
					peers: map[string]*peerRecord{}}
				srv.credWire, _ = AppendCredential(nil, tc.pump.Identity.Credential)
			} else if err != nil {
				t.Fatal(err)
			}
			f.srv = srv
			f.wake(WakeContact)
			conn, done := f.serve("programmer")
			tp := &Tap{Conn: conn}
			cfg := f.clientConfig(w.clinician)
			cfg.Trust = Trust{Authorities: w.pump.Trust.Authorities}
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			if _, err := Dial(ctx(t), tp, cfg); !errors.Is(err, tc.want) {
				t.Errorf("Dial: %v, want %v", err, tc.want)
			}
			report(t, done)
			for _, fr := range tp.Frames() {
				if FrameType(fr[1]) == FrameFinish {
					t.Error("peer sent its credential to an unauthenticated pump")
				}
			}
		})
	}
}

// Over a link that loses, corrupts, duplicates and delays frames, sessions
// fail or succeed, but the device never receives a command that differs
// from what the peer sent, and every failure is in the log.
func TestFaultyLink(t *testing.T) {
	w := testWorld(t)
	p := testProgram(7)
	var ok, failed int
	for seed := range uint64(60) {
		f := newFixture(t).wake(WakeContact)
		rng := rand.New(rand.NewPCG(seed, 1))
		cfg := LinkConfig{Loss: 0.03, Corrupt: 0.03, Duplicate: 0.03, Delay: 50 * time.Microsecond, Jitter: 50 * time.Microsecond, Rand: rng}
		a, b := Pipe("programmer", "pump", cfg, cfg)
		done := make(chan SessionReport, 1)
		go func() { done <- f.srv.ServeConn(context.Background(), b) }()
		cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		c, err := Dial(cctx, a, f.clientConfig(w.clinician))
		if err == nil {
			c.ch.fragment = 200 // two frames, as a long prescription would take
			_, err = c.Do(cctx, p)
			c.Close()
		}
		cancel()
		a.Close()
		rep := report(t, done)
		for _, r := range f.dev.requests() {
			if r != pump.Command(p) {
				t.Fatalf("seed %d: device received an altered command %v", seed, r.Kind())
			}
		}
		if err != nil {
			failed++
			if rep.Err == nil && len(f.dev.requests()) == 0 {
				t.Errorf("seed %d: peer failed (%v) but the pump logged a clean session", seed, err)
			}
		} else {
			ok++
		}
	}
	t.Logf("faulty link: %d sessions succeeded, %d failed", ok, failed)
	if ok == 0 || failed == 0 {
		t.Errorf("fault injection ineffective: %d ok, %d failed", ok, failed)
	}
}

// The TCP transport on loopback, through Serve.
func TestTCPLoopback(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	l, err := ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Skip("no loopback TCP:", err)
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- f.srv.Serve(sctx, l) }()
	for i := range 3 {
		conn, err := DialTCP(ctx(t), l.Addr())
		if err != nil {
			t.Fatal(err)
		}
		c, err := Dial(ctx(t), conn, f.clientConfig(f.w.clinician))
		if err != nil {
			t.Fatal(err)
		}
		c.ch.fragment = 100 // a program over four frames, read back by the stream reader
		if _, err := c.Do(ctx(t), testProgram(byte(i))); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		mustDo(t, c, pump.Interrogate{})
		c.Close()
	}
	stop()
	if err := <-served; !errors.Is(err, context.Canceled) {
		t.Errorf("Serve returned %v", err)
	}
	if n := f.events.count(EventSessionOpened); n != 3 {
		f.events.dump(t)
		t.Errorf("%d sessions opened", n)
	}
	if e := f.events.mustLog(t, EventSessionOpened, nil); e.Peer.Addr != "127.0.0.1" {
		t.Errorf("peer address %q, want the host alone", e.Peer.Addr)
	}
}
