package demo

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinicapi"
	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/implant"
	"github.com/thecal/thecal/monitor"
	"github.com/thecal/thecal/peer"
	"github.com/thecal/thecal/programmer"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/therapy"
	"github.com/thecal/thecal/unit"
)

// The demonstration's pumps are the real system (issue 12, item 6): each
// implanted patient's pump is a virtual implant (package implant: the pump
// core on simulated hardware, with its state directory, event log and
// telemetry server) answering the telemetry protocol on a loopback port, on
// the clinic's simulated clock; and each has a home monitor (package monitor)
// with its own monitor-role credential and its own API token, reading the
// pump in its scheduled windows and posting through the clinic's HTTP API.
// Nothing writes a prescription or a refill into a pump but a programmer
// over telemetry: the set-up below fills each pump and programs the
// patient's order with the clinician programmer's visit (package
// programmer), as the implanting team would have. Hardware faults (the ERI
// patient's worn battery, the baclofen patient's occluded catheter) are the
// simulated hardware's, injected into the device.

// Pump is one patient's virtual implant.
type Pump struct {
	PatientID int64
	Serial    string // the clinic's, the pump credential's serial in decimal
	Model     pump.Model
	Dir       string // its state directory (thecal pump wake --state)
	Addr      string // its telemetry address
	Im        *implant.Implant
	Monitor   string // the monitor's state directory
}

// Files of the demonstration directory.
const (
	authorityFile = "clinic.key"
	trustFile     = "clinic.pub"
	clinicianFile = "clinician.id"
	stationFile   = "station.id"
	tokenFile     = "nurse.token"
	infoFile      = "demo.json"
)

// keys are the demonstration's telemetry keys: the clinic authority that
// enrols every pump and issues every credential.
type keys struct {
	authority telemetry.Authority
	trust     telemetry.Trust
	clinician telemetry.Identity // Dr Ana Hale's programmer
	station   telemetry.Identity // the web programming station
}

func (c *Clinic) makeKeys() error {
	now := unit.FromStd(time.Now())
	from, to := now.Add(-unit.Day), now.Add(10*365*unit.Day)
	a, err := telemetry.NewAuthority(nil)
	if err != nil {
		return err
	}
	k := &keys{authority: a, trust: telemetry.Trust{Authorities: []ed25519.PublicKey{a.Public}}}
	if k.clinician, err = telemetry.NewIdentity(nil, a, telemetry.RoleClinician, 101, "Dr Ana Hale", from, to); err != nil {
		return err
	}
	if k.station, err = telemetry.NewIdentity(nil, a, telemetry.RoleClinician, 102, "Programming station, demonstration clinic", from, to); err != nil {
		return err
	}
	p := func(name string) string { return filepath.Join(c.Dir, name) }
	for _, err := range []error{
		telemetry.WriteAuthority(p(authorityFile), a),
		telemetry.WriteTrust(p(trustFile), k.trust),
		telemetry.WriteIdentity(p(clinicianFile), k.clinician),
		telemetry.WriteIdentity(p(stationFile), k.station),
	} {
		if err != nil {
			return err
		}
	}
	c.keys = k
	return nil
}

// pumpSerial is a seeded pump's serial number.
func pumpSerial(serial string) (uint64, error) { return strconv.ParseUint(serial, 10, 64) }

// Start runs the demonstration's pumps and home monitors: for every
// implanted patient it sets up a virtual implant in the demonstration
// directory, fills it and programs the patient's order through telemetry,
// injects the stage's hardware fault, then starts a home monitor posting to
// the clinic's API at url. It returns once every pump's monitor has
// reported once. The pumps run on the clinic's clock; the monitors read them
// every ReportEvery of it (at the clock's speed now: once only while the
// clock stands still). Close stops them.
func (c *Clinic) Start(ctx context.Context, url string) error {
	if c.Dir == "" {
		return errors.New("demo: the demonstration needs a directory (Options.Dir)")
	}
	if err := c.makeKeys(); err != nil {
		return fmt.Errorf("demo: keys: %w", err)
	}
	ctx, c.stop = context.WithCancel(context.Background())
	sys := system(ctx)
	now := c.Clock.Now()
	every := 24 * time.Hour // a standing clock: the first reading only
	if sp := c.Clock.Speed(); sp > 0 {
		every = max(time.Duration(float64(ReportEvery)/sp), time.Second)
	}
	c.MonitorEvery = every
	nurse, err := c.principal(ctx, clinic.Nurse)
	if err != nil {
		return err
	}
	for _, pt := range c.Patients {
		rec, err := c.Svc.PatientRecord(sys, pt.ID)
		if err != nil {
			return err
		}
		var im *clinic.Implant
		for _, x := range rec.Implants {
			if x.Active() {
				im = x
			}
		}
		if im == nil || len(rec.Prescriptions) == 0 {
			continue
		}
		p, err := c.startPump(ctx, nurse, pt, im, rec, now, every)
		if err != nil {
			c.Close()
			return fmt.Errorf("demo: pump %s: %w", im.Serial, err)
		}
		c.Pumps = append(c.Pumps, p)
	}
	if err := c.writeToken(ctx); err != nil {
		c.Close()
		return err
	}
	first := make(chan error, len(c.Pumps))
	for _, p := range c.Pumps {
		if err := c.startMonitor(ctx, sys, p, url, every, first); err != nil {
			c.Close()
			return err
		}
	}
	for range c.Pumps {
		select {
		case err := <-first:
			if err != nil {
				c.Close()
				return err
			}
		case <-time.After(30 * time.Second):
			c.Close()
			return errors.New("demo: a home monitor did not report within 30 s")
		}
	}
	return nil
}

