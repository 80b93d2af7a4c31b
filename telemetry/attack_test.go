package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// The attacks of issue 4 that must fail, one test each. Every test checks the
// refusal as the attacker sees it, that nothing reached the device, and that
// the pump's event log recorded it.

// An attacker with no credential sends a command frame straight away.
func TestAttackUnauthenticatedCommand(t *testing.T) {
	f := newFixture(t).wake(WakeRadio)
	conn, done := f.serve("attacker")
	msg, err := pumpwire.AppendMessage(nil, pumpwire.Request{Command: testProgram(1)})
	if err != nil {
		t.Fatal(err)
	}
	// A cleartext command in a data frame, as a CRC-protected legacy link
	// would have accepted it.
	frame, _ := AppendFrame(nil, FrameData, append([]byte{0}, msg...))
	if err := conn.WriteFrame(ctx(t), frame); err != nil {
		t.Fatal(err)
	}
	_, err = readFrame(ctx(t), conn)
	if !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("attacker got %v, want an ErrUnauthenticated alert", err)
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, ErrUnauthenticated) {
		t.Errorf("session ended with %v", rep.Err)
	}
	if got := f.dev.requests(); len(got) != 0 {
		t.Errorf("device received %v", got)
	}
	f.events.mustLog(t, EventHandshakeFailed, ErrUnauthenticated)
	f.events.mustLog(t, EventSessionClosed, ErrUnauthenticated)
}

// A frame recorded in a session is sent again in the same session.
func TestAttackReplayWithinSession(t *testing.T) {
	f := newFixture(t).wake(WakeRadio)
	c, tp, done := f.dial(f.w.clinician, "programmer", nil)
	mustDo(t, c, pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: unit.Minute})
	recorded := tp.DataFrames()
	if len(recorded) != 1 {
		t.Fatalf("recorded %d data frames", len(recorded))
	}
	if err := tp.Inject(recorded[0]); err != nil {
		t.Fatal(err)
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, ErrIntegrity) {
		t.Errorf("session ended with %v, want ErrIntegrity", rep.Err)
	}
	if got := f.dev.kinds(); !slices.Equal(got, []pump.CommandKind{pump.CmdClinicianBolus}) {
		t.Errorf("device received %v, want one clinician bolus", got)
	}
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err == nil {
		t.Error("session still open after a replay")
	}
	e := f.events.mustLog(t, EventIntegrity, ErrIntegrity)
	if e.Severity != SeverityCritical || e.Peer.Serial != f.w.clinician.Credential.Serial {
		t.Errorf("integrity event %v", e)
	}
}

// Frames recorded in one session are sent in another: as a whole new
// handshake, and injected into a fresh authenticated session.
func TestAttackReplayAcrossSessions(t *testing.T) {
	f := newFixture(t).wake(WakeRadio)
	c, tp, done := f.dial(f.w.clinician, "programmer", nil)
	mustDo(t, c, pump.Stop{})
	c.Close()
	report(t, done)
	session1 := tp.Frames() // hello, finish, stop, close

	// Replaying the whole recorded conversation fails at message 3: the
	// pump's new ephemeral key makes the recorded one worthless.
	conn, done2 := f.serve("attacker")
	for _, fr := range session1 {
		conn.WriteFrame(ctx(t), fr)
	}
	rep := report(t, done2)
	if !errors.Is(rep.Err, ErrHandshake) {
		t.Errorf("replayed handshake ended with %v, want ErrHandshake", rep.Err)
	}
	f.events.mustLog(t, EventHandshakeFailed, ErrHandshake)

	// Injecting the recorded command into a live session of the same peer
	// fails too: another session, other keys.
	c3, tp3, done3 := f.dial(f.w.clinician, "programmer", nil)
	tp3.Inject(session1[2])
	rep = report(t, done3)
	if !errors.Is(rep.Err, ErrIntegrity) {
		t.Errorf("injected frame ended the session with %v, want ErrIntegrity", rep.Err)
	}
	if _, err := c3.Do(ctx(t), pump.ReadStatus{}); err == nil {
		t.Error("session survived a frame from another session")
	}
	if got := f.dev.kinds(); !slices.Equal(got, []pump.CommandKind{pump.CmdStop}) {
		t.Errorf("device received %v, want the one original stop", got)
	}
	f.events.mustLog(t, EventIntegrity, ErrIntegrity)
}

