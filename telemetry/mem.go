package telemetry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// LinkConfig sets the faults of one direction of an in-memory Pipe. Each
// frame is lost with probability Loss, else corrupted (one random bit
// flipped) with probability Corrupt, and delivered after Delay plus a uniform
// random part of Jitter (so frames may overtake each other), and delivered a
// second time with probability Duplicate. Rand is the only source of
// randomness; with a seeded source a run is reproducible (given a
// deterministic scheduler, e.g. testing/synctest, when delays are used). The
// two directions of a Pipe may share one Rand; it must not be used elsewhere
// while the Pipe is in use.
type LinkConfig struct {
	Loss, Corrupt, Duplicate float64
	Delay, Jitter            time.Duration
	Rand                     *rand.Rand
	// Queue is how many frames may wait undelivered; more are dropped, as a
	// radio drops what it cannot buffer. Zero means 64.
	Queue int
}

// Pipe returns the two ends of an in-memory frame link. a's frames go to b
// through ab's faults, b's to a through ba's. aAddr and bAddr are what each
// end's RemoteAddr reports for the other: a.RemoteAddr() is bAddr.
func Pipe(aAddr, bAddr string, ab, ba LinkConfig) (a, b Conn) {
	qa, qb := newQueue(ba.Queue), newQueue(ab.Queue)
	// Both directions share one lock, so one Rand may serve both.
	mu := new(sync.Mutex)
	ea := &memConn{remote: bAddr, in: qa, out: qb, link: &link{mu: mu, cfg: ab}}
	eb := &memConn{remote: aAddr, in: qb, out: qa, link: &link{mu: mu, cfg: ba}}
	return ea, eb
}

// link applies one direction's faults.
type link struct {
	mu  *sync.Mutex
	cfg LinkConfig
}

func (l *link) chance(p float64) bool {
	return p > 0 && l.cfg.Rand != nil && l.cfg.Rand.Float64() < p
}

// plan decides one frame's fate: how many copies, after which delays, and
// which bit (or -1) to flip.
func (l *link) plan(n int) (delays []time.Duration, flip int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	flip = -1
	if l.chance(l.cfg.Loss) {
		return nil, -1
	}
	if n > 0 && l.chance(l.cfg.Corrupt) {
		flip = l.cfg.Rand.IntN(n * 8)
	}
	copies := 1
	if l.chance(l.cfg.Duplicate) {
		copies = 2
	}
	for range copies {
		d := l.cfg.Delay
		if l.cfg.Jitter > 0 && l.cfg.Rand != nil {
			d += time.Duration(l.cfg.Rand.Int64N(int64(l.cfg.Jitter) + 1))
		}
		delays = append(delays, d)
	}
	return delays, flip
}

type queue struct {
	ch     chan []byte
	once   sync.Once
	closed chan struct{}
}

func newQueue(n int) *queue {
	if n <= 0 {
		n = 64
	}
	return &queue{ch: make(chan []byte, n), closed: make(chan struct{})}
}

func (q *queue) close() { q.once.Do(func() { close(q.closed) }) }

func (q *queue) put(p []byte) {
	select {
	case <-q.closed:
	case q.ch <- p:
	default: // full: dropped
	}
}

type memConn struct {
	remote  string
	in, out *queue
	link    *link
}

func (c *memConn) RemoteAddr() string { return c.remote }

func (c *memConn) ReadFrame(ctx context.Context) ([]byte, error) {
	// Frames already queued are delivered before a close is noticed, as a
	// radio delivers what it received before the other side fell silent.
	select {
	case p := <-c.in.ch:
		return p, nil
	default:
	}
	select {
	case p := <-c.in.ch:
		return p, nil
	case <-c.in.closed:
		select {
		case p := <-c.in.ch:
			return p, nil
		default:
			return nil, ErrClosed
		}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *memConn) WriteFrame(ctx context.Context, frame []byte) error {
	select {
	case <-c.out.closed:
		return ErrClosed
	default:
	}
	if len(frame) > MaxFrame {
		return fmt.Errorf("%w: %d-byte frame", ErrTooLarge, len(frame))
	}
	delays, flip := c.link.plan(len(frame))
	for _, d := range delays {
		p := append([]byte(nil), frame...)
		if flip >= 0 {
			p[flip/8] ^= 1 << (flip % 8)
		}
		if d <= 0 {
			c.out.put(p)
		} else {
			time.AfterFunc(d, func() { c.out.put(p) })
		}
	}
	return nil
}

// Close closes both directions: the other end's reads fail once it has read
// what was already delivered.
func (c *memConn) Close() error {
	c.in.close()
	c.out.close()
	return nil
}
