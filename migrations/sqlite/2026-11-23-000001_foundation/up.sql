-- Foundation: organisation, staff, API keys, guest profiles and their satellites, audit log.
-- Portable types only (see ENGINEERING.md §3): ids TEXT (UUIDv7), JSON as TEXT, timestamps UTC.

CREATE TABLE properties (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    currency TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE staff_users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    property_ids TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_users_role_idx ON staff_users (role, id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    property_ids TEXT NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    email TEXT,
    email_norm TEXT UNIQUE,
    phone TEXT UNIQUE,
    gender TEXT,
    nationality TEXT,
    language TEXT,
    birth_date DATE,
    company TEXT,
    job_title TEXT,
    address TEXT,
    preferred_channel TEXT,
    grade TEXT NOT NULL,
    grade_override TEXT,
    grade_override_reason TEXT,
    lifecycle_stage TEXT NOT NULL,
    source_channel TEXT NOT NULL,
    preferences TEXT NOT NULL,
    special_dates TEXT NOT NULL,
    id_doc_type TEXT,
    id_doc_country TEXT,
    id_doc_number_enc TEXT,
    id_doc_key_id TEXT,
    id_doc_last4 TEXT,
    search_text TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX customers_grade_idx ON customers (grade, id);
CREATE INDEX customers_lifecycle_idx ON customers (lifecycle_stage, id);

-- Substring search over name/email/phone: FTS5 trigram index kept in step by triggers.
CREATE VIRTUAL TABLE customers_fts USING fts5(
    search_text, content='customers', content_rowid='rowid', tokenize='trigram'
);
CREATE TRIGGER customers_fts_ai AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER customers_fts_ad AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER customers_fts_au AFTER UPDATE OF search_text ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
    INSERT INTO customers_fts (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    tag TEXT NOT NULL,
    PRIMARY KEY (customer_id, tag)
);
CREATE INDEX customer_tags_tag_idx ON customer_tags (tag, customer_id);

CREATE TABLE customer_external_refs (
    system TEXT NOT NULL,
    external_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (system, external_id)
);
CREATE INDEX customer_external_refs_customer_idx ON customer_external_refs (customer_id);

CREATE TABLE customer_consents (
    customer_id TEXT NOT NULL REFERENCES customers (id),
    purpose TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    source_channel TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (customer_id, purpose)
);

CREATE TABLE consent_events (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    purpose TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    source_channel TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX consent_events_customer_idx ON consent_events (customer_id, id);

CREATE TABLE customer_accounts (
    customer_id TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    family_id TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    property_id TEXT REFERENCES properties (id),
    occurred_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL,
    direction TEXT NOT NULL,
    summary TEXT NOT NULL,
    content TEXT,
    result TEXT,
    staff_id TEXT,
    follow_up_status TEXT NOT NULL,
    follow_up_due_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX interactions_customer_idx ON interactions (customer_id, id);
CREATE INDEX interactions_follow_up_idx ON interactions (follow_up_status, follow_up_due_at);

-- Stays are pushed by integrations (loyalty issue); the table exists from the start so guest
-- search can filter by property visited.
CREATE TABLE stays (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    property_id TEXT NOT NULL REFERENCES properties (id),
    confirmation_number TEXT NOT NULL,
    check_in DATE NOT NULL,
    check_out DATE NOT NULL,
    room_type TEXT,
    room_number TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (property_id, confirmation_number)
);
CREATE INDEX stays_customer_idx ON stays (customer_id, check_in);
CREATE INDEX stays_property_customer_idx ON stays (property_id, customer_id);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT,
    ip TEXT,
    request_id TEXT,
    details TEXT NOT NULL
);
CREATE INDEX audit_log_target_idx ON audit_log (target_kind, target_id, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