// Every single bit of a recorded frame is flipped in turn: the peer's last
// handshake message and a program command. Every variant is refused, the
// session closed, the event logged, and the device never sees the command.
func TestAttackBitFlip(t *testing.T) {
	w := testWorld(t)
	program := testProgram(3)
	for _, target := range []struct {
		name  string
		index int // which of the peer's frames: 1 = finish, 2 = the program
	}{{"finish", 1}, {"program", 2}} {
		t.Run(target.name, func(t *testing.T) {
			// Record the frame's length from a clean session.
			f := newFixture(t).wake(WakeRadio)
			c, tp, _ := f.dial(w.clinician, "programmer", nil)
			mustDo(t, c, program)
			size := len(tp.Frames()[target.index])
			for bit := range size * 8 {
				f := newFixture(t).wake(WakeRadio)
				flip := func(i int, fr []byte) [][]byte {
					if i == target.index {
						fr[bit/8] ^= 1 << (bit % 8)
					}
					return [][]byte{fr}
				}
				c, _, done := f.dial(w.clinician, "programmer", flip)
				_, err := c.Do(ctx(t), program)
				if err == nil {
					t.Fatalf("bit %d of the %s frame: command accepted", bit, target.name)
				}
				rep := report(t, done)
				if rep.Err == nil || len(f.dev.requests()) != 0 {
					t.Fatalf("bit %d: session ended with %v, device saw %v", bit, rep.Err, f.dev.requests())
				}
				found := false
				for _, e := range f.events.all() {
					if (e.Kind == EventIntegrity || e.Kind == EventHandshakeFailed) && e.Severity >= SeverityWarning && e.Err != nil {
						found = true
					}
				}
				if !found {
					f.events.dump(t)
					t.Fatalf("bit %d: no security event logged", bit)
				}
			}
		})
	}
}

// Frames of one peer arrive out of order, or twice.
func TestAttackReorderedOrDuplicated(t *testing.T) {
	w := testWorld(t)
	t.Run("reordered", func(t *testing.T) {
		f := newFixture(t).wake(WakeRadio)
		// A program of two frames (fragments of 200 bytes); the first is
		// held back and sent after the second.
		var held []byte
		swap := func(i int, fr []byte) [][]byte {
			switch i {
			case 2:
				held = fr
				return nil
			case 3:
				return [][]byte{fr, held}
			}
			return [][]byte{fr}
		}
		c, _, done := f.dial(w.clinician, "programmer", swap)
		c.ch.fragment = 200
		before := f.dev.current()
		if _, err := c.Do(ctx(t), testProgram(9)); err == nil {
			t.Fatal("reordered program accepted")
		}
		rep := report(t, done)
		if !errors.Is(rep.Err, ErrIntegrity) {
			t.Errorf("session ended with %v", rep.Err)
		}
		if len(f.dev.requests()) != 0 || f.dev.current() != before {
			t.Error("device saw the reordered program")
		}
		f.events.mustLog(t, EventIntegrity, ErrIntegrity)
	})
	t.Run("duplicated", func(t *testing.T) {
		f := newFixture(t).wake(WakeRadio)
		dup := func(i int, fr []byte) [][]byte {
			if i == 2 {
				return [][]byte{fr, fr}
			}
			return [][]byte{fr}
		}
		c, _, done := f.dial(w.clinician, "programmer", dup)
		// The first copy is the genuine command; the pump acts on it once
		// and refuses the copy.
		c.Do(ctx(t), pump.ClinicianBolus{Volume: 100 * unit.Microlitre, Duration: unit.Minute})
		rep := report(t, done)
		if !errors.Is(rep.Err, ErrIntegrity) {
			t.Errorf("session ended with %v", rep.Err)
		}
		if got := f.dev.kinds(); !slices.Equal(got, []pump.CommandKind{pump.CmdClinicianBolus}) {
			t.Errorf("device received %v, want one bolus", got)
		}
		f.events.mustLog(t, EventIntegrity, ErrIntegrity)
	})
}

