package implant

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// The state directory of a virtual implant (docs/programmer.md):
//
//	implant.json   what was fixed at implant: model, catheter, sensors, seed
//	identity.pem   the pump's static private key and credential (0600)
//	trust.pem      the authorities it trusts and its revocation list
//	nvm.img        the pump core's 4 KiB persistent-memory image
//	meta.json      the implant's facts beside the image, and the clock anchor
//	log.journal    the event log, appended record by record
//	lock           held by the running process
//	control.sock   the running process's control socket (wake, trust reload)
//
// nvm.img and meta.json are replaced atomically (temporary file, fsync,
// rename, fsync of the directory); the journal is appended and fsynced, and a
// record torn by a crash fails its CRC and is dropped at the next start.
const (
	setupFile    = "implant.json"
	identityFile = "identity.pem"
	trustFile    = "trust.pem"
	imageFile    = "nvm.img"
	metaFile     = "meta.json"
	journalFile  = "log.journal"
	lockFile     = "lock"
	socketFile   = "control.sock"
)

// SetupFormat names the implant.json layout.
const SetupFormat = "thecal-implant/1"

// ErrState is wrapped by every error about a state directory's content.
var ErrState = errors.New("implant: bad state directory")

// Setup is what was fixed at implant. Quantities are integers in the base
// units their names carry.
type Setup struct {
	Format           string `json:"format"`
	Model            string `json:"model"`
	CatheterLengthUM int64  `json:"catheter_length_um"`
	CatheterPerCmNL  int64  `json:"catheter_per_cm_nl"`
	PressureSensor   bool   `json:"pressure_sensor"`
	LevelSensor      bool   `json:"level_sensor"`
	BatteryNAms      int64  `json:"battery_na_ms"`
	UTCOffsetMS      int64  `json:"utc_offset_ms"`
	Seed             uint64 `json:"seed"`
	Implanted        string `json:"implanted"`
	Serial           uint64 `json:"serial"`
	Name             string `json:"name"`
}

// PumpConfig returns the core's configuration.
func (s *Setup) PumpConfig() (pump.Config, error) {
	m, ok := pump.ParseModel(s.Model)
	if !ok {
		return pump.Config{}, fmt.Errorf("%w: model %q", ErrState, s.Model)
	}
	cfg := pump.Config{Model: m, CatheterLength: unit.Length(s.CatheterLengthUM), CatheterPerCm: unit.Volume(s.CatheterPerCmNL),
		PressureSensor: s.PressureSensor, LevelSensor: s.LevelSensor, Battery: unit.Charge(s.BatteryNAms),
		UTCOffset: unit.Duration(s.UTCOffsetMS)}
	if err := cfg.Validate(); err != nil {
		return pump.Config{}, fmt.Errorf("%w: %w", ErrState, err)
	}
	return cfg, nil
}

// Anchor maps the wall clock to pump time: pump time = Pump + (wall − Wall) ×
// Speed. It is re-anchored at every start, so time keeps running while the
// process is down (that time counts as time since the last checkpoint).
type Anchor struct {
	WallMS int64     `json:"wall_ms"`
	Pump   unit.Time `json:"pump_time"`
	Speed  float64   `json:"speed"`
}

// At returns the pump time at wall time wallMS.
func (a Anchor) At(wallMS int64) unit.Time {
	return a.Pump + unit.Time(float64(wallMS-a.WallMS)*a.Speed)
}

type metaJSON struct {
	PumpTime    unit.Time   `json:"pump_time"`
	LogNext     uint64      `json:"log_next"`
	RxSince     unit.Time   `json:"rx_since"`
	LastFill    unit.Volume `json:"last_fill"`
	LastFillAt  unit.Time   `json:"last_fill_at"`
	HWReservoir unit.Volume `json:"hw_reservoir"`
	Clock       Anchor      `json:"clock"`
}

// State is an open state directory. It implements Store.
type State struct {
	Dir       string
	Setup     Setup
	Enrolment telemetry.Enrolment
	Image     [pump.ImageSize]byte
	Records   []pumpwire.Record
	Meta      Meta
	Anchor    Anchor

	lock    *os.File
	journal *os.File
	buf     []byte
	trustOK os.FileInfo // trust.pem as last read
}

