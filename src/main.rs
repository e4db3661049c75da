//! `concierge [serve|migrate|seed-demo|openapi]`.

use std::process::ExitCode;

use actix_web::HttpServer;
use concierge::server::config::Config;
use concierge::{app, build_app, db, features, AppState};

const USAGE: &str = "usage: concierge [serve|migrate|seed-demo|run-jobs|import FILE|openapi]

  serve       run the HTTP API (default); migrates the database first
  migrate     apply pending database migrations and exit
  seed-demo   load a demo hotel group (properties, staff of each role, guests)
  run-jobs    run the background jobs once (SLA sweep, points expiry, tier review, imports, event retention, webhook deliveries)
  import FILE import guests from an NDJSON or CSV file (as POST /api/v1/customer-imports),
              with a progress bar; --format ndjson|csv when the extension does not say
  openapi     print the OpenAPI document

environment: DATABASE_URL (default sqlite://./data/concierge.db), CONCIERGE_BIND
(default 127.0.0.1:8080), CONCIERGE_JWT_SECRET, CONCIERGE_ENCRYPTION_KEY,
CONCIERGE_ADMIN_EMAIL, CONCIERGE_ADMIN_PASSWORD, CONCIERGE_POOL_SIZE,
CONCIERGE_JOBS_INTERVAL_SECS (default 60, 0 = off), RUST_LOG";

fn main() -> ExitCode {
    let _ = dotenvy::dotenv();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let cmd = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let result = match cmd.as_str() {
        "serve" => serve(),
        "migrate" => migrate().map(|n| println!("applied {n} migration(s)")),
        "seed-demo" => seed_demo(),
        "run-jobs" => run_jobs(),
        "import" => import(std::env::args().skip(2).collect()),
        "openapi" => {
            let spec = concierge::openapi_document();
            match serde_json::to_string_pretty(&spec) {
                Ok(s) => {
                    println!("{s}");
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn migrate() -> Result<usize, String> {
    let config = Config::from_env()?;
    db::run_migrations(&config.database)
}

fn prepare() -> Result<(Config, db::Pool), String> {
    let config = Config::from_env()?;
    let n = db::run_migrations(&config.database)?;
    if n > 0 {
        log::info!("applied {n} migration(s) to {}", config.database.describe());
    }
    let pool = db::build_pool(&config.database, config.pool_size, config.db_limits)?;
    Ok((config, pool))
}

fn seed_demo() -> Result<(), String> {
    let (config, pool) = prepare()?;
    let state = AppState::new(config, pool);
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let report = app::seed::seed_demo(&mut conn, &state.cipher).map_err(|e| e.to_string())?;
    println!("{report}");
    Ok(())
}

fn run_jobs() -> Result<(), String> {
    let (config, pool) = prepare()?;
    let state = AppState::new(config, pool);
    let report = concierge::app::jobs::run_once_with_imports(&state, chrono::Utc::now().naive_utc())
        .map_err(|e| e.to_string())?;
    println!("{report}");
    Ok(())
}

fn serve() -> Result<(), String> {
    let (config, pool) = prepare()?;
    {
        let mut conn = pool.get().map_err(|e| format!("database unreachable: {e}"))?;
        match features::sessions::ensure_bootstrap_admin(&mut conn, config.admin_email.as_deref(), config.admin_password.as_deref()) {
            Ok(Some((email, Some(generated)))) => log::warn!(
                "no admin existed: created {email} with the generated password {generated} (shown once; set CONCIERGE_ADMIN_EMAIL/CONCIERGE_ADMIN_PASSWORD to choose)"
            ),
            Ok(Some((email, None))) => log::info!("bootstrap admin {email} created"),
            Ok(None) => {}
            Err(e) => return Err(format!("cannot create the bootstrap admin: {e}")),
        }
        // Keys this instance's previous run left unanswered (it was killed mid-request).
        match concierge::server::idempotency::release_abandoned(&mut conn, &config.instance_id) {
            Ok((0, 0)) => {}
            Ok((freed, applied)) => log::warn!(
                "idempotency: freed {freed} key(s) of requests cut by the last stop; {applied} applied key(s) answer 'already applied'"
            ),
            Err(e) => return Err(format!("cannot release abandoned idempotency keys: {e}")),
        }
    }
    let bind = config.bind.clone();
    log::info!(
        "concierge on http://{bind} ({}); Swagger UI at http://{bind}/docs/",
        config.database.describe()
    );
    let interval = std::env::var("CONCIERGE_JOBS_INTERVAL_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let state = AppState::new(config, pool.clone());
    concierge::app::jobs::spawn(pool, interval, state.metrics.jobs.clone());
    concierge::app::jobs::start_workers(&state);
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || build_app(state.clone()))
            .bind(&bind)
            .map_err(|e| format!("cannot listen on {bind}: {e}"))?
            // SIGTERM/SIGINT: stop accepting, finish in-flight requests for up to 30 s.
            .shutdown_timeout(30)
            .run()
            .await
            .map_err(|e| e.to_string())
    })
}

fn import(args: Vec<String>) -> Result<(), String> {
    let (config, pool) = prepare()?;
    let state = AppState::new(config, pool);
    app::import_cli::run(&state, &args)
}
