-- The points ledger (SPEC §6.2): one account per enrolled guest; entries are append-only (the
-- database refuses UPDATE and DELETE); negative entries name the earn lots they consumed.
CREATE TABLE loyalty_accounts (
    customer_id TEXT PRIMARY KEY NOT NULL REFERENCES customers (id),
    balance BIGINT NOT NULL CHECK (balance >= 0),
    tier TEXT NOT NULL,
    tier_since TIMESTAMP NOT NULL,
    tier_review_due_at TIMESTAMP NOT NULL,
    enrolled_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE ledger_entries (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES loyalty_accounts (customer_id),
    kind TEXT NOT NULL,
    points BIGINT NOT NULL CHECK (points <> 0),
    balance_after BIGINT NOT NULL CHECK (balance_after >= 0),
    qualifying BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    source_kind TEXT,
    source_id TEXT,
    property_id TEXT,
    idempotency_key TEXT,
    reverses_id TEXT REFERENCES ledger_entries (id),
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (customer_id, idempotency_key)
);
CREATE INDEX ledger_entries_customer_idx ON ledger_entries (customer_id, id);
CREATE INDEX ledger_entries_source_idx ON ledger_entries (source_kind, source_id);
CREATE INDEX ledger_entries_lots_idx ON ledger_entries (customer_id, expires_at) WHERE expires_at IS NOT NULL;

-- Positive points: the entry consumed them from the lot; negative: the entry (a refund) gave
-- them back to the lot, which keeps its own expiry.
CREATE TABLE ledger_lot_consumptions (
    entry_id TEXT NOT NULL REFERENCES ledger_entries (id),
    lot_id TEXT NOT NULL REFERENCES ledger_entries (id),
    points BIGINT NOT NULL CHECK (points <> 0),
    PRIMARY KEY (entry_id, lot_id)
);
CREATE INDEX ledger_lot_consumptions_lot_idx ON ledger_lot_consumptions (lot_id);
CREATE INDEX loyalty_accounts_review_idx ON loyalty_accounts (tier_review_due_at);

-- A lot the expiry job has settled (expired what it held, or found it empty): never looked at again.
CREATE TABLE ledger_lot_closures (
    lot_id TEXT PRIMARY KEY NOT NULL REFERENCES ledger_entries (id),
    closed_at TIMESTAMP NOT NULL
);

CREATE TABLE tier_changes (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES loyalty_accounts (customer_id),
    from_tier TEXT NOT NULL,
    to_tier TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX tier_changes_customer_idx ON tier_changes (customer_id, id);

-- Programme rules as data (SPEC: every default is stored, never hard-coded in a branch).
CREATE TABLE loyalty_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO loyalty_settings (name, value) VALUES
    ('points_per_unit', '1'),
    ('expiry_months', '24'),
    ('outlet_weights', '{"room":1,"food_beverage":1,"banquet":1,"spa":1,"fitness":1,"other":0}'),
    ('tiers', '[{"tier":"regular","threshold":0,"multiplier":1.0},{"tier":"silver","threshold":5000,"multiplier":1.25},{"tier":"gold","threshold":20000,"multiplier":1.5},{"tier":"platinum","threshold":50000,"multiplier":2.0}]');

CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries BEGIN
    SELECT RAISE(ABORT, 'ledger_entries is append-only');
END;
CREATE TRIGGER ledger_lot_consumptions_no_update BEFORE UPDATE ON ledger_lot_consumptions BEGIN
    SELECT RAISE(ABORT, 'ledger_lot_consumptions is append-only');
END;
CREATE TRIGGER ledger_lot_consumptions_no_delete BEFORE DELETE ON ledger_lot_consumptions BEGIN
    SELECT RAISE(ABORT, 'ledger_lot_consumptions is append-only');
END;