// checkRefused asserts that m, sent by a session of id, is refused with
// want, reaches no device, is logged, and leaves the session usable.
func checkRefused(t *testing.T, f *fixture, c *Client, m pumpwire.Message, want error) {
	t.Helper()
	before := len(f.dev.requests())
	_, err := doMessage(t, c, m)
	if !errors.Is(err, want) {
		t.Errorf("%v: got %v, want %v", m.Kind(), err, want)
	}
	if got := f.dev.requests(); len(got) != before {
		t.Errorf("%v reached the device", m.Kind())
	}
	for _, e := range f.events.all() {
		if e.Kind == EventCommandRefused && e.Command == m.Kind() && errors.Is(e.Err, want) && e.Severity >= SeverityWarning {
			return
		}
	}
	f.events.dump(t)
	t.Errorf("no %v event for %v", EventCommandRefused, m.Kind())
}

// refusedCommand is checkRefused for a pump command.
func refusedCommand(t *testing.T, f *fixture, c *Client, cmd pump.Command, want error) {
	t.Helper()
	checkRefused(t, f, c, pumpwire.Request{Command: cmd}, want)
}

// The patient's therapy manager asks to change the prescription.
func TestAttackPatientProgram(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	c, _, _ := f.dial(f.w.patient, "ptm", nil)
	refusedCommand(t, f, c, testProgram(1), ErrForbidden)
	refusedCommand(t, f, c, pump.ClinicianBolus{Volume: unit.Millilitre, Duration: unit.Minute}, ErrForbidden)
	// Its own rights still work in the same session.
	if r, err := c.Do(ctx(t), pump.PatientActivation{}); err != nil || !r.(*pumpwire.BolusResult).Given() {
		t.Errorf("patient bolus: %v %v", r, err)
	}
}

// The home monitor asks for a bolus.
func TestAttackMonitorBolus(t *testing.T) {
	f := newFixture(t).wake(WakeScheduled)
	c, _, _ := f.dial(f.w.monitor, "relay", nil)
	refusedCommand(t, f, c, pump.PatientActivation{}, ErrForbidden)
	refusedCommand(t, f, c, pump.ClinicianBolus{Volume: unit.Millilitre, Duration: unit.Minute}, ErrForbidden)
	if _, err := c.Do(ctx(t), pump.ReadLog{From: 0}); err != nil {
		t.Errorf("monitor read log: %v", err)
	}
}

// An emergency credential, with a contact wake, asks for more than stop,
// minimum rate and status.
func TestAttackEmergencyBeyondRights(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	c, _, _ := f.dial(f.w.emergency, "er", nil)
	mustDo(t, c, pump.ReadStatus{})
	opened := f.events.mustLog(t, EventSessionOpened, nil)
	if opened.Severity != SeverityCritical || opened.Peer.Role != RoleEmergency {
		t.Errorf("emergency session not logged loudly: %v", opened)
	}
	for _, req := range []pump.Command{
		pump.Interrogate{}, pump.ReadLog{}, testProgram(0), pump.Bridge(testProgram(0)),
		pump.ClinicianBolus{Volume: unit.Millilitre, Duration: unit.Minute}, pump.Prime{Volume: unit.Millilitre},
		pump.Refill{Added: 20 * unit.Millilitre, Drug: "morphine", Concentration: unit.MilligramPerMillilitre},
		pump.Resume{}, pump.SetClock{SenderClock: t0}, pump.Acknowledge{Alarm: pump.LowReservoir}, pump.PatientActivation{},
		pump.SilenceTone{},
	} {
		refusedCommand(t, f, c, req, ErrForbidden)
	}
	for _, req := range []pump.Command{pump.Stop{}, pump.SetMinimumRate{}, pump.ReadStatus{}} {
		if _, err := c.Do(ctx(t), req); err != nil {
			t.Errorf("emergency %v: %v", req.Kind(), err)
		}
	}
	for _, e := range f.events.all() {
		if e.Kind == EventCommand && e.Severity != SeverityCritical {
			t.Errorf("emergency command not logged loudly: %v", e)
		}
	}
}

