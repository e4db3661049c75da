DROP INDEX idempotency_keys_open_idx;
ALTER TABLE idempotency_keys DROP COLUMN attempt;
ALTER TABLE idempotency_keys DROP COLUMN owner;
ALTER TABLE idempotency_keys DROP COLUMN committed_attempt;
