package monitor

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"

	_ "modernc.org/sqlite" // the queue's database (no cgo)

	"github.com/thecal/thecal/clinic"
)

// The queue is the monitor's store and forward: every report is written to
// disk, durably, before the clinic is tried, and leaves the disk only once
// the clinic has answered that it holds it (stored, or a duplicate of what
// it stored). It is a SQLite database in the state directory (WAL,
// synchronous=FULL): a report and the pump's log position after it are
// written in one transaction, so that a kill -9 or a power cut at any
// instant leaves both or neither, and reports keep the order they were read
// in.
//
//	monitor.db   the queue and the log position
//	lock         held by the running monitor

const queueSchema = `
CREATE TABLE IF NOT EXISTS queue (
	seq INTEGER PRIMARY KEY AUTOINCREMENT,
	key TEXT NOT NULL,
	report TEXT NOT NULL,
	tries INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS rejected (
	seq INTEGER PRIMARY KEY,
	key TEXT NOT NULL,
	report TEXT NOT NULL,
	error TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS position (
	serial TEXT PRIMARY KEY,
	log_next INTEGER NOT NULL,
	read INTEGER NOT NULL DEFAULT 0,
	sent INTEGER NOT NULL DEFAULT 0
);`

// ErrInUse means another monitor runs on the state directory.
var ErrInUse = errors.New("monitor: the state directory is in use by another monitor")

// Queue is the monitor's queue in its state directory.
type Queue struct {
	db   *sql.DB
	lock *os.File
}

// Entry is one queued report.
type Entry struct {
	Seq    int64
	Key    string
	Report *clinic.Report
	Tries  int
}

// OpenQueue opens (creating) the queue in dir, mode 0700, and holds the
// directory for this process.
func OpenQueue(dir string) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("%w (%s)", ErrInUse, dir)
	}
	v := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)"} {
		v.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "monitor.db")+"?"+v.Encode())
	if err != nil {
		lock.Close()
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(queueSchema); err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("monitor: queue %s: %w", dir, err)
	}
	return &Queue{db: db, lock: lock}, nil
}

// Close closes the queue and lets the directory go.
func (q *Queue) Close() error {
	err := q.db.Close()
	q.lock.Close()
	return err
}

// Position returns where the pump's event log was read to for serial (0:
// never), and how many reports were read and sent.
func (q *Queue) Position(ctx context.Context, serial string) (logNext uint64, read, sent int64, err error) {
	err = q.db.QueryRowContext(ctx, `SELECT log_next, read, sent FROM position WHERE serial = ?`, serial).Scan(&logNext, &read, &sent)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return
}

// Add queues report r, read from the pump up to its log position logNext,
// in one transaction with the position.
func (q *Queue) Add(ctx context.Context, r *clinic.Report, logNext uint64) (int64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO queue (key, report) VALUES (?, ?)`, clinic.ReportKey(r.Serial, r.InterrogatedAt), string(b))
	if err != nil {
		return 0, err
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO position (serial, log_next, read) VALUES (?, ?, 1)
		ON CONFLICT (serial) DO UPDATE SET log_next = excluded.log_next, read = read + 1`, r.Serial, int64(logNext)); err != nil {
		return 0, err
	}
	return seq, tx.Commit()
}

// Oldest returns the oldest queued report, or nil.
func (q *Queue) Oldest(ctx context.Context) (*Entry, error) {
	var e Entry
	var b string
	err := q.db.QueryRowContext(ctx, `SELECT seq, key, report, tries FROM queue ORDER BY seq LIMIT 1`).Scan(&e.Seq, &e.Key, &b, &e.Tries)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	e.Report = new(clinic.Report)
	if err := json.Unmarshal([]byte(b), e.Report); err != nil {
		return nil, fmt.Errorf("monitor: queued report %d does not decode: %w", e.Seq, err)
	}
	return &e, nil
}

// Len returns how many reports wait.
func (q *Queue) Len(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM queue`).Scan(&n)
	return n, err
}

// Sent removes entry e: the clinic holds it.
func (q *Queue) Sent(ctx context.Context, e *Entry) error {
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM queue WHERE seq = ?`, e.Seq); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE position SET sent = sent + 1 WHERE serial = ?`, e.Report.Serial); err != nil {
		return err
	}
	return tx.Commit()
}

// Failed counts a try of entry e that failed with err (it stays queued).
func (q *Queue) Failed(ctx context.Context, e *Entry, err error) error {
	_, xerr := q.db.ExecContext(ctx, `UPDATE queue SET tries = tries + 1, last_error = ? WHERE seq = ?`, err.Error(), e.Seq)
	return xerr
}

// Reject moves entry e out of the queue into the rejected reports, with the
// clinic's refusal: a report the clinic will never take is kept, for a
// person to look at, and does not hold up the reports after it.
func (q *Queue) Reject(ctx context.Context, e *Entry, why error) error {
	b, err := json.Marshal(e.Report)
	if err != nil {
		return err
	}
	tx, err := q.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO rejected (seq, key, report, error) VALUES (?, ?, ?, ?)`, e.Seq, e.Key, string(b), why.Error()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM queue WHERE seq = ?`, e.Seq); err != nil {
		return err
	}
	return tx.Commit()
}

// Rejected returns how many reports the clinic refused for good.
func (q *Queue) Rejected(ctx context.Context) (int, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT count(*) FROM rejected`).Scan(&n)
	return n, err
}