// An emergency credential tries a session opened by a radio or scheduled
// wake: no physical proximity, so nothing at all.
func TestAttackEmergencyWithoutContactWake(t *testing.T) {
	for _, wake := range []WakeKind{WakeRadio, WakeScheduled} {
		t.Run(wake.String(), func(t *testing.T) {
			f := newFixture(t).wake(wake)
			c, _, done := f.dial(f.w.emergency, "er", nil)
			_, err := c.Do(ctx(t), pump.Stop{})
			if !errors.Is(err, ErrNoContactWake) || !errors.Is(err, ErrForbidden) {
				t.Errorf("got %v, want ErrNoContactWake", err)
			}
			rep := report(t, done)
			if !errors.Is(rep.Err, ErrNoContactWake) || len(f.dev.requests()) != 0 {
				t.Errorf("session ended with %v; device saw %v", rep.Err, f.dev.requests())
			}
			e := f.events.mustLog(t, EventHandshakeFailed, ErrNoContactWake)
			if e.Peer.Wake != wake {
				t.Errorf("event wake %v", e.Peer.Wake)
			}
		})
	}
}

// dialRefused dials as id, sends a status request, and checks that the pump
// refused the credential with want, told the peer, and logged it.
func dialRefused(t *testing.T, f *fixture, id Identity, want error) {
	t.Helper()
	c, _, done := f.dial(id, "peer", nil)
	_, err := c.Do(ctx(t), pump.ReadStatus{})
	if !errors.Is(err, want) {
		t.Errorf("peer got %v, want %v", err, want)
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, want) || rep.Info.Authenticated() {
		t.Errorf("session ended with %v (authenticated %v)", rep.Err, rep.Info.Authenticated())
	}
	if n := len(f.dev.requests()); n != 0 {
		t.Errorf("device received %d requests", n)
	}
	f.events.mustLog(t, EventHandshakeFailed, want)
}

// A clinician credential signed by an authority the pump does not trust.
func TestAttackUntrustedAuthority(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	w := f.w
	forged := w.identityFrom(w.other, RoleClinician, 101, "Dr. Clinician", t0.Add(-unit.Day), t0.Add(unit.Day))
	dialRefused(t, f, forged, ErrUntrusted)
}

// A credential the pump's revocation list names.
func TestAttackRevokedCredential(t *testing.T) {
	w := testWorld(t)
	f := newFixture(t, func(c *ServerConfig) {
		c.Enrolment.Trust = Trust{Authorities: w.pump.Trust.Authorities, Revoked: []uint64{w.clinician.Credential.Serial}}
	}).wake(WakeContact)
	dialRefused(t, f, w.clinician, ErrRevoked)
}

// A credential past its validity period, and one not yet valid.
func TestAttackExpiredCredential(t *testing.T) {
	w := testWorld(t)
	t.Run("expired", func(t *testing.T) {
		f := newFixture(t).wake(WakeContact)
		old := w.identityFrom(w.auth, RoleClinician, 102, "Dr. Retired", t0.Add(-400*unit.Day), t0.Add(-35*unit.Day))
		dialRefused(t, f, old, ErrExpired)
	})
	t.Run("not yet valid", func(t *testing.T) {
		f := newFixture(t).wake(WakeContact)
		early := w.identityFrom(w.auth, RoleClinician, 103, "Dr. Future", t0.Add(unit.Day), t0.Add(400*unit.Day))
		dialRefused(t, f, early, ErrExpired)
	})
	t.Run("expires while enrolled", func(t *testing.T) {
		f := newFixture(t).wake(WakeContact)
		f.clock.Advance(366 * unit.Day) // w.clinician is valid for 365 days
		f.wake(WakeContact)
		dialRefused(t, f, w.clinician, ErrExpired)
	})
}

