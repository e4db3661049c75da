//! Pure rules of the feed and of webhook delivery (SPEC §8): type patterns, the feed cursor, the
//! retry schedule, when an endpoint is disabled, Standard Webhooks secrets and signatures, and
//! which URLs may receive deliveries. No database, no clock: time is passed in.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Retry delays after the 1st … 9th failed attempt (SPEC §8): 10 attempts over ≈ 75 hours.
pub const RETRY_DELAYS_SECS: [i64; 9] = [5, 300, 1_800, 7_200, 18_000, 36_000, 50_400, 72_000, 86_400];
/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = RETRY_DELAYS_SECS.len() as i32 + 1;
/// An endpoint failing without a success for this long is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 5;
/// A receiver's `Retry-After` is honoured up to this long.
pub const MAX_RETRY_AFTER_SECS: i64 = 86_400;
/// The previous secret keeps signing for this long after a rotation.
pub const ROTATION_OVERLAP_HOURS: i64 = 24;
/// The longest type pattern and the most patterns an endpoint or a feed request names.
pub const MAX_PATTERN_LEN: usize = 100;
pub const MAX_PATTERNS: usize = 20;

/// A type pattern: `ticket.state_changed`, `ticket.*`, `*` (`*` matches any run of characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypePattern(String);

impl TypePattern {
    pub fn parse(raw: &str) -> Result<TypePattern, &'static str> {
        let p = raw.trim();
        if p.is_empty() || p.len() > MAX_PATTERN_LEN {
            return Err("each type must be 1 to 100 characters");
        }
        if !p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.' || c == '*')
        {
            return Err("a type holds only a-z, `_`, `.` and the wildcard `*`");
        }
        Ok(TypePattern(p.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_exact(&self) -> bool {
        !self.0.contains('*')
    }

    /// Whether `kind` matches (a glob where `*` is any run of characters).
    pub fn matches(&self, kind: &str) -> bool {
        glob(self.0.as_bytes(), kind.as_bytes())
    }

    /// The pattern as a SQL `LIKE` pattern with `\` as its escape character.
    pub fn like(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 4);
        for c in self.0.chars() {
            match c {
                '*' => out.push('%'),
                '_' | '%' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| glob(rest, &s[i..])),
        Some((c, rest)) => s.first() == Some(c) && glob(rest, &s[1..]),
    }
}

/// A list of patterns (`types=ticket.*,loyalty.*`); empty = every type.
pub fn parse_patterns<'a>(items: impl IntoIterator<Item = &'a str>) -> Result<Vec<TypePattern>, &'static str> {
    let mut out: Vec<TypePattern> = Vec::new();
    for raw in items {
        let p = TypePattern::parse(raw)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    if out.len() > MAX_PATTERNS {
        return Err("at most 20 types");
    }
    Ok(out)
}

/// Whether an event of `kind` passes `patterns` (empty = all).
pub fn type_selected(patterns: &[TypePattern], kind: &str) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| p.matches(kind))
}

/// A place in the feed: events sort by `(commit_order, position)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct FeedKey {
    pub commit_order: i64,
    pub position: i64,
}

impl FeedKey {
    pub fn encode(self) -> String {
        URL_SAFE_NO_PAD.encode(format!("f|{}|{}", self.commit_order, self.position))
    }

    pub fn decode(cursor: &str) -> Option<FeedKey> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
        let mut parts = raw.split('|');
        if parts.next()? != "f" {
            return None;
        }
        let commit_order = parts.next()?.parse().ok()?;
        let position = parts.next()?.parse().ok()?;
        if parts.next().is_some() || commit_order < 0 || position < 0 {
            return None;
        }
        Some(FeedKey { commit_order, position })
    }
}

/// When the next attempt of a delivery that has failed `attempts` times runs: `None` once it is
/// given up. `jitter` in [-1, 1] moves the delay by up to ±10 %; a receiver's `Retry-After`
/// (seconds) is honoured when longer, up to a day.
pub fn next_attempt_at(
    attempts: i32,
    now: NaiveDateTime,
    retry_after_secs: Option<i64>,
    jitter: f64,
) -> Option<NaiveDateTime> {
    if !(1..MAX_ATTEMPTS).contains(&attempts) {
        return None;
    }
    let base = RETRY_DELAYS_SECS[(attempts - 1) as usize] as f64;
    let jittered = (base * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0))).round() as i64;
    let wanted = retry_after_secs.unwrap_or(0).clamp(0, MAX_RETRY_AFTER_SECS);
    Some(now + Duration::seconds(jittered.max(wanted).max(1)))
}

/// Whether an endpoint failing since `failing_since` is disabled by a failure at `now`.
pub fn disables(failing_since: Option<NaiveDateTime>, now: NaiveDateTime) -> bool {
    failing_since.is_some_and(|since| now - since >= Duration::days(DISABLE_AFTER_DAYS))
}

/// A `Retry-After` header in seconds (HTTP dates are rare from webhook receivers and are
/// treated as absent).
pub fn retry_after_secs(header: Option<&str>) -> Option<i64> {
    header.and_then(|v| v.trim().parse::<i64>().ok()).filter(|s| *s >= 0)
}

/// A new signing secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    format!("whsec_{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_` secret.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix("whsec_")?).ok()
}

