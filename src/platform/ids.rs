//! Ids and time: UUIDv7 ids (time-ordered, so indexes stay append-mostly) and UTC timestamps
//! stored without a zone.

use chrono::{NaiveDateTime, Utc};

pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
