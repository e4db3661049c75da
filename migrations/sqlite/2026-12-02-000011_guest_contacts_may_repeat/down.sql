PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE customers_rebuilt (
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
-- rowid kept: the FTS index (customers_fts) is keyed on it.
INSERT INTO customers_rebuilt (rowid, id, given_name, family_name, email, email_norm, phone, gender, nationality, language, birth_date, company, job_title, address, preferred_channel, grade, grade_override, grade_override_reason, lifecycle_stage, source_channel, preferences, special_dates, id_doc_type, id_doc_country, id_doc_number_enc, id_doc_key_id, id_doc_last4, search_text, version, created_at, updated_at)
    SELECT rowid, id, given_name, family_name, email, email_norm, phone, gender, nationality, language, birth_date, company, job_title, address, preferred_channel, grade, grade_override, grade_override_reason, lifecycle_stage, source_channel, preferences, special_dates, id_doc_type, id_doc_country, id_doc_number_enc, id_doc_key_id, id_doc_last4, search_text, version, created_at, updated_at FROM customers;
DROP TABLE customers;
ALTER TABLE customers_rebuilt RENAME TO customers;
CREATE INDEX customers_grade_idx ON customers (grade, id);
CREATE INDEX customers_lifecycle_idx ON customers (lifecycle_stage, id);
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
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');
COMMIT;
PRAGMA foreign_keys = ON;
