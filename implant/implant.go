// Package implant owns a running virtual implant: a device (pump core and
// simulated hardware) answering on the telemetry protocol. It maps every
// authorised command to the pump core, writes every session, command and
// refusal into the pump's event log, charges radio time to the battery, keeps
// its persistent memory, event log and configuration in a state directory
// (surviving kill -9: it restarts with the core's conservative reset rule),
// and runs in real time or faster.
//
// Every command goes to the core's one entry, Step, and is answered as the
// pump's command table says; the bytes on the link (the messages, the status,
// the event-log records) are package pumpwire's, which the programmer and the
// patient's device import instead of this package.
//
// It holds no dosing logic: the core decides, the implant drives and records.
package implant

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// Errors of the implant.
var (
	// ErrPersist means the implant could not write its state durably; it
	// stops rather than run on state it could lose.
	ErrPersist = errors.New("implant: persistent state could not be written")
)

// Store is where an implant keeps what must survive the process: event-log
// records (appended durably, in order) and the persistent-memory image with
// the implant's own metadata (replaced atomically). A nil Store keeps nothing.
type Store interface {
	Append(rs []pumpwire.Record) error
	Save(img *[pump.ImageSize]byte, m Meta) error
}

// Meta is the implant's state beside the pump core's image: facts derived from
// the event log, and the simulated hardware's physical reservoir.
type Meta struct {
	PumpTime    unit.Time   // pump time of the save (a floor for the clock at restart)
	LogNext     uint64      // the event log's next sequence number at the save
	RxSince     unit.Time   // when the prescription of record was stored
	LastFill    unit.Volume // volume entered at the last refill
	LastFillAt  unit.Time
	HWReservoir unit.Volume // the simulated reservoir's actual content
}

// apply updates the facts from one record.
func (m *Meta) apply(r *pumpwire.Record) {
	switch pump.EventKind(r.Kind) {
	case pump.EvProgram, pump.EvBridgeStart:
		m.RxSince = r.At
	case pump.EvRefill:
		m.LastFill, m.LastFillAt = unit.Volume(r.A), r.At
	}
	m.LogNext = r.Seq + 1
}

// Config builds an Implant.
type Config struct {
	// Device is the pump: a fresh one (device.New) or one restored after a
	// reset (Device.PowerLoss). The implant owns it from now on.
	Device *device.Device
	// Enrolment is the pump's identity and the authorities it trusts.
	Enrolment telemetry.Enrolment
	// Clock is the pump's clock (pump time); it must not go backwards.
	Clock func() unit.Time
	// LinkClock is the telemetry server's clock: listen window, lock-outs,
	// budget, credential validity and radio time. Nil means Clock. The
	// device process runs the link in real time while --speed accelerates
	// therapy (docs/programmer.md).
	LinkClock func() unit.Time
	// Records and Meta are what a Store held: the event log so far (oldest
	// first, contiguous) and the facts at the last save.
	Records []pumpwire.Record
	Meta    Meta
	// Store keeps the log and the image; nil keeps nothing.
	Store Store
	// Logger receives every new event-log record (critical ones at error
	// level, refusals and failures at warning); nil discards them.
	Logger *slog.Logger
	// Server, if set, may adjust the telemetry server's configuration (tests
	// use it for shorter windows or a seeded random source).
	Server func(*telemetry.ServerConfig)
}

// Implant is a running virtual implant. It is safe for concurrent use: the
// telemetry session, the real-time loop and tests serialise on one lock.
type Implant struct {
	mu       sync.Mutex
	dev      *device.Device
	clock    func() unit.Time
	last     unit.Time
	srv      *telemetry.Server
	store    Store
	logger   *slog.Logger
	records  []pumpwire.Record // in sequence order; see keep (linklog.go)
	link     int               // how many of records are of peers that opened no session
	window   linkWindow        // what those peers did in the listen window under way
	next     uint64            // sequence number of the next record
	stored   uint64            // first record not yet given to the store
	coreNext uint64            // next core log entry to copy
	meta     Meta
	saved    [pump.ImageSize]byte
	by       *telemetry.SessionInfo // the peer the core's new records come from, if any
	home     telemetry.KeyID        // the implanting clinic's authority
	failed   error
}

