-- The tier whose multiplier a stay earned at, fixed at check-out: later spend corrections to the
-- stay are settled at the same multiplier (loyalty::settle_stay).
ALTER TABLE stays ADD COLUMN earn_tier TEXT;
UPDATE stays SET earn_tier = COALESCE(
    (SELECT tier FROM loyalty_accounts WHERE loyalty_accounts.customer_id = stays.customer_id), 'regular')
WHERE status = 'checked_out';
