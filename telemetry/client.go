package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// ClientConfig configures a peer: programmer, patient therapy manager,
// monitor or emergency programmer.
type ClientConfig struct {
	// Identity is the peer's static key and credential.
	Identity Identity
	// Trust lists the authorities whose pump credentials the peer accepts,
	// and revoked pump serials.
	Trust Trust
	// PumpSerial, if not zero, is the serial the pump's credential must carry.
	PumpSerial uint64
	// Clock checks the pump credential's validity period.
	Clock func() unit.Time
	// Random supplies ephemeral keys; nil means crypto/rand.
	Random io.Reader
}

// Client is an authenticated session with a pump, from the peer's side. Its
// methods may be called from several goroutines; requests are serialised.
type Client struct {
	conn Conn
	pump Credential

	mu     sync.Mutex
	ch     channel
	out    []byte
	err    error // sticky: once set, the session is over
	closed bool
}

// Dial runs the handshake on conn: it authenticates the pump (its credential
// must come from a trusted authority, be valid now, not revoked, of role
// pump, bind the static key the handshake proved, and carry PumpSerial if
// set) before revealing the peer's own credential. It returns once the last
// handshake message is sent; the pump's verdict on the peer's credential
// arrives with the first response, so a command sent right away costs no
// extra round trip. On error conn is closed.
func Dial(ctx context.Context, conn Conn, cfg ClientConfig) (*Client, error) {
	c, err := dial(ctx, conn, cfg)
	if err != nil {
		if !errors.Is(err, ErrClosed) {
			var alert *AlertError
			if !errors.As(err, &alert) {
				sendAlert(ctx, conn, err)
			}
		}
		conn.Close()
		return nil, err
	}
	return c, nil
}

func dial(ctx context.Context, conn Conn, cfg ClientConfig) (*Client, error) {
	if cfg.Clock == nil {
		return nil, errors.New("telemetry: client needs a Clock")
	}
	if err := cfg.Identity.check(); err != nil {
		return nil, err
	}
	return handshake(ctx, conn, cfg)
}

// handshake runs the peer's side of Noise XX.
func handshake(ctx context.Context, conn Conn, cfg ClientConfig) (*Client, error) {
	credWire, err := AppendCredential(nil, cfg.Identity.Credential)
	if err != nil {
		return nil, err
	}
	hs, err := newHandshake(true, cfg.Identity.Static, cfg.Random)
	if err != nil {
		return nil, err
	}
	out := AppendHeader(nil, Header{Version: Version, Type: FrameHello})
	if out, _, _, err = hs.WriteMessage(out, nil); err != nil {
		return nil, err
	}
	putLength(out)
	if err := conn.WriteFrame(ctx, out); err != nil {
		// The pump may have refused and closed first: prefer its reason.
		return nil, explainWrite(ctx, conn, err)
	}

	frame, err := readFrame(ctx, conn)
	if err != nil {
		return nil, err
	}
	h, payload, err := ConsumePacket(frame)
	if err != nil {
		return nil, err
	}
	if h.Type != FrameHandshake {
		return nil, fmt.Errorf("%w: %v frame, want %v", ErrUnexpected, h.Type, FrameHandshake)
	}
	pumpWire, _, _, err := hs.ReadMessage(nil, payload)
	if err != nil {
		return nil, fmt.Errorf("%w: message 2: %w", ErrHandshake, err)
	}
	pump, n, err := ConsumeCredential(pumpWire)
	if err != nil {
		return nil, err
	}
	if n != len(pumpWire) {
		return nil, fmt.Errorf("%w: bytes after the pump credential", ErrCredential)
	}
	var key [32]byte
	copy(key[:], hs.PeerStatic())
	if err := cfg.Trust.Verify(pump, cfg.Clock(), key); err != nil {
		return nil, fmt.Errorf("pump: %w", err)
	}
	if pump.Role != RolePump {
		return nil, fmt.Errorf("pump: %w: %v", ErrRole, pump.Role)
	}
	if cfg.PumpSerial != 0 && pump.Serial != cfg.PumpSerial {
		return nil, fmt.Errorf("%w: serial %d, want %d", ErrWrongPump, pump.Serial, cfg.PumpSerial)
	}

	out = AppendHeader(out[:0], Header{Version: Version, Type: FrameFinish})
	out, cs1, cs2, err := hs.WriteMessage(out, credWire)
	if err != nil {
		return nil, fmt.Errorf("%w: message 3: %w", ErrHandshake, err)
	}
	if cs1 == nil || cs2 == nil || len(out)-HeaderLen > MaxPayload {
		return nil, fmt.Errorf("%w: message 3", ErrHandshake)
	}
	putLength(out)
	if err := conn.WriteFrame(ctx, out); err != nil {
		return nil, explainWrite(ctx, conn, err)
	}
	c := &Client{conn: conn, pump: pump}
	c.ch.send, c.ch.recv = cs1, cs2
	return c, nil
}

