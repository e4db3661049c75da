-- Bulk guest imports (POST /api/v1/customer-imports, concierge import): the job, the lines still
-- to apply (deleted as they are applied: raw lines hold personal data and are kept no longer
-- than needed), and the lines that failed.
CREATE TABLE customer_imports (
    id TEXT PRIMARY KEY,
    format TEXT NOT NULL,
    -- receiving (upload running) | queued | running | completed
    state TEXT NOT NULL,
    -- CSV: the header line (column names); NDJSON: NULL.
    header TEXT,
    total BIGINT NOT NULL DEFAULT 0,
    processed BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL DEFAULT 0,
    updated BIGINT NOT NULL DEFAULT 0,
    failed BIGINT NOT NULL DEFAULT 0,
    -- Who imports (the job acts as them): kind, id, role or scopes and properties as JSON.
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    -- The caller's Idempotency-Key and the SHA-256 of the body (a retry with the same key gets
    -- this job; another body under the key is refused).
    idempotency_key TEXT,
    body_sha256 TEXT,
    lease_owner TEXT,
    lease_until TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE UNIQUE INDEX customer_imports_key_idx ON customer_imports (actor_kind, actor_id, idempotency_key);
CREATE INDEX customer_imports_pending_idx ON customer_imports (state, lease_until);

CREATE TABLE customer_import_chunks (
    import_id TEXT NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    -- The file line the chunk's first record starts on (1-based).
    first_line BIGINT NOT NULL,
    -- The chunk's records as a JSON array of [line, text] pairs.
    records TEXT NOT NULL,
    PRIMARY KEY (import_id, seq)
);

CREATE TABLE customer_import_errors (
    import_id TEXT NOT NULL REFERENCES customer_imports (id) ON DELETE CASCADE,
    line BIGINT NOT NULL,
    field TEXT NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (import_id, line, field)
);
