-- Critical alarms (issue 11 item 6): a critical alarm acknowledged whose
-- condition the pump still reports stays on the worklist, marked so.
ALTER TABLE work_items ADD COLUMN acknowledged BOOLEAN NOT NULL DEFAULT FALSE;
