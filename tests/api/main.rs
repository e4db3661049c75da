//! HTTP-level integration tests: one binary, a folder per feature, over one shared fixture
//! (`world.rs`). Every test runs against the real app on a socket, on SQLite by default and on
//! PostgreSQL with `TEST_DATABASE_URL`.

mod support;
mod world;

mod access;
mod events;
mod guests;
mod loyalty;
mod platform;
mod stays;
mod surveys;
mod tickets;
