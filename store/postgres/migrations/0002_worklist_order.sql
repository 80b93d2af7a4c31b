-- The worklist read walks one index in its exact order (priority, due,
-- patient, kind) and stops after a page; a kind filter has its own index.
DROP INDEX work_order;
CREATE INDEX work_order ON work_items (priority, due, patient_id, kind, show_from);
CREATE INDEX work_kind ON work_items (kind, priority, due, patient_id, show_from);
