package telemetry

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flynn/noise"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// Handler is the device side of the pump: it carries out one authorised,
// complete, decoded command (a pump command the command table lets the
// session's role send) and answers. It is never called for a command the
// table refuses, or a malformed or partial message. It runs on the session's
// goroutine, so a slow handler keeps the radio (and the battery) on.
//
// Expected answers: the message the command table's Response names
// (pumpwire.ResponseKind: a *pumpwire.Status, *pumpwire.Log with entries of
// at most ReadLog.MaxBytes, *pumpwire.BolusResult or *pumpwire.Ack), or for
// any command a *pumpwire.Error (see Refuse). Another answer is replaced by
// an internal error.
type Handler interface {
	Handle(s SessionInfo, c pump.Command) pumpwire.Response
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(SessionInfo, pump.Command) pumpwire.Response

func (f HandlerFunc) Handle(s SessionInfo, c pump.Command) pumpwire.Response { return f(s, c) }

// alertTimeout bounds the best-effort write of an alert or close message.
const alertTimeout = time.Second

type sessionState uint8

const (
	awaitHello sessionState = iota
	awaitFinish
	open
)

// errPeerClosed ends a session the peer closed with a Close message.
var errPeerClosed = errors.New("telemetry: closed by peer")

// serverSession is the pump's state for one connection. step is a pure
// function of the session state, the clock reading and one received frame,
// and returns the frames to send; run is the I/O loop around it.
type serverSession struct {
	srv      *Server
	info     SessionInfo
	state    sessionState
	hs       *noise.HandshakeState
	ch       channel
	out      []byte
	keyKnown bool // info.StaticKey was authenticated by the handshake
	answered bool // the failure was already told to the peer, encrypted
	commands int

	// The server stops a session's reads with a reason (stop): ErrBusy for
	// a handshake that made room for a newer one, ErrYielded for a holder of
	// the radio that a session of higher priority waits for.
	reads context.Context
	stop  context.CancelCauseFunc
	// Guarded by srv.mu:
	heard      unit.Time    // the last frame received during the handshake
	progress   sessionState // the state it took the handshake to
	ready      chan error   // the radio is granted (nil) or refused while waiting
	claimed    bool         // this session claimed the contact wake (claimedGen)
	claimedGen uint64

	authorised   bool      // the credential was accepted (the session may open)
	authorisedAt unit.Time // when
	holding      bool      // the session holds the radio: it is open
}

func (ss *serverSession) run(ctx context.Context, conn Conn) error {
	for {
		if ss.state == open && !ss.holding {
			if cause := context.Cause(ss.reads); cause != nil {
				return ss.busy(ctx, conn, cause) // made room for a newer handshake as it completed
			}
			if err := ss.srv.acquire(ctx, ss, ss.authorisedAt); err != nil {
				return ss.busy(ctx, conn, err)
			}
			ss.holding = true
			sev := SeverityInfo
			if ss.info.Role == RoleEmergency {
				sev = SeverityCritical
			}
			ss.srv.emit(Event{Time: ss.authorisedAt, Kind: EventSessionOpened, Severity: sev, Peer: ss.info})
		}
		if errors.Is(context.Cause(ss.reads), ErrYielded) {
			return ss.yield(ctx, conn)
		}
		now := ss.srv.cfg.Clock()
		wait, err := ss.deadline(now)
		if err != nil {
			return ss.ended(err)
		}
		rctx, cancel := context.WithTimeout(ss.reads, wait.Std())
		frame, err := conn.ReadFrame(rctx)
		cancel()
		if err != nil {
			cause := context.Cause(ss.reads)
			switch {
			case isFrameError(err):
				return ss.protocolError(ss.srv.cfg.Clock(), err)
			case ctx.Err() != nil:
				return fmt.Errorf("%w: %w", ErrClosed, ctx.Err())
			case errors.Is(cause, ErrYielded):
				return ss.yield(ctx, conn)
			case cause != nil && !errors.Is(cause, context.Canceled):
				return ss.ended(cause)
			case errors.Is(err, context.DeadlineExceeded):
				return ss.ended(ErrTimeout)
			case errors.Is(err, ErrClosed):
				return ss.ended(err)
			}
			return ss.ended(fmt.Errorf("%w: %w", ErrClosed, err))
		}
		now = ss.srv.cfg.Clock()
		frames, err := ss.step(now, frame)
		if err == nil && ss.state != open {
			ss.srv.heard(ss, now, ss.state)
		}
		for _, f := range frames {
			if werr := conn.WriteFrame(ctx, f); werr != nil && err == nil {
				err = fmt.Errorf("%w: %w", ErrClosed, werr)
			}
		}
		if err != nil {
			if errors.Is(err, errPeerClosed) {
				return nil
			}
			return err
		}
	}
}

// ended reports a session that ended without a bad frame (a timeout, the
// peer gone, the radio made room for another): during the handshake that is
// a failed handshake, and logged as one.
func (ss *serverSession) ended(err error) error {
	if ss.state != open {
		ss.srv.emit(Event{Time: ss.srv.cfg.Clock(), Kind: EventHandshakeFailed, Severity: SeverityWarning, Peer: ss.info, Err: err})
	}
	return err
}

// busy refuses an authorised session the radio (err: ErrBusy, or the
// connection's end), telling the peer why, encrypted.
func (ss *serverSession) busy(ctx context.Context, conn Conn, err error) error {
	if !errors.Is(err, ErrClosed) {
		ss.srv.emit(Event{Time: ss.authorisedAt, Kind: EventRefused, Severity: SeverityWarning, Peer: ss.info, Err: err})
		ss.tell(ctx, conn, Refuse(err))
	}
	return err
}

// yield ends a session that holds the radio because one of higher priority
// waits for it: between commands, never inside one; the peer is told,
// encrypted, and the session ends cleanly.
func (ss *serverSession) yield(ctx context.Context, conn Conn) error {
	ss.tell(ctx, conn, Refuse(fmt.Errorf("%w: a session of higher priority waits", ErrYielded)), pumpwire.Close{})
	return ErrYielded
}

// tell sends messages on the open channel, best effort, as the session's
// last words.
func (ss *serverSession) tell(ctx context.Context, conn Conn, ms ...pumpwire.Message) {
	ctx, cancel := context.WithTimeout(ctx, alertTimeout)
	defer cancel()
	for _, m := range ms {
		var frames [][]byte
		var err error
		if ss.out, frames, err = ss.ch.seal(ss.out[:0], m); err != nil {
			return
		}
		for _, f := range frames {
			if conn.WriteFrame(ctx, f) != nil {
				return
			}
		}
	}
	ss.answered = true
}

func isFrameError(err error) bool {
	for _, e := range []error{ErrVersion, ErrFrameType, ErrTooLarge, ErrTruncated, ErrMalformed} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// deadline returns how long to wait for the next frame, or why not to.
func (ss *serverSession) deadline(now unit.Time) (unit.Duration, error) {
	cfg := &ss.srv.cfg
	age := now.Sub(ss.info.Opened)
	wait := cfg.IdleTimeout
	if !ss.holding {
		wait = cfg.HandshakeTimeout - age
	}
	wait = min(wait, cfg.MaxSession-age)
	if wait <= 0 {
		return 0, ErrTimeout
	}
	left := ss.srv.budgetLeft(now, ss.info.Wake) - age
	if left <= 0 {
		return 0, ErrBudget
	}
	return min(wait, left), nil
}

// step handles one received frame.
func (ss *serverSession) step(now unit.Time, frame []byte) ([][]byte, error) {
	h, payload, err := ConsumePacket(frame)
	if err != nil {
		return nil, ss.protocolError(now, err)
	}
	if h.Type == FrameAlert {
		code, _ := consumeAlert(payload)
		return nil, fmt.Errorf("%w: peer alert: %v", ErrClosed, code)
	}
	switch ss.state {
	case awaitHello:
		return ss.hello(now, h, payload)
	case awaitFinish:
		return ss.finishHandshake(now, h, payload)
	}
	return ss.data(now, frame)
}

// protocolError reports a frame that broke the protocol and returns err.
func (ss *serverSession) protocolError(now unit.Time, err error) error {
	kind, sev := EventHandshakeFailed, SeverityWarning
	if ss.info.Authenticated() {
		kind, sev = EventIntegrity, SeverityCritical
	}
	ss.srv.emit(Event{Time: now, Kind: kind, Severity: sev, Peer: ss.info, Err: err})
	return err
}

func (ss *serverSession) expect(now unit.Time, h Header, want FrameType) error {
	if h.Type == want {
		return nil
	}
	if h.Type == FrameData {
		return ss.protocolError(now, fmt.Errorf("%w: data frame before the handshake finished", ErrUnauthenticated))
	}
	return ss.protocolError(now, fmt.Errorf("%w: %v frame, want %v", ErrUnexpected, h.Type, want))
}

// hello reads Noise message 1 and answers with message 2, which carries the
// pump's credential.
func (ss *serverSession) hello(now unit.Time, h Header, payload []byte) ([][]byte, error) {
	if err := ss.expect(now, h, FrameHello); err != nil {
		return nil, err
	}
	if len(payload) != cipherSuite.DHLen() {
		return nil, ss.protocolError(now, fmt.Errorf("%w: hello of %d bytes", ErrHandshake, len(payload)))
	}
	hs, err := newHandshake(false, ss.srv.cfg.Enrolment.Identity.Static, ss.srv.cfg.Random)
	if err != nil {
		return nil, ss.protocolError(now, fmt.Errorf("%w: %w", ErrInternal, err))
	}
	if _, _, _, err := hs.ReadMessage(nil, payload); err != nil {
		return nil, ss.protocolError(now, fmt.Errorf("%w: message 1: %w", ErrHandshake, err))
	}
	ss.out = AppendHeader(ss.out[:0], Header{Version: Version, Type: FrameHandshake})
	ss.out, _, _, err = hs.WriteMessage(ss.out, ss.srv.credWire)
	if err != nil {
		return nil, ss.protocolError(now, fmt.Errorf("%w: message 2: %w", ErrHandshake, err))
	}
	if len(ss.out)-HeaderLen > MaxPayload {
		return nil, ss.protocolError(now, fmt.Errorf("%w: message 2 too large", ErrInternal))
	}
	putLength(ss.out)
	ss.hs, ss.state = hs, awaitFinish
	return [][]byte{ss.out}, nil
}

// putLength writes the payload length into frame's header.
func putLength(frame []byte) {
	n := len(frame) - HeaderLen
	frame[2], frame[3] = byte(n>>8), byte(n)
}

// finishHandshake reads Noise message 3, which authenticates the peer's static key and
// carries its credential, and decides whether to open the session.
func (ss *serverSession) finishHandshake(now unit.Time, h Header, payload []byte) ([][]byte, error) {
	if err := ss.expect(now, h, FrameFinish); err != nil {
		return nil, err
	}
	credWire, cs1, cs2, err := ss.hs.ReadMessage(nil, payload)
	if err != nil {
		return nil, ss.protocolError(now, fmt.Errorf("%w: message 3: %w", ErrHandshake, err))
	}
	if cs1 == nil || cs2 == nil {
		return nil, ss.protocolError(now, fmt.Errorf("%w: handshake did not complete", ErrInternal))
	}
	copy(ss.info.StaticKey[:], ss.hs.PeerStatic())
	ss.keyKnown = true
	ss.hs = nil
	// The responder sends with the second CipherState and receives with the first.
	ss.ch.send, ss.ch.recv = cs2, cs1

	if err := ss.authorise(now, credWire); err != nil {
		// The peer proved its static key, so it may learn, encrypted, why
		// its credential was refused.
		var frames [][]byte
		ss.out, frames, _ = ss.ch.seal(ss.out[:0], Refuse(err))
		ss.answered = frames != nil
		return frames, ss.protocolError(now, err)
	}
	// Open, once it holds the radio (run).
	ss.state = open
	return nil, nil
}

// authorise checks the credential in message 3, and decides the session's
// wake: a clinician or emergency credential claims an unclaimed contact wake
// (and with it admission despite a lock-out of its address or key); any other
// session counts as under the listening window's other wakes.
func (ss *serverSession) authorise(now unit.Time, wire []byte) error {
	cred, n, err := ConsumeCredential(wire)
	if err != nil {
		return err
	}
	if n != len(wire) {
		return fmt.Errorf("%w: bytes after the credential", ErrCredential)
	}
	srv := ss.srv
	srv.mu.Lock()
	trust := srv.trust // SetTrust replaces the value, never mutates it
	srv.mu.Unlock()
	if err := trust.Verify(cred, now, ss.info.StaticKey); err != nil {
		return err
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	wake := ss.info.Wake
	claim := false
	if wake == WakeContact {
		claim = (cred.Role == RoleClinician || cred.Role == RoleEmergency) && srv.inWindow(WakeContact, now) && !srv.claimed
		if !claim {
			wake, _ = srv.listeningBelowContact(now)
			if !wake.Valid() {
				wake = WakeRadio // admitted in the contact wake's window, which has just closed
			}
		}
	}
	if !claim {
		for _, k := range []string{addrKey(ss.info.Addr), staticKey(ss.info.StaticKey)} {
			if _, locked := srv.locked(k, now); locked {
				return ErrLockedOut
			}
		}
	}
	if err := mayOpen(cred.Role, wake); err != nil {
		return err
	}
	if claim {
		srv.claimed, ss.claimed, ss.claimedGen = true, true, srv.contactGen
	}
	ss.info.Wake = wake
	ss.info.Name, ss.info.Serial, ss.info.Role, ss.info.Authority = cred.Name, cred.Serial, cred.Role, cred.Authority
	ss.authorised, ss.authorisedAt = true, now
	return nil
}

// data opens one data frame of an open session and, once a message is
// complete, acts on it.
func (ss *serverSession) data(now unit.Time, frame []byte) ([][]byte, error) {
	raw, done, err := ss.ch.receive(frame)
	if err != nil {
		return nil, ss.protocolError(now, err)
	}
	if !done {
		return nil, nil
	}
	m, err := pumpwire.ConsumeMessage(raw)
	if err != nil {
		k := pumpwire.Kind(0)
		if len(raw) > 0 {
			k = pumpwire.Kind(raw[0]) // which command was malformed, for the log
		}
		return ss.refuse(now, k, wireErr(err))
	}
	switch m := m.(type) {
	case pumpwire.Close:
		return nil, errPeerClosed
	case pumpwire.Unknown:
		return ss.refuse(now, m.Type, fmt.Errorf("%w: %v", ErrUnknownCommand, m.Type))
	case pumpwire.Request:
		return ss.command(now, m.Command)
	}
	return ss.refuse(now, m.Kind(), fmt.Errorf("%w: %v is not a request", ErrUnexpected, m.Kind()))
}

// wireErr wraps a pumpwire decoding or encoding error in this package's
// sentinel for it.
func wireErr(err error) error {
	switch {
	case errors.Is(err, pumpwire.ErrTooLarge):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, pumpwire.ErrTruncated):
		return fmt.Errorf("%w: %w", ErrTruncated, err)
	}
	return fmt.Errorf("%w: %w", ErrMalformed, err)
}

// refuse answers a command that does not reach the device.
func (ss *serverSession) refuse(now unit.Time, k pumpwire.Kind, err error) ([][]byte, error) {
	sev := SeverityWarning
	if ss.info.Role == RoleEmergency {
		sev = SeverityCritical
	}
	ss.srv.emit(Event{Time: now, Kind: EventCommandRefused, Severity: sev, Peer: ss.info, Command: k, Err: err})
	return ss.reply(Refuse(err))
}

func (ss *serverSession) reply(r pumpwire.Response) ([][]byte, error) {
	var frames [][]byte
	var err error
	ss.out, frames, err = ss.ch.seal(ss.out[:0], r)
	return frames, err
}

// command authorises c, hands it to the device and answers.
func (ss *serverSession) command(now unit.Time, c pump.Command) ([][]byte, error) {
	k := pumpwire.Kind(c.Kind())
	if err := Allowed(ss.info.Role, ss.info.Wake, c.Kind()); err != nil {
		return ss.refuse(now, k, err)
	}
	if r, ok := c.(pump.ReadLog); ok {
		if r.MaxBytes == 0 || r.MaxBytes > pumpwire.MaxLogEntries {
			r.MaxBytes = pumpwire.MaxLogEntries
		}
		c = r
	}
	ss.commands++
	resp := ss.srv.cfg.Handler.Handle(ss.info, c)
	if err := checkResponse(c, resp); err != nil {
		resp = Refuse(err)
	}
	rerr := AnswerErr(resp)
	sev := SeverityInfo
	if ss.info.Role == RoleEmergency {
		sev = SeverityCritical
	}
	ss.srv.emit(Event{Time: now, Kind: EventCommand, Severity: sev, Peer: ss.info, Command: k, Err: rerr})
	frames, err := ss.reply(resp)
	if err != nil {
		// The answer could not be encoded (too large, bad string): say so.
		return ss.reply(Refuse(fmt.Errorf("%w: answer to %v: %w", ErrInternal, k, err)))
	}
	return frames, nil
}

// checkResponse catches a device answer of the wrong kind (the command
// table's Response says which) or size.
func checkResponse(c pump.Command, resp pumpwire.Response) error {
	if resp == nil {
		return fmt.Errorf("%w: no answer to %v", ErrInternal, pumpwire.Kind(c.Kind()))
	}
	if resp.Kind() == pumpwire.KindError {
		if e, ok := resp.(*pumpwire.Error); !ok || e == nil {
			return fmt.Errorf("%w: bad error answer", ErrInternal)
		}
		return nil
	}
	if want := pumpwire.ResponseKind(c.Kind()); resp.Kind() != want {
		return fmt.Errorf("%w: %v answered with %v", ErrInternal, pumpwire.Kind(c.Kind()), resp.Kind())
	}
	if l, ok := resp.(*pumpwire.Log); ok {
		if l == nil || len(l.Entries) > int(c.(pump.ReadLog).MaxBytes) {
			return fmt.Errorf("%w: log answer larger than asked", ErrInternal)
		}
	}
	return nil
}
