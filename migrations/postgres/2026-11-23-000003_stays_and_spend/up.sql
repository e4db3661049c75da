-- Stays and spend pushed by PMS/POS integrations (SPEC §6.1). Money is minor units + currency.
ALTER TABLE stays ADD COLUMN nights INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stays ADD COLUMN rate_minor BIGINT;
ALTER TABLE stays ADD COLUMN currency TEXT;
ALTER TABLE stays ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
CREATE INDEX stays_property_status_idx ON stays (property_id, status, check_out);

CREATE TABLE spend_lines (
    id TEXT PRIMARY KEY NOT NULL,
    property_id TEXT NOT NULL REFERENCES properties (id),
    external_id TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    stay_id TEXT REFERENCES stays (id),
    outlet TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    spent_on DATE NOT NULL,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (property_id, external_id)
);
CREATE INDEX spend_lines_customer_idx ON spend_lines (customer_id, spent_on);
CREATE INDEX spend_lines_stay_idx ON spend_lines (stay_id);
