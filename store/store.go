// Package store owns the SQL that keeps the clinic's records: the queries of
// clinic.Store over database/sql, shared by the SQLite and PostgreSQL drivers
// (packages store/sqlite and store/postgres), which open the database, apply
// their embedded migrations and declare their dialect. It holds no business
// rule: it saves, loads, checks versions and unique keys, and reports what it
// finds as clinic errors.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/thecal/thecal/clinic"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2…) instead of ?.
	Numbered bool
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(err error) bool
	// IsRetryable reports whether a transaction that failed with err may simply
	// be run again (a serialization failure or deadlock).
	IsRetryable func(err error) bool
	// Search is the condition (over patient_index x, with one placeholder)
	// that a patient's search words match a query; SearchQuery makes the
	// query's argument from the words, each to match the start of a word.
	Search      string
	SearchQuery func(words []string) string
	// WriteLock, when set, runs first in every write transaction. Every
	// write appends to the audit chain and so ends on the audit head's row;
	// PostgreSQL's takes it first, so that writes lock in one order — a
	// batch of writes that took the head at its first write and then
	// touched a patient's rows deadlocked with another server's batch that
	// had touched them first (found by TestTwoServersOnePostgres).
	WriteLock string
}

// DB is a clinic.Store on a SQL database. Writes go through W; reads through R
// (the same pool, or a read-only one for SQLite, whose writers are serialised).
type DB struct {
	W, R    *sql.DB
	Dialect Dialect
	// group batches concurrent writes into shared commits (group.go).
	group group
}

var _ clinic.Store = (*DB)(nil)

// Update runs fn in a read-write transaction, which concurrent writes may
// share (group commit: group.go), and returns once it is committed durably:
// fn's writes are all there, or none (fn's error, in its own savepoint).
func (db *DB) Update(ctx context.Context, fn func(clinic.Tx) error) error {
	return db.update(ctx, fn)
}

// ObserveBatches calls f with the number of writes of every batch the
// group commit runs (for tests and measurements); nil stops it. Call it
// before writes start.
func (db *DB) ObserveBatches(f func(n int)) { db.group.batches = f }

// SetCommitters sets how many batches may run at once (default 1; see
// group.go).
func (db *DB) SetCommitters(n int) { db.group.committers = n }

// Queued is how many writes wait for a batch.
func (db *DB) Queued() int {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return len(db.group.queue)
}

// View runs fn in a read-only transaction.
func (db *DB) View(ctx context.Context, fn func(clinic.Tx) error) error {
	return db.run(ctx, db.R, true, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, readOnly bool, fn func(clinic.Tx) error) (err error) {
	opts := &sql.TxOptions{ReadOnly: readOnly}
	if db.Dialect.Name == "sqlite" {
		opts = nil // the read pool is query_only; the write pool begins IMMEDIATE
	}
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return unavailable(err)
	}
	if !readOnly && db.Dialect.WriteLock != "" {
		if _, err := sqlTx.ExecContext(ctx, db.Dialect.WriteLock); err != nil {
			_ = sqlTx.Rollback()
			return unavailable(err)
		}
	}
	t := &tx{ctx: ctx, tx: sqlTx, d: &db.Dialect, write: !readOnly}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(t); err != nil {
		_ = sqlTx.Rollback()
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return unavailable(err)
	}
	return nil
}

func unavailable(err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ce *clinic.Error
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("store: %w", err)
}

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.W.PingContext(ctx); err != nil {
		return err
	}
	return db.R.PingContext(ctx)
}

// Close closes both pools.
func (db *DB) Close() error {
	err := db.W.Close()
	if db.R != db.W {
		err = errors.Join(err, db.R.Close())
	}
	return err
}

type tx struct {
	ctx   context.Context
	tx    *sql.Tx
	d     *Dialect
	write bool
}

// q rewrites ? placeholders for the dialect.
func (t *tx) q(s string) string { return Rebind(t.d, s) }

// Rebind rewrites ? placeholders as $1, $2… for a dialect that numbers them.
func Rebind(d *Dialect, s string) string {
	if !d.Numbered {
		return s
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func (t *tx) execRaw(s string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.q(s), args...)
}

func (t *tx) query(s string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, t.q(s), args...)
}

func (t *tx) exec(s string, args ...any) (sql.Result, error) {
	r, err := t.tx.ExecContext(t.ctx, t.q(s), args...)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return r, nil
}

func (t *tx) queryRow(s string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.q(s), args...)
}

// ms and fromMS store a time as Unix milliseconds, exactly and for every
// time: 0 is 1970-01-01T00:00:00Z, not "no time" (a follow-up due on
// 1970-01-01 once read back as 0001-01-01; issue 14). Go's zero time is
// stored as its own (negative) value and read back as a zero time.
func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(n int64) time.Time {
	t := time.UnixMilli(n).UTC()
	if t.IsZero() {
		return time.Time{}
	}
	return t
}

