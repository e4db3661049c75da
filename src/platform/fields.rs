//! Field parsing and checking shared by the use cases: collects every invalid field of a request
//! so one 422 names them all. Also the masking rules of SPEC §9.

use std::str::FromStr;

use crate::platform::error::{ApiError, FieldError};

#[derive(Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    /// Trims and checks the length (in characters) of a required text.
    pub fn text(&mut self, field: &str, value: &str, min: usize, max: usize) -> String {
        let v = value.trim().to_string();
        let n = v.chars().count();
        if n < min {
            self.fail(
                field,
                if min <= 1 {
                    "must not be empty".to_string()
                } else {
                    format!("must be at least {min} characters")
                },
            );
        } else if n > max {
            self.fail(field, format!("must be at most {max} characters"));
        } else if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            self.fail(field, "must not contain control characters");
        }
        v
    }

    /// A catalogue code (rewards, survey templates): trimmed, upper-cased, 2–40 characters of
    /// A-Z, 0-9, `_` and `-`.
    pub fn code(&mut self, field: &str, value: &str) -> String {
        let code = value.trim().to_ascii_uppercase();
        if !(2..=40).contains(&code.len())
            || !code
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
        {
            self.fail(field, "must be 2 to 40 characters of A-Z, 0-9, '_' and '-'");
        }
        code
    }

    /// Optional text: empty after trimming becomes `None`.
    pub fn opt_text(&mut self, field: &str, value: Option<&str>, max: usize) -> Option<String> {
        let v = value.map(str::trim).filter(|v| !v.is_empty())?;
        Some(self.text(field, v, 1, max))
    }

    pub fn email(&mut self, field: &str, value: &str) -> Option<String> {
        match parse_email(value) {
            Ok(v) => Some(v),
            Err(m) => {
                self.fail(field, m);
                None
            }
        }
    }

    pub fn phone(&mut self, field: &str, value: &str) -> Option<String> {
        match parse_phone(value) {
            Ok(v) => Some(v),
            Err(m) => {
                self.fail(field, m);
                None
            }
        }
    }

    pub fn country(&mut self, field: &str, value: &str) -> Option<String> {
        let v = value.trim().to_ascii_uppercase();
        if is_country(&v) {
            Some(v)
        } else {
            self.fail(field, "must be an ISO 3166-1 alpha-2 country code (e.g. CN, FR)");
            None
        }
    }

    pub fn language(&mut self, field: &str, value: &str) -> Option<String> {
        let v = value.trim();
        if is_language_tag(v) {
            Some(v.to_string())
        } else {
            self.fail(field, "must be a BCP 47 language tag (e.g. en, zh-CN)");
            None
        }
    }

    pub fn currency(&mut self, field: &str, value: &str) -> Option<String> {
        let v = value.trim().to_ascii_uppercase();
        if CURRENCIES.split_whitespace().any(|c| c == v) {
            Some(v)
        } else {
            self.fail(field, "must be an ISO 4217 currency code (e.g. CNY, EUR)");
            None
        }
    }

    pub fn timezone(&mut self, field: &str, value: &str) -> Option<String> {
        match chrono_tz::Tz::from_str(value.trim()) {
            Ok(tz) => Some(tz.name().to_string()),
            Err(_) => {
                self.fail(field, "must be an IANA time zone (e.g. Asia/Shanghai)");
                None
            }
        }
    }
}

/// Lower-cased email with a plausible shape (`local@domain.tld`), at most 254 characters.
pub fn parse_email(value: &str) -> Result<String, &'static str> {
    let v = value.trim().to_lowercase();
    if v.len() > 254 {
        return Err("must be at most 254 characters");
    }
    let Some((local, domain)) = v.split_once('@') else {
        return Err("must be a valid email address");
    };
    let ok = !local.is_empty()
        && local.len() <= 64
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain.contains('.')
        && !domain.contains("..")
        && !v.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '-');
    if ok {
        Ok(v)
    } else {
        Err("must be a valid email address")
    }
}