// explainWrite returns the alert the pump sent before closing, if one is
// waiting, else err as ErrClosed.
func explainWrite(ctx context.Context, conn Conn, err error) error {
	ctx, cancel := context.WithTimeout(ctx, alertTimeout)
	defer cancel()
	var alert *AlertError
	if _, rerr := readFrame(ctx, conn); errors.As(rerr, &alert) {
		return alert
	}
	return fmt.Errorf("%w: %w", ErrClosed, err)
}

// readFrame reads one frame and turns an alert into an error.
func readFrame(ctx context.Context, conn Conn) ([]byte, error) {
	frame, err := conn.ReadFrame(ctx)
	if err != nil {
		if isFrameError(err) {
			return nil, err
		}
		if errors.Is(err, ErrClosed) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	if h, payload, err := ConsumePacket(frame); err == nil && h.Type == FrameAlert {
		code, err := consumeAlert(payload)
		if err != nil {
			return nil, err
		}
		return nil, &AlertError{Code: code}
	}
	return frame, nil
}

// Pump returns the pump's credential, as authenticated by Dial.
func (c *Client) Pump() Credential { return c.pump }

// Do sends command cmd and waits for its answer. If the pump answers with an
// Error, Do returns it as the response and, as an *ErrorResponse, as the
// error; any other error ends the session.
func (c *Client) Do(ctx context.Context, cmd pump.Command) (pumpwire.Response, error) {
	rs, err := c.DoAll(ctx, cmd)
	if err != nil {
		return nil, err
	}
	return rs[0], AnswerErr(rs[0])
}

// DoAll sends every command before reading any answer (pipelining: one round
// trip for all of them), then returns the answers in order. Error answers are
// in the slice (AnswerErr says what they stand for); the error is for
// failures that end the session.
func (c *Client) DoAll(ctx context.Context, cmds ...pump.Command) ([]pumpwire.Response, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	for _, cmd := range cmds {
		if cmd == nil {
			return nil, fmt.Errorf("%w: nil request", ErrMalformed)
		}
		var frames [][]byte
		var err error
		c.out, frames, err = c.ch.seal(c.out[:0], pumpwire.Request{Command: cmd})
		if err != nil {
			// Nothing was sent for this request; earlier ones were.
			return nil, c.fail(err)
		}
		for _, f := range frames {
			if err := c.conn.WriteFrame(ctx, f); err != nil {
				return nil, c.fail(c.explain(ctx, fmt.Errorf("%w: %w", ErrClosed, err)))
			}
		}
	}
	rs := make([]pumpwire.Response, 0, len(cmds))
	for range cmds {
		m, err := c.receive(ctx)
		if _, ok := m.(pumpwire.Close); ok && err == nil {
			err = fmt.Errorf("%w: by the pump", ErrClosed)
		}
		if err != nil {
			// The pump may have answered an earlier request with its
			// reason for ending the session (a refused credential): that
			// reason, not the closed link, is the error.
			for _, r := range rs {
				if e := AnswerErr(r); e != nil {
					return nil, c.fail(e)
				}
			}
			return nil, c.fail(err)
		}
		r, ok := m.(pumpwire.Response)
		if !ok || m.Kind().IsRequest() {
			return nil, c.fail(fmt.Errorf("%w: %v from the pump", ErrUnexpected, m.Kind()))
		}
		rs = append(rs, r)
	}
	return rs, nil
}

func (c *Client) receive(ctx context.Context) (pumpwire.Message, error) {
	for {
		frame, err := readFrame(ctx, c.conn)
		if err != nil {
			return nil, err
		}
		raw, done, err := c.ch.receive(frame)
		if err != nil {
			return nil, err
		}
		if done {
			m, err := pumpwire.ConsumeMessage(raw)
			if err != nil {
				return nil, wireErr(err)
			}
			return m, nil
		}
	}
}

// explain looks, after a failed write, for the pump's reason for closing
// (an encrypted refusal or an alert already on its way) and returns it
// instead of err if there is one.
func (c *Client) explain(ctx context.Context, err error) error {
	ctx, cancel := context.WithTimeout(ctx, alertTimeout)
	defer cancel()
	m, rerr := c.receive(ctx)
	var alert *AlertError
	switch {
	case rerr == nil:
		if e, ok := m.(pumpwire.Response); ok && AnswerErr(e) != nil {
			return AnswerErr(e)
		}
	case errors.As(rerr, &alert):
		return alert
	}
	return err
}

// fail ends the session with err.
func (c *Client) fail(err error) error {
	if c.err == nil {
		c.err = err
		c.conn.Close()
	}
	return err
}

// Close ends the session with an authenticated Close message and closes the
// connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), alertTimeout)
		defer cancel()
		var frames [][]byte
		var err error
		if c.out, frames, err = c.ch.seal(c.out[:0], pumpwire.Close{}); err == nil {
			for _, f := range frames {
				c.conn.WriteFrame(ctx, f)
			}
		}
		c.err = ErrClosed
	}
	return c.conn.Close()
}
