-- Drug library versions a clinic published (docs/clinic.md): the file as
-- given, its SHA-256 and who published it, when and why. The newest is in
-- force. A published version is immutable: the database refuses to change or
-- remove one.
CREATE TABLE library_versions (
	id INTEGER PRIMARY KEY AUTOINCREMENT,
	version TEXT NOT NULL UNIQUE,
	digest TEXT NOT NULL,
	dated TEXT NOT NULL,
	publisher TEXT NOT NULL,
	note TEXT NOT NULL,
	published_by TEXT NOT NULL,
	published_by_id BIGINT NOT NULL,
	published_at BIGINT NOT NULL,
	drugs TEXT NOT NULL,
	data TEXT NOT NULL
);

CREATE TRIGGER library_versions_no_update BEFORE UPDATE ON library_versions
BEGIN SELECT RAISE(ABORT, 'a published drug library version is immutable'); END;
CREATE TRIGGER library_versions_no_delete BEFORE DELETE ON library_versions
BEGIN SELECT RAISE(ABORT, 'a published drug library version is immutable'); END;
