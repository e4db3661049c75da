DROP TABLE spend_lines;
DROP INDEX stays_property_status_idx;
ALTER TABLE stays DROP COLUMN version;
ALTER TABLE stays DROP COLUMN currency;
ALTER TABLE stays DROP COLUMN rate_minor;
ALTER TABLE stays DROP COLUMN nights;
