package implant

import (
	"context"
	"testing"
	"time"

	"github.com/thecal/thecal/device"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// End-to-end benchmarks: a client against a real implant (pump core,
// simulated hardware, event log) over the in-memory link, counting what
// crosses the link from the peer's side. Figures in docs/telemetry.md.

// metered runs one session as id through a meter and returns it.
func (f *fixture) metered(b *testing.B, id telemetry.Identity, fn func(c *telemetry.Client)) telemetry.MeterCounts {
	f.wake(telemetry.WakeContact)
	conn, done := f.serve("peer")
	m := &telemetry.Meter{Conn: conn}
	c, err := telemetry.Dial(context.Background(), m, f.clientConfig(id))
	if err != nil {
		b.Fatal(err)
	}
	fn(c)
	c.Close()
	<-done
	return m.Counts()
}

func reportWire(b *testing.B, m telemetry.MeterCounts) {
	b.ReportMetric(float64(m.Sent+m.Received), "wire-B/op")
	b.ReportMetric(float64(m.Sent), "up-B/op")
	b.ReportMetric(float64(m.Received), "down-B/op")
	b.ReportMetric(float64(m.RoundTrips), "round-trips/op")
}

// month fills the event log with a reference month: every day a home monitor
// reads status and log once, and the patient presses for a bolus three times
// (two given, one refused in the lockout); one refill and one prescription
// change in the month. It returns the first record of the month.
func (f *fixture) month(b *testing.B) uint64 {
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	from := f.im.Records(0)[len(f.im.Records(0))-1].Seq + 1
	for day := range 30 {
		f.clock.Advance(7 * unit.Hour) // 07:00-ish
		f.do(f.w.patient, pump.PatientActivation{})
		f.clock.Advance(30 * unit.Minute)
		f.do(f.w.patient, pump.PatientActivation{}) // in the lockout
		f.clock.Advance(6 * unit.Hour)
		f.do(f.w.patient, pump.PatientActivation{})
		f.clock.Advance(8 * unit.Hour)
		f.session(f.w.monitor, func(c *telemetry.Client) {
			c.DoAll(context.Background(), pump.ReadStatus{}, pump.ReadLog{From: f.status().LogNext - 20})
		})
		if day == 14 {
			st := f.status()
			f.do(f.w.clinician, pump.Refill{Withdrawn: st.Reservoir, Added: 20 * unit.Millilitre, Drug: rx.Drug, Concentration: rx.Concentration})
			rx.Rate = 550 * unit.Rate(unit.Microlitre)
			f.program(rx, false)
		}
		f.clock.Advance(unit.Day - 7*unit.Hour - 30*unit.Minute - 14*unit.Hour)
	}
	return from
}

// BenchmarkInterrogation: a full interrogation (status and 30 days of event
// log, pipelined) in one clinician session, handshake and close included.
func BenchmarkInterrogation(b *testing.B) {
	f := newFixture(b)
	from := f.month(b)
	recs := f.im.Records(from)
	enc, err := pumpwire.AppendRecords(nil, recs)
	if err != nil {
		b.Fatal(err)
	}
	size := len(enc)
	var m telemetry.MeterCounts
	first := true
	b.ReportAllocs()
	for b.Loop() {
		mm := f.metered(b, f.w.clinician, func(c *telemetry.Client) {
			rs, err := c.DoAll(context.Background(), pump.Interrogate{}, pump.ReadLog{From: from, MaxBytes: uint32(size)})
			if err != nil {
				b.Fatal(err)
			}
			// (Each interrogation adds four records; after some 2,000 the
			// month leaves the implant's 8,192-record log, so check once.)
			if got, _ := pumpwire.ConsumeRecords(rs[1].(*pumpwire.Log).Entries); first && len(got) != len(recs) {
				b.Fatalf("read %d records, want %d", len(got), len(recs))
			}
			first = false
		})
		if m == (telemetry.MeterCounts{}) { // the figures of the month itself
			m = mm
		}
	}
	reportWire(b, m)
	b.ReportMetric(float64(len(recs)), "log-records")
	b.ReportMetric(float64(size), "log-B")
}

// BenchmarkProgramChange: a prescription change whose replaced hash the
// programmer knows (from the interrogation that showed it the old one), in
// one session: hello → handshake; finish + program → ack.
func BenchmarkProgramChange(b *testing.B) {
	f := newFixture(b)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	hash := pump.HashOf(&rx)
	var m telemetry.MeterCounts
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rx.Rate = unit.Rate(500+i%2*100) * unit.Rate(unit.Microlitre)
		p := pump.NewProgram(rx, hash)
		m = f.metered(b, f.w.clinician, func(c *telemetry.Client) {
			if _, err := c.Do(context.Background(), p); err != nil {
				b.Fatal(err)
			}
		})
		hash = pump.HashOf(&rx)
	}
	reportWire(b, m)
}

