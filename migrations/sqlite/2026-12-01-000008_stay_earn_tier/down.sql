ALTER TABLE stays DROP COLUMN earn_tier;