// InitConfig is what a new implant needs.
type InitConfig struct {
	Dir       string
	Enrolment telemetry.Enrolment
	Pump      pump.Config // Battery zero means a new battery
	Seed      uint64
	Now       unit.Time // implant time (pump time starts here)
	WallMS    int64     // wall clock at Now, for the anchor
}

// Init creates a state directory for a new implant: a factory-fresh pump (no
// prescription, empty reservoir) enrolled with cfg.Enrolment. The directory
// must not hold an implant already.
func Init(cfg InitConfig) error {
	if cfg.Pump.Battery == 0 {
		cfg.Pump.Battery = pump.BatteryCapacity
	}
	cred := cfg.Enrolment.Identity.Credential
	if cred.Role != telemetry.RolePump {
		return fmt.Errorf("%w: the enrolment's credential has role %v, not pump", ErrState, cred.Role)
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(cfg.Dir, setupFile)); err == nil {
		return fmt.Errorf("%w: %s already holds an implant", ErrState, cfg.Dir)
	}
	d, err := device.New(cfg.Pump, cfg.Now, cfg.Seed)
	if err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(cfg.Dir, name) }
	if err := telemetry.WriteIdentity(p(identityFile), cfg.Enrolment.Identity); err != nil {
		return err
	}
	if err := telemetry.WriteTrust(p(trustFile), cfg.Enrolment.Trust); err != nil {
		return err
	}
	if err := writeAtomic(p(imageFile), d.NVM[:]); err != nil {
		return err
	}
	if err := writeAtomic(p(journalFile), nil); err != nil {
		return err
	}
	st := &State{Dir: cfg.Dir, Anchor: Anchor{WallMS: cfg.WallMS, Pump: cfg.Now, Speed: 1}}
	if err := st.writeMeta(Meta{PumpTime: cfg.Now, LogNext: 1}); err != nil {
		return err
	}
	setup := Setup{Format: SetupFormat, Model: cfg.Pump.Model.String(), CatheterLengthUM: int64(cfg.Pump.CatheterLength),
		CatheterPerCmNL: int64(cfg.Pump.CatheterPerCm), PressureSensor: cfg.Pump.PressureSensor, LevelSensor: cfg.Pump.LevelSensor,
		BatteryNAms: int64(cfg.Pump.Battery), UTCOffsetMS: int64(cfg.Pump.UTCOffset), Seed: cfg.Seed,
		Implanted: cfg.Now.String(), Serial: cred.Serial, Name: cred.Name}
	data, err := json.MarshalIndent(setup, "", "  ")
	if err != nil {
		return err
	}
	// implant.json last: a directory without it is an unfinished init.
	return writeAtomic(p(setupFile), append(data, '\n'))
}

