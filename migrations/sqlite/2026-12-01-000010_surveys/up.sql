-- Surveys (SPEC §5): versioned templates, invitations per guest and subject, answers by the app
-- or a single-use link, scores, and service recovery. Rules are data.
CREATE TABLE survey_settings (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);
INSERT INTO survey_settings (name, value) VALUES
    ('post_stay_delay_minutes', '120'),
    ('invitation_ttl_days', '14'),
    ('completion_bonus_points', '0'),
    ('require_consent', 'false');

CREATE TABLE survey_templates (
    id TEXT PRIMARY KEY NOT NULL,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    current_version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_templates_trigger_idx ON survey_templates (trigger_kind, active);

-- Each change of the questions is a new version; answers keep the version they answered.
CREATE TABLE survey_template_versions (
    template_id TEXT NOT NULL REFERENCES survey_templates (id),
    version INTEGER NOT NULL,
    questions TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (template_id, version)
);

CREATE TABLE survey_invitations (
    id TEXT PRIMARY KEY NOT NULL,
    template_id TEXT NOT NULL REFERENCES survey_templates (id),
    template_version INTEGER NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    property_id TEXT NOT NULL REFERENCES properties (id),
    trigger_kind TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT,
    touchpoint TEXT,
    token_hash TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL,
    send_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    answered_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
-- One open invitation per subject (a stay, a ticket).
CREATE UNIQUE INDEX survey_invitations_open_subject_idx ON survey_invitations (subject_kind, subject_id)
    WHERE state IN ('scheduled', 'open') AND subject_id IS NOT NULL;
CREATE INDEX survey_invitations_subject_idx ON survey_invitations (subject_kind, subject_id);
CREATE INDEX survey_invitations_customer_idx ON survey_invitations (customer_id, id);
CREATE INDEX survey_invitations_property_idx ON survey_invitations (property_id, id);
CREATE INDEX survey_invitations_due_idx ON survey_invitations (state, send_at);
CREATE INDEX survey_invitations_expiry_idx ON survey_invitations (state, expires_at);

CREATE TABLE survey_responses (
    id TEXT PRIMARY KEY NOT NULL,
    invitation_id TEXT NOT NULL UNIQUE REFERENCES survey_invitations (id),
    template_id TEXT NOT NULL REFERENCES survey_templates (id),
    template_version INTEGER NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    property_id TEXT NOT NULL REFERENCES properties (id),
    trigger_kind TEXT NOT NULL,
    subject_kind TEXT NOT NULL,
    subject_id TEXT,
    touchpoint TEXT,
    answers TEXT NOT NULL,
    nps INTEGER,
    csat INTEGER,
    ces INTEGER,
    staff_id TEXT,
    channel TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets (id),
    bonus_entry_id TEXT REFERENCES ledger_entries (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_responses_property_idx ON survey_responses (property_id, created_at);
CREATE INDEX survey_responses_property_id_idx ON survey_responses (property_id, id);
CREATE INDEX survey_responses_template_idx ON survey_responses (template_id, created_at);
CREATE INDEX survey_responses_created_idx ON survey_responses (created_at);
CREATE INDEX survey_responses_staff_idx ON survey_responses (staff_id, created_at);

-- Per-aspect ratings (reservation, front desk, room, dining, facilities, overall) for averages.
CREATE TABLE survey_aspect_scores (
    response_id TEXT NOT NULL REFERENCES survey_responses (id),
    aspect TEXT NOT NULL,
    score INTEGER NOT NULL,
    PRIMARY KEY (response_id, aspect)
);
CREATE INDEX survey_aspect_scores_aspect_idx ON survey_aspect_scores (aspect);

-- Default templates, so check-out and ticket closure invite guests out of the box.
INSERT INTO survey_templates (id, code, name, trigger_kind, active, current_version, created_at, updated_at) VALUES
    ('survey-post-stay', 'POST_STAY', 'After your stay', 'post_stay', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
    ('survey-post-ticket', 'POST_TICKET', 'How did we handle your request?', 'post_ticket', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP);
INSERT INTO survey_template_versions (template_id, version, questions, created_at) VALUES
    ('survey-post-stay', 1, '[{"id":"nps","type":"nps","text":"How likely are you to recommend us to a friend or colleague?","required":true},{"id":"room","type":"rating","text":"How was your room?","required":false,"aspect":"room"},{"id":"front_desk","type":"rating","text":"How was the front desk?","required":false,"aspect":"front_desk"},{"id":"dining","type":"rating","text":"How was dining?","required":false,"aspect":"dining"},{"id":"comment","type":"text","text":"Anything else you would like to tell us?","required":false}]', CURRENT_TIMESTAMP),
    ('survey-post-ticket', 1, '[{"id":"csat","type":"csat","text":"How satisfied are you with how we handled your request?","required":true},{"id":"comment","type":"text","text":"Anything we could have done better?","required":false}]', CURRENT_TIMESTAMP);