/// E.164: `+` then 8–15 digits; spaces, dashes, dots and parentheses are dropped.
pub fn parse_phone(value: &str) -> Result<String, &'static str> {
    let v = value.trim();
    let Some(rest) = v.strip_prefix('+') else {
        return Err("must be an E.164 number starting with + and the country code (e.g. +8613812345678)");
    };
    let mut digits = String::with_capacity(16);
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' => {}
            _ => return Err("must contain only digits after the +"),
        }
    }
    if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
        return Err("must be an E.164 number: + then 8 to 15 digits, not starting with 0");
    }
    Ok(format!("+{digits}"))
}

pub fn is_language_tag(v: &str) -> bool {
    let mut parts = v.split('-');
    let Some(first) = parts.next() else { return false };
    (2..=3).contains(&first.len())
        && first.chars().all(|c| c.is_ascii_lowercase())
        && v.len() <= 35
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

pub fn is_country(v: &str) -> bool {
    v.len() == 2 && COUNTRIES.split_whitespace().any(|c| c == v)
}

/// Tags: lower-case `[a-z0-9:_-]`, 1–40 characters.
pub fn normalize_tag(tag: &str) -> Result<String, &'static str> {
    let t = tag.trim().to_lowercase();
    if t.is_empty() || t.len() > 40 {
        return Err("must be 1 to 40 characters");
    }
    if !t
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    {
        return Err("may contain only a-z, 0-9, ':', '_' and '-'");
    }
    Ok(t)
}

/// E.164 country calling codes of one and two digits (everything else has three).
const CC1: &[&str] = &["1", "7"];
const CC2: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48", "49", "51",
    "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81", "82", "84", "86", "90",
    "91", "92", "93", "94", "95", "98",
];

/// `+8613812345678` → `+86 138****5678`.
pub fn mask_phone(e164: &str) -> String {
    let digits = e164.trim_start_matches('+');
    let cc_len = if CC1.iter().any(|c| digits.starts_with(c)) {
        1
    } else if CC2.iter().any(|c| digits.starts_with(c)) {
        2
    } else {
        3
    };
    let (cc, national) = digits.split_at(cc_len.min(digits.len()));
    let n = national.len();
    if n <= 4 {
        return format!("+{cc} {}", "*".repeat(n));
    }
    let head = 3.min(n.saturating_sub(4));
    format!(
        "+{cc} {}{}{}",
        &national[..head],
        "*".repeat(n - head - 4),
        &national[n - 4..]
    )
}

/// `john@example.com` → `j***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

/// Document numbers: the last 4 characters only.
pub fn mask_document(last4: &str) -> String {
    format!("****{last4}")
}

const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

const CURRENCIES: &str = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWG";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones() {
        assert_eq!(parse_phone("+86 138-1234-5678").unwrap(), "+8613812345678");
        assert!(parse_phone("13812345678").is_err());
        assert!(parse_phone("+12").is_err());
        assert!(parse_phone("+86abc").is_err());
        assert_eq!(mask_phone("+8613812345678"), "+86 138****5678");
        assert_eq!(mask_phone("+14155550123"), "+1 415***0123");
        assert_eq!(mask_phone("+33612345678"), "+33 612**5678");
    }

    #[test]
    fn emails() {
        assert_eq!(parse_email(" John@Example.COM ").unwrap(), "john@example.com");
        assert!(parse_email("no-at-sign").is_err());
        assert!(parse_email("a@b").is_err());
        assert!(parse_email("a b@c.com").is_err());
        assert_eq!(mask_email("john@example.com"), "j***@example.com");
    }

    #[test]
    fn codes() {
        assert!(is_country("CN") && !is_country("XX"));
        assert!(is_language_tag("zh-CN") && is_language_tag("en") && !is_language_tag("English"));
        let mut c = Checks::new();
        assert_eq!(c.currency("c", "cny").as_deref(), Some("CNY"));
        assert_eq!(c.timezone("t", "Asia/Shanghai").as_deref(), Some("Asia/Shanghai"));
        assert!(c.timezone("t", "Mars/Olympus").is_none());
        assert!(c.finish().is_err());
        assert_eq!(normalize_tag("Allergy:Nuts").unwrap(), "allergy:nuts");
        assert!(normalize_tag("two words").is_err());
        assert_eq!(mask_document("1234"), "****1234");
    }
}
