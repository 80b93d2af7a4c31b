-- Lists at the size of a real clinic (issue 13, item 2). The worklist keeps
-- each item's drug (filter) and, for a refill, what to prepare; a patient's
-- list columns (status, drug, pump) and search words are kept beside the
-- patient (clinic.IndexOf computes them in the transaction of every change);
-- the words are indexed by PostgreSQL's full text search (a GIN index over
-- their tsvector, 'simple' configuration: no stemming, the words are folded
-- already). The migration's Go step (clinic.IndexPatients) fills both for the
-- patients already here. The audit view filters by patient, person, action
-- and time on indexes.
ALTER TABLE work_items ADD COLUMN drug TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN concentration TEXT NOT NULL DEFAULT '';
ALTER TABLE work_items ADD COLUMN volume TEXT NOT NULL DEFAULT '';
CREATE INDEX work_drug ON work_items (drug, priority, due, patient_id, show_from);
CREATE INDEX work_due ON work_items (due, priority, patient_id, show_from);
CREATE INDEX work_show ON work_items (show_from);

CREATE TABLE patient_index (
	patient_id BIGINT PRIMARY KEY REFERENCES patients (id),
	sort_name TEXT COLLATE "C" NOT NULL,
	name TEXT NOT NULL,
	status TEXT NOT NULL,
	drug TEXT NOT NULL,
	model TEXT NOT NULL,
	serial TEXT NOT NULL,
	search TEXT NOT NULL,
	search_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', search)) STORED
);
CREATE INDEX patient_index_name ON patient_index (sort_name, patient_id);
CREATE INDEX patient_index_status ON patient_index (status, sort_name, patient_id);
CREATE INDEX patient_index_drug ON patient_index (drug, sort_name, patient_id);
CREATE INDEX patient_index_model ON patient_index (model, sort_name, patient_id);
CREATE INDEX patient_search ON patient_index USING GIN (search_tsv);

CREATE INDEX audit_patient ON audit (patient_id, seq);
CREATE INDEX audit_actor ON audit (actor, seq);
CREATE INDEX audit_action ON audit (action, seq);
CREATE INDEX audit_entity ON audit (entity, seq);
CREATE INDEX audit_at ON audit (at, seq);
