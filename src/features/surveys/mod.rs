//! Surveys: NPS/CSAT/CES templates, invitations, answers, scores.

pub mod answer;
pub mod api;
pub mod db;
pub mod invitations;
pub mod invite;
pub mod jobs;
pub mod links;
pub mod model;
pub mod responses;
pub mod rules;
pub mod scores;
pub mod service;
pub mod settings;
pub mod templates;