// principal returns the principal of the demonstration user with the role.
func (c *Clinic) principal(ctx context.Context, role clinic.Role) (*clinic.Principal, error) {
	l := c.Login(role)
	u, _, _, err := c.Svc.Login(ctx, clinic.Credentials{Username: l.Username, Password: l.Password})
	if err != nil {
		return nil, fmt.Errorf("demo: sign-in of %s: %w", l.Username, err)
	}
	return &clinic.Principal{UserID: u.ID, Name: u.Username, Role: u.Role}, nil
}

// writeToken writes the nurse's own programmer token (thecal program sync
// --clinic URL --token-file nurse.token).
func (c *Clinic) writeToken(ctx context.Context) error {
	nurse, err := c.principal(ctx, clinic.Nurse)
	if err != nil {
		return err
	}
	_, secret, err := c.Svc.CreateOwnToken(clinic.NewContext(ctx, nurse), "demonstration programmer")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, tokenFile), []byte(secret+"\n"), 0o600)
}

// startPump sets up and starts patient pt's pump, at the clock's time less
// twelve hours (so that faults show in the first report), or a minute ago.
func (c *Clinic) startPump(ctx context.Context, nurse *clinic.Principal, pt Patient, ci *clinic.Implant, rec *clinic.PatientRecord, now time.Time, every time.Duration) (*Pump, error) {
	serial, err := pumpSerial(ci.Serial)
	if err != nil {
		return nil, fmt.Errorf("the serial %q is not a pump's serial number", ci.Serial)
	}
	from := now.Add(-12 * time.Hour)
	if ci.ImplantedAt.After(from) {
		// Implanted within the last hours: set up a minute ago, so that the
		// pump still primes now (and its monitor's first reading, now, is
		// not at the same instant as the set-up's).
		from = now.Add(-time.Minute)
	}
	t0 := unit.FromStd(from)
	k := c.keys
	enr, err := telemetry.Enrol(nil, k.authority, serial, ci.Model.String()+" #"+ci.Serial, unit.FromStd(time.Now()).Add(-unit.Day), unit.FromStd(time.Now()).Add(10*365*unit.Day))
	if err != nil {
		return nil, err
	}
	p := &Pump{PatientID: pt.ID, Serial: ci.Serial, Model: ci.Model, Dir: filepath.Join(c.Dir, "pumps", ci.Serial)}
	cfg := pump.Config{Model: ci.Model, CatheterLength: ci.CatheterLength, CatheterPerCm: ci.CatheterPerCm, PressureSensor: true,
		Battery: pump.BatteryCapacity}
	if err := implant.Init(implant.InitConfig{Dir: p.Dir, Enrolment: enr, Pump: cfg, Seed: uint64(pt.ID), Now: t0, WallMS: time.Now().UnixMilli()}); err != nil {
		return nil, err
	}
	// The pump's clock stands at t0 while it is set up, then follows the
	// clinic's.
	var mu sync.Mutex
	held := true
	clock := func() unit.Time {
		mu.Lock()
		defer mu.Unlock()
		if held {
			return t0
		}
		return unit.FromStd(c.Clock.Now())
	}
	ready := make(chan error, 1)
	done := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(done)
		err := implant.Run(ctx, implant.RunConfig{Dir: p.Dir, Listen: "127.0.0.1:0", Clock: clock, MonitorEvery: unit.Duration(every.Milliseconds()),
			// The pump's event log is in its state directory (thecal program
			// log reads it); the demonstration does not print it.
			Started: func(im *implant.Implant) error { p.Im = im; return nil },
			Ready:   func(ri implant.RunInfo) { p.Addr = ri.Addr; ready <- nil }})
		if err != nil && ctx.Err() == nil {
			c.logger.Error("demo pump stopped", "serial", p.Serial, "err", err)
			select {
			case ready <- err:
			default:
			}
		}
	}()
	select {
	case err := <-ready:
		if err != nil {
			return nil, err
		}
	case <-done:
		return nil, errors.New("the pump did not start")
	}
	if err := c.setUp(ctx, nurse, p, pt, ci, rec, t0, clock); err != nil {
		return nil, err
	}
	mu.Lock()
	held = false
	mu.Unlock()
	return p, nil
}

