-- Release 2026.11.3 of the pager application acknowledges incidents: it reads and writes
-- these columns, so that version needs this migration (and a rollback of the
-- application to 2026.11.2 goes with a rollback of the database).
ALTER TABLE incidents ADD COLUMN acknowledged_at timestamptz;
ALTER TABLE incidents ADD COLUMN acknowledged_by bigint REFERENCES pager_users (id);
