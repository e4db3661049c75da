//! Stays and spend from PMS/POS: the source of earning and of post-stay surveys.

pub mod api;
pub mod service;