func notFound(what string, id any) error {
	return clinic.Errorf(clinic.ENOTFOUND, "id", "no %s %v", what, id)
}

// checkVersion turns an update that touched no row into ENOTFOUND or ECONFLICT.
func (t *tx) checkVersion(res sql.Result, table, what string, id, version int64) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var cur int64
	if err := t.queryRow("SELECT version FROM "+table+" WHERE id = ?", id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
		return notFound(what, id)
	} else if err != nil {
		return err
	}
	return clinic.Errorf(clinic.ECONFLICT, "version", "%s %d is at version %d, not %d: someone changed it; reload", what, id, cur, version)
}

// ---- users ----

const userCols = "id, username, name, role, disabled, password_hash, totp_secret, totp_pending, totp_step, version, created_at, updated_at"

func scanUser(row interface{ Scan(...any) error }) (*clinic.User, error) {
	var u clinic.User
	var role string
	var c, up int64
	if err := row.Scan(&u.ID, &u.Username, &u.Name, &role, &u.Disabled, &u.PasswordHash, &u.TOTPSecret, &u.TOTPPending, &u.TOTPStep,
		&u.Version, &c, &up); err != nil {
		return nil, err
	}
	u.Role, u.CreatedAt, u.UpdatedAt = clinic.Role(role), fromMS(c), fromMS(up)
	u.TwoFactor = u.TOTPSecret != ""
	return &u, nil
}

func (t *tx) CreateUser(u *clinic.User) error {
	err := t.queryRow(`INSERT INTO users (username, name, role, disabled, password_hash, version, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?) RETURNING id`,
		u.Username, u.Name, string(u.Role), u.Disabled, u.PasswordHash, ms(u.CreatedAt), ms(u.UpdatedAt)).Scan(&u.ID)
	if err != nil && t.d.IsUnique(err) {
		return clinic.Errorf(clinic.ECONFLICT, "username", "%q is taken", u.Username)
	}
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	u.Version = 1
	return nil
}

func (t *tx) UpdateUser(u *clinic.User) error {
	res, err := t.exec(`UPDATE users SET name = ?, role = ?, disabled = ?, password_hash = ?, totp_secret = ?, totp_pending = ?,
		version = version + 1, updated_at = ? WHERE id = ? AND version = ?`, u.Name, string(u.Role), u.Disabled, u.PasswordHash,
		u.TOTPSecret, u.TOTPPending, ms(u.UpdatedAt), u.ID, u.Version)
	if err != nil {
		return err
	}
	if err := t.checkVersion(res, "users", "user", u.ID, u.Version); err != nil {
		return err
	}
	u.Version++
	return nil
}

func (t *tx) User(id int64) (*clinic.User, error) {
	u, err := scanUser(t.queryRow("SELECT "+userCols+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("user", id)
	}
	return u, err
}

func (t *tx) UserByUsername(name string) (*clinic.User, error) {
	u, err := scanUser(t.queryRow("SELECT "+userCols+" FROM users WHERE username = ?", name))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, clinic.Errorf(clinic.ENOTFOUND, "username", "no user %q", name)
	}
	return u, err
}

func (t *tx) Users() ([]*clinic.User, error) {
	rows, err := t.query("SELECT " + userCols + " FROM users ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*clinic.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func (t *tx) SetTOTPPending(id int64, secret string) error {
	_, err := t.exec("UPDATE users SET totp_pending = ? WHERE id = ?", secret, id)
	return err
}

func (t *tx) SetTOTPStep(id int64, step int64) error {
	_, err := t.exec("UPDATE users SET totp_step = ? WHERE id = ?", step, id)
	return err
}

func (t *tx) CountUsers() (int, error) {
	var n int
	err := t.queryRow("SELECT COUNT(*) FROM users").Scan(&n)
	return n, err
}

// ---- sessions and tokens ----

func (t *tx) CreateSession(s *clinic.Session) error {
	_, err := t.exec("INSERT INTO sessions (token_hash, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
		s.TokenHash, s.UserID, s.CSRF, ms(s.CreatedAt), ms(s.ExpiresAt))
	return err
}

func (t *tx) Session(hash string) (*clinic.Session, error) {
	var s clinic.Session
	var c, e int64
	err := t.queryRow("SELECT token_hash, user_id, csrf, created_at, expires_at FROM sessions WHERE token_hash = ?", hash).
		Scan(&s.TokenHash, &s.UserID, &s.CSRF, &c, &e)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, clinic.Errorf(clinic.ENOTFOUND, "", "no such session")
	}
	s.CreatedAt, s.ExpiresAt = fromMS(c), fromMS(e)
	return &s, err
}

