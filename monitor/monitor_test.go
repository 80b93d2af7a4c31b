package monitor

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
	"github.com/thecal/thecal/clinicapi"
	"github.com/thecal/thecal/implant/implanttest"
	"github.com/thecal/thecal/pump"
	"github.com/thecal/thecal/pumpwire"
	"github.com/thecal/thecal/telemetry"
	"github.com/thecal/thecal/unit"
)

// TestWindow: the window to attend is the one after the last attended, the
// one open now, or the next to open, on the multiples of the period.
func TestWindow(t *testing.T) {
	m := &monitor{cfg: Config{Every: 10 * time.Second, Window: 3 * time.Second}}
	s := func(x float64) unit.Time { return unit.Time(x * 1000) }
	for _, c := range []struct {
		now, after, want unit.Time
	}{
		{s(12.5), 0, s(10)},   // open 2.5 s ago: still listening
		{s(14), 0, s(20)},     // over: the next
		{s(20), 0, s(20)},     // opening now
		{s(21), s(20), s(20)}, // the next after the last, open now
		{s(24), s(20), s(30)}, // the next after the last, over: the next to open
		{s(35), s(20), s(40)}, // missed windows are not made up
		{s(19), s(20), s(20)}, // the next after the last, in the future
	} {
		if got := m.window(c.now, c.after); got != c.want {
			t.Errorf("now %v after %v: window %v, want %v", c.now, c.after, got, c.want)
		}
	}
	if got := pumpwire.NextScheduledWake(s(20), 10*unit.Second); got != s(30) {
		t.Errorf("the window after one that opens at 20 s: %v", got)
	}
}

// TestQueueSurvivesReopen: what is queued is there after the queue is closed
// and opened again (a restart), in order, with the log position.
func TestQueueSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	q, err := OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := OpenQueue(dir); !errors.Is(err, ErrInUse) {
		t.Fatalf("a second monitor on the directory: %v", err)
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 3 {
		r := &clinic.Report{Format: clinic.ReportFormat, Serial: "4001", Model: pump.TP20, InterrogatedAt: t0.Add(time.Duration(i) * time.Hour)}
		if _, err := q.Add(ctx, r, uint64(10*(i+1))); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	q, err = OpenQueue(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	e, err := q.Oldest(ctx)
	if err != nil || e == nil || !e.Report.InterrogatedAt.Equal(t0) {
		t.Fatalf("oldest after a restart: %+v %v", e, err)
	}
	if err := q.Sent(ctx, e); err != nil {
		t.Fatal(err)
	}
	next, read, sent, err := q.Position(ctx, "4001")
	if n, _ := q.Len(ctx); err != nil || next != 30 || read != 3 || sent != 1 || n != 2 {
		t.Fatalf("position %d, read %d, sent %d, waiting %d (%v)", next, read, sent, n, err)
	}
}

// flakyClinic takes reports after failing the first ones (the clinic down),
// and refuses one for good.
type flakyClinic struct {
	mu       sync.Mutex
	down     int             // temporary failures left
	refuse   int             // the reading (1-based, among those tried) to refuse for good
	tried    map[string]bool // reports tried at least once
	accepted []*clinic.Report
	rejected []*clinic.Report
}

func (f *flakyClinic) Report(_ context.Context, r *clinic.Report, key string) (*clinic.IngestResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := clinic.ReportKey(r.Serial, r.InterrogatedAt)
	if key != "monitor:"+k {
		return nil, errors.New("the idempotency key is not the report's")
	}
	if !f.tried[k] {
		f.tried[k] = true
		if len(f.tried) == f.refuse {
			f.rejected = append(f.rejected, r)
			return nil, &clinicapi.Error{Status: http.StatusBadRequest, Code: clinic.EINVALID, Message: "refused"}
		}
	}
	if f.down > 0 {
		f.down--
		return nil, errors.New("connection refused")
	}
	for _, a := range f.accepted {
		if clinic.ReportKey(a.Serial, a.InterrogatedAt) == k {
			return &clinic.IngestResult{Duplicate: true}, nil
		}
	}
	f.accepted = append(f.accepted, r)
	return &clinic.IngestResult{ReportID: int64(len(f.accepted))}, nil
}

// TestStoreAndForward: the monitor reads the pump in each window (here every
// second) and, while the clinic fails, keeps the reports and sends them in
// the order read, each once, with the pump's event log continuous across
// them; a report refused for good is kept aside without holding up the rest.
func TestStoreAndForward(t *testing.T) {
	p := implanttest.New(t, implanttest.Config())
	p.Wake(telemetry.WakeScheduled)
	q, err := OpenQueue(filepath.Join(t.TempDir(), "monitor"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	fc := &flakyClinic{down: 4, refuse: 2, tried: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	var reads int
	var mu sync.Mutex
	done := make(chan error)
	go func() {
		done <- Run(ctx, Config{Queue: q, Pump: p.Peer(p.Keys.Monitor), Clinic: fc, Every: time.Second, Now: true,
			MinBackoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Clock: func() time.Time { return p.Clock.Now().Std() },
			Read: func(*clinic.Report) { mu.Lock(); reads++; mu.Unlock() }})
	}()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		n := reads
		mu.Unlock()
		fc.mu.Lock()
		ok := n >= 4 && len(fc.accepted)+len(fc.rejected) == n
		fc.mu.Unlock()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d readings, %d accepted, %d rejected", n, len(fc.accepted), len(fc.rejected))
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := q.Rejected(context.Background()); n != 1 || len(fc.rejected) != 1 {
		t.Errorf("kept aside %d, refused %d", n, len(fc.rejected))
	}
	var prev *clinic.Report
	for _, r := range fc.accepted {
		if prev != nil {
			if !r.InterrogatedAt.After(prev.InterrogatedAt) {
				t.Errorf("a report of %s after one of %s", r.InterrogatedAt, prev.InterrogatedAt)
			}
			if len(r.Log) > 0 && r.Log[0].Seq < prev.Status.LogNext {
				t.Errorf("the log read twice: #%d after a report up to #%d", r.Log[0].Seq, prev.Status.LogNext)
			}
		}
		if r.Source != clinicapi.SourceMonitor || r.Status.PumpTime.IsZero() || r.Status.LogNext == 0 {
			t.Errorf("report %+v", r.Status)
		}
		prev = r
	}
	_, read, sent, _ := q.Position(context.Background(), fc.accepted[0].Serial)
	if int(read) != len(fc.accepted)+len(fc.rejected) || int(sent) != len(fc.accepted) {
		t.Errorf("read %d, sent %d; the clinic took %d and refused %d", read, sent, len(fc.accepted), len(fc.rejected))
	}
}
