-- Nothing recorded twice (issue 11 item 7): the answer of a create made under
-- an idempotency key (the API's Idempotency-Key header, a page form's key),
-- stored in the create's own transaction, per principal (scope), kept for
-- clinic.IdempotencyTTL. The fingerprint tells a repeat of the request from
-- another request under the same key.
CREATE TABLE idempotency_keys (
	scope TEXT NOT NULL,
	idem_key TEXT NOT NULL,
	fingerprint TEXT NOT NULL,
	status INTEGER NOT NULL,
	location TEXT NOT NULL,
	body TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
