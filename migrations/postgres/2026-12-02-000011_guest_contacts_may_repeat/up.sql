-- Two guest profiles may share an email or phone: a guest who registers in the app with an
-- email that a staff-created profile holds gets a profile of their own (linking it without
-- email verification would be an account takeover, refusing it would reveal the other guest),
-- and a guest may set their own phone to one another profile holds. Staff keep duplicate
-- detection (409 naming the existing guest) in the service and merge duplicates. App logins
-- (customer_accounts.email) stay unique.
ALTER TABLE customers DROP CONSTRAINT customers_email_norm_key;
ALTER TABLE customers DROP CONSTRAINT customers_phone_key;
CREATE INDEX customers_email_norm_idx ON customers (email_norm);
CREATE INDEX customers_phone_idx ON customers (phone);
