package telemetry

import (
	"testing"

	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/unit"
)

// recordedHandshake returns a genuine peer's frames from a real session:
// hello, finish and one data frame.
func recordedHandshake(t testing.TB) [][]byte {
	f := newFixture(t).wake(WakeContact)
	c, tp, done := f.dial(f.w.clinician, "programmer", nil)
	mustDo(t, c, pump.ReadStatus{})
	c.Close()
	report(t, done)
	return tp.Frames()
}

// FuzzHandshake feeds arbitrary bytes to the pump as the peer's handshake
// messages (and a following frame). The pump must never panic and never
// authenticate: without a genuine peer's private static key, and with the
// pump's fresh ephemeral key, no input can complete the handshake. When wrap
// is set, m1 and m2 are wrapped in correct hello and finish headers so the
// fuzzer spends its time inside the Noise messages.
func FuzzHandshake(f *testing.F) {
	rec := recordedHandshake(f)
	payload := func(fr []byte) []byte { return fr[HeaderLen:] }
	f.Add(true, payload(rec[0]), payload(rec[1]), rec[2])
	f.Add(false, rec[0], rec[1], rec[2])
	f.Add(true, payload(rec[0]), []byte{}, []byte{})
	f.Add(true, make([]byte, 32), make([]byte, 48+16), rec[2])
	f.Add(false, rec[2], rec[2], rec[2])
	f.Add(false, []byte{}, []byte{1}, []byte{2, 0, 0, 0})
	w := testWorld(f)
	f.Fuzz(func(t *testing.T, wrap bool, m1, m2, m3 []byte) {
		srv, err := NewServer(ServerConfig{
			Enrolment: w.pump, Handler: HandlerFunc(func(SessionInfo, pump.Command) pumpwire.Response {
				t.Fatal("handler called")
				return nil
			}),
			Clock: func() unit.Time { return t0 }, RadioCurrent: radioCurrent,
		})
		if err != nil {
			t.Fatal(err)
		}
		ss := &serverSession{srv: srv, info: SessionInfo{Session: 1, Addr: "fuzz", Wake: WakeContact, Opened: t0}}
		frames := [][]byte{m1, m2, m3}
		if wrap {
			frames[0] = wrapFrame(FrameHello, m1)
			frames[1] = wrapFrame(FrameFinish, m2)
		}
		for _, fr := range frames {
			_, err := ss.step(t0, fr)
			if ss.info.Authenticated() || ss.state == open {
				t.Fatalf("authenticated from arbitrary bytes: %+v", ss.info)
			}
			if err != nil {
				return
			}
		}
	})
}

func wrapFrame(t FrameType, p []byte) []byte {
	if len(p) > MaxPayload {
		p = p[:MaxPayload]
	}
	fr, _ := AppendFrame(nil, t, p)
	return fr
}
