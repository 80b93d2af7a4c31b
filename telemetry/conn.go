package telemetry

import "context"

// Conn is a frame transport: a radio link, the in-memory Pipe or TCP. It moves
// whole frames and nothing else; it need not be reliable or ordered, because
// the session refuses any frame that is not the next one. Implementations must
// allow one reader and one writer concurrently, and Close at any time.
type Conn interface {
	// ReadFrame returns the next frame, header included. The slice is valid
	// until the next ReadFrame. A stream transport that finds a bad header
	// returns the header error (ErrVersion, ErrFrameType, ErrTooLarge) without
	// reading further; a datagram transport returns the datagram as it came.
	// After Close or a peer's close it returns an error wrapping ErrClosed.
	ReadFrame(ctx context.Context) ([]byte, error)
	// WriteFrame sends one frame.
	WriteFrame(ctx context.Context, frame []byte) error
	// RemoteAddr names the other end, stably across its connections where the
	// transport can (for TCP, the IP address without the port): the pump's
	// failed-handshake lock-out counts by it.
	RemoteAddr() string
	Close() error
}

// Listener accepts Conns for Server.Serve.
type Listener interface {
	Accept(ctx context.Context) (Conn, error)
	Close() error
}
