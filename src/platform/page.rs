//! Keyset (cursor) pagination: page N costs what page 1 costs.

use std::borrow::Cow;

use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::RefOr;
use utoipa::{IntoParams, ToSchema};

use crate::platform::error::ApiError;

/// One page of a list: the items and the cursor of the next page (`null` on the last one).
/// Every list of the API answers this shape; the spec names each page after its item
/// (`TicketPage`), so generated clients keep one type per list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

/// An item of a page: `PAGE` is the page's schema name in the spec.
pub trait PageItem: ToSchema {
    const PAGE: &'static str;
}

impl<T: PageItem> utoipa::PartialSchema for Page<T> {
    fn schema() -> RefOr<Schema> {
        let item = RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()));
        let cursor = ObjectBuilder::new().schema_type(SchemaType::from_iter([Type::String, Type::Null]));
        ObjectBuilder::new()
            .property("data", ArrayBuilder::new().items(item))
            .property("next_cursor", cursor)
            .required("data")
            .required("next_cursor")
            .into()
    }
}

impl<T: PageItem> ToSchema for Page<T> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(T::PAGE)
    }

    fn schemas(out: &mut Vec<(String, RefOr<Schema>)>) {
        out.push((T::name().into_owned(), T::schema()));
        T::schemas(out);
    }
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Sort order over the time-ordered UUIDv7 id (= creation order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn parse(sort: Option<&str>, default: Order) -> Result<Order, ApiError> {
        match sort {
            None => Ok(default),
            Some("created_at") => Ok(Order::Asc),
            Some("-created_at") => Ok(Order::Desc),
            Some(_) => Err(ApiError::field("sort", "must be `created_at` or `-created_at`")),
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Order::Asc => "a",
            Order::Desc => "d",
        }
    }
}

pub struct Cursor {
    pub limit: i64,
    /// The last id of the previous page.
    pub after: Option<String>,
    pub order: Order,
}

impl PageParams {
    pub fn resolve(&self, order: Order) -> Result<Cursor, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::field("limit", "must be between 1 and 200"));
        }
        let after = match &self.cursor {
            None => None,
            Some(c) if c.is_empty() => None,
            Some(c) => Some(decode(c, order)?),
        };
        Ok(Cursor { limit, after, order })
    }
}

fn decode(c: &str, order: Order) -> Result<String, ApiError> {
    let bad = || ApiError::field("cursor", "is not a cursor from this list (or the sort changed)");
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .map_err(|_| bad())?;
    let s = String::from_utf8(raw).map_err(|_| bad())?;
    let (tag, id) = s.split_once('|').ok_or_else(bad)?;
    if tag != order.tag() || id.is_empty() || id.len() > 64 {
        return Err(bad());
    }
    Ok(id.to_string())
}

pub fn encode(order: Order, last_id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{last_id}", order.tag()))
}

/// Cuts the `limit + 1` rows fetched down to a page and computes the next cursor.
pub fn finish<T>(mut rows: Vec<T>, cursor: &Cursor, id: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > cursor.limit;
    rows.truncate(cursor.limit as usize);
    let next = if more {
        rows.last().map(|r| encode(cursor.order, id(r)))
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_tamper() {
        let c = encode(Order::Asc, "0193-abc");
        let p = PageParams {
            limit: Some(10),
            cursor: Some(c.clone()),
        };
        assert_eq!(p.resolve(Order::Asc).unwrap().after.as_deref(), Some("0193-abc"));
        assert!(p.resolve(Order::Desc).is_err(), "cursor bound to its order");
        let bad = PageParams {
            limit: None,
            cursor: Some("!!".into()),
        };
        assert!(bad.resolve(Order::Asc).is_err());
        assert!(PageParams {
            limit: Some(0),
            cursor: None
        }
        .resolve(Order::Asc)
        .is_err());
        assert!(PageParams {
            limit: Some(201),
            cursor: None
        }
        .resolve(Order::Asc)
        .is_err());
    }

    #[test]
    fn finish_sets_next_only_when_more() {
        let cur = Cursor {
            limit: 2,
            after: None,
            order: Order::Asc,
        };
        let (rows, next) = finish(vec!["a", "b", "c"], &cur, |s| s);
        assert_eq!(rows, vec!["a", "b"]);
        assert!(next.is_some());
        let (_, next) = finish(vec!["a"], &cur, |s| s);
        assert!(next.is_none());
    }
}
