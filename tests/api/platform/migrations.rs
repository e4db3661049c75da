//! The two migration trees build the same schema: the same tables, the same columns and the
//! same named indexes on SQLite and on PostgreSQL (run with `TEST_DATABASE_URL` to compare; on
//! SQLite alone the test checks that the tree migrates and that `schema.rs` names every table).

use std::collections::BTreeSet;

use concierge::db::{self, DbConnection, DbTarget};
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::support::TestApp;

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
}

const SQLITE_COLUMNS: &str = "SELECT m.name AS a, p.name AS b FROM sqlite_master m, pragma_table_info(m.name) p \
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'";
const SQLITE_INDEXES: &str = "SELECT tbl_name AS a, name AS b FROM sqlite_master \
     WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%' AND tbl_name <> '__diesel_schema_migrations'";
const PG_COLUMNS: &str = "SELECT table_name::text AS a, column_name::text AS b FROM information_schema.columns \
     WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'";
/// Named indexes other than those PostgreSQL makes for primary keys and unique constraints.
const PG_INDEXES: &str = "SELECT i.tablename::text AS a, i.indexname::text AS b FROM pg_indexes i \
     WHERE i.schemaname = current_schema() AND i.tablename <> '__diesel_schema_migrations' \
     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)";

/// The one intended difference: guest search is FTS5 (trigram tokenizer) on SQLite, with the
/// search text beside the id for the walk of a common text (`dialect::TextPlan::Walk`), and a
/// `pg_trgm` GIN index on PostgreSQL.
const SQLITE_ONLY_TABLES: &str = "customers_fts";
const SQLITE_ONLY_INDEXES: [&str; 1] = ["customers_id_search_text_idx"];
const PG_ONLY_INDEXES: [&str; 1] = ["customers_search_trgm_idx"];

/// (table, column) or (table, index) pairs.
type Names = BTreeSet<(String, String)>;

fn names(conn: &mut DbConnection, sql: &str) -> Names {
    diesel::sql_query(sql)
        .load::<Name>(conn)
        .unwrap()
        .into_iter()
        .map(|n| (n.a, n.b))
        .collect()
}

fn sqlite_schema() -> (Names, Names) {
    let dir = std::env::temp_dir().join(format!("concierge-parity-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = DbTarget::Sqlite(dir.join("p.db").to_string_lossy().into_owned());
    db::run_migrations(&target).unwrap();
    let mut conn = db::establish(&target).unwrap();
    let out = (names(&mut conn, SQLITE_COLUMNS), names(&mut conn, SQLITE_INDEXES));
    let _ = std::fs::remove_dir_all(dir);
    out
}

fn diff(what: &str, sqlite: &Names, pg: &Names) -> Vec<String> {
    let mut out = Vec::new();
    for x in sqlite.difference(pg) {
        out.push(format!("{what} {}.{} only on SQLite", x.0, x.1));
    }
    for x in pg.difference(sqlite) {
        out.push(format!("{what} {}.{} only on PostgreSQL", x.0, x.1));
    }
    out
}

#[actix_rt::test]
async fn both_migration_trees_build_the_same_schema() {
    let (columns, indexes) = sqlite_schema();
    let tables: BTreeSet<&str> = columns.iter().map(|(t, _)| t.as_str()).collect();
    assert!(tables.len() > 20, "the SQLite tree creates the schema: {tables:?}");
    assert!(columns.contains(&("idempotency_keys".into(), "committed_attempt".into())));
    let app = TestApp::spawn().await;
    if app.state.backend != db::Backend::Postgres {
        return;
    }
    let mut conn = app.conn();
    let (pg_columns, pg_indexes) = (names(&mut conn, PG_COLUMNS), names(&mut conn, PG_INDEXES));
    let columns = columns
        .into_iter()
        .filter(|(t, _)| !t.starts_with(SQLITE_ONLY_TABLES))
        .collect();
    let pg_indexes = pg_indexes
        .into_iter()
        .filter(|(_, i)| !PG_ONLY_INDEXES.contains(&i.as_str()))
        .collect();
    let indexes = indexes
        .into_iter()
        .filter(|(_, i)| !SQLITE_ONLY_INDEXES.contains(&i.as_str()))
        .collect();
    let mut problems = diff("column", &columns, &pg_columns);
    problems.extend(diff("index", &indexes, &pg_indexes));
    assert!(
        problems.is_empty(),
        "the migration trees differ:\n{}",
        problems.join("\n")
    );
}
