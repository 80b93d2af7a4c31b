-- Lists at the size of a real clinic (issue 13, item 2). The worklist keeps
-- each item's drug (filter) and, for a refill, what to prepare; a patient's
-- list columns (status, drug, pump) and search words are kept beside the
-- patient (clinic.IndexOf computes them in the transaction of every change);
-- the words are indexed by FTS5. The migration's Go step
-- (clinic.IndexPatients) fills both for the patients already here. The
-- audit view filters by patient, person, action and time on indexes.
ALTER TABLE work_items ADD COLUMN drug TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN concentration TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN volume TEXT NOT NULL DEFAULT '';
CREATE INDEX work_drug ON work_items (drug, priority, due, patient_id, show_from);
CREATE INDEX work_due ON work_items (due, priority, patient_id, show_from);
CREATE INDEX work_show ON work_items (show_from);

CREATE TABLE patient_index (
	patient_id INTEGER PRIMARY KEY REFERENCES patients (id),
	sort_name TEXT NOT NULL,
	name TEXT NOT NULL,
	status TEXT NOT NULL,
	drug TEXT NOT NULL,
	model TEXT NOT NULL,
	serial TEXT NOT NULL,
	search TEXT NOT NULL
);
CREATE INDEX patient_index_name ON patient_index (sort_name, patient_id);
CREATE INDEX patient_index_status ON patient_index (status, sort_name, patient_id);
CREATE INDEX patient_index_drug ON patient_index (drug, sort_name, patient_id);
CREATE INDEX patient_index_model ON patient_index (model, sort_name, patient_id);

-- The search words, as an external-content FTS5 index kept by triggers.
CREATE VIRTUAL TABLE patient_search USING fts5(search, content='patient_index', content_rowid='patient_id',
	tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE TRIGGER patient_index_ai AFTER INSERT ON patient_index BEGIN
	INSERT INTO patient_search (rowid, search) VALUES (new.patient_id, new.search);
END;
CREATE TRIGGER patient_index_ad AFTER DELETE ON patient_index BEGIN
	INSERT INTO patient_search (patient_search, rowid, search) VALUES ('delete', old.patient_id, old.search);
END;
CREATE TRIGGER patient_index_au AFTER UPDATE OF search ON patient_index BEGIN
	INSERT INTO patient_search (patient_search, rowid, search) VALUES ('delete', old.patient_id, old.search);
	INSERT INTO patient_search (rowid, search) VALUES (new.patient_id, new.search);
END;

CREATE INDEX audit_patient ON audit (patient_id, seq);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_entity ON audit (entity, seq);
CREATE INDEX audit_at ON audit (at, seq);
