//! Surveys: NPS/CSAT/CES templates, invitations, answers, scores.

pub mod api;
pub mod service;
