package clinictest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Grouping is a store whose concurrent writes share commits (store.DB).
type Grouping interface {
	clinic.Store
	ObserveBatches(f func(n int))
	Queued() int
	SetCommitters(n int)
}

// GroupCommit checks a store's group commit without timing: a first write
// holds the writer while six others queue; they then run as one batch in
// which each is what it would be alone — three succeed, one that fails and
// one that panics leave nothing behind and get their own error and panic,
// and one whose request was cancelled while queued is not run.
func GroupCommit(t *testing.T, db Grouping) {
	var mu sync.Mutex
	var batches []int
	db.ObserveBatches(func(n int) { mu.Lock(); batches = append(batches, n); mu.Unlock() })
	defer db.ObserveBatches(nil)
	db.SetCommitters(1) // one batch at a time: the second waits for the first
	ctx := context.Background()
	patient := func(tx clinic.Tx, mrn string) error {
		return tx.CreatePatient(&clinic.Patient{MRN: mrn, FamilyName: mrn, BirthDate: clinic.Date{Time: Start}, Sex: "female", Indication: "pain"})
	}
	hold, held := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Update(ctx, func(tx clinic.Tx) error {
			close(held)
			<-hold
			return patient(tx, "G-0")
		})
	}()
	<-held
	errBad := errors.New("refused after writing")
	cancelled, cancel := context.WithCancel(ctx)
	writes := []struct {
		mrn  string
		ctx  context.Context
		fail error
		pan  bool
	}{{mrn: "G-1"}, {mrn: "G-2", fail: errBad}, {mrn: "G-3"}, {mrn: "G-4", pan: true}, {mrn: "G-5", ctx: cancelled}, {mrn: "G-6"}}
	results := make([]error, len(writes))
	panics := make([]any, len(writes))
	var wg sync.WaitGroup
	for i, w := range writes {
		wctx := w.ctx
		if wctx == nil {
			wctx = ctx
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			results[i] = db.Update(wctx, func(tx clinic.Tx) error {
				if err := patient(tx, w.mrn); err != nil {
					return err
				}
				if w.pan {
					panic("write " + w.mrn + " panics")
				}
				return w.fail
			})
		}()
		// Queue them in order: the batch keeps the order writes came in.
		for deadline := time.Now().Add(10 * time.Second); db.Queued() < i+1; {
			if time.Now().After(deadline) {
				t.Fatalf("write %d never queued", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel()
	close(hold)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := slices.Clone(batches)
	mu.Unlock()
	if !slices.Equal(got, []int{1, 6}) {
		t.Errorf("batches %v, want [1 6]: the six queued writes share one commit", got)
	}
	for i, w := range writes {
		switch {
		case w.fail != nil && !errors.Is(results[i], w.fail):
			t.Errorf("%s: %v, want its own error", w.mrn, results[i])
		case w.pan && panics[i] == nil:
			t.Errorf("%s: its panic was not raised in its own goroutine", w.mrn)
		case w.ctx != nil && !errors.Is(results[i], context.Canceled):
			t.Errorf("%s: %v, want context.Canceled", w.mrn, results[i])
		case w.fail == nil && !w.pan && w.ctx == nil && (results[i] != nil || panics[i] != nil):
			t.Errorf("%s: %v %v", w.mrn, results[i], panics[i])
		}
	}
	var mrns []string
	if err := db.View(ctx, func(tx clinic.Tx) error {
		ps, err := tx.PatientsAfter(0, 100)
		for _, p := range ps {
			mrns = append(mrns, p.MRN)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"G-0", "G-1", "G-3", "G-6"}; !slices.Equal(mrns, want) {
		t.Errorf("stored %v, want %v: a failed, panicked or cancelled write leaves nothing", mrns, want)
	}

	// Many writers and several batches at once: every write that succeeded
	// is there, every one that failed is not, nobody waits forever.
	db.SetCommitters(4)
	var ok, failed atomic.Int64
	var mw sync.WaitGroup
	for w := range 48 {
		mw.Add(1)
		go func() {
			defer mw.Done()
			for i := range 6 {
				mrn := fmt.Sprintf("M-%d-%d", w, i)
				fail := (w+i)%5 == 0
				err := db.Update(ctx, func(tx clinic.Tx) error {
					if err := patient(tx, mrn); err != nil {
						return err
					}
					if fail {
						return errBad
					}
					return nil
				})
				switch {
				case fail && errors.Is(err, errBad):
					failed.Add(1)
				case !fail && err == nil:
					ok.Add(1)
				default:
					t.Errorf("%s: %v", mrn, err)
				}
			}
		}()
	}
	mw.Wait()
	n := 0
	if err := db.View(ctx, func(tx clinic.Tx) error {
		ps, err := tx.PatientsAfter(0, 1000)
		for _, p := range ps {
			if strings.HasPrefix(p.MRN, "M-") {
				n++
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if int64(n) != ok.Load() || ok.Load()+failed.Load() != 48*6 {
		t.Errorf("%d stored, %d succeeded, %d failed", n, ok.Load(), failed.Load())
	}
}
