-- The business transaction of a keyed request marks its key as applied (committed_attempt), so
-- a retry after a crash between the commit and the stored answer can never run it twice; owner
-- is the instance that holds the lease, so a restarted instance frees the keys its previous run
-- left unanswered and uncommitted at once.
ALTER TABLE idempotency_keys ADD COLUMN committed_attempt TEXT;
ALTER TABLE idempotency_keys ADD COLUMN owner TEXT;
-- The attempt holding the claim: only it renews, releases or answers (a stale attempt's late
-- release must not free a key another attempt holds).
ALTER TABLE idempotency_keys ADD COLUMN attempt TEXT;
CREATE INDEX idempotency_keys_open_idx ON idempotency_keys (owner) WHERE status IS NULL;