// BenchmarkProgramChangeReviewed is the programmer's own flow: interrogate
// (to show old beside new), then program with the status read back in the
// same round trip.
func BenchmarkProgramChangeReviewed(b *testing.B) {
	f := newFixture(b)
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	f.ready(rx)
	var m telemetry.MeterCounts
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		rx.Rate = unit.Rate(500+i%2*100) * unit.Rate(unit.Microlitre)
		m = f.metered(b, f.w.clinician, func(c *telemetry.Client) {
			r, err := c.Do(context.Background(), pump.Interrogate{})
			if err != nil {
				b.Fatal(err)
			}
			st := r.(*pumpwire.Status)
			if _, err := c.DoAll(context.Background(), pump.NewProgram(rx, st.RxHash), pump.ReadStatus{}); err != nil {
				b.Fatal(err)
			}
		})
	}
	reportWire(b, m)
}

// BenchmarkHandshake: open and close an authenticated session with the
// implant (the core records SESSION_START and SESSION_END).
func BenchmarkHandshake(b *testing.B) {
	f := newFixture(b)
	var m telemetry.MeterCounts
	b.ReportAllocs()
	for b.Loop() {
		m = f.metered(b, f.w.monitor, func(*telemetry.Client) {})
	}
	reportWire(b, m)
}

// BenchmarkPatientBolusTCP: a PTM bolus session over TCP loopback with the
// link in real time: the radio-on time the pump charges per session and its
// battery cost.
func BenchmarkPatientBolusTCP(b *testing.B) {
	w := testWorld()
	start := time.Now()
	clock := func() unit.Time { return t0.Add(unit.Duration(time.Since(start) / time.Millisecond)) }
	d, err := device.New(testConfig(), t0, 1)
	if err != nil {
		b.Fatal(err)
	}
	im, err := New(Config{Device: d, Enrolment: w.pump, Clock: clock})
	if err != nil {
		b.Fatal(err)
	}
	rx := morphine(500 * unit.Rate(unit.Microlitre))
	rx.PatientBolus.Lockout, rx.PatientBolus.MaxPer24h = unit.Minute, 48
	rx.Max24h = 20 * unit.Millilitre
	im.Do(func(d *device.Device, now unit.Time) error {
		d.Core.Refill(now, pump.Refill{Added: 20 * unit.Millilitre, Drug: rx.Drug, Concentration: rx.Concentration})
		return d.Core.Program(now, pump.NewProgram(rx, d.Core.Status().RxHash))
	})
	l, err := telemetry.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go im.Serve(ctx, l)
	cfg := telemetry.ClientConfig{Identity: w.patient, Trust: telemetry.Trust{Authorities: w.pump.Trust.Authorities[:1]}, Clock: clock}
	var radio unit.Duration
	sessions := 0
	b.ReportAllocs()
	for b.Loop() {
		im.Wake(telemetry.WakeRadio)
		conn, err := telemetry.DialTCP(ctx, l.Addr())
		if err != nil {
			b.Fatal(err)
		}
		c, err := telemetry.Dial(ctx, conn, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.DoAll(ctx, pump.PatientActivation{}, pump.ReadStatus{}); err != nil {
			b.Fatal(err)
		}
		c.Close()
		sessions++
	}
	time.Sleep(20 * time.Millisecond) // the last session's end
	var charge unit.Charge
	for _, r := range im.Records(0) {
		if r.Kind == pumpwire.RecordKind(pump.EvSessionEnd) {
			radio += unit.Duration(r.A)
			charge += pump.RadioCurrent.Over(unit.Duration(r.A))
		}
	}
	b.ReportMetric(float64(radio)/float64(sessions), "radio-ms/op")
	b.ReportMetric(charge.MicroampHours()/float64(sessions), "µAh/op")
}
