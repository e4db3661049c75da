-- Rewards catalogue and redemption orders (SPEC §6.2).
CREATE TABLE rewards (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    description TEXT,
    points_cost BIGINT NOT NULL CHECK (points_cost > 0),
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE redemptions (
    id TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL REFERENCES loyalty_accounts (customer_id),
    reward_id TEXT NOT NULL REFERENCES rewards (id),
    points BIGINT NOT NULL,
    status TEXT NOT NULL,
    redeem_entry_id TEXT NOT NULL REFERENCES ledger_entries (id),
    reverse_entry_id TEXT REFERENCES ledger_entries (id),
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX redemptions_customer_idx ON redemptions (customer_id, id);
CREATE INDEX redemptions_status_idx ON redemptions (status, id);
