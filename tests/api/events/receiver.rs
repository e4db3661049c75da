//! A webhook receiver on the loopback address for tests: records every request and answers
//! with the status a test sets (and a `Retry-After` when asked).

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    /// The status it was answered with.
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Clone, Default)]
struct Shared {
    log: Arc<Mutex<Vec<Received>>>,
    status: Arc<AtomicU16>,
    retry_after: Arc<AtomicU64>,
}

pub struct Receiver {
    pub url: String,
    shared: Shared,
}

async fn hook(req: HttpRequest, body: web::Bytes, s: web::Data<Shared>) -> HttpResponse {
    let h = |n: &str| {
        req.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let status = s.status.load(Ordering::SeqCst);
    s.log.lock().unwrap().push(Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: status,
    });
    let mut r = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    let after = s.retry_after.load(Ordering::SeqCst);
    if after > 0 {
        r.insert_header(("retry-after", after.to_string()));
    }
    r.body(format!("answered {status}"))
}

impl Receiver {
    pub fn start() -> Receiver {
        let shared = Shared::default();
        shared.status.store(200, Ordering::SeqCst);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let data = shared.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(web::Data::new(data.clone()))
                .default_service(web::to(hook))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap()
        .run();
        actix_rt::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks/concierge"),
            shared,
        }
    }

    /// Answers every request with `status` from now on.
    pub fn answer(&self, status: u16) {
        self.shared.status.store(status, Ordering::SeqCst);
    }

    pub fn retry_after(&self, secs: u64) {
        self.shared.retry_after.store(secs, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.shared.log.lock().unwrap().clone()
    }

    /// What an idempotent receiver processed: each `webhook-id` once, first 2xx answer only.
    pub fn processed(&self) -> Vec<Received> {
        let mut seen = std::collections::HashSet::new();
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered) && seen.insert(r.id.clone()))
            .collect()
    }
}
