package telemetry

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/thecal/thecal/unit"
)

// ServerConfig configures the pump side. Zero durations and counts take the
// defaults of telemetry.md; Enrolment, Handler, Clock and RadioCurrent are
// required.
type ServerConfig struct {
	Enrolment Enrolment
	Handler   Handler
	// Clock is the pump's clock; the server reads no other. Credential
	// validity, the listen window, lock-outs and the radio budget all use it.
	Clock func() unit.Time
	// Events receives every audit event, synchronously. It must not block for
	// long and must not call back into the Server's ServeConn.
	Events func(Event)
	// RadioCurrent is drawn while a session is open: set it to
	// pump.RadioCurrent. Each session's radio-on time is charged at it.
	RadioCurrent unit.Current
	// Random supplies ephemeral keys; nil means crypto/rand.
	Random io.Reader

	ListenWindow     unit.Duration // after a wake, the radio listens this long (60 s)
	MaxFailures      int           // failed handshakes before a peer is ignored (5)
	Lockout          unit.Duration // how long it is ignored (10 min)
	DailyBudget      unit.Duration // radio-on time per UTC day (30 min)
	ContactReserve   unit.Duration // extra time per day for contact-wake sessions (10 min; negative for none)
	HandshakeTimeout unit.Duration // from connection to authenticated (10 s)
	IdleTimeout      unit.Duration // between frames once authenticated (2 min)
	MaxSession       unit.Duration // one session's longest radio-on time (20 min)
	MaxTrackedPeers  int           // failed-handshake records kept (64)
}

// Defaults of ServerConfig.
const (
	DefaultListenWindow     unit.Duration = 60 * unit.Second
	DefaultMaxFailures                    = 5
	DefaultLockout          unit.Duration = 10 * unit.Minute
	DefaultDailyBudget      unit.Duration = 30 * unit.Minute
	DefaultContactReserve   unit.Duration = 10 * unit.Minute
	DefaultHandshakeTimeout unit.Duration = 10 * unit.Second
	DefaultIdleTimeout      unit.Duration = 2 * unit.Minute
	DefaultMaxSession       unit.Duration = 20 * unit.Minute
	DefaultMaxTrackedPeers                = 64
)

// Server is the pump's end of the link. It serves one session at a time (the
// radio is one channel) and is safe for concurrent use: Wake may be called
// from the device's goroutine while a session runs.
type Server struct {
	cfg      ServerConfig
	credWire []byte // the pump credential, sent in handshake message 2

	mu       sync.Mutex
	wakes    [WakeScheduled + 1]unit.Time
	woken    [WakeScheduled + 1]bool
	busy     bool
	sessions uint64
	day      int64 // UTC day number of used
	used     unit.Duration
	told     bool // budget refusal reported today
	peers    map[string]*peerRecord
	trust    Trust // what peer credentials are checked against; see SetTrust
}

type peerRecord struct {
	failures    int
	last        unit.Time
	lockedUntil unit.Time
	told        bool // refusal reported during this lock-out
}

