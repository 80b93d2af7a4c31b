-- Thecal clinic schema, SQLite. Times are Unix milliseconds (UTC).
CREATE TABLE users (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	username TEXT NOT NULL UNIQUE,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	disabled BOOLEAN NOT NULL DEFAULT FALSE,
	password_hash TEXT NOT NULL,
	version BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	user_id BIGINT NOT NULL REFERENCES users (id),
	csrf TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

CREATE TABLE tokens (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	name TEXT NOT NULL,
	role TEXT NOT NULL,
	serial TEXT NOT NULL,
	hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL,
	created_by BIGINT NOT NULL,
	revoked_at BIGINT
);

CREATE TABLE patients (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	mrn TEXT NOT NULL UNIQUE,
	family_lower TEXT NOT NULL,
	version BIGINT NOT NULL,
	data TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE INDEX patients_family ON patients (family_lower);

CREATE TABLE records (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	patient_id BIGINT NOT NULL REFERENCES patients (id),
	kind TEXT NOT NULL,
	at BIGINT NOT NULL,
	ukey TEXT,
	is_open BOOLEAN NOT NULL,
	version BIGINT NOT NULL,
	data TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX records_key ON records (kind, ukey);
CREATE INDEX records_patient ON records (patient_id, kind, at, id);
CREATE INDEX records_open ON records (patient_id, kind, at) WHERE is_open;

CREATE TABLE work_items (
	patient_id BIGINT NOT NULL REFERENCES patients (id),
	kind TEXT NOT NULL,
	record_id BIGINT NOT NULL,
	priority INTEGER NOT NULL,
	high_risk BOOLEAN NOT NULL,
	show_from BIGINT NOT NULL,
	due BIGINT NOT NULL,
	reason TEXT NOT NULL
);
CREATE INDEX work_order ON work_items (priority, due, show_from);
CREATE INDEX work_patient ON work_items (patient_id);

CREATE TABLE audit (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	actor_id BIGINT NOT NULL,
	action TEXT NOT NULL,
	entity TEXT NOT NULL,
	entity_id BIGINT NOT NULL,
	patient_id BIGINT NOT NULL,
	before_json TEXT NOT NULL,
	after_json TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE TABLE audit_head (
	id INTEGER PRIMARY KEY CHECK (id = 1),
	seq BIGINT NOT NULL,
	hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

-- The audit trail is append-only: the database itself refuses to change it.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