// New builds the implant around cfg.Device and its telemetry server. The
// radio listens only after Wake.
func New(cfg Config) (*Implant, error) {
	if cfg.Device == nil || cfg.Clock == nil {
		return nil, errors.New("implant: needs a Device and a Clock")
	}
	im := &Implant{dev: cfg.Device, clock: cfg.Clock, store: cfg.Store, logger: cfg.Logger, meta: cfg.Meta, next: 1,
		home: cfg.Enrolment.Identity.Credential.Authority}
	if im.logger == nil {
		im.logger = slog.New(slog.DiscardHandler)
	}
	if n := len(cfg.Records); n > 0 {
		for i := 1; i < n; i++ {
			if cfg.Records[i].Seq <= cfg.Records[i-1].Seq {
				return nil, fmt.Errorf("implant: event log out of order at #%d", cfg.Records[i].Seq)
			}
		}
		im.records = slices.Clone(keep(cfg.Records))
		im.link = countLink(im.records)
		im.next = cfg.Records[n-1].Seq + 1
		for i := range cfg.Records {
			if cfg.Records[i].Seq >= cfg.Meta.LogNext {
				im.meta.apply(&cfg.Records[i]) // facts the last save did not see
			}
		}
	}
	im.meta.LogNext = im.next
	im.stored = im.next
	im.coreNext = 1 // the core's log so far (a RESET after a restore) is new
	im.last = im.dev.Core.Status().At
	// The device's NVM is what the store already holds (the caller saved a
	// fresh pump's image, or restored this one from it).
	im.saved = im.dev.NVM
	link := cfg.LinkClock
	if link == nil {
		link = cfg.Clock
	}
	scfg := telemetry.ServerConfig{
		Enrolment:    cfg.Enrolment,
		Handler:      im,
		Clock:        link,
		Events:       im.event,
		RadioCurrent: pump.RadioCurrent,
	}
	if cfg.Server != nil {
		cfg.Server(&scfg)
	}
	srv, err := telemetry.NewServer(scfg)
	if err != nil {
		return nil, err
	}
	im.srv = srv
	im.mu.Lock()
	defer im.mu.Unlock()
	if err := im.sync(); err != nil {
		return nil, err
	}
	return im, nil
}

// Server returns the telemetry server (for Serve and ServeConn).
func (im *Implant) Server() *telemetry.Server { return im.srv }

// Serve answers connections from l, one session at a time, until ctx ends.
func (im *Implant) Serve(ctx context.Context, l telemetry.Listener) error {
	return im.srv.Serve(ctx, l)
}

// Wake opens the radio for the listen window (a proximity or contact wake).
func (im *Implant) Wake(kind telemetry.WakeKind) error { return im.srv.Wake(kind) }

// SetTrust replaces the authorities the pump trusts and its revocation list.
func (im *Implant) SetTrust(t telemetry.Trust) error { return im.srv.SetTrust(t) }

// Err returns the error that stopped the implant (a failed write of its
// persistent state), or nil.
func (im *Implant) Err() error {
	im.mu.Lock()
	defer im.mu.Unlock()
	return im.failed
}

// now returns the pump time, never earlier than a time already used.
func (im *Implant) now() unit.Time {
	t := im.clock()
	if t < im.last {
		t = im.last
	}
	im.last = t
	return t
}

// Advance runs the pump to now and returns when it next needs to run.
func (im *Implant) Advance() (unit.Time, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil {
		return 0, im.failed
	}
	im.dev.Run(im.now())
	err := im.sync()
	return im.dev.Core.Next(), err
}

// Do runs f on the device at pump time now, after running the pump to now, and
// records what the core logged (tests and the simulator use it to inject
// hardware faults or inspect the core).
func (im *Implant) Do(f func(d *device.Device, now unit.Time) error) error {
	im.mu.Lock()
	defer im.mu.Unlock()
	now := im.now()
	im.dev.Run(now)
	err := f(im.dev, now)
	im.dev.Persist()
	if serr := im.sync(); serr != nil {
		return serr
	}
	return err
}

// Status returns the pump's status now, without logging an interrogation.
// It fails, as every later call does, once the implant could not store its
// log or memory image.
func (im *Implant) Status() (pumpwire.Status, error) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.failed != nil {
		return pumpwire.Status{}, im.failed
	}
	im.dev.Run(im.now())
	if err := im.sync(); err != nil {
		return pumpwire.Status{}, err
	}
	cs := im.dev.Core.Status()
	return im.status(&cs), nil
}

// Records returns the event-log records from sequence number from on (or
// from the oldest held).
func (im *Implant) Records(from uint64) []pumpwire.Record {
	im.mu.Lock()
	defer im.mu.Unlock()
	return append([]pumpwire.Record(nil), im.since(from)...)
}

func (im *Implant) since(from uint64) []pumpwire.Record {
	i, _ := slices.BinarySearchFunc(im.records, from, func(r pumpwire.Record, seq uint64) int { return cmp.Compare(r.Seq, seq) })
	return im.records[i:]
}

