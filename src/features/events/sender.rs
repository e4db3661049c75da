//! One HTTP POST of a webhook (Standard Webhooks 1.0 headers), with the 15-second timeout, no
//! redirects followed (nothing goes to an address the admin did not configure), and the first
//! 2 KiB of the answer kept for the delivery log.

use std::io::Read;
use std::time::{Duration, Instant};

/// The longest a receiver may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);
/// How much of an answer's body the delivery log keeps.
pub const RESPONSE_EXCERPT: usize = 2048;

/// One message to send.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub msg_id: &'a str,
    pub timestamp: i64,
    pub signature: &'a str,
    pub body: &'a str,
}

/// What the receiver answered.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    pub latency_ms: i32,
    pub body: Option<String>,
    pub error: Option<String>,
    pub retry_after: Option<String>,
}

impl Answer {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn gone(&self) -> bool {
        self.status == Some(410)
    }
}

/// A client for webhook deliveries (one per dispatcher; connections are reused).
pub fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout(TIMEOUT)
        .redirects(0)
        .user_agent("Concierge-Webhooks/1.0")
        .build()
}

pub fn post(agent: &ureq::Agent, out: &Outgoing<'_>) -> Answer {
    let started = Instant::now();
    let sent = agent
        .post(out.url)
        .set("content-type", "application/json")
        .set("webhook-id", out.msg_id)
        .set("webhook-timestamp", &out.timestamp.to_string())
        .set("webhook-signature", out.signature)
        .send_string(out.body);
    let response = match sent {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => {
            return Answer {
                status: None,
                latency_ms: elapsed_ms(started),
                body: None,
                error: Some(describe(&t)),
                retry_after: None,
            }
        }
    };
    let status = response.status();
    let retry_after = response.header("retry-after").map(str::to_string);
    let mut buf = Vec::with_capacity(256);
    let _ = response
        .into_reader()
        .take(RESPONSE_EXCERPT as u64)
        .read_to_end(&mut buf);
    Answer {
        status: Some(status),
        latency_ms: elapsed_ms(started),
        body: Some(String::from_utf8_lossy(&buf).into_owned()),
        error: None,
        retry_after,
    }
}

fn elapsed_ms(started: Instant) -> i32 {
    started.elapsed().as_millis().min(i32::MAX as u128) as i32
}

/// A transport failure in a few words (no internals of this server).
fn describe(t: &ureq::Transport) -> String {
    let kind = match t.kind() {
        ureq::ErrorKind::Dns => "the host name did not resolve",
        ureq::ErrorKind::ConnectionFailed => "the connection failed",
        ureq::ErrorKind::TooManyRedirects => "redirected",
        ureq::ErrorKind::Io => "no answer in time or the connection broke",
        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => "the URL is not usable",
        ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => "the answer was not HTTP",
        _ => "the request failed",
    };
    kind.to_string()
}
