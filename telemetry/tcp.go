package telemetry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// TCP is the stand-in for the radio between processes: frames back to back
// on a stream, delimited by their headers' length field. A reader holds one
// MaxFrame buffer per connection and checks each header before reading the
// payload, so a hostile length or version costs nothing.

// StreamConn carries frames over a net.Conn.
type StreamConn struct {
	c      net.Conn
	remote string
	buf    [MaxFrame]byte
	rmu    sync.Mutex
	wmu    sync.Mutex
}

// NewStreamConn wraps c. The remote address used for lock-outs is the host
// part of c's remote address, so a peer reconnecting from another port is
// still the same peer.
func NewStreamConn(c net.Conn) *StreamConn {
	remote := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(remote); err == nil {
		remote = host
	}
	return &StreamConn{c: c, remote: remote}
}

// DialTCP connects to a pump listening on addr.
func DialTCP(ctx context.Context, addr string) (*StreamConn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewStreamConn(c), nil
}

func (s *StreamConn) RemoteAddr() string { return s.remote }
func (s *StreamConn) Close() error       { return s.c.Close() }

// watch makes a blocking I/O call on c return when ctx ends: it moves the
// deadline to ctx's and, on cancellation, into the past.
func watch(ctx context.Context, set func(time.Time) error) (stop func()) {
	if d, ok := ctx.Deadline(); ok {
		set(d)
	} else {
		set(time.Time{})
	}
	cancel := context.AfterFunc(ctx, func() { set(time.Unix(1, 0)) })
	return func() { cancel() }
}

func (s *StreamConn) ioErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// ReadFrame reads one frame. The returned slice is valid until the next call.
func (s *StreamConn) ReadFrame(ctx context.Context) ([]byte, error) {
	s.rmu.Lock()
	defer s.rmu.Unlock()
	stop := watch(ctx, s.c.SetReadDeadline)
	defer stop()
	// Read the version byte alone first: a frame of an unknown version may
	// have any layout, so nothing after it is read.
	if _, err := io.ReadFull(s.c, s.buf[:1]); err != nil {
		return nil, s.ioErr(ctx, err)
	}
	if _, err := ConsumeHeader(s.buf[:1]); errors.Is(err, ErrVersion) {
		return nil, err
	}
	if _, err := io.ReadFull(s.c, s.buf[1:HeaderLen]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: stream ended inside a frame header", ErrTruncated)
		}
		return nil, s.ioErr(ctx, err)
	}
	h, err := ConsumeHeader(s.buf[:HeaderLen])
	if err != nil {
		return nil, err
	}
	n := HeaderLen + int(h.Length)
	if _, err := io.ReadFull(s.c, s.buf[HeaderLen:n]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: stream ended inside a frame", ErrTruncated)
		}
		return nil, s.ioErr(ctx, err)
	}
	return s.buf[:n], nil
}

// WriteFrame writes one frame.
func (s *StreamConn) WriteFrame(ctx context.Context, frame []byte) error {
	if len(frame) > MaxFrame {
		return fmt.Errorf("%w: %d-byte frame", ErrTooLarge, len(frame))
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	stop := watch(ctx, s.c.SetWriteDeadline)
	defer stop()
	if _, err := s.c.Write(frame); err != nil {
		return s.ioErr(ctx, err)
	}
	return nil
}

// TCPListener accepts StreamConns.
type TCPListener struct{ l net.Listener }

// ListenTCP listens on addr, for example "127.0.0.1:7400".
func ListenTCP(addr string) (*TCPListener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &TCPListener{l: l}, nil
}

// Addr is the address listened on.
func (l *TCPListener) Addr() string { return l.l.Addr().String() }

// Accept waits for a connection or for ctx to end.
func (l *TCPListener) Accept(ctx context.Context) (Conn, error) {
	stop := context.AfterFunc(ctx, func() { l.l.Close() })
	defer stop()
	c, err := l.l.Accept()
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return NewStreamConn(c), nil
}

func (l *TCPListener) Close() error { return l.l.Close() }