// setUp fills the pump with what its reservoir should hold and programs the
// patient's order, through telemetry with Dr Hale's programmer (the visit
// records the session in the clinic as the nurse's), then injects the
// stage's fault.
func (c *Clinic) setUp(ctx context.Context, nurse *clinic.Principal, p *Pump, pt Patient, ci *clinic.Implant, rec *clinic.PatientRecord, t0 unit.Time, clock func() unit.Time) error {
	if err := p.Im.Wake(telemetry.WakeContact); err != nil {
		return err
	}
	serial, _ := pumpSerial(p.Serial)
	s, err := programmer.Open(ctx, peer.Config{Addr: p.Addr, Identity: c.keys.clinician, Trust: c.keys.trust, PumpSerial: serial})
	if err != nil {
		return err
	}
	pr := &programmer.Programmer{S: s, Lib: c.Svc.Library(), Out: discard{}, Confirm: func(string) bool { return true }}
	// What the reservoir holds: the last fill less the programmed use since.
	rx := rec.Prescriptions[len(rec.Prescriptions)-1]
	fillAt, fill, fdrug, fconc := ci.ImplantedAt, ci.InitialFill, ci.Drug, ci.Concentration
	if n := len(rec.Refills); n > 0 {
		last := rec.Refills[n-1]
		fillAt, fill, fdrug, fconc = last.At, last.Added, last.Drug, last.Concentration
	}
	avg := unit.Rate(therapy.DailyOf(&rx.Program).Avg)
	left := fill - avg.Over(unit.Duration(t0.Std().Sub(fillAt).Milliseconds()))
	left = max(left, pump.EmptyVolume+unit.Millilitres(0.3))
	if _, err := pr.Refill(ctx, programmer.RefillInput{Added: left, Drug: fdrug, Concentration: fconc, ConfirmDrug: fdrug, ConfirmConcentration: fconc}); err != nil {
		s.Close(true)
		return fmt.Errorf("filling: %w", err)
	}
	relay := func() time.Time { return clock().Std() }
	v, err := pr.StartVisit(clinic.NewContext(ctx, nurse), programmer.ServiceRecords{Svc: c.Svc}, relay)
	if err != nil {
		s.Close(true)
		return err
	}
	if err := pr.PlanOrder(v); err != nil {
		s.Close(true)
		return fmt.Errorf("programming the order: %w", err)
	}
	if _, err := pr.ProgramOrder(clinic.NewContext(ctx, nurse), v); err != nil {
		s.Close(true)
		return fmt.Errorf("programming the order: %w", err)
	}
	if pt.Stage == StagePriming {
		if err := pr.Prime(ctx); err != nil {
			s.Close(true)
			return fmt.Errorf("priming: %w", err)
		}
	}
	if err := s.Close(false); err != nil {
		return err
	}
	switch pt.Stage {
	case StageERI:
		return p.Im.Do(func(d *device.Device, now unit.Time) error {
			return d.Do(now, func(core *pump.Pump) error {
				st := core.Status()
				return core.Drain(now, st.Battery-st.ERIThreshold+unit.Charge(1000)*unit.MicroampHour)
			})
		})
	case StageCritical:
		return p.Im.Do(func(d *device.Device, now unit.Time) error {
			d.HW.Occlude(now+unit.Time(time.Hour.Milliseconds()), now+unit.Time(10*365*24*time.Hour.Milliseconds()))
			return nil
		})
	}
	return nil
}

