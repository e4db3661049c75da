DROP INDEX customers_phone_idx;
DROP INDEX customers_email_norm_idx;
ALTER TABLE customers ADD CONSTRAINT customers_phone_key UNIQUE (phone);
ALTER TABLE customers ADD CONSTRAINT customers_email_norm_key UNIQUE (email_norm);
