package telemetry

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

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
	HandshakeTimeout unit.Duration // from connection to authenticated and holding the radio (2 s)
	IdleTimeout      unit.Duration // between frames once authenticated (2 min)
	MaxSession       unit.Duration // one session's longest radio-on time (20 min)
	MaxTrackedPeers  int           // failed-handshake records kept (64)
	AttemptFloor     unit.Duration // least radio time charged per admitted connection (20 ms)
	MaxHandshakes    int           // connections in their handshake at once (8)
}

// Defaults of ServerConfig.
const (
	DefaultListenWindow     unit.Duration = 60 * unit.Second
	DefaultMaxFailures                    = 5
	DefaultLockout          unit.Duration = 10 * unit.Minute
	DefaultDailyBudget      unit.Duration = 30 * unit.Minute
	DefaultContactReserve   unit.Duration = 10 * unit.Minute
	DefaultHandshakeTimeout unit.Duration = 2 * unit.Second
	DefaultIdleTimeout      unit.Duration = 2 * unit.Minute
	DefaultMaxSession       unit.Duration = 20 * unit.Minute
	DefaultMaxTrackedPeers                = 64
	DefaultAttemptFloor     unit.Duration = 20 * unit.Millisecond
	DefaultMaxHandshakes                  = 8
)

// maxWaiting bounds the authenticated sessions queued for the radio.
const maxWaiting = 4

