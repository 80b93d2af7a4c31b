package telemetry

import (
	"context"
	"sync"
)

// Probes: Conns that watch or change a link, for attack tests and
// measurements.

// Tap is the active attacker on a link, for attack tests: a Conn that records
// every frame written through it and lets Edit change, drop, add or reorder
// them. Edit, if set, gets each frame's index and a copy of it and returns the
// frames to send instead. Inject sends a frame past Edit. The faults of a Pipe
// (loss, corruption, duplication, delay) are random; a Tap's are chosen.
type Tap struct {
	Conn
	Edit func(i int, frame []byte) [][]byte

	mu   sync.Mutex
	sent [][]byte
}

// WriteFrame records frame and writes what Edit makes of it.
func (p *Tap) WriteFrame(ctx context.Context, frame []byte) error {
	p.mu.Lock()
	i := len(p.sent)
	fr := append([]byte(nil), frame...)
	p.sent = append(p.sent, fr)
	edit := p.Edit
	p.mu.Unlock()
	out := [][]byte{fr}
	if edit != nil {
		out = edit(i, append([]byte(nil), fr...))
	}
	for _, o := range out {
		if err := p.Conn.WriteFrame(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// Inject writes frame as it is, past Edit and unrecorded.
func (p *Tap) Inject(frame []byte) error { return p.Conn.WriteFrame(context.Background(), frame) }

// Frames returns every frame written through the tap, as written.
func (p *Tap) Frames() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.sent...)
}

// DataFrames returns the recorded frames of type FrameData.
func (p *Tap) DataFrames() [][]byte {
	var out [][]byte
	for _, f := range p.Frames() {
		if len(f) > 1 && FrameType(f[1]) == FrameData {
			out = append(out, f)
		}
	}
	return out
}

// Meter is a Conn that counts what one side of a link carries, for
// measurements: bytes each way (frame headers included), frames, and round
// trips (a round trip starts each time this side waits to read after having
// written). It is safe for concurrent use.
type Meter struct {
	Conn

	mu                 sync.Mutex
	sent, recv, frames int
	trips              int
	wrote              bool
}

// WriteFrame counts frame and writes it.
func (m *Meter) WriteFrame(ctx context.Context, f []byte) error {
	m.mu.Lock()
	m.sent += len(f)
	m.frames++
	m.wrote = true
	m.mu.Unlock()
	return m.Conn.WriteFrame(ctx, f)
}

// ReadFrame reads a frame and counts it (a round trip when it follows a write).
func (m *Meter) ReadFrame(ctx context.Context) ([]byte, error) {
	m.mu.Lock()
	if m.wrote {
		m.trips++
		m.wrote = false
	}
	m.mu.Unlock()
	f, err := m.Conn.ReadFrame(ctx)
	m.mu.Lock()
	m.recv += len(f)
	if err == nil {
		m.frames++
	}
	m.mu.Unlock()
	return f, err
}

// MeterCounts is what a Meter has counted.
type MeterCounts struct {
	Sent, Received, Frames, RoundTrips int
}

// Counts returns what m has counted so far.
func (m *Meter) Counts() MeterCounts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return MeterCounts{Sent: m.sent, Received: m.recv, Frames: m.frames, RoundTrips: m.trips}
}
