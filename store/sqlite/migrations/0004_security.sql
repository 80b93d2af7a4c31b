-- Sign-in and audit hardening (issue 14). Users may have a TOTP second
-- factor (the secret, one being enrolled, the last time step accepted). Each
-- audit entry carries the digest of the record it wrote, so that a record
-- changed in the database is found. The administrator's security worklist
-- holds accounts and addresses locked by the sign-in throttle.
ALTER TABLE users ADD COLUMN totp_secret TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_pending TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE audit ADD COLUMN record_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX tokens_created_by ON tokens (created_by);

CREATE TABLE security_items (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	kind TEXT NOT NULL,
	subject TEXT NOT NULL,
	user_id BIGINT NOT NULL,
	reason TEXT NOT NULL,
	raised_at BIGINT NOT NULL,
	until_at BIGINT NOT NULL,
	resolved_at BIGINT,
	resolved_by TEXT NOT NULL DEFAULT ''
);
CREATE INDEX security_items_open ON security_items (resolved_at, raised_at);
