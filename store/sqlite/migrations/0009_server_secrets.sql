-- Secrets every server on the database shares (the sign-in form's CSRF key),
-- made by the first server that needs one: several `thecal serve` behind one
-- load balancer accept each other's forms (issue 13, item 8).
CREATE TABLE server_secrets (
	name TEXT PRIMARY KEY,
	value TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