func (t *tx) DeleteSession(hash string) error {
	_, err := t.exec("DELETE FROM sessions WHERE token_hash = ?", hash)
	return err
}

func (t *tx) DeleteUserSessions(userID int64) (int, error) {
	res, err := t.exec("DELETE FROM sessions WHERE user_id = ?", userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *tx) DeleteExpiredSessions(now time.Time) error {
	_, err := t.exec("DELETE FROM sessions WHERE expires_at <= ?", ms(now))
	return err
}

const tokenCols = "id, name, role, serial, hash, created_at, created_by, revoked_at"

func scanToken(row interface{ Scan(...any) error }) (*clinic.Token, error) {
	var tk clinic.Token
	var role string
	var c int64
	var r sql.NullInt64
	if err := row.Scan(&tk.ID, &tk.Name, &role, &tk.Serial, &tk.Hash, &c, &tk.CreatedBy, &r); err != nil {
		return nil, err
	}
	tk.Role, tk.CreatedAt = clinic.Role(role), fromMS(c)
	if r.Valid {
		at := fromMS(r.Int64)
		tk.RevokedAt = &at
	}
	return &tk, nil
}

func (t *tx) CreateToken(tk *clinic.Token) error {
	return t.queryRow("INSERT INTO tokens (name, role, serial, hash, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
		tk.Name, string(tk.Role), tk.Serial, tk.Hash, ms(tk.CreatedAt), tk.CreatedBy).Scan(&tk.ID)
}

func (t *tx) Token(id int64) (*clinic.Token, error) {
	tk, err := scanToken(t.queryRow("SELECT "+tokenCols+" FROM tokens WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("token", id)
	}
	return tk, err
}

func (t *tx) TokenByHash(hash string) (*clinic.Token, error) {
	tk, err := scanToken(t.queryRow("SELECT "+tokenCols+" FROM tokens WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, clinic.Errorf(clinic.ENOTFOUND, "", "no such token")
	}
	return tk, err
}

func (t *tx) Tokens() ([]*clinic.Token, error) {
	rows, err := t.query("SELECT " + tokenCols + " FROM tokens ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*clinic.Token
	for rows.Next() {
		tk, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, tk)
	}
	return out, rows.Err()
}

func (t *tx) RevokeToken(id int64, at time.Time) error {
	_, err := t.exec("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", ms(at), id)
	return err
}

func (t *tx) RevokeTokensBy(userID int64, at time.Time) (int, error) {
	res, err := t.exec("UPDATE tokens SET revoked_at = ? WHERE created_by = ? AND revoked_at IS NULL", ms(at), userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ---- the administrator's security worklist ----

const securityCols = "id, kind, subject, user_id, reason, raised_at, until_at, resolved_at, resolved_by"

func scanSecurityItem(row interface{ Scan(...any) error }) (*clinic.SecurityItem, error) {
	var it clinic.SecurityItem
	var raised, until int64
	var resolved sql.NullInt64
	if err := row.Scan(&it.ID, &it.Kind, &it.Subject, &it.UserID, &it.Reason, &raised, &until, &resolved, &it.ResolvedBy); err != nil {
		return nil, err
	}
	it.RaisedAt, it.Until = fromMS(raised), fromMS(until)
	if resolved.Valid {
		at := fromMS(resolved.Int64)
		it.ResolvedAt = &at
	}
	return &it, nil
}

func (t *tx) CreateSecurityItem(it *clinic.SecurityItem) error {
	err := t.queryRow(`INSERT INTO security_items (kind, subject, user_id, reason, raised_at, until_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, it.Kind, it.Subject, it.UserID, it.Reason, ms(it.RaisedAt), ms(it.Until)).Scan(&it.ID)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	return nil
}

func (t *tx) SecurityItem(id int64) (*clinic.SecurityItem, error) {
	it, err := scanSecurityItem(t.queryRow("SELECT "+securityCols+" FROM security_items WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("security item", id)
	}
	return it, err
}

func (t *tx) SecurityItems(openOnly bool) ([]*clinic.SecurityItem, error) {
	q := "SELECT " + securityCols + " FROM security_items"
	if openOnly {
		q += " WHERE resolved_at IS NULL"
	}
	q += " ORDER BY resolved_at IS NOT NULL, raised_at DESC, id DESC LIMIT 1000"
	rows, err := t.query(q)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []*clinic.SecurityItem{}
	for rows.Next() {
		it, err := scanSecurityItem(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

func (t *tx) ResolveSecurityItem(id int64, at time.Time, by string) error {
	_, err := t.exec("UPDATE security_items SET resolved_at = ?, resolved_by = ? WHERE id = ? AND resolved_at IS NULL", ms(at), by, id)
	return err
}