// status is the link's status: the core's status cs, the implant's
// configuration, and the facts it derives from its log.
func (im *Implant) status(cs *pump.Status) pumpwire.Status {
	cfg := &im.dev.Cfg
	s := pumpwire.Status{
		At: cs.At, Model: cs.Model,
		CatheterLength: cfg.CatheterLength, CatheterPerCm: cfg.CatheterPerCm, PrimingVolume: cfg.PrimingVolume(),
		PressureSensor: cfg.PressureSensor, LevelSensor: cfg.LevelSensor,
		HasRx: cs.HasRx, RxHash: cs.RxHash, Running: cs.Running, Delivering: cs.Delivering,
		Priming: cs.Priming, Bridging: cs.Bridging, Basal: cs.Basal,
		Reservoir: cs.Reservoir, LastFill: im.meta.LastFill, LastFillAt: im.meta.LastFillAt, Delivered: cs.Delivered,
		FillDrug: cs.FillDrug, FillConc: cs.FillConcentration,
		Battery: cs.Battery, ERIThreshold: cs.ERIThreshold, Alarms: cs.Alarms, UTCOffset: cs.UTCOffset,
		NextPatientBolus: cs.NextPatientBolus, LogNext: im.next,
	}
	if cs.HasRx {
		s.Rx, s.RxSince = cs.Rx, im.meta.RxSince
	}
	return s
}

// append adds an implant record at the end of the log (sync stores it).
func (im *Implant) append(r pumpwire.Record) {
	r.Seq = im.next
	im.next++
	im.records = append(im.records, r)
	if r.Kind.Unauthenticated() {
		im.link++
	}
}

func countLink(rs []pumpwire.Record) int {
	n := 0
	for i := range rs {
		if rs[i].Kind.Unauthenticated() {
			n++
		}
	}
	return n
}

// sync copies the core's new log entries into the event log, stores new
// records and, when the core wrote persistent memory, the image. Records are
// stored before the image, so the facts derived from them are never older
// than the image. A failure is sticky.
func (im *Implant) sync() error {
	if im.failed != nil {
		return im.failed
	}
	if im.by == nil && im.window.pending() && im.srv != nil {
		if _, on := im.srv.Listening(); !on {
			im.flushLink(im.last) // the listen window is over
		}
	}
	for _, e := range im.dev.Log.Since(im.coreNext, nil) {
		r := pumpwire.Record{At: e.At, Kind: pumpwire.RecordKind(e.Kind), Alarm: e.Alarm, Reason: e.Reason, A: e.A, B: e.B}
		if p := im.by; p != nil {
			r.Role, r.Serial = p.Role.Sender(), p.Serial
			if e.Kind == pump.EvSessionStart {
				r.A, r.Name = int64(p.Wake), p.Name
			}
		}
		im.append(r)
	}
	im.coreNext = im.dev.Log.Next()
	fresh := im.since(im.stored)
	factsChanged := false
	for i := range fresh {
		old := im.meta
		im.meta.apply(&fresh[i])
		factsChanged = factsChanged || old.RxSince != im.meta.RxSince || old.LastFill != im.meta.LastFill || old.LastFillAt != im.meta.LastFillAt
		im.report(&fresh[i])
	}
	if im.store != nil && len(fresh) > 0 {
		if err := im.store.Append(fresh); err != nil {
			im.failed = fmt.Errorf("%w: event log: %w", ErrPersist, err)
			return im.failed
		}
	}
	im.stored = im.next
	// Each space is trimmed to its size once a quarter over it.
	if main := len(im.records) - im.link; main > LogKeep+LogKeep/4 || im.link > LinkKeep+LinkKeep/4 {
		im.records = keep(im.records)
		im.link = countLink(im.records)
	}
	if im.store != nil && (im.dev.NVM != im.saved || factsChanged) {
		im.meta.PumpTime = im.last
		im.meta.HWReservoir = im.dev.HW.Reservoir
		if err := im.store.Save(&im.dev.NVM, im.meta); err != nil {
			im.failed = fmt.Errorf("%w: memory image: %w", ErrPersist, err)
			return im.failed
		}
		im.saved = im.dev.NVM
	}
	return nil
}

// report writes a new record to the logger.
func (im *Implant) report(r *pumpwire.Record) {
	level := slog.LevelInfo
	switch {
	case r.Critical():
		level = slog.LevelError
	case r.Kind.Unauthenticated(), r.Kind == pumpwire.RecCommandRefused, r.Kind == pumpwire.RecCommand && r.B != 0,
		r.Kind == pumpwire.RecordKind(pump.EvProgramRefused), r.Kind == pumpwire.RecordKind(pump.EvPatientBolusRefused),
		r.Kind == pumpwire.RecordKind(pump.EvClinicianBolusRefused), r.Kind == pumpwire.RecordKind(pump.EvCommandRefused):
		level = slog.LevelWarn
	}
	// In the pump's local time, as programmers show it.
	off := im.dev.Core.Status().UTCOffset
	at := r.At.Std().In(time.FixedZone("", int(off/unit.Second))).Format("2006-01-02T15:04:05.000Z07:00")
	im.logger.Log(context.Background(), level, r.Kind.String(), "seq", r.Seq, "at", at, "detail", telemetry.Describe(r))
}
