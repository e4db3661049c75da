//! Text PostgreSQL cannot store never reaches the database: a NUL character (`%00`) in a path
//! segment or a query parameter answers 422 naming the parameter, here, before routing; JSON
//! bodies are checked by `ApiJson` (`nul_in_json`). Invalid UTF-8 needs no check: path
//! parameters refuse it on deserialization, query values decode it lossily, JSON refuses it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Path, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, Error, ResponseError};
use serde_json::Value;

use crate::platform::error::ApiError;
use crate::server::http::RouteTable;

const MESSAGE: &str = "must not contain NUL characters";

pub async fn refuse_nul(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    if let Some(field) = nul_in_path(&req).or_else(|| nul_in_query(req.query_string())) {
        let e = ApiError::field(&field, MESSAGE);
        return Ok(req.into_response(e.error_response()));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The name of the path parameter holding an encoded NUL (`path` when no route matches).
fn nul_in_path(req: &ServiceRequest) -> Option<String> {
    // The raw path: one percent-decoding pass turns exactly `%00` into NUL.
    let raw = req.uri().path();
    if !raw.contains("%00") {
        return None;
    }
    if let Some(table) = req.app_data::<web::Data<RouteTable>>() {
        for (def, _) in &table.0 {
            let mut path = Path::new(raw.to_string());
            if def.capture_match_info(&mut path) {
                if let Some((name, _)) = path.iter().find(|(_, v)| v.contains("%00")) {
                    return Some(name.to_string());
                }
            }
        }
    }
    Some("path".into())
}

/// The name of the query parameter whose name or value holds a NUL.
fn nul_in_query(qs: &str) -> Option<String> {
    if !qs.contains("%00") {
        return None;
    }
    let pairs = web::Query::<Vec<(String, String)>>::from_query(qs).ok()?.into_inner();
    pairs
        .into_iter()
        .find(|(k, v)| k.contains('\0') || v.contains('\0'))
        .map(|(k, _)| k.replace('\0', "\\u0000"))
        .or(Some("query".into()))
}

/// The JSON path (`note`, `tags[2]`, `preferences.pillow`) of the first string or key holding
/// a NUL; the body is only parsed twice when it contains the escape `\u0000` at all.
pub fn nul_in_json(body: &[u8]) -> Option<String> {
    if !body.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    find_nul(&value, String::new())
}

fn find_nul(v: &Value, at: String) -> Option<String> {
    let here = |at: &str| {
        if at.is_empty() {
            "body".to_string()
        } else {
            at.to_string()
        }
    };
    match v {
        Value::String(s) if s.contains('\0') => Some(here(&at)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| find_nul(item, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, item)| {
            let path = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') {
                Some(path.replace('\0', "\\u0000"))
            } else {
                find_nul(item, path)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_json_path_of_a_nul() {
        assert_eq!(nul_in_json(br#"{"a": "x"}"#), None);
        assert_eq!(
            nul_in_json(br#"{"a": "x\\u0000"}"#),
            None,
            "an escaped backslash is text"
        );
        assert_eq!(
            nul_in_json(br#"{"a": {"b": ["ok", "x\u0000y"]}}"#).as_deref(),
            Some("a.b[1]")
        );
        assert_eq!(nul_in_json(br#"{"k\u0000": 1}"#).as_deref(), Some("k\\u0000"));
    }

    #[test]
    fn names_the_query_parameter_of_a_nul() {
        assert_eq!(nul_in_query("q=abc&limit=2"), None);
        assert_eq!(nul_in_query("limit=2&q=a%00b").as_deref(), Some("q"));
        assert_eq!(nul_in_query("q%00=1").as_deref(), Some("q\\u0000"));
    }
}
