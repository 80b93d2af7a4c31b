package implant

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// start opens dir and starts its implant at the fixture's clock.
func (f *fixture) start(dir string) *State {
	f.t.Helper()
	st, err := Open(dir)
	if err != nil {
		f.t.Fatal(err)
	}
	im, err := Start(st, f.clock.Now(), f.clock.Now, f.clock.Now, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	f.im = im
	return st
}

// An implant killed without warning (its state directory closed with no
// final save) restarts with its prescription, its event log continued, the
// time since its last checkpoint counted at the highest rate, and its facts.
func TestStateSurvivesCrash(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "pump")
	if err := Init(InitConfig{Dir: dir, Enrolment: f.w.pump, Pump: testConfig(), Seed: 7, Now: t0, WallMS: int64(t0)}); err != nil {
		t.Fatal(err)
	}
	if err := Init(InitConfig{Dir: dir, Enrolment: f.w.pump, Pump: testConfig(), Now: t0}); !errors.Is(err, ErrState) {
		t.Errorf("second init: %v", err)
	}
	for _, name := range []string{identityFile, trustFile, imageFile, metaFile, journalFile, setupFile} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v", name, err, fi.Mode())
		}
	}
	st := f.start(dir)
	if _, err := Open(dir); !errors.Is(err, ErrState) {
		t.Errorf("second open of a running implant: %v", err)
	}
	rx := morphine(unit.MillilitrePerDay)
	f.ready(rx)
	f.clock.Advance(5 * unit.Hour)
	before := f.core()
	recs := f.im.Records(0)
	// Kill: nothing more is written. Then a torn record at the journal's end,
	// as a crash in the middle of an append leaves it.
	st.Close()
	j, _ := os.OpenFile(filepath.Join(dir, journalFile), os.O_WRONLY|os.O_APPEND, 0)
	j.Write(appendJournal(nil, &pumpwire.Record{Seq: 999, Kind: pumpwire.RecCommand})[:20])
	j.Close()

	f.clock.Advance(10 * unit.Minute)
	st = f.start(dir)
	defer st.Close()
	after := f.core()
	if after.RxHash != pump.HashOf(&rx) || !after.Delivering {
		t.Fatalf("after the restart the pump runs %+v", after.Rx)
	}
	// The last checkpoint was at most an hour before the kill: the reset
	// assumes delivery at the highest rate for that time and the downtime.
	lost := after.Delivered - before.Delivered
	maxRate := rx.Rate + unit.RateOf(rx.PatientBolus.Volume, rx.PatientBolus.Duration)
	if lost <= 0 || lost > maxRate.Over(unit.Hour+10*unit.Minute)+pump.StrokeVolume {
		t.Errorf("reset assumed %v delivered", lost)
	}
	got := f.im.Records(0)
	if len(got) <= len(recs) {
		t.Fatal("no records after the restart")
	}
	for i := range recs {
		if got[i] != recs[i] {
			t.Fatalf("record %d changed: %v → %v", i, recs[i], got[i])
		}
	}
	if r := got[len(recs)]; r.Kind != pumpwire.RecordKind(pump.EvReset) || r.Seq != recs[len(recs)-1].Seq+1 || unit.Volume(r.A) != lost {
		t.Errorf("first record after the restart: %v", r)
	}
	s := f.status()
	if s.LastFill != 20*unit.Millilitre || s.RxSince == 0 || f.im.dev.HW.Reservoir != 20*unit.Millilitre-before.Delivered {
		t.Errorf("facts after the restart: last fill %v, rx since %v, simulated reservoir %v", s.LastFill, s.RxSince, f.im.dev.HW.Reservoir)
	}
	// And it still answers, with the same identity.
	if _, err := f.do(f.w.monitor, pump.ReadStatus{}); err != nil {
		t.Fatal(err)
	}
}

// A revocation written to the state directory reaches the trust the implant
// loads.
func TestStateTrustReload(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "pump")
	if err := Init(InitConfig{Dir: dir, Enrolment: f.w.pump, Pump: testConfig(), Now: t0}); err != nil {
		t.Fatal(err)
	}
	st := f.start(dir)
	defer st.Close()
	if changed, err := st.ReloadTrust(); changed || err != nil {
		t.Errorf("unchanged trust reloaded: %v %v", changed, err)
	}
	tr := f.w.pump.Trust
	tr.Revoked = []uint64{101}
	if err := telemetry.WriteTrust(TrustPath(dir), tr); err != nil {
		t.Fatal(err)
	}
	if changed, err := st.ReloadTrust(); !changed || err != nil {
		t.Fatalf("changed trust not reloaded: %v %v", changed, err)
	}
	f.im.SetTrust(st.Enrolment.Trust)
	dialRefused(t, f, f.w.clinician, telemetry.ErrRevoked)
}

// A memory image that lost both prescription slots: MEMORY_ERROR, stopped.
func TestStateCorruptImage(t *testing.T) {
	f := newFixture(t)
	dir := filepath.Join(t.TempDir(), "pump")
	if err := Init(InitConfig{Dir: dir, Enrolment: f.w.pump, Pump: testConfig(), Now: t0}); err != nil {
		t.Fatal(err)
	}
	st := f.start(dir)
	f.ready(morphine(unit.MillilitrePerDay))
	st.Close()
	img, _ := os.ReadFile(filepath.Join(dir, imageFile))
	for i := range 1024 { // both prescription slots
		img[i] ^= 0xff
	}
	os.WriteFile(filepath.Join(dir, imageFile), img, 0o600)
	st = f.start(dir)
	defer st.Close()
	var s pump.Status
	f.im.Do(func(d *device.Device, _ unit.Time) error { s = d.Core.Status(); return nil })
	if !s.Alarms.Has(pump.MemoryError) || s.Delivering {
		t.Errorf("corrupt image: alarms %b delivering %v", s.Alarms, s.Delivering)
	}
}
