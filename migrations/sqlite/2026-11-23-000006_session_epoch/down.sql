DROP INDEX refresh_tokens_subject_idx;
ALTER TABLE customer_accounts DROP COLUMN session_epoch;
ALTER TABLE staff_users DROP COLUMN session_epoch;
