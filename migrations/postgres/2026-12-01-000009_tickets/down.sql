DROP STATISTICS IF EXISTS tickets_property_state_stats;
DROP TABLE ticket_compensations;
DROP TABLE ticket_entries;
DROP TABLE tickets;
DROP TABLE escalation_contacts;
DROP TABLE business_calendars;
DROP TABLE sla_policies;
DROP TABLE ticket_categories;
DROP TABLE ticket_settings;
