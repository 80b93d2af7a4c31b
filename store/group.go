package store

// Group commit (issue 13, item 7). A durable commit costs a disk flush; one
// per write capped the clinic at a few hundred acknowledged writes a second
// and queued 200 clients' writes for seconds. Concurrent Updates now share
// a transaction: the first writer to arrive leads a batch of every write
// queued by then, runs each in a savepoint of its own (a write that fails
// is rolled back alone, exactly as if it had run by itself), commits once,
// and only then answers each writer. A write is acknowledged only after the
// commit that holds it; a write whose batch failed to commit is run again
// alone, so a batch never turns one writer's failure into another's.
//
// Writers are not reordered within a batch: it runs them in the order they
// queued, each seeing the ones before (the audit chain is appended in that
// order). One batch runs at a time (SetCommitters allows more, for tests):
// every write ends on the audit head's row, which orders all writes anyway —
// on PostgreSQL each write transaction takes it first (Dialect.WriteLock), so
// that batches of several servers lock in one order and cannot deadlock.

import (
	"context"
	"fmt"
	"sync"

	"github.com/thecal/thecal/clinic"
)

// maxBatch bounds the writes one transaction holds.
const maxBatch = 128

type pending struct {
	ctx  context.Context
	fn   func(clinic.Tx) error
	err  error
	pan  any  // a panic of fn, raised again in its own goroutine
	ok   bool // fn succeeded in the batch's transaction (not yet committed)
	wake chan bool
	lead []*pending // the batch this writer leads, when it leads one
}

type group struct {
	mu         sync.Mutex
	queue      []*pending
	leading    int         // batches running
	committers int         // batches that may run at once (at least 1)
	batches    func(n int) // observes batch sizes (tests, metrics); nil for none
}

// update queues fn and returns when a commit holding it has happened (or it
// failed).
func (db *DB) update(ctx context.Context, fn func(clinic.Tx) error) error {
	g := &db.group
	p := &pending{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	var batch []*pending
	if g.leading < max(1, g.committers) {
		g.leading++
		batch = g.take(p)
	}
	g.mu.Unlock()
	if batch == nil {
		if !<-p.wake {
			return p.result() // a batch led by another writer held it
		}
		batch = p.lead // taken by the leader before, which handed it over
	}
	// Lead the batch.
	if g.batches != nil {
		g.batches(len(batch))
	}
	db.runBatch(batch)
	// Hand the next batch to the next writer queued, then answer this one.
	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = g.take(next)
		next.wake <- true
	} else {
		g.leading--
	}
	g.mu.Unlock()
	for _, q := range batch {
		if q != p {
			q.wake <- false
		}
	}
	return p.result()
}

// take removes a batch from the front of the queue — up to maxBatch writes,
// in their order, lead among them — and returns it. g.mu is held.
func (g *group) take(lead *pending) []*pending {
	n := min(len(g.queue), maxBatch)
	batch := append([]*pending(nil), g.queue[:n]...)
	rest := g.queue[n:]
	if i := slicesIndex(rest, lead); i >= 0 {
		// The leader queued beyond the batch: it takes the last place, and
		// the write it displaces stays first in the queue.
		displaced := batch[n-1]
		batch[n-1] = lead
		rest = append(append([]*pending{displaced}, rest[:i]...), rest[i+1:]...)
	} else {
		rest = append([]*pending(nil), rest...)
	}
	g.queue = rest
	return batch
}

func (p *pending) result() error {
	if p.pan != nil {
		panic(p.pan)
	}
	return p.err
}

// runBatch runs the writes of a batch, one transaction for all of them.
func (db *DB) runBatch(batch []*pending) {
	if len(batch) == 1 {
		db.alone(batch[0])
		return
	}
	// One writer's cancelled request must not cancel the others' shared
	// transaction: statements run without the requests' cancellation (a
	// request cancelled before its turn is not run at all).
	sqlTx, err := db.W.BeginTx(context.Background(), nil)
	if err == nil && db.Dialect.WriteLock != "" {
		if _, err = sqlTx.Exec(db.Dialect.WriteLock); err != nil {
			_ = sqlTx.Rollback()
		}
	}
	if err != nil {
		for _, p := range batch {
			p.err = unavailable(err)
		}
		return
	}
	var again []*pending
	broken := false
	for i, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = err
			continue
		}
		if _, err := sqlTx.Exec("SAVEPOINT w"); err != nil {
			broken, again = true, append(again, batch[i:]...)
			break
		}
		t := &tx{ctx: context.WithoutCancel(p.ctx), tx: sqlTx, d: &db.Dialect, write: true}
		ferr := call(p, t)
		if ferr == nil {
			if _, err := sqlTx.Exec("RELEASE SAVEPOINT w"); err != nil {
				broken, again = true, append(again, batch[i:]...)
				break
			}
			p.ok = true
			continue
		}
		if _, err := sqlTx.Exec("ROLLBACK TO SAVEPOINT w"); err != nil {
			broken, again = true, append(again, batch[i:]...)
			p.pan = nil
			break
		}
		if _, err := sqlTx.Exec("RELEASE SAVEPOINT w"); err != nil {
			broken, again = true, append(again, batch[i:]...)
			p.pan = nil
			break
		}
		if p.pan == nil && db.Dialect.IsRetryable != nil && db.Dialect.IsRetryable(ferr) {
			again = append(again, p) // a conflict: run it again alone
			continue
		}
		p.err = ferr
	}
	if broken {
		_ = sqlTx.Rollback()
		for _, p := range batch {
			if p.ok {
				p.ok = false
				again = append(again, p)
			}
		}
	} else if err := sqlTx.Commit(); err != nil {
		for _, p := range batch {
			if p.ok {
				p.ok = false
				again = append(again, p)
			}
		}
	}
	// Writes the batch could not commit run again, each alone.
	for _, p := range again {
		p.err, p.pan = nil, nil
		db.alone(p)
	}
}

// call runs fn, turning a panic into the pending's panic.
func call(p *pending, t *tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			p.pan = r
			err = fmt.Errorf("store: panic in a write: %v", r)
		}
	}()
	return p.fn(t)
}

// alone runs one write in its own transaction, retried on a conflict.
func (db *DB) alone(p *pending) {
	defer func() {
		if r := recover(); r != nil {
			p.pan = r
		}
	}()
	for attempt := 0; ; attempt++ {
		err := db.run(p.ctx, db.W, false, p.fn)
		if err != nil && attempt < 3 && db.Dialect.IsRetryable != nil && db.Dialect.IsRetryable(err) {
			continue
		}
		p.err = err
		return
	}
}

func slicesIndex(q []*pending, p *pending) int {
	for i, x := range q {
		if x == p {
			return i
		}
	}
	return -1
}
