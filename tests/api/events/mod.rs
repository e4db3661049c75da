//! The event feed and webhooks (SPEC §8).

mod delivery;
mod endpoints;
mod feed;
mod feed_order;
mod receiver;

use crate::support::TestApp;

/// Waits (at most 20 s) until every stored event is below the feed's horizon. On a shared
/// PostgreSQL cluster another database's transaction in flight holds the horizon back for a
/// moment; the feed then serves the events a moment later — as it must, never skipping them.
pub async fn settle(app: &TestApp) {
    use concierge::db::schema::events as e;
    use diesel::prelude::*;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let ready = {
            let mut conn = app.conn();
            let c: &mut concierge::db::DbConnection = &mut conn;
            let newest: Option<i64> = e::table.select(diesel::dsl::max(e::commit_order)).first(c).unwrap();
            match concierge::db::dialect::feed_horizon(c).unwrap() {
                None => true,
                Some(h) => newest.is_none_or(|n| n < h),
            }
        };
        if ready || std::time::Instant::now() > deadline {
            return;
        }
        actix_rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