// startMonitor starts pump p's home monitor: its own monitor credential and
// its own API token bound to the pump, posting to url. Its first reading is
// at once; first receives the outcome of that reading's forwarding.
func (c *Clinic) startMonitor(ctx, sys context.Context, p *Pump, url string, every time.Duration, first chan<- error) error {
	serial, _ := pumpSerial(p.Serial)
	now := unit.FromStd(time.Now())
	id, err := telemetry.NewIdentity(nil, c.keys.authority, telemetry.RoleMonitor, 300000+serial%100000, "Home monitor of pump "+p.Serial, now.Add(-unit.Day), now.Add(10*365*unit.Day))
	if err != nil {
		return err
	}
	p.Monitor = filepath.Join(c.Dir, "monitors", p.Serial)
	q, err := monitor.OpenQueue(p.Monitor)
	if err != nil {
		return err
	}
	if err := telemetry.WriteIdentity(filepath.Join(p.Monitor, "monitor.id"), id); err != nil {
		q.Close()
		return err
	}
	_, secret, err := c.Svc.CreateToken(sys, clinic.TokenInput{Name: "home monitor of pump " + p.Serial, Serial: p.Serial})
	if err != nil {
		q.Close()
		return err
	}
	api, err := clinicapi.New(url, secret)
	if err != nil {
		q.Close()
		return err
	}
	var once sync.Once
	cfg := monitor.Config{Queue: q, Clinic: api, Every: every, Now: true, Clock: c.Clock.Now, Logger: c.monitorLogger(),
		Pump:      peer.Config{Addr: p.Addr, Identity: id, Trust: c.keys.trust, PumpSerial: serial},
		Forwarded: func(*clinic.Report, *clinic.IngestResult) { once.Do(func() { first <- nil }) }}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer q.Close()
		if err := monitor.Run(ctx, cfg); err != nil && ctx.Err() == nil {
			c.logger.Error("demo monitor stopped", "serial", p.Serial, "err", err)
			once.Do(func() { first <- err })
		}
	}()
	return nil
}

// Close stops the pumps and the monitors, and waits for them.
func (c *Clinic) Close() {
	if c.stop != nil {
		c.stop()
	}
	c.wg.Wait()
}

// Info is what DIR/demo.json says (thecal demo --dir DIR): how a person or a
// script reaches the demonstration — the clinic's URL, the sign-ins, a
// clinician identity and the trust file for thecal program, the nurse's own
// programmer token, and each patient's pump.
type Info struct {
	URL      string        `json:"url"`
	Signins  []InfoSignin  `json:"signins"`
	Identity string        `json:"identity"`
	Trust    string        `json:"trust"`
	Token    string        `json:"token"`
	Patients []InfoPatient `json:"patients"`
}

// InfoSignin is a demonstration user.
type InfoSignin struct {
	Role     clinic.Role `json:"role"`
	Username string      `json:"username"`
	Password string      `json:"password"`
}

// InfoPatient is a demonstration patient and its pump.
type InfoPatient struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	MRN     string `json:"mrn"`
	Stage   string `json:"stage"`
	Serial  string `json:"serial,omitempty"`
	Address string `json:"address,omitempty"`
	State   string `json:"state,omitempty"`
}

// Info returns what demo.json says about the running demonstration at url.
func (c *Clinic) Info(url string) Info {
	abs := func(name string) string {
		p, err := filepath.Abs(filepath.Join(c.Dir, name))
		if err != nil {
			return filepath.Join(c.Dir, name)
		}
		return p
	}
	in := Info{URL: url, Identity: abs(clinicianFile), Trust: abs(trustFile), Token: abs(tokenFile)}
	for _, l := range c.Logins {
		in.Signins = append(in.Signins, InfoSignin{Role: l.Role, Username: l.Username, Password: l.Password})
	}
	for _, pt := range c.Patients {
		ip := InfoPatient{ID: pt.ID, Name: pt.Name, MRN: pt.MRN, Stage: pt.Stage}
		if i := slices.IndexFunc(c.Pumps, func(p *Pump) bool { return p.PatientID == pt.ID }); i >= 0 {
			p := c.Pumps[i]
			ip.Serial, ip.Address, ip.State = p.Serial, p.Addr, abs(filepath.Join("pumps", p.Serial))
		}
		in.Patients = append(in.Patients, ip)
	}
	return in
}

// WriteInfo writes DIR/demo.json (Info at url), mode 0600: it names the
// sign-ins' passwords.
func (c *Clinic) WriteInfo(url string) error {
	b, err := json.MarshalIndent(c.Info(url), "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, infoFile), append(b, '\n'), 0o600)
}

// Station is the demonstration's web programming station: the station's
// credential, issued by the clinic authority, and every demonstration pump,
// woken by contact in-process (the programming head on the patient's skin).
func (c *Clinic) Station() *programmer.Station {
	st := &programmer.Station{Identity: c.keys.station, Trust: c.keys.trust, Pumps: map[string]programmer.StationPump{}}
	for _, p := range c.Pumps {
		im := p.Im
		st.Pumps[p.Serial] = programmer.StationPump{Addr: p.Addr, Wake: func(context.Context) error { return im.Wake(telemetry.WakeContact) }}
	}
	return st
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// monitorLogger is the monitors' logger: the demonstration's, without what a
// monitor does routinely (each reading and forwarding).
func (c *Clinic) monitorLogger() *slog.Logger {
	return slog.New(minLevel{c.logger.Handler(), slog.LevelWarn})
}

type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}
