package clinic

import (
	"context"
	"time"
)

// Store keeps the clinic's records. Implementations (store/sqlite,
// store/postgres) hold no business rule: they save and load what the Service
// gives them, check versions and unique keys, and report not-found, conflicts
// and unique violations as *Error with ENOTFOUND or ECONFLICT.
type Store interface {
	// Update runs fn in one read-write transaction: everything fn writes is
	// committed, durably, before Update returns nil, or nothing is.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in one read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	Ping(ctx context.Context) error
	Close() error
}

// Tx is one transaction. Its methods use the context Update or View was given.
type Tx interface {
	CreateUser(u *User) error // sets ID, Version 1
	// UpdateUser saves u if its stored version is still u.Version, then
	// increments u.Version; otherwise ECONFLICT.
	UpdateUser(u *User) error
	User(id int64) (*User, error)
	UserByUsername(username string) (*User, error)
	Users() ([]*User, error)
	CountUsers() (int, error)

	// SetTOTPPending keeps a second factor's secret being enrolled;
	// SetTOTPStep the time step of the last code accepted. Neither changes
	// the user's version (UpdateUser turns a second factor on or off).
	SetTOTPPending(userID int64, secret string) error
	SetTOTPStep(userID int64, step int64) error

	CreateSession(s *Session) error
	Session(tokenHash string) (*Session, error)
	DeleteSession(tokenHash string) error
	DeleteExpiredSessions(now time.Time) error
	// DeleteUserSessions ends every session of a user; it returns how many.
	DeleteUserSessions(userID int64) (int, error)

	CreateToken(t *Token) error
	Token(id int64) (*Token, error)
	TokenByHash(hash string) (*Token, error)
	Tokens() ([]*Token, error)
	RevokeToken(id int64, at time.Time) error
	// RevokeTokensBy revokes every token a user made; it returns how many.
	RevokeTokensBy(userID int64, at time.Time) (int, error)

	// CreateSecurityItem saves an item of the administrator's security
	// worklist and sets its ID; SecurityItems lists them, open ones first,
	// newest first.
	CreateSecurityItem(it *SecurityItem) error
	SecurityItem(id int64) (*SecurityItem, error)
	SecurityItems(openOnly bool) ([]*SecurityItem, error)
	ResolveSecurityItem(id int64, at time.Time, by string) error

	CreatePatient(p *Patient) error // sets ID, Version 1; ECONFLICT on a duplicate MRN
	UpdatePatient(p *Patient) error // version-checked as UpdateUser
	Patient(id int64) (*Patient, error)
	// Patients returns one page of the patients f selects, in its order,
	// and how many it selects in all. f.Words are matched through the
	// database's text index (SQLite FTS5, PostgreSQL full text), each as the
	// start of a word of PatientIndex.Search.
	Patients(f PatientFilter) ([]*PatientRow, int, error)
	// IndexPatient sets a patient's list columns and search words.
	IndexPatient(ix *PatientIndex) error
	// PatientsAfter returns up to limit patients with an ID above afterID,
	// in ID order (the audit verification reads them all).
	PatientsAfter(afterID int64, limit int) ([]*Patient, error)

	// CreateRecord saves a new record and sets its ID and Version 1. When r.Key
	// is set and a record of the same kind already has it, nothing is written,
	// r is filled from the stored record and created is false.
	CreateRecord(r *Record) (created bool, err error)
	UpdateRecord(r *Record) error // version-checked as UpdateUser
	Record(id int64) (*Record, error)
	Records(f RecordFilter) ([]*Record, error)
	// RecordsAfter returns up to limit records of every kind with an ID above
	// afterID, in ID order.
	RecordsAfter(afterID int64, limit int) ([]*Record, error)

	// ReplaceWork sets a patient's worklist items to items.
	ReplaceWork(patientID int64, items []WorkItem) error
	// Work returns a page of the items q selects, in q.Sort's order (most
	// urgent first: priority, then due); CountWork how many it selects.
	Work(q WorkQuery) ([]WorkItem, error)
	CountWork(q WorkQuery) (int, error)

	// CreateLibraryVersion saves a published drug library version (with its
	// file) and sets its ID; ECONFLICT when the version name exists. Stored
	// versions are never changed or removed.
	CreateLibraryVersion(v *LibraryVersion) error
	// LibraryVersion returns a published version with its file, ENOTFOUND if
	// there is none of that name.
	LibraryVersion(version string) (*LibraryVersion, error)
	// LatestLibraryVersion returns the newest published version without its
	// file, or nil when none is published.
	LatestLibraryVersion() (*LibraryVersion, error)
	// LibraryVersions returns every published version, newest first, without
	// their files.
	LibraryVersions() ([]*LibraryVersion, error)

	// Idempotent returns the answer stored under a key of a scope, created
	// at or after since; nil when there is none.
	Idempotent(scope, key string, since time.Time) (*Idempotent, error)
	// SaveIdempotent removes the answers created before expired and stores
	// r; ECONFLICT when its key is stored already (by a concurrent
	// transaction): the caller's transaction is then to be rolled back.
	SaveIdempotent(r *Idempotent, expired time.Time) error

	// AuditHead returns the last audit entry's sequence number and hash (0 and
	// "" for an empty trail) and holds the trail for this transaction, so that
	// entries are appended one writer at a time.
	AuditHead() (seq int64, hash string, err error)
	AppendAudit(e *AuditEntry) error
	Audit(afterSeq int64, limit int) ([]*AuditEntry, error)
	// AuditLog returns a page of the entries f selects, newest first (or
	// oldest first with f.Oldest); CountAudit how many it selects.
	AuditLog(f AuditFilter) ([]*AuditEntry, error)
	CountAudit(f AuditFilter) (int, error)

	// Secret returns the shared secret of that name, storing fresh as it
	// when there is none yet: every server on the database gets the same.
	Secret(name string, fresh []byte) ([]byte, error)
}

// Record is the stored form of a patient record: the columns queries need and
// the record itself as JSON.
type Record struct {
	ID        int64
	PatientID int64
	Kind      Kind
	At        time.Time // the record's clinical time, for ordering
	Key       string    // unique per kind when not empty (idempotency, serials)
	Open      bool      // needs attention: an alarm not acknowledged, a follow-up not done…
	Version   int64
	Data      []byte
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RecordFilter selects a patient's records of one kind, oldest first (or
// newest first with Newest), at most Limit (0: all). With Key set it selects
// the record of Kind with that key, whoever the patient.
type RecordFilter struct {
	PatientID int64
	Kind      Kind
	Key       string
	OpenOnly  bool
	Newest    bool
	Limit     int
}

// WorkQuery selects worklist items shown at Now.
type WorkQuery struct {
	Now       time.Time
	Kind      WorkKind // "" for all
	PatientID int64    // 0 for all
	Priority  int      // 1 urgent, 2 high, 3 normal; 0 for all
	Drug      string   // the patient's drug, "" for all
	// DueFrom and DueTo bound the due date (inclusive, exclusive); zero for
	// no bound.
	DueFrom, DueTo time.Time
	Sort           string // "urgency" (default), "due", "patient"
	Limit          int
	Offset         int
}