// NewServer checks cfg, fills in defaults and returns a Server. The radio is
// not listening until Wake.
func NewServer(cfg ServerConfig) (*Server, error) {
	if cfg.Handler == nil || cfg.Clock == nil {
		return nil, errors.New("telemetry: server needs a Handler and a Clock")
	}
	if cfg.RadioCurrent <= 0 {
		return nil, errors.New("telemetry: server needs RadioCurrent (pump.RadioCurrent)")
	}
	id := cfg.Enrolment.Identity
	if id.Credential.Role != RolePump {
		return nil, fmt.Errorf("telemetry: server identity has role %v, not pump", id.Credential.Role)
	}
	if err := id.check(); err != nil {
		return nil, err
	}
	if len(cfg.Enrolment.Trust.Authorities) == 0 {
		return nil, errors.New("telemetry: server trusts no authority")
	}
	credWire, err := AppendCredential(nil, id.Credential)
	if err != nil {
		return nil, err
	}
	def := func(d *unit.Duration, v unit.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&cfg.ListenWindow, DefaultListenWindow)
	def(&cfg.Lockout, DefaultLockout)
	def(&cfg.DailyBudget, DefaultDailyBudget)
	def(&cfg.ContactReserve, DefaultContactReserve)
	def(&cfg.HandshakeTimeout, DefaultHandshakeTimeout)
	def(&cfg.IdleTimeout, DefaultIdleTimeout)
	def(&cfg.MaxSession, DefaultMaxSession)
	if cfg.ContactReserve < 0 {
		cfg.ContactReserve = 0
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.MaxTrackedPeers <= 0 {
		cfg.MaxTrackedPeers = DefaultMaxTrackedPeers
	}
	return &Server{cfg: cfg, credWire: credWire, peers: make(map[string]*peerRecord), trust: cloneTrust(cfg.Enrolment.Trust)}, nil
}

// SetTrust replaces the authorities the pump accepts and its revocation list
// (a revocation pushed to the pump). It applies to every handshake that checks
// a credential from now on; a session already open is not affected. An empty
// list of authorities is refused: the pump would lock every peer out.
func (s *Server) SetTrust(t Trust) error {
	if len(t.Authorities) == 0 {
		return errors.New("telemetry: server trusts no authority")
	}
	t = cloneTrust(t)
	s.mu.Lock()
	s.trust = t
	s.mu.Unlock()
	return nil
}

// Trust returns a copy of what the pump currently trusts.
func (s *Server) Trust() Trust {
	s.mu.Lock()
	t := s.trust // SetTrust replaces the value and never changes it: copy outside the lock
	s.mu.Unlock()
	return cloneTrust(t)
}

func cloneTrust(t Trust) Trust {
	out := Trust{Revoked: append([]uint64(nil), t.Revoked...)}
	for _, a := range t.Authorities {
		out.Authorities = append(out.Authorities, append(ed25519.PublicKey(nil), a...))
	}
	return out
}

func (s *Server) emit(e Event) {
	if s.cfg.Events != nil {
		s.cfg.Events(e)
	}
}

// Wake records a wake event: the radio listens for ListenWindow from now.
// The most privileged wake still in its window decides a new session's wake
// kind (contact over radio over scheduled).
func (s *Server) Wake(kind WakeKind) error {
	if !kind.Valid() {
		return fmt.Errorf("telemetry: unknown wake kind %d", kind)
	}
	now := s.cfg.Clock()
	s.mu.Lock()
	s.wakes[kind], s.woken[kind] = now, true
	s.mu.Unlock()
	s.emit(Event{Time: now, Kind: EventWake, Peer: SessionInfo{Wake: kind}})
	return nil
}

// Listening reports whether the radio listens at the clock's now, and under
// which wake.
func (s *Server) Listening() (WakeKind, bool) {
	now := s.cfg.Clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening(now)
}

func (s *Server) listening(now unit.Time) (WakeKind, bool) {
	for _, k := range []WakeKind{WakeContact, WakeRadio, WakeScheduled} {
		if s.woken[k] && now >= s.wakes[k] && now.Sub(s.wakes[k]) < s.cfg.ListenWindow {
			return k, true
		}
	}
	return 0, false
}

// RadioUsed returns the radio-on time charged to the clock's current UTC day.
func (s *Server) RadioUsed() unit.Duration {
	now := s.cfg.Clock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(now)
	return s.used
}

func (s *Server) rollDay(now unit.Time) {
	if d := int64(now) / int64(unit.Day); d != s.day {
		s.day, s.used, s.told = d, 0, false
	}
}

func (s *Server) allowance(w WakeKind) unit.Duration {
	if w == WakeContact {
		return s.cfg.DailyBudget + s.cfg.ContactReserve
	}
	return s.cfg.DailyBudget
}

// budgetLeft is what a session under wake may still use today.
func (s *Server) budgetLeft(now unit.Time, w WakeKind) unit.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(now)
	return s.allowance(w) - s.used
}

// Failed-handshake records are kept per transport address and, once the
// handshake has authenticated it, per static key.
func addrKey(addr string) string  { return "addr " + addr }
func staticKey(k [32]byte) string { return "key " + hex.EncodeToString(k[:]) }
func (s *Server) locked(key string, now unit.Time) (*peerRecord, bool) {
	r := s.peers[key]
	if r == nil || r.lockedUntil == 0 {
		return r, false
	}
	if now < r.lockedUntil {
		return r, true
	}
	// The lock-out is over: start counting afresh.
	delete(s.peers, key)
	return nil, false
}

// fail counts a failure for key and reports whether it started a lock-out.
func (s *Server) fail(key string, now unit.Time) bool {
	r := s.peers[key]
	if r == nil {
		if len(s.peers) >= s.cfg.MaxTrackedPeers {
			s.evict(now)
		}
		r = &peerRecord{}
		s.peers[key] = r
	}
	r.failures++
	r.last = now
	if r.failures >= s.cfg.MaxFailures && r.lockedUntil == 0 {
		r.lockedUntil = now.Add(s.cfg.Lockout)
		return true
	}
	return false
}

// evict drops the record least worth keeping: an expired lock-out, else the
// unlocked record whose last failure is oldest, else the lock-out ending
// soonest. The table is bounded so a flood of addresses cannot grow memory;
// the listen window and the daily budget bound what such a flood can drain.
func (s *Server) evict(now unit.Time) {
	var victim string
	var best *peerRecord
	better := func(a, b *peerRecord) bool {
		aLocked, bLocked := a.lockedUntil > now, b.lockedUntil > now
		if aLocked != bLocked {
			return !aLocked
		}
		if aLocked {
			return a.lockedUntil < b.lockedUntil
		}
		return a.last < b.last
	}
	for k, r := range s.peers {
		if best == nil || better(r, best) {
			victim, best = k, r
		}
	}
	delete(s.peers, victim)
}

