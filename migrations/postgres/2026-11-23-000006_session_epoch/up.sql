-- A user's sessions die together: changing a staff user's role, password or active flag
-- (or a guest's password) bumps the epoch; access tokens carry the epoch they were issued
-- under and are refused once it moves on, even if the user is later reactivated.
ALTER TABLE staff_users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customer_accounts ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;
CREATE INDEX refresh_tokens_subject_idx ON refresh_tokens (subject_kind, subject_id) WHERE revoked_at IS NULL;
