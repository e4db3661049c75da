//! The one rule "this staff member (or API key) works at this property": a property scope read
//! from its stored form, failing closed.

use super::Principal;

/// The properties a staff member or an API key works at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyScope {
    /// Every property of the group (stored as an empty list).
    All,
    /// These properties only (never empty).
    Only(Vec<String>),
    /// None at all: the stored list could not be read. Fails closed — never "all".
    Nothing,
}

impl PropertyScope {
    /// From a list as the API takes it: empty = all properties.
    pub fn from_ids(ids: &[String]) -> PropertyScope {
        if ids.is_empty() {
            PropertyScope::All
        } else {
            PropertyScope::Only(ids.to_vec())
        }
    }

    /// From the stored JSON list (`staff_users.property_ids`, `api_keys.property_ids`). An
    /// unreadable value covers no property (and is logged): it must not become "all".
    pub fn parse(stored: &str) -> PropertyScope {
        match serde_json::from_str::<Vec<String>>(stored) {
            Ok(ids) => PropertyScope::from_ids(&ids),
            Err(_) => {
                log::error!("unreadable property list in the database; treating it as no property");
                PropertyScope::Nothing
            }
        }
    }

    /// Whether this scope includes `property_id`.
    pub fn covers(&self, property_id: &str) -> bool {
        match self {
            PropertyScope::All => true,
            PropertyScope::Only(ids) => ids.iter().any(|p| p == property_id),
            PropertyScope::Nothing => false,
        }
    }

    /// Whether every property of `other` is in this scope ("no broader than mine").
    pub fn includes(&self, other: &PropertyScope) -> bool {
        match (self, other) {
            (PropertyScope::All, _) => true,
            (_, PropertyScope::Nothing) => true,
            (PropertyScope::Only(mine), PropertyScope::Only(theirs)) => theirs.iter().all(|p| mine.contains(p)),
            _ => false,
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, PropertyScope::All)
    }

    /// `None` = all properties; otherwise the ids to filter on (empty for `Nothing`).
    pub fn ids(&self) -> Option<&[String]> {
        match self {
            PropertyScope::All => None,
            PropertyScope::Only(ids) => Some(ids),
            PropertyScope::Nothing => Some(&[]),
        }
    }
}

/// Whether the stored property list of a staff member or key includes `property_id`.
pub fn works_at(stored_property_ids: &str, property_id: &str) -> bool {
    PropertyScope::parse(stored_property_ids).covers(property_id)
}

/// A report period of whole UTC days: `to` defaults to today, `from` to `default_days` before
/// it; at most 366 days; `property_id`, when given, must be one the caller may see. Returns
/// (from, to, start, end) with `[start, end)` the instants it covers.
pub fn report_period(
    who: &Principal,
    from: Option<chrono::NaiveDate>,
    to: Option<chrono::NaiveDate>,
    default_days: u64,
    property_id: Option<&str>,
) -> Result<
    (
        chrono::NaiveDate,
        chrono::NaiveDate,
        chrono::NaiveDateTime,
        chrono::NaiveDateTime,
    ),
    crate::platform::error::ApiError,
> {
    let to = to.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let out_of_range = || crate::platform::error::ApiError::field("to", "out of range");
    let from = match from {
        Some(f) => f,
        None => to
            .checked_sub_days(chrono::Days::new(default_days))
            .ok_or_else(out_of_range)?,
    };
    let day_after = to.checked_add_days(chrono::Days::new(1)).ok_or_else(out_of_range)?;
    let mut c = crate::platform::fields::Checks::new();
    if from > to {
        c.fail("from", "must not be after to");
    } else if (to - from).num_days() > 366 {
        c.fail("from", "the period is at most 366 days");
    }
    if property_id == Some("") {
        c.fail("property_id", "must not be empty");
    } else if property_id.is_some_and(|p| !who.can_access_property(p)) {
        c.fail("property_id", "unknown property");
    }
    c.finish()?;
    Ok((
        from,
        to,
        from.and_time(chrono::NaiveTime::MIN),
        day_after.and_time(chrono::NaiveTime::MIN),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only(ids: &[&str]) -> PropertyScope {
        PropertyScope::Only(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn an_empty_list_is_every_property() {
        assert_eq!(PropertyScope::parse("[]"), PropertyScope::All);
        assert!(works_at("[]", "p1"));
    }

    #[test]
    fn a_list_covers_its_properties_only() {
        assert!(works_at(r#"["p1","p2"]"#, "p2"));
        assert!(!works_at(r#"["p1","p2"]"#, "p3"));
    }

    #[test]
    fn a_bad_json_property_list_covers_nothing() {
        for bad in ["", "not json", "{}", r#"["p1""#, "[1,2]", "null"] {
            assert_eq!(PropertyScope::parse(bad), PropertyScope::Nothing, "{bad:?}");
            assert!(!works_at(bad, "p1"), "{bad:?}");
            assert_eq!(PropertyScope::parse(bad).ids(), Some(&[][..]));
        }
    }

    #[test]
    fn a_restricted_scope_never_includes_all_properties() {
        let a = only(&["a"]);
        assert!(!a.includes(&PropertyScope::All), "empty = all is broader");
        assert!(a.includes(&only(&["a"])));
        assert!(!a.includes(&only(&["a", "b"])));
        assert!(PropertyScope::All.includes(&only(&["a", "b"])));
        assert!(PropertyScope::All.includes(&PropertyScope::All));
        assert!(!PropertyScope::Nothing.includes(&only(&["a"])));
        assert!(!PropertyScope::Nothing.includes(&PropertyScope::All));
    }
}