// SessionReport is what ServeConn returns: who the peer was, how the
// connection ended, and its radio-on time and battery charge (also sent as
// the EventSessionClosed event).
type SessionReport struct {
	Info     SessionInfo
	Err      error // nil for a clean close by either side
	Radio    unit.Duration
	Charge   unit.Charge
	Commands int // commands handed to the Handler
}

// admit decides whether to open the radio for a new connection.
func (s *Server) admit(addr string) (SessionInfo, error) {
	now := s.cfg.Clock()
	info := SessionInfo{Addr: addr, Opened: now}
	var events []Event
	defer func() {
		for _, e := range events {
			s.emit(e)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy {
		events = append(events, Event{Time: now, Kind: EventRefused, Severity: SeverityWarning, Peer: info, Err: ErrBusy})
		return info, ErrBusy
	}
	wake, ok := s.listening(now)
	if !ok {
		// The radio is off: a real pump never hears this, so nothing is logged.
		return info, ErrNotListening
	}
	info.Wake = wake
	if r, ok := s.locked(addrKey(addr), now); ok {
		if !r.told {
			r.told = true
			events = append(events, Event{Time: now, Kind: EventRefused, Severity: SeverityWarning, Peer: info, Err: ErrLockedOut})
		}
		return info, ErrLockedOut
	}
	s.rollDay(now)
	if s.used >= s.allowance(wake) {
		if !s.told {
			s.told = true
			events = append(events, Event{Time: now, Kind: EventRefused, Severity: SeverityWarning, Peer: info, Err: ErrBudget})
		}
		return info, ErrBudget
	}
	s.busy = true
	s.sessions++
	info.Session = s.sessions
	return info, nil
}

// ServeConn runs one session on conn to its end and closes conn. It never
// panics on anything conn delivers. The returned report is also sent as the
// EventSessionClosed event; a connection refused before the handshake returns
// a report with Err set and no radio time.
func (s *Server) ServeConn(ctx context.Context, conn Conn) SessionReport {
	defer conn.Close()
	info, err := s.admit(conn.RemoteAddr())
	if err != nil {
		sendAlert(ctx, conn, err)
		return SessionReport{Info: info, Err: err}
	}
	ss := &serverSession{srv: s, info: info}
	err = ss.run(ctx, conn)
	if err != nil && !ss.answered && !errors.Is(err, ErrClosed) {
		sendAlert(ctx, conn, err)
	}
	return s.finish(ss, err)
}

// finish accounts for a session: radio time and charge, budget, failures and
// lock-outs, and the closing events.
func (s *Server) finish(ss *serverSession, err error) SessionReport {
	now := s.cfg.Clock()
	radio := max(now.Sub(ss.info.Opened), 0)
	rep := SessionReport{Info: ss.info, Err: err, Radio: radio, Charge: s.cfg.RadioCurrent.Over(radio), Commands: ss.commands}
	// A session fails if it never authenticated, or broke the protocol after
	// it did. A peer that just went away, or idled out, has not failed.
	authed := ss.info.Authenticated()
	failed := !authed || (err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrBudget))
	var events []Event
	s.mu.Lock()
	s.busy = false
	s.rollDay(now)
	s.used += radio
	keys := []string{addrKey(ss.info.Addr)}
	if ss.keyKnown {
		keys = append(keys, staticKey(ss.info.StaticKey))
	}
	for _, k := range keys {
		switch {
		case failed && s.fail(k, now):
			events = append(events, Event{Time: now, Kind: EventLockout, Severity: SeverityCritical, Peer: ss.info,
				Err: fmt.Errorf("%w: %d failures from %s; ignored until %v", ErrLockedOut, s.cfg.MaxFailures, k, now.Add(s.cfg.Lockout))})
		case !failed:
			delete(s.peers, k)
		}
	}
	if authed && !failed {
		// Let the same peer reconnect: a clean session re-opens the listen
		// window under the wake it was opened with.
		if ss.info.Wake.Valid() && now > s.wakes[ss.info.Wake] {
			s.wakes[ss.info.Wake] = now
		}
	}
	s.mu.Unlock()
	for _, e := range events {
		s.emit(e)
	}
	sev := SeverityInfo
	if failed {
		sev = SeverityWarning
	}
	s.emit(Event{Time: now, Kind: EventSessionClosed, Severity: sev, Peer: ss.info, Err: err, Radio: radio, Charge: rep.Charge})
	return rep
}

// Serve accepts connections from l and serves them one at a time until ctx
// is done or l fails. It returns ctx's error or l's.
func (s *Server) Serve(ctx context.Context, l Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	for {
		conn, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		s.ServeConn(ctx, conn)
	}
}

// sendAlert tells the other side, best effort and unauthenticated, why the
// connection is being closed.
func sendAlert(ctx context.Context, conn Conn, err error) {
	ctx, cancel := context.WithTimeout(ctx, alertTimeout)
	defer cancel()
	var b [HeaderLen + 2]byte
	conn.WriteFrame(ctx, appendAlert(b[:0], CodeOf(err)))
}