// A genuine credential presented with another static key (copied from a
// programmer without its private key).
func TestAttackStolenCredential(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	thief, err := NewStaticKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	// Dial refuses an identity whose key and credential disagree, so build
	// the handshake by hand through a config that skips the check: send the
	// genuine credential with the thief's key.
	stolen := Identity{Static: thief, Credential: f.w.clinician.Credential}
	conn, done := f.serve("thief")
	_, err = dialUnchecked(ctx(t), conn, ClientConfig{Identity: stolen, Trust: f.w.pump.Trust, Clock: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, ErrKeyMismatch) {
		t.Errorf("session ended with %v, want ErrKeyMismatch", rep.Err)
	}
	f.events.mustLog(t, EventHandshakeFailed, ErrKeyMismatch)
}

// A handshake flood from one address: after MaxFailures the pump ignores it
// for the lock-out time, so radio time (and battery) spent on it is bounded;
// once the lock-out is over a genuine session works again.
func TestAttackHandshakeFlood(t *testing.T) {
	f := newFixture(t).wake(WakeRadio)
	const attempts = 100
	var charged unit.Charge
	var radio unit.Duration
	refusedAtAdmission := 0
	for i := range attempts {
		conn, done := f.serve("attacker")
		var junk [HeaderLen + 32]byte
		frame, _ := AppendFrame(junk[:0], FrameHello, bytes.Repeat([]byte{byte(i)}, 31)) // one byte short
		conn.WriteFrame(ctx(t), frame)
		rep := report(t, done)
		charged += rep.Charge
		radio += rep.Radio
		if i < DefaultMaxFailures {
			if !errors.Is(rep.Err, ErrHandshake) {
				t.Fatalf("attempt %d: %v", i, rep.Err)
			}
			continue
		}
		if !errors.Is(rep.Err, ErrLockedOut) || rep.Radio != 0 || rep.Charge != 0 {
			t.Fatalf("attempt %d: %v, radio %v", i, rep.Err, rep.Radio)
		}
		refusedAtAdmission++
	}
	if refusedAtAdmission != attempts-DefaultMaxFailures {
		t.Errorf("%d attempts ignored", refusedAtAdmission)
	}
	// Bounded drain: only the first five cost radio time, each far below
	// the handshake timeout.
	limit := radioCurrent.Over(DefaultMaxFailures * DefaultHandshakeTimeout)
	if charged <= 0 || charged > limit {
		t.Errorf("flood charged %v (radio %v), limit %v", charged, radio, limit)
	}
	t.Logf("flood of %d: radio %v, charge %v", attempts, radio, charged)
	if n := f.events.count(EventLockout); n != 1 {
		t.Errorf("%d lock-out events, want 1", n)
	}
	e := f.events.mustLog(t, EventLockout, ErrLockedOut)
	if e.Severity != SeverityCritical {
		t.Errorf("lock-out not critical: %v", e)
	}
	// The flood's refusals are logged once, not a hundred times.
	if n := f.events.count(EventRefused); n != 1 {
		t.Errorf("%d refusal events for a locked-out peer, want 1", n)
	}
	// A genuine peer on another address is unaffected...
	c, _, done := f.dial(f.w.clinician, "programmer", nil)
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err != nil {
		t.Errorf("other address: %v", err)
	}
	c.Close()
	report(t, done)
	// ...and after the lock-out the flooding address is heard again.
	f.clock.Advance(DefaultLockout)
	f.wake(WakeRadio)
	c, _, _ = f.dial(f.w.clinician, "attacker", nil)
	if _, err := c.Do(ctx(t), pump.ReadStatus{}); err != nil {
		t.Errorf("after the lock-out: %v", err)
	}

	// An attacker changing address at every attempt escapes the lock-out,
	// but not the listen window: failed handshakes never extend it, so one
	// wake costs at most ListenWindow + HandshakeTimeout of radio time, and
	// the failure table stays bounded.
	f = newFixture(t).wake(WakeScheduled)
	f.clock.step = 300 * unit.Millisecond
	radio, attemptsMade := unit.Duration(0), 0
	for i := 0; ; i++ {
		conn, done := f.serve(fmt.Sprintf("attacker-%d", i))
		conn.WriteFrame(ctx(t), []byte{Version, byte(FrameHello), 0, 0})
		rep := report(t, done)
		if errors.Is(rep.Err, ErrNotListening) {
			break
		}
		radio += rep.Radio
		attemptsMade++
	}
	bound := DefaultListenWindow + DefaultHandshakeTimeout
	if radio > bound {
		t.Errorf("%d attempts from distinct addresses kept the radio on %v, bound %v", attemptsMade, radio, bound)
	}
	if len(f.srv.peers) > DefaultMaxTrackedPeers {
		t.Errorf("failure table grew to %d", len(f.srv.peers))
	}
	t.Logf("rotating-address flood: %d attempts, radio %v, charge %v", attemptsMade, radio, radioCurrent.Over(radio))
}

// Oversized, truncated, unknown-version and unknown-type frames, on the
// datagram (Pipe) and stream (TCP) transports, before and after the
// handshake: each is answered with a typed alert, the session closed, the
// event logged, and nothing panics.
func TestAttackMalformedFrames(t *testing.T) {
	hdr := func(v, typ byte, n uint16) []byte { return []byte{v, typ, byte(n >> 8), byte(n)} }
	cases := []struct {
		name  string
		frame []byte
		want  error
	}{
		{"oversized", append(hdr(Version, byte(FrameHello), MaxPayload+1), make([]byte, MaxPayload+1)...), ErrTooLarge},
		{"oversized header only", hdr(Version, byte(FrameData), 0xffff), ErrTooLarge},
		{"truncated header", []byte{Version, byte(FrameHello)}, ErrTruncated},
		{"truncated payload", append(hdr(Version, byte(FrameHello), 32), make([]byte, 10)...), ErrTruncated},
		{"unknown version", append(hdr(2, byte(FrameHello), 32), make([]byte, 32)...), ErrVersion},
		{"version zero", []byte{0}, ErrVersion},
		{"unknown type", append(hdr(Version, 0x55, 32), make([]byte, 32)...), ErrFrameType},
	}
	for _, tc := range cases {
		for _, when := range []string{"before handshake", "in session"} {
			t.Run("pipe/"+when+"/"+tc.name, func(t *testing.T) {
				f := newFixture(t).wake(WakeRadio)
				var conn Conn
				var done <-chan SessionReport
				if when == "before handshake" {
					conn, done = f.serve("attacker")
				} else {
					var tp *Tap
					_, tp, done = f.dial(f.w.clinician, "programmer", nil)
					conn = tp.Conn
				}
				if err := conn.WriteFrame(ctx(t), tc.frame); err != nil && !errors.Is(err, ErrTooLarge) {
					t.Fatal(err)
				}
				if errors.Is(tc.want, ErrTooLarge) && len(tc.frame) > MaxFrame {
					// The in-memory link refuses to carry it at all: send the
					// frame's first MaxFrame bytes, which announce the size.
					conn.WriteFrame(ctx(t), tc.frame[:MaxFrame])
				}
				_, err := readFrame(ctx(t), conn)
				if !errors.Is(err, tc.want) {
					t.Errorf("peer got %v, want alert %v", err, tc.want)
				}
				rep := report(t, done)
				if !errors.Is(rep.Err, tc.want) {
					t.Errorf("session ended with %v", rep.Err)
				}
				kind := EventHandshakeFailed
				if when == "in session" {
					kind = EventIntegrity
				}
				f.events.mustLog(t, kind, tc.want)
			})
		}
		t.Run("tcp/"+tc.name, func(t *testing.T) {
			f := newFixture(t).wake(WakeRadio)
			l, err := ListenTCP("127.0.0.1:0")
			if err != nil {
				t.Skip("no loopback TCP:", err)
			}
			defer l.Close()
			done := make(chan SessionReport, 1)
			go func() {
				conn, err := l.Accept(ctx(t))
				if err != nil {
					done <- SessionReport{Err: err}
					return
				}
				done <- f.srv.ServeConn(ctx(t), conn)
			}()
			raw, err := net.Dial("tcp", l.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.Write(tc.frame)
			if tc.want == ErrTruncated {
				// A stream is truncated when it ends inside a frame.
				raw.(*net.TCPConn).CloseWrite()
			}
			_, err = readFrame(ctx(t), NewStreamConn(raw))
			rep := report(t, done)
			if !errors.Is(rep.Err, tc.want) {
				t.Errorf("session ended with %v, want %v", rep.Err, tc.want)
			}
			if tc.want != ErrTruncated && !errors.Is(err, tc.want) {
				t.Errorf("peer got %v, want alert %v", err, tc.want)
			}
			f.events.mustLog(t, EventHandshakeFailed, tc.want)
		})
	}
}

// The link breaks in the middle of a program change: the device never sees a
// partial program, and the old prescription keeps running.
func TestAttackSessionCutMidProgram(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	old := testProgram(1)
	c, _, done := f.dial(f.w.clinician, "programmer", nil)
	mustDo(t, c, old)
	c.Close()
	report(t, done)
	running := f.dev.current()

	// The new prescription goes in fragments of 100 bytes, four frames; the
	// link dies after the first two.
	var cut *Tap
	dropAfter := func(i int, fr []byte) [][]byte {
		if i >= 4 { // hello, finish, two fragments
			cut.Conn.Close()
			return nil
		}
		return [][]byte{fr}
	}
	c, cut, done = f.dial(f.w.clinician, "programmer", dropAfter)
	c.ch.fragment = 100
	_, err := c.Do(ctx(t), testProgram(2))
	if err == nil {
		t.Fatal("program acknowledged over a cut link")
	}
	rep := report(t, done)
	if !errors.Is(rep.Err, ErrClosed) {
		t.Errorf("session ended with %v, want ErrClosed", rep.Err)
	}
	if got := f.dev.kinds(); !slices.Equal(got, []pump.CommandKind{pump.CmdProgram}) {
		t.Errorf("device received %v, want only the first program", got)
	}
	if f.dev.current() != running {
		t.Error("the running prescription changed")
	}
	e := f.events.mustLog(t, EventSessionClosed, ErrClosed)
	if e.Peer.Serial != f.w.clinician.Credential.Serial || e.Radio <= 0 {
		t.Errorf("closing event %v", e)
	}
}

// A credential revoked while the pump runs: SetTrust pushes the new list, the
// next handshake with that credential is refused, the running list is a copy.
func TestAttackRevokedWhileRunning(t *testing.T) {
	w := testWorld(t)
	f := newFixture(t).wake(WakeContact)
	c, _, done := f.dial(w.clinician, "programmer", nil)
	c.Close()
	report(t, done)

	t2 := Trust{Authorities: w.pump.Trust.Authorities, Revoked: []uint64{w.clinician.Credential.Serial}}
	if err := f.srv.SetTrust(t2); err != nil {
		t.Fatal(err)
	}
	t2.Revoked[0] = 0 // the server holds its own copy
	if got := f.srv.Trust().Revoked; !slices.Equal(got, []uint64{w.clinician.Credential.Serial}) {
		t.Errorf("server trust revokes %v", got)
	}
	dialRefused(t, f, w.clinician, ErrRevoked)
	f.wake(WakeContact)
	c, _, done = f.dial(w.monitor, "relay", nil) // others still get in
	c.Close()
	report(t, done)
	if err := f.srv.SetTrust(Trust{}); err == nil {
		t.Error("SetTrust accepted a trust with no authority")
	}
}

// A refused credential is explained even when the peer pipelined several
// requests in its first flight: the pump's encrypted refusal answers the first
// and is the error, not the closed link.
func TestRefusalExplainedToPipelinedFlight(t *testing.T) {
	f := newFixture(t).wake(WakeContact)
	forged := f.w.identityFrom(f.w.other, RoleClinician, 101, "Dr. Clinician", t0.Add(-unit.Day), t0.Add(unit.Day))
	c, _, done := f.dial(forged, "peer", nil)
	if _, err := c.DoAll(ctx(t), pump.ReadStatus{}, pump.ReadStatus{}); !errors.Is(err, ErrUntrusted) {
		t.Errorf("pipelined flight got %v, want ErrUntrusted", err)
	}
	report(t, done)
}
