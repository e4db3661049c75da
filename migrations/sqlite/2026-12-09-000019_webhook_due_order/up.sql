-- The claim walks due deliveries in (next_attempt_at, sequence) order and stops at its batch:
-- with the sequence in the index, an aggregate's first waiting delivery comes before the ones
-- queued behind it (which the claim skips), so a backlog of 20,000 does not make each claim
-- read and sort every due row.
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (state, next_attempt_at, sequence);