/// One `v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>` signature (Standard Webhooks 1.0).
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{msg_id}.{timestamp}.{body}").as_bytes());
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header: one signature per secret still signing, space-separated.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &str) -> Option<String> {
    let sigs: Option<Vec<String>> = secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect();
    sigs.map(|s| s.join(" "))
}

/// Where deliveries may go: `https://…`, or `http://` to the loopback address (development).
/// No credentials in the URL (it is shown in answers), no fragment, at most 2,000 characters.
pub fn check_url(raw: &str) -> Result<String, &'static str> {
    if raw.len() > 2000 {
        return Err("must be at most 2000 characters");
    }
    let url = url::Url::parse(raw.trim()).map_err(|_| "is not an absolute URL")?;
    let host = url.host().ok_or("must name a host")?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (use the signature to authenticate deliveries)");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    match url.scheme() {
        "https" => Ok(url.to_string()),
        "http" if is_loopback(&host) => Ok(url.to_string()),
        "http" => Err("must use https (plain http only to the loopback address, for development)"),
        _ => Err("must be an https URL"),
    }
}

fn is_loopback(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn t0() -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    #[test]
    fn the_standard_webhooks_test_vector_signs_as_published() {
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
        let both = signature_header(&["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_AAAA"], "m", 1, "{}").unwrap();
        assert_eq!(both.split(' ').count(), 2);
        assert!(sign("not-a-secret", "m", 1, "{}").is_none());
    }

    #[test]
    fn new_secrets_are_whsec_and_32_random_bytes() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a != b);
        assert_eq!(secret_key(&a).unwrap().len(), 32);
    }

    #[test]
    fn patterns_match_globs_and_refuse_other_characters() {
        let p = parse_patterns(["ticket.*", "loyalty.entry_posted"]).unwrap();
        assert!(type_selected(&p, "ticket.sla_breached"));
        assert!(type_selected(&p, "loyalty.entry_posted"));
        assert!(!type_selected(&p, "loyalty.tier_changed"));
        assert!(!type_selected(&p, "tickets.x"));
        assert!(type_selected(&[], "anything"));
        assert!(TypePattern::parse("*").unwrap().matches("customer.created"));
        assert!(TypePattern::parse("Ticket.*").is_err());
        assert!(TypePattern::parse("a;drop").is_err());
        assert_eq!(
            TypePattern::parse("loyalty.entry_*").unwrap().like(),
            r"loyalty.entry\_%"
        );
    }

    #[test]
    fn the_schedule_is_ten_attempts_over_about_75_hours() {
        let mut at = t0();
        for attempts in 1..MAX_ATTEMPTS {
            at = next_attempt_at(attempts, at, None, 0.0).unwrap();
        }
        assert_eq!(next_attempt_at(MAX_ATTEMPTS, at, None, 0.0), None);
        let total = at - t0();
        assert_eq!(total, Duration::seconds(RETRY_DELAYS_SECS.iter().sum()));
        assert!(total > Duration::hours(75) && total < Duration::hours(76));
        assert_eq!(next_attempt_at(1, t0(), None, 0.0), Some(t0() + Duration::seconds(5)));
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_retry_after_wins_when_longer() {
        let late = next_attempt_at(2, t0(), None, 1.0).unwrap() - t0();
        let early = next_attempt_at(2, t0(), None, -1.0).unwrap() - t0();
        assert_eq!((early.num_seconds(), late.num_seconds()), (270, 330));
        assert_eq!(
            next_attempt_at(1, t0(), Some(120), 0.0).unwrap() - t0(),
            Duration::seconds(120)
        );
        assert_eq!(
            next_attempt_at(1, t0(), Some(10_000_000), 0.0).unwrap() - t0(),
            Duration::days(1)
        );
        assert_eq!(retry_after_secs(Some(" 30 ")), Some(30));
        assert_eq!(retry_after_secs(Some("Wed, 21 Oct 2026 07:28:00 GMT")), None);
    }

    #[test]
    fn five_days_of_failure_disable() {
        assert!(!disables(None, t0()));
        assert!(!disables(Some(t0()), t0() + Duration::days(5) - Duration::seconds(1)));
        assert!(disables(Some(t0()), t0() + Duration::days(5)));
    }

    #[test]
    fn urls_are_https_or_loopback_http() {
        assert!(check_url("https://hooks.example.com/concierge").is_ok());
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://localhost/hook").is_ok());
        assert!(check_url("http://[::1]:8080/").is_ok());
        assert!(check_url("http://example.com/hook").is_err());
        assert!(check_url("ftp://example.com/").is_err());
        assert!(check_url("https://user:pw@example.com/").is_err());
        assert!(check_url("/relative").is_err());
        assert!(check_url("https://example.com/#frag").is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_tampering() {
        let k = FeedKey {
            commit_order: 981,
            position: 12,
        };
        assert_eq!(FeedKey::decode(&k.encode()), Some(k));
        assert_eq!(FeedKey::decode("nope"), None);
        assert_eq!(FeedKey::decode(&URL_SAFE_NO_PAD.encode("f|-1|2")), None);
        assert_eq!(FeedKey::decode(&URL_SAFE_NO_PAD.encode("x|1|2")), None);
        assert!(
            FeedKey {
                commit_order: 1,
                position: 9
            } < FeedKey {
                commit_order: 2,
                position: 1
            }
        );
    }
}