// Open locks and reads a state directory. Only one process may hold it.
func Open(dir string) (*State, error) {
	st := &State{Dir: dir}
	p := func(name string) string { return filepath.Join(dir, name) }
	data, err := os.ReadFile(p(setupFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s holds no implant (run 'thecal pump init' first)", ErrState, dir)
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, &st.Setup); err != nil || st.Setup.Format != SetupFormat {
		return nil, fmt.Errorf("%w: %s is not a %s file", ErrState, p(setupFile), SetupFormat)
	}
	if _, err := st.Setup.PumpConfig(); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(p(lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w: %s is in use by another 'thecal pump run'", ErrState, dir)
	}
	st.lock = lock
	fail := func(err error) (*State, error) {
		st.Close()
		return nil, err
	}
	id, err := telemetry.ReadIdentity(p(identityFile))
	if err != nil {
		return fail(err)
	}
	st.Enrolment.Identity = id
	if _, err := st.ReloadTrust(); err != nil {
		return fail(err)
	}
	img, err := os.ReadFile(p(imageFile))
	if err != nil {
		return fail(err)
	}
	// A short or long image is read as far as it goes: the core's slot CRCs
	// decide what survives (MEMORY_ERROR if nothing does).
	copy(st.Image[:], img)
	var m metaJSON
	if data, err := os.ReadFile(p(metaFile)); err != nil {
		return fail(err)
	} else if err := json.Unmarshal(data, &m); err != nil {
		return fail(fmt.Errorf("%w: %s: %v", ErrState, p(metaFile), err))
	}
	st.Meta = Meta{PumpTime: m.PumpTime, LogNext: m.LogNext, RxSince: m.RxSince, LastFill: m.LastFill,
		LastFillAt: m.LastFillAt, HWReservoir: m.HWReservoir}
	st.Anchor = m.Clock
	if err := st.openJournal(); err != nil {
		return fail(err)
	}
	return st, nil
}

// openJournal reads the journal up to its first torn or corrupt record (or
// one out of sequence order), cuts the file there, keeps at most twice what
// the log holds (rewriting the file with what the log holds, keep, when it
// has more) and opens it for appending.
func (st *State) openJournal() error {
	path := filepath.Join(st.Dir, journalFile)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	valid := 0
	for valid < len(data) {
		r, n, ok := consumeJournal(data[valid:])
		if !ok || (len(st.Records) > 0 && r.Seq <= st.Records[len(st.Records)-1].Seq) {
			break
		}
		st.Records = append(st.Records, r)
		valid += n
	}
	if len(st.Records) > 2*(LogKeep+LinkKeep) {
		st.Records = keep(st.Records)
		var out []byte
		for i := range st.Records {
			out = appendJournal(out, &st.Records[i])
		}
		if err := writeAtomic(path, out); err != nil {
			return err
		}
	} else if valid < len(data) {
		if err := os.Truncate(path, int64(valid)); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	st.journal = f
	return nil
}

// Close releases the directory.
func (st *State) Close() error {
	var err error
	if st.journal != nil {
		err = st.journal.Close()
	}
	if st.lock != nil {
		st.lock.Close()
	}
	return err
}

// Append stores records durably at the end of the journal.
func (st *State) Append(rs []pumpwire.Record) error {
	st.buf = st.buf[:0]
	for i := range rs {
		st.buf = appendJournal(st.buf, &rs[i])
	}
	if _, err := st.journal.Write(st.buf); err != nil {
		return err
	}
	return st.journal.Sync()
}

// Save replaces the memory image and the metadata, each atomically.
func (st *State) Save(img *[pump.ImageSize]byte, m Meta) error {
	if err := writeAtomic(filepath.Join(st.Dir, imageFile), img[:]); err != nil {
		return err
	}
	return st.writeMeta(m)
}

// SaveAnchor records a new clock anchor.
func (st *State) SaveAnchor(a Anchor, m Meta) error {
	st.Anchor = a
	return st.writeMeta(m)
}

func (st *State) writeMeta(m Meta) error {
	data, err := json.MarshalIndent(metaJSON{PumpTime: m.PumpTime, LogNext: m.LogNext, RxSince: m.RxSince, LastFill: m.LastFill,
		LastFillAt: m.LastFillAt, HWReservoir: m.HWReservoir, Clock: st.Anchor}, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(st.Dir, metaFile), append(data, '\n'))
}

// ReloadTrust reads trust.pem if it changed since the last read and reports
// whether it did.
func (st *State) ReloadTrust() (bool, error) {
	path := filepath.Join(st.Dir, trustFile)
	fi, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	if st.trustOK != nil && fi.ModTime().Equal(st.trustOK.ModTime()) && fi.Size() == st.trustOK.Size() {
		return false, nil
	}
	t, err := telemetry.ReadTrust(path)
	if err != nil {
		return false, err
	}
	if len(t.Authorities) == 0 {
		return false, fmt.Errorf("%w: %s trusts no authority", ErrState, path)
	}
	st.Enrolment.Trust, st.trustOK = t, fi
	return true, nil
}

// TrustPath is the trust file of the implant in dir.
func TrustPath(dir string) string { return filepath.Join(dir, trustFile) }

// SocketPath is the control socket of the implant in dir.
func SocketPath(dir string) string { return filepath.Join(dir, socketFile) }

// writeAtomic replaces path with data: a temporary file in the same
// directory, fsynced, renamed over path, and the directory fsynced, so a crash
// leaves the old or the new content, never a mix.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

var _ Store = (*State)(nil)
var _ io.Closer = (*State)(nil)
