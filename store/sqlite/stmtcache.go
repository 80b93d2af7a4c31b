package sqlite

// A prepared-statement cache per connection. modernc.org/sqlite prepares —
// parses and plans — every statement it is given as text, and database/sql
// hands it text each time: under 200 clients a fifth of the server's time
// went to SQLite's parser. The store's statements are a fixed set of texts,
// so each connection keeps the statements it prepared and runs them again
// with new arguments. The cache sits in the driver connection, below
// database/sql's pool, so it needs no connection of its own and holds no
// lock of the pool's.

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// maxCached bounds the statements one connection keeps.
const maxCached = 256

type connector struct{ dsn string }

func (c connector) Connect(context.Context) (driver.Conn, error) {
	dc, err := (&sqlite.Driver{}).Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{inner: dc, stmts: map[string]*cachedStmt{}}, nil
}

func (c connector) Driver() driver.Driver { return &sqlite.Driver{} }

// inner is what modernc.org/sqlite's connection implements.
type inner interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type cachingConn struct {
	inner driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool // its rows are open: a second use prepares anew
}

func (c *cachingConn) in() inner { return c.inner.(inner) }

// cacheable: one statement, no script (migrations run as scripts once).
func cacheable(q string) bool { return !strings.Contains(q, ";") }

// stmt returns the connection's prepared statement for q, preparing and
// keeping it on first use; nil when q is not to be cached or is in use.
func (c *cachingConn) stmt(ctx context.Context, q string) *cachedStmt {
	if cs, ok := c.stmts[q]; ok {
		if cs.busy {
			return nil
		}
		return cs
	}
	if !cacheable(q) || len(c.stmts) >= maxCached {
		return nil
	}
	st, err := c.in().PrepareContext(ctx, q)
	if err != nil {
		return nil // run as text: the error is reported there
	}
	cs := &cachedStmt{st: st}
	c.stmts[q] = cs
	return cs
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	if cs := c.stmt(ctx, q); cs != nil {
		return cs.st.(driver.StmtExecContext).ExecContext(ctx, args)
	}
	return c.in().ExecContext(ctx, q, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	cs := c.stmt(ctx, q)
	if cs == nil {
		return c.in().QueryContext(ctx, q, args)
	}
	rows, err := cs.st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs}, nil
}

type cachedRows struct {
	driver.Rows
	cs *cachedStmt
}

func (r *cachedRows) Close() error {
	r.cs.busy = false
	return r.Rows.Close()
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(q) }
func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.in().PrepareContext(ctx, q)
}
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.in().BeginTx(context.Background(), driver.TxOptions{})
}
func (c *cachingConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.in().BeginTx(ctx, o)
}
func (c *cachingConn) Ping(ctx context.Context) error         { return c.in().Ping(ctx) }
func (c *cachingConn) ResetSession(ctx context.Context) error { return c.in().ResetSession(ctx) }
func (c *cachingConn) IsValid() bool                          { return c.in().IsValid() }

func (c *cachingConn) Close() error {
	for _, cs := range c.stmts {
		_ = cs.st.Close()
	}
	c.stmts = nil
	return c.inner.Close()
}
