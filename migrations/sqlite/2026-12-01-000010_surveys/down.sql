DROP TABLE survey_aspect_scores;
DROP TABLE survey_responses;
DROP TABLE survey_invitations;
DROP TABLE survey_template_versions;
DROP TABLE survey_templates;
DROP TABLE survey_settings;
