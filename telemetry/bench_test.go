package telemetry

import (
	"bytes"
	"context"
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
)

// benchSession runs one whole session (wake is already done): handshake, the
// exchange, close; it returns the meter.
func benchSession(b *testing.B, f *fixture, id Identity, exchange func(*Client) error) MeterCounts {
	a, p := Pipe("programmer", "pump", LinkConfig{}, LinkConfig{})
	done := make(chan SessionReport, 1)
	go func() { done <- f.srv.ServeConn(context.Background(), p) }()
	m := &Meter{Conn: a}
	b.ReportAllocs()
	c, err := Dial(context.Background(), m, f.clientConfig(id))
	if err != nil {
		b.Fatal(err)
	}
	if exchange != nil {
		if err := exchange(c); err != nil {
			b.Fatal(err)
		}
	}
	c.Close()
	if rep := <-done; rep.Err != nil {
		b.Fatal(rep.Err)
	}
	return m.Counts()
}

func benchFixture(b *testing.B) *fixture {
	f := newFixture(b)
	f.clock.step = 0 // no radio time: the budget would run out over b.N sessions
	return f.wake(WakeContact)
}

func report3(b *testing.B, m MeterCounts) {
	b.ReportMetric(float64(m.Sent+m.Received), "wire-B/op")
	b.ReportMetric(float64(m.Sent), "up-B/op")
	b.ReportMetric(float64(m.Received), "down-B/op")
	b.ReportMetric(float64(m.RoundTrips), "round-trips/op")
	b.ReportMetric(float64(m.Frames), "frames/op")
}

// BenchmarkHandshake: a whole Noise XX handshake with credential checks on
// both sides (peer and pump run on the same core), then a close.
func BenchmarkHandshake(b *testing.B) {
	f := benchFixture(b)
	var m MeterCounts
	for b.Loop() {
		m = benchSession(b, f, f.w.clinician, nil)
	}
	report3(b, m)
}

// BenchmarkProgramChange: handshake, a prescription of 16 flex steps (about
// 300 bytes) with the hash it replaces, the pump's Ack with the stored
// sequence number, close.
func BenchmarkProgramChange(b *testing.B) {
	f := benchFixture(b)
	p := testProgram(1)
	var m MeterCounts
	for b.Loop() {
		m = benchSession(b, f, f.w.clinician, func(c *Client) error {
			_, err := c.Do(context.Background(), p)
			return err
		})
	}
	report3(b, m)
}

// logBytes is the assumed size of 30 days of event log: 8 entries a day of
// 24 bytes (the device's encoding decides the real figure). With the test
// device's status it makes a full interrogation.
const logBytes = 30 * 8 * 24

// BenchmarkInterrogation: handshake, status and 30 days of log, pipelined
// into one round trip after the handshake, close.
func BenchmarkInterrogation(b *testing.B) {
	f := benchFixture(b)
	f.dev.log = bytes.Repeat([]byte{0x42}, logBytes)
	var m MeterCounts
	for b.Loop() {
		m = benchSession(b, f, f.w.clinician, func(c *Client) error {
			rs, err := c.DoAll(context.Background(), pump.Interrogate{}, pump.ReadLog{From: 0})
			if err == nil && len(rs[1].(*pumpwire.Log).Entries) != logBytes {
				b.Fatal("short log")
			}
			return err
		})
	}
	report3(b, m)
	st, _ := pumpwire.AppendStatus(nil, standInStatus())
	b.ReportMetric(float64(m.Sent+m.Received-len(st)-logBytes), "overhead-B/op")
}

// BenchmarkDataFrame: sealing and opening one 1 KiB message (a command of a
// kind this version does not know: the channel carries bytes) in an open
// session, the steady-state cost per command.
func BenchmarkDataFrame(b *testing.B) {
	w := testWorld(b)
	// A handshake by hand gives two channels facing each other.
	ci, _ := newHandshake(true, w.clinician.Static, nil)
	ri, _ := newHandshake(false, w.pump.Identity.Static, nil)
	m1, _, _, _ := ci.WriteMessage(nil, nil)
	ri.ReadMessage(nil, m1)
	m2, _, _, _ := ri.WriteMessage(nil, nil)
	ci.ReadMessage(nil, m2)
	m3, c1, c2, _ := ci.WriteMessage(nil, nil)
	_, r1, r2, _ := ri.ReadMessage(nil, m3)
	peer := channel{send: c1, recv: c2}
	pumpEnd := channel{send: r2, recv: r1}
	req := pumpwire.Unknown{Type: 0x7e, Body: bytes.Repeat([]byte{0x5a}, 1023)}
	var out []byte
	b.ReportAllocs()
	for b.Loop() {
		var frames [][]byte
		var err error
		out, frames, err = peer.seal(out[:0], req)
		if err != nil {
			b.Fatal(err)
		}
		for _, fr := range frames {
			if _, _, err := pumpEnd.receive(fr); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.SetBytes(1024)
}
