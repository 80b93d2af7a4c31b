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
}

func (ss *serverSession) run(ctx context.Context, conn Conn) error {
	for {
		now := ss.srv.cfg.Clock()
		wait, err := ss.deadline(now)
		if err != nil {
			return err
		}
		rctx, cancel := context.WithTimeout(ctx, wait.Std())
		frame, err := conn.ReadFrame(rctx)
		cancel()
		if err != nil {
			switch {
			case isFrameError(err):
				return ss.protocolError(ss.srv.cfg.Clock(), err)
			case ctx.Err() != nil:
				return fmt.Errorf("%w: %w", ErrClosed, ctx.Err())
			case errors.Is(err, context.DeadlineExceeded):
				return ErrTimeout
			case errors.Is(err, ErrClosed):
				return err
			}
			return fmt.Errorf("%w: %w", ErrClosed, err)
		}
		frames, err := ss.step(ss.srv.cfg.Clock(), frame)
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
	if !ss.info.Authenticated() {
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
	ss.state = open
	sev := SeverityInfo
	if ss.info.Role == RoleEmergency {
		sev = SeverityCritical
	}
	ss.srv.emit(Event{Time: now, Kind: EventSessionOpened, Severity: sev, Peer: ss.info})
	return nil, nil
}

// authorise checks the credential in message 3.
func (ss *serverSession) authorise(now unit.Time, wire []byte) error {
	cred, n, err := ConsumeCredential(wire)
	if err != nil {
		return err
	}
	if n != len(wire) {
		return fmt.Errorf("%w: bytes after the credential", ErrCredential)
	}
	ss.srv.mu.Lock()
	_, locked := ss.srv.locked(staticKey(ss.info.StaticKey), now)
	trust := ss.srv.trust // SetTrust replaces the value, never mutates it
	ss.srv.mu.Unlock()
	if locked {
		return ErrLockedOut
	}
	if err := trust.Verify(cred, now, ss.info.StaticKey); err != nil {
		return err
	}
	if err := mayOpen(cred.Role, ss.info.Wake); err != nil {
		return err
	}
	ss.info.Name, ss.info.Serial, ss.info.Role, ss.info.Authority = cred.Name, cred.Serial, cred.Role, cred.Authority
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
