package store

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ExportFormat names the logical export format: JSON lines, a header then one
// line per row, the same for SQLite and PostgreSQL (so it also moves a clinic
// from one to the other).
const ExportFormat = "thecal-export/1"

// tables in the order rows must be restored (foreign keys).
var tables = []struct {
	name  string
	bools map[string]bool
	ids   bool // has an identity id column
}{
	{"users", map[string]bool{"disabled": true}, true},
	{"security_items", nil, true},
	{"tokens", nil, true},
	{"patients", nil, true},
	{"records", map[string]bool{"is_open": true}, true},
	{"work_items", map[string]bool{"high_risk": true, "acknowledged": true}, false},
	{"idempotency_keys", nil, false},
	{"library_versions", nil, true},
	{"audit", nil, false},
	{"audit_head", nil, false},
}

type exportLine struct {
	Format  string         `json:"format,omitempty"`
	Schema  int            `json:"schema,omitempty"`
	Dialect string         `json:"dialect,omitempty"`
	Table   string         `json:"table,omitempty"`
	Row     map[string]any `json:"row,omitempty"`
}

// Export writes every table (sessions excepted) from one consistent snapshot.
func (db *DB) Export(ctx context.Context, w io.Writer) (rows int, err error) {
	opts := &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead}
	if db.Dialect.Name == "sqlite" {
		opts = nil
	}
	tx, err := db.R.BeginTx(ctx, opts)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var schema int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&schema); err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	if err := enc.Encode(exportLine{Format: ExportFormat, Schema: schema, Dialect: db.Dialect.Name}); err != nil {
		return 0, err
	}
	for _, t := range tables {
		order := ""
		switch {
		case t.ids:
			order = " ORDER BY id"
		case t.name == "audit":
			order = " ORDER BY seq"
		}
		r, err := tx.QueryContext(ctx, "SELECT * FROM "+t.name+order)
		if err != nil {
			return rows, err
		}
		cols, _ := r.Columns()
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				r.Close()
				return rows, err
			}
			row := map[string]any{}
			for i, c := range cols {
				v := vals[i]
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				if t.bools[c] {
					v = truthy(v)
				}
				row[c] = v
			}
			if err := enc.Encode(exportLine{Table: t.name, Row: row}); err != nil {
				r.Close()
				return rows, err
			}
			rows++
		}
		r.Close()
		if err := r.Err(); err != nil {
			return rows, err
		}
	}
	return rows, bw.Flush()
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	return false
}

// Import reads an export into an empty database, in one transaction.
// afterImport statements (PostgreSQL resets its identity sequences) run last.
func (db *DB) Import(ctx context.Context, r io.Reader, afterImport []string) (rows int, err error) {
	tx, err := db.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM patients) + (SELECT COUNT(*) FROM audit)").Scan(&n); err != nil {
		return 0, err
	}
	if n > 0 {
		return 0, fmt.Errorf("store: restore needs an empty database: this one has users, patients or audit entries")
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM audit_head"); err != nil {
		return 0, err
	}
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<20))
	dec.UseNumber()
	var head exportLine
	if err := dec.Decode(&head); err != nil || head.Format != ExportFormat {
		return 0, fmt.Errorf("store: not a %s file", ExportFormat)
	}
	// Rows are loaded as they were exported: the conversions of the migrations
	// this database has (prescription_program moved a prescription's pump
	// fields into "program") have not run on them, so an export of another
	// schema is refused, not half read.
	var schema int
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&schema); err != nil {
		return 0, err
	}
	if head.Schema != schema {
		return 0, fmt.Errorf("store: the export is of schema %d and this database is at schema %d: restore it into a database "+
			"of schema %d (the thecal version that wrote it); the server migrates it when it next starts", head.Schema, schema, head.Schema)
	}
	known := map[string]map[string]bool{}
	for _, t := range tables {
		known[t.name] = t.bools
	}
	for {
		var l exportLine
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			return rows, fmt.Errorf("store: line %d: %w", rows+2, err)
		}
		if _, ok := known[l.Table]; !ok {
			return rows, fmt.Errorf("store: line %d: unknown table %q", rows+2, l.Table)
		}
		cols := make([]string, 0, len(l.Row))
		args := make([]any, 0, len(l.Row))
		for c, v := range l.Row {
			if !isIdent(c) {
				return rows, fmt.Errorf("store: line %d: bad column %q", rows+2, c)
			}
			if num, ok := v.(json.Number); ok {
				i, err := num.Int64()
				if err != nil {
					return rows, fmt.Errorf("store: line %d: %s: %w", rows+2, c, err)
				}
				v = i
			}
			cols = append(cols, c)
			args = append(args, v)
		}
		q := "INSERT INTO " + l.Table + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ")"
		if _, err := tx.ExecContext(ctx, Rebind(&db.Dialect, q), args...); err != nil {
			return rows, fmt.Errorf("store: line %d: %w", rows+2, err)
		}
		rows++
	}
	for _, s := range afterImport {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return rows, err
		}
	}
	return rows, tx.Commit()
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