// Server is the pump's end of the link. The radio is one channel: one
// authenticated session holds it at a time, while up to MaxHandshakes
// connections run their handshakes beside it. Sessions are served by
// priority (emergency, clinician, monitor, patient): a session that holds
// the radio ends cleanly (ErrYielded) when one of higher priority has
// authenticated and waits. The Server is safe for concurrent use: Serve
// serves each connection on its own goroutine, and Wake may be called from
// the device's goroutine while sessions run.
type Server struct {
	cfg      ServerConfig
	credWire []byte // the pump credential, sent in handshake message 2

	mu    sync.Mutex
	wakes [WakeScheduled + 1]unit.Time
	woken [WakeScheduled + 1]bool
	// The contact wake's right (emergency access, lifted lock-outs) belongs
	// to the one clinician or emergency session that claims it; contactGen
	// counts contact wakes, so a claim is of one wake.
	claimed    bool
	contactGen uint64
	// A listening period runs from a wake while the radio was not listening.
	// The connections that open no session are charged at most the time the
	// radio has listened since (plus one handshake deadline): unauthUsed.
	listenSince unit.Time
	unauthUsed  unit.Duration
	sessions    uint64
	pending     []*serverSession // connections in their handshake, oldest first
	holder      *serverSession   // the session holding the radio
	waiting     []*serverSession // authorised sessions waiting for it, by priority
	day         int64            // UTC day number of used
	used        unit.Duration
	told        bool // budget refusal reported today
	peers       map[string]*peerRecord
	trust       Trust // what peer credentials are checked against; see SetTrust
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
	def(&cfg.AttemptFloor, DefaultAttemptFloor)
	if cfg.ContactReserve < 0 {
		cfg.ContactReserve = 0
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.MaxTrackedPeers <= 0 {
		cfg.MaxTrackedPeers = DefaultMaxTrackedPeers
	}
	if cfg.MaxHandshakes <= 0 {
		cfg.MaxHandshakes = DefaultMaxHandshakes
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
// The most privileged wake still in its window decides a new connection's
// wake kind (contact over radio over scheduled). A contact wake's right —
// emergency access, and admission despite a lock-out — goes to the first
// clinician or emergency session that authenticates under it, and ends with
// that session; the window it opened keeps listening as a radio wake.
func (s *Server) Wake(kind WakeKind) error {
	if !kind.Valid() {
		return fmt.Errorf("telemetry: unknown wake kind %d", kind)
	}
	now := s.cfg.Clock()
	s.mu.Lock()
	if _, on := s.listening(now); !on {
		s.listenSince, s.unauthUsed = now, 0
	}
	s.wakes[kind], s.woken[kind] = now, true
	if kind == WakeContact {
		s.claimed = false
		s.contactGen++
	}
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

func (s *Server) inWindow(k WakeKind, now unit.Time) bool {
	return s.woken[k] && now >= s.wakes[k] && now.Sub(s.wakes[k]) < s.cfg.ListenWindow
}

// listening returns the most privileged wake in its window. A contact wake
// whose right was claimed still keeps the radio listening, as a radio wake.
func (s *Server) listening(now unit.Time) (WakeKind, bool) {
	if s.inWindow(WakeContact, now) && !s.claimed {
		return WakeContact, true
	}
	return s.listeningBelowContact(now)
}

func (s *Server) listeningBelowContact(now unit.Time) (WakeKind, bool) {
	switch {
	case s.inWindow(WakeRadio, now), s.inWindow(WakeContact, now):
		return WakeRadio, true
	case s.inWindow(WakeScheduled, now):
		return WakeScheduled, true
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
// connection ended, and the radio-on time and battery charge it was charged
// (also sent as the EventSessionClosed event). Info carries the peer's
// identity only if its session opened (held the radio).
type SessionReport struct {
	Info     SessionInfo
	Err      error // nil for a clean close by either side
	Radio    unit.Duration
	Charge   unit.Charge
	Commands int // commands handed to the Handler
}

// admit decides whether to open the radio for a new connection, and if so
// makes room for its handshake.
func (s *Server) admit(ss *serverSession, addr string) error {
	now := s.cfg.Clock()
	ss.info = SessionInfo{Addr: addr, Opened: now}
	var events []Event
	defer func() {
		for _, e := range events {
			s.emit(e)
		}
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	wake, ok := s.listening(now)
	if !ok {
		// The radio is off: a real pump never hears this, so nothing is logged.
		return ErrNotListening
	}
	ss.info.Wake = wake
	// A locked-out address is heard under an unclaimed contact wake: a
	// clinician or emergency credential claims it (authorise decides).
	if r, ok := s.locked(addrKey(addr), now); ok && wake != WakeContact {
		if !r.told {
			r.told = true
			events = append(events, Event{Time: now, Kind: EventRefused, Severity: SeverityWarning, Peer: ss.info, Err: ErrLockedOut})
		}
		return ErrLockedOut
	}
	s.rollDay(now)
	if s.used >= s.allowance(wake) {
		if !s.told {
			s.told = true
			events = append(events, Event{Time: now, Kind: EventRefused, Severity: SeverityWarning, Peer: ss.info, Err: ErrBudget})
		}
		return ErrBudget
	}
	if len(s.pending) > 0 && len(s.pending) >= s.cfg.MaxHandshakes {
		// Room for the newcomer: of the handshakes that have got least far
		// (nothing heard, or a hello), the one that has waited longest for
		// its peer goes. Connections that sent nothing go before any that
		// sent its hello, so silent ones never displace a peer that is
		// handshaking; one answering within a round trip is displaced only
		// if MaxHandshakes newer hellos all arrived during it.
		victim := 0
		for i, p := range s.pending {
			v := s.pending[victim]
			if p.progress < v.progress || p.progress == v.progress && p.heard < v.heard {
				victim = i
			}
		}
		s.pending[victim].stop(ErrBusy)
		s.pending = slices.Delete(s.pending, victim, victim+1)
	}
	s.sessions++
	ss.info.Session = s.sessions
	ss.heard = now
	s.pending = append(s.pending, ss)
	return nil
}

// heard notes that a connection still in its handshake sent a frame that
// took it to state.
func (s *Server) heard(ss *serverSession, now unit.Time, state sessionState) {
	s.mu.Lock()
	ss.heard, ss.progress = now, state
	s.mu.Unlock()
}

// priority orders sessions for the radio: emergency, clinician, monitor,
// patient.
func priority(r Role) int {
	switch r {
	case RoleEmergency:
		return 4
	case RoleClinician:
		return 3
	case RoleMonitor:
		return 2
	case RolePatient:
		return 1
	}
	return 0
}

// acquire waits until the authorised session ss holds the radio. A session
// of higher priority than the holder has it yield; one of the same or lower
// priority waits behind it. Every session must hold the radio within its
// handshake deadline, or it is refused with ErrBusy.
func (s *Server) acquire(ctx context.Context, ss *serverSession, now unit.Time) error {
	s.mu.Lock()
	s.pending = slices.DeleteFunc(s.pending, func(p *serverSession) bool { return p == ss })
	if s.holder == nil && len(s.waiting) == 0 {
		s.holder = ss
		s.mu.Unlock()
		return nil
	}
	p := priority(ss.info.Role)
	if len(s.waiting) >= maxWaiting {
		last := s.waiting[len(s.waiting)-1]
		if p <= priority(last.info.Role) {
			s.mu.Unlock()
			return ErrBusy
		}
		s.waiting = s.waiting[:len(s.waiting)-1]
		last.ready <- ErrBusy
	}
	at := len(s.waiting)
	for i, w := range s.waiting {
		if p > priority(w.info.Role) {
			at = i
			break
		}
	}
	ss.ready = make(chan error, 1)
	s.waiting = slices.Insert(s.waiting, at, ss)
	if h := s.holder; h != nil && p > priority(h.info.Role) {
		h.stop(ErrYielded)
	}
	s.mu.Unlock()

	wait := s.cfg.HandshakeTimeout - now.Sub(ss.info.Opened)
	timer := time.NewTimer(max(wait, 0).Std())
	defer timer.Stop()
	var err error
	select {
	case err = <-ss.ready:
		return err
	case <-timer.C:
		err = ErrBusy
	case <-ctx.Done():
		err = fmt.Errorf("%w: %w", ErrClosed, ctx.Err())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder == ss {
		return nil // granted as the wait ended
	}
	s.waiting = slices.DeleteFunc(s.waiting, func(w *serverSession) bool { return w == ss })
	select {
	case err = <-ss.ready: // bumped as the wait ended
	default:
	}
	return err
}

// release hands the radio from ss, if it holds it, to the first waiting
// session.
func (s *Server) release(ss *serverSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder != ss {
		return
	}
	s.holder = nil
	if len(s.waiting) > 0 {
		s.holder = s.waiting[0]
		s.waiting = s.waiting[1:]
		s.holder.ready <- nil
	}
}

// ServeConn runs one session on conn to its end and closes conn. It never
// panics on anything conn delivers. The returned report is also sent as the
// EventSessionClosed event; a connection refused before the handshake returns
// a report with Err set and no radio time.
func (s *Server) ServeConn(ctx context.Context, conn Conn) SessionReport {
	defer conn.Close()
	ss := &serverSession{srv: s}
	ss.reads, ss.stop = context.WithCancelCause(ctx)
	defer ss.stop(nil)
	if err := s.admit(ss, conn.RemoteAddr()); err != nil {
		sendAlert(ctx, conn, err)
		return SessionReport{Info: ss.info, Err: err}
	}
	err := ss.run(ctx, conn)
	if err != nil && !ss.answered && !errors.Is(err, ErrClosed) {
		sendAlert(ctx, conn, err)
	}
	return s.finish(ss, err)
}

// finish accounts for a session: radio time and charge, budget, failures and
// lock-outs, and the closing events; then hands the radio on.
func (s *Server) finish(ss *serverSession, err error) SessionReport {
	now := s.cfg.Clock()
	radio := max(now.Sub(ss.info.Opened), s.cfg.AttemptFloor)
	// A session fails if its credential was never accepted, or it broke the
	// protocol after it was. A peer that just went away, idled out, ran out
	// of budget, found the radio busy or yielded it has not failed.
	failed := !ss.authorised || (err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrTimeout) &&
		!errors.Is(err, ErrBudget) && !errors.Is(err, ErrBusy) && !errors.Is(err, ErrYielded))
	info := ss.info
	if !ss.holding {
		// It never opened a session: as far as the log is concerned it is
		// one of the connections that did not authenticate.
		info = SessionInfo{Session: info.Session, Addr: info.Addr, Wake: info.Wake, Opened: info.Opened}
	}
	var events []Event
	s.mu.Lock()
	s.pending = slices.DeleteFunc(s.pending, func(p *serverSession) bool { return p == ss })
	s.rollDay(now)
	if !ss.holding {
		// Connections that open no session share the time the radio has
		// listened: a flood costs at most its listen window, not the budget.
		share := max(now.Sub(s.listenSince)+s.cfg.HandshakeTimeout-s.unauthUsed, 0)
		radio = min(radio, share)
		s.unauthUsed += radio
		if ss.claimed && ss.claimedGen == s.contactGen {
			s.claimed = false // the contact wake was never used: give it back
		}
	}
	s.used += radio
	keys := []string{addrKey(ss.info.Addr)}
	if ss.keyKnown {
		keys = append(keys, staticKey(ss.info.StaticKey))
	}
	for _, k := range keys {
		switch {
		case failed && s.fail(k, now):
			events = append(events, Event{Time: now, Kind: EventLockout, Severity: SeverityCritical, Peer: info,
				Err: fmt.Errorf("%w: %d failures from %s; ignored until %v", ErrLockedOut, s.cfg.MaxFailures, k, now.Add(s.cfg.Lockout))})
		case !failed:
			delete(s.peers, k)
		}
	}
	if ss.holding && !failed {
		// Let the same peer reconnect: a clean session re-opens the listen
		// window under its wake, a contact wake as a radio wake (its right
		// ended with the session).
		w := ss.info.Wake
		if w == WakeContact {
			w = WakeRadio
		}
		if w.Valid() && (!s.woken[w] || now > s.wakes[w]) {
			s.wakes[w], s.woken[w] = now, true
		}
	}
	s.mu.Unlock()
	rep := SessionReport{Info: info, Err: err, Radio: radio, Charge: s.cfg.RadioCurrent.Over(radio), Commands: ss.commands}
	for _, e := range events {
		s.emit(e)
	}
	sev := SeverityInfo
	if failed {
		sev = SeverityWarning
	}
	s.emit(Event{Time: now, Kind: EventSessionClosed, Severity: sev, Peer: info, Err: err, Radio: radio, Charge: rep.Charge})
	// Only now, with the session's records written, may the next one open.
	s.release(ss)
	return rep
}

// Serve accepts connections from l and serves each on its own goroutine until
// ctx is done or l fails; it returns, once they have all ended, ctx's error
// or l's.
func (s *Server) Serve(ctx context.Context, l Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := l.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		wg.Go(func() { s.ServeConn(ctx, conn) })
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
