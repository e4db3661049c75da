-- Tickets (SPEC §4): complaints and service requests with SLA clocks, an escalation ladder,
-- a timeline and compensation needing approval above the actor's limit. Rules are data.
CREATE TABLE ticket_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO ticket_settings (name, value) VALUES
    ('auto_close_days', '7'),
    ('reopen_window_days', '30'),
    ('compensation_limits', '{"agent":{"money":500,"points":2000},"manager":{"money":5000,"points":20000}}');

CREATE TABLE ticket_categories (
    code TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    position INTEGER NOT NULL
);
INSERT INTO ticket_categories (code, name, active, position) VALUES
    ('room_facilities', 'Room facilities', TRUE, 1),
    ('cleanliness', 'Cleanliness', TRUE, 2),
    ('staff_attitude', 'Staff attitude', TRUE, 3),
    ('food_beverage', 'Food and beverage', TRUE, 4),
    ('billing', 'Billing', TRUE, 5),
    ('booking_itinerary', 'Booking and itinerary', TRUE, 6),
    ('noise', 'Noise', TRUE, 7),
    ('safety_security', 'Safety and security', TRUE, 8),
    ('transport', 'Transport', TRUE, 9),
    ('information_privacy', 'Information and privacy', TRUE, 10),
    ('other', 'Other', TRUE, 11);

-- property_id NULL: the group's policy; a property's row overrides it for that severity.
CREATE TABLE sla_policies (
    id TEXT PRIMARY KEY NOT NULL,
    property_id TEXT REFERENCES properties (id),
    severity TEXT NOT NULL,
    first_response_minutes INTEGER NOT NULL CHECK (first_response_minutes > 0),
    resolution_minutes INTEGER NOT NULL CHECK (resolution_minutes > 0),
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sla_policies_scope_idx ON sla_policies (COALESCE(property_id, ''), severity);
INSERT INTO sla_policies (id, property_id, severity, first_response_minutes, resolution_minutes, updated_at) VALUES
    ('sla-group-low', NULL, 'low', 1440, 4320, CURRENT_TIMESTAMP),
    ('sla-group-medium', NULL, 'medium', 240, 2880, CURRENT_TIMESTAMP),
    ('sla-group-high', NULL, 'high', 60, 1440, CURRENT_TIMESTAMP),
    ('sla-group-critical', NULL, 'critical', 15, 1440, CURRENT_TIMESTAMP);

-- A property's business hours (its time zone), JSON: week = 7 lists of ["09:00","18:00"],
-- Monday first; holidays = ["2026-10-01", ...]. No row: clocks run 24/7.
CREATE TABLE business_calendars (
    property_id TEXT PRIMARY KEY NOT NULL REFERENCES properties (id),
    week TEXT NOT NULL,
    holidays TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Who is notified at each escalation level (1 department manager, 2 resident manager,
-- 3 general manager). A level without contacts falls back to the property's managers (1, 2)
-- or the group's admins (3).
CREATE TABLE escalation_contacts (
    property_id TEXT NOT NULL REFERENCES properties (id),
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    staff_id TEXT NOT NULL REFERENCES staff_users (id),
    PRIMARY KEY (property_id, level, staff_id)
);

CREATE TABLE tickets (
    id TEXT PRIMARY KEY NOT NULL,
    property_id TEXT NOT NULL REFERENCES properties (id),
    customer_id TEXT REFERENCES customers (id),
    stay_id TEXT REFERENCES stays (id),
    kind TEXT NOT NULL,
    category TEXT NOT NULL REFERENCES ticket_categories (code),
    severity TEXT NOT NULL,
    channel TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    state TEXT NOT NULL,
    owner_id TEXT REFERENCES staff_users (id),
    created_by_kind TEXT NOT NULL,
    created_by_id TEXT,
    escalation_level INTEGER NOT NULL,
    first_response_due_at TIMESTAMP NOT NULL,
    resolution_due_at TIMESTAMP,
    resolution_paused_at TIMESTAMP,
    resolution_remaining_secs BIGINT,
    first_responded_at TIMESTAMP,
    first_response_breached_at TIMESTAMP,
    resolution_breached_at TIMESTAMP,
    resolved_at TIMESTAMP,
    closed_at TIMESTAMP,
    resolution_summary TEXT,
    reopen_count INTEGER NOT NULL,
    -- The guest's last reply: one after the resolution holds off the auto-close.
    customer_replied_at TIMESTAMP,
    source_kind TEXT,
    source_id TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX tickets_property_idx ON tickets (property_id, id);
CREATE INDEX tickets_state_idx ON tickets (state, id);
CREATE INDEX tickets_property_state_idx ON tickets (property_id, state, id);
CREATE INDEX tickets_breached_idx ON tickets (id)
    WHERE first_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL;
CREATE INDEX tickets_owner_idx ON tickets (owner_id, id);
CREATE INDEX tickets_customer_idx ON tickets (customer_id, id);
CREATE INDEX tickets_category_idx ON tickets (category, id);
CREATE INDEX tickets_severity_idx ON tickets (severity, id);
CREATE INDEX tickets_stay_idx ON tickets (stay_id);
CREATE INDEX tickets_source_idx ON tickets (source_kind, source_id);
CREATE INDEX tickets_created_idx ON tickets (property_id, created_at);
-- The SLA sweep: open first-response clocks, running resolution clocks, resolved tickets to close.
CREATE INDEX tickets_first_response_due_idx ON tickets (first_response_due_at)
    WHERE first_responded_at IS NULL AND first_response_breached_at IS NULL;
CREATE INDEX tickets_resolution_due_idx ON tickets (resolution_due_at)
    WHERE resolved_at IS NULL AND resolution_breached_at IS NULL;
CREATE INDEX tickets_resolved_idx ON tickets (resolved_at) WHERE state = 'resolved';

-- The timeline: comments, state changes, handovers, SLA events, escalations, compensation.
CREATE TABLE ticket_entries (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    visibility TEXT NOT NULL,
    body TEXT,
    data TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_entries_ticket_idx ON ticket_entries (ticket_id, id);

CREATE TABLE ticket_compensations (
    id TEXT PRIMARY KEY NOT NULL,
    ticket_id TEXT NOT NULL REFERENCES tickets (id),
    kind TEXT NOT NULL,
    amount_minor BIGINT,
    currency TEXT,
    points BIGINT,
    note TEXT NOT NULL,
    state TEXT NOT NULL,
    offered_by_kind TEXT NOT NULL,
    offered_by_id TEXT,
    decided_by_id TEXT,
    decided_at TIMESTAMP,
    decision_note TEXT,
    ledger_entry_id TEXT REFERENCES ledger_entries (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX ticket_compensations_ticket_idx ON ticket_compensations (ticket_id, id);
CREATE INDEX ticket_compensations_state_idx ON ticket_compensations (state, id);
-- Queue filters combine property and state; let the planner know how they correlate.
CREATE STATISTICS tickets_property_state_stats (dependencies, mcv) ON property_id, state FROM tickets;
