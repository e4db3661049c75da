//! Guests: profiles, search, consents, interactions, their events, and property-restricted admins.

mod contact_search;
mod customers;
mod events;
mod import_batch;
mod imports;
mod property_restriction;
mod search_plans;
