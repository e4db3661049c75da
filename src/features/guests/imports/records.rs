//! Pure rules of an import file: splitting the byte stream into records (one guest each, with
//! the file line it starts on), and turning a record — an NDJSON line or a CSV row under its
//! header — into the same `CustomerCreate` that `POST /customers` takes. No database, no actix.

use serde_json::{Map, Value};

use crate::features::guests::model::CustomerCreate;
use crate::platform::error::FieldError;

/// The longest record accepted (a guest with every field at its maximum is far below this).
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
        }
    }

    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "ndjson" => Some(Format::Ndjson),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }

    /// From a request's `Content-Type` (parameters ignored).
    pub fn from_content_type(ct: &str) -> Option<Format> {
        match ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase().as_str() {
            "application/x-ndjson" | "application/ndjson" | "application/jsonl" => Some(Format::Ndjson),
            "text/csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// One record: the line it starts on and its bytes (without the line end). `too_long` marks a
/// record cut at `MAX_RECORD_BYTES` (it fails; the rest of the file goes on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: i64,
    pub bytes: Vec<u8>,
    pub too_long: bool,
}

/// Splits a byte stream into records: at a line feed — outside double quotes for CSV, where a
/// quoted field may hold line breaks. A trailing CR is dropped; blank lines are skipped but
/// counted.
pub struct Splitter {
    csv: bool,
    line: i64,
    start_line: i64,
    in_quotes: bool,
    /// A quote just closed a quoted field (a second one is an escaped `"`).
    just_closed: bool,
    current: Vec<u8>,
    too_long: bool,
}

impl Splitter {
    pub fn new(format: Format) -> Self {
        Splitter {
            csv: format == Format::Csv,
            line: 1,
            start_line: 1,
            in_quotes: false,
            just_closed: false,
            current: Vec::new(),
            too_long: false,
        }
    }

    /// Feeds bytes; complete records go to `out`.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Record>) {
        for &b in bytes {
            if b == b'\n' {
                self.line += 1;
                if !self.in_quotes {
                    self.finish(out);
                    self.start_line = self.line;
                    continue;
                }
            }
            if self.csv {
                self.track_quotes(b);
            }
            if self.current.len() < MAX_RECORD_BYTES {
                self.current.push(b);
            } else {
                self.too_long = true;
            }
        }
    }

    /// RFC 4180 quoting as the `csv` crate reads it: a quote opens a quoted field only at the
    /// start of a field (a quote inside an unquoted field is a character); inside, `""` is a
    /// quote and a lone `"` ends the quoting.
    fn track_quotes(&mut self, b: u8) {
        let closed = std::mem::take(&mut self.just_closed);
        if b != b'"' {
            return;
        }
        if self.in_quotes {
            self.in_quotes = false;
            self.just_closed = true;
        } else if closed || matches!(self.current.last(), None | Some(b',')) {
            self.in_quotes = true;
        }
    }

    /// The last record when the stream ends without a line feed.
    pub fn end(&mut self, out: &mut Vec<Record>) {
        self.finish(out);
    }

    fn finish(&mut self, out: &mut Vec<Record>) {
        if self.current.last() == Some(&b'\r') {
            self.current.pop();
        }
        let blank = self.current.iter().all(u8::is_ascii_whitespace);
        if !blank || self.too_long {
            out.push(Record {
                line: self.start_line,
                bytes: std::mem::take(&mut self.current),
                too_long: self.too_long,
            });
        }
        self.current.clear();
        self.too_long = false;
        self.in_quotes = false;
        self.just_closed = false;
    }
}

/// Top-level CSV columns; `x.y` columns fill the objects `address`, `preferences`,
/// `identity_document`, `grade_override`; `consent.<purpose>` is `granted|withdrawn|true|false`.
const CSV_COLUMNS: [&str; 15] = [
    "given_name",
    "family_name",
    "email",
    "phone",
    "gender",
    "nationality",
    "language",
    "birth_date",
    "company",
    "job_title",
    "preferred_channel",
    "source_channel",
    "tags",
    "external_refs",
    "special_dates",
];
const CSV_OBJECTS: [&str; 5] = [
    "address",
    "preferences",
    "identity_document",
    "grade_override",
    "consent",
];
/// Cells holding lists, split at `;`.
const CSV_LISTS: [&str; 6] = [
    "tags",
    "preferences.dietary_restrictions",
    "preferences.allergies",
    "preferences.favourite_dishes",
    "preferences.favourite_drinks",
    "external_refs",
];

/// The header row's column names, checked (422 naming the first unknown or repeated column).
pub fn parse_header(record: &[u8]) -> Result<Vec<String>, FieldError> {
    let text = std::str::from_utf8(record).map_err(|_| FieldError::new("header", "is not valid UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let cells = csv_cells(text).map_err(|m| FieldError::new("header", &m))?;
    let mut names: Vec<String> = Vec::new();
    for c in cells {
        let name = c.trim().to_ascii_lowercase();
        let known = match name.split_once('.') {
            Some((obj, field)) => CSV_OBJECTS.contains(&obj) && !field.is_empty() && !field.contains('.'),
            None => CSV_COLUMNS.contains(&name.as_str()) && name != "special_dates",
        };
        if !known {
            return Err(FieldError::new("header", format!("unknown column `{name}`")));
        }
        if names.contains(&name) {
            return Err(FieldError::new("header", format!("column `{name}` appears twice")));
        }
        names.push(name);
    }
    if !names.iter().any(|n| n == "given_name") || !names.iter().any(|n| n == "family_name") {
        return Err(FieldError::new(
            "header",
            "needs the columns given_name and family_name",
        ));
    }
    Ok(names)
}

fn csv_cells(text: &str) -> Result<Vec<String>, String> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    match r.records().next() {
        Some(Ok(rec)) => Ok(rec.iter().map(str::to_string).collect()),
        Some(Err(e)) => Err(format!("is not a valid CSV row: {e}")),
        None => Ok(Vec::new()),
    }
}

/// One record as the guest it describes, or the fields that are wrong.
pub fn parse_record(format: Format, header: Option<&[String]>, r: &Record) -> Result<CustomerCreate, Vec<FieldError>> {
    let one = |field: &str, message: &str| vec![FieldError::new(field, message)];
    if r.too_long {
        return Err(one("line", &format!("is longer than {MAX_RECORD_BYTES} bytes")));
    }
    let text = std::str::from_utf8(&r.bytes).map_err(|_| one("line", "is not valid UTF-8"))?;
    if text.contains('\0') {
        return Err(one("line", "contains a NUL character"));
    }
    let value = match (format, header) {
        (Format::Csv, Some(h)) => csv_record(h, text).map_err(|m| one("line", &m))?,
        _ => serde_json::from_str::<Value>(text).map_err(|e| one("line", &format!("is not valid JSON: {e}")))?,
    };
    if !value.is_object() {
        return Err(one("line", "must be a JSON object"));
    }
    serde_path_to_error::deserialize::<_, CustomerCreate>(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "line".to_string() } else { path };
        vec![FieldError::new(field, without_value(&e.inner().to_string()))]
    })
}

/// A deserialization message without the value it quotes (`invalid type: integer `1380…`` →
/// `invalid type: integer (value)`): failed lines are stored, and their values may be personal
/// data. Field names (`unknown field `tier``) are kept.
fn without_value(msg: &str) -> String {
    if msg.starts_with("unknown field") || msg.starts_with("missing field") {
        return msg.to_string();
    }
    match (
        msg.find('`'),
        msg.find('`').and_then(|i| msg[i + 1..].find('`').map(|j| i + 1 + j)),
    ) {
        (Some(a), Some(b)) => format!("{}(value){}", &msg[..a], &msg[b + 1..]),
        _ => msg.to_string(),
    }
}

fn csv_record(header: &[String], text: &str) -> Result<Value, String> {
    let cells = csv_cells(text)?;
    if cells.len() > header.len() {
        return Err(format!("has {} cells, the header names {}", cells.len(), header.len()));
    }
    let mut obj = Map::new();
    for (name, cell) in header.iter().zip(cells) {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        let value = csv_value(name, cell)?;
        match name.split_once('.') {
            Some(("consent", purpose)) => {
                let consents = obj.entry("consents").or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(list) = consents {
                    list.push(serde_json::json!({"purpose": purpose, "granted": value}));
                }
            }
            Some((o, field)) => {
                let inner = obj.entry(o).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(m) = inner {
                    m.insert(field.to_string(), value);
                }
            }
            None => {
                obj.insert(name.clone(), value);
            }
        }
    }
    Ok(Value::Object(obj))
}

/// A cell as the JSON value its column takes.
fn csv_value(column: &str, cell: &str) -> Result<Value, String> {
    let items = || cell.split(';').map(str::trim).filter(|s| !s.is_empty());
    if column == "external_refs" {
        let refs: Result<Vec<Value>, String> = items()
            .map(|r| match r.split_once(':') {
                Some((s, id)) => Ok(serde_json::json!({"system": s.trim(), "external_id": id.trim()})),
                None => Err("external_refs: an item is not system:external_id".to_string()),
            })
            .collect();
        return refs.map(Value::Array);
    }
    if CSV_LISTS.contains(&column) {
        return Ok(Value::Array(items().map(|s| Value::String(s.to_string())).collect()));
    }
    if column.starts_with("consent.") {
        return match cell.to_ascii_lowercase().as_str() {
            "granted" | "true" | "yes" => Ok(Value::Bool(true)),
            "withdrawn" | "false" | "no" => Ok(Value::Bool(false)),
            _ => Err(format!("{column}: not granted or withdrawn")),
        };
    }
    if column == "preferences.room_temperature_celsius" {
        return cell
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| format!("{column}: not a number"));
    }
    Ok(Value::String(cell.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(format: Format, chunks: &[&str]) -> Vec<(i64, String)> {
        let mut s = Splitter::new(format);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c.as_bytes(), &mut out);
        }
        s.end(&mut out);
        out.into_iter()
            .map(|r| (r.line, String::from_utf8(r.bytes).unwrap()))
            .collect()
    }

    #[test]
    fn records_split_across_chunks_keep_their_line_numbers() {
        let got = split(Format::Ndjson, &["{\"a\":1}\r\n\n{\"b", "\":2}\n{\"c\":3}"]);
        assert_eq!(
            got,
            vec![
                (1, "{\"a\":1}".into()),
                (3, "{\"b\":2}".into()),
                (4, "{\"c\":3}".into())
            ]
        );
    }

    #[test]
    fn a_quoted_csv_field_may_hold_a_line_break() {
        let got = split(
            Format::Csv,
            &["given_name,family_name\n\"Ann\nMarie\",\"O\"\"Neil\"\nBo,Li\n"],
        );
        assert_eq!(got[1], (2, "\"Ann\nMarie\",\"O\"\"Neil\"".into()));
        assert_eq!(got[2], (4, "Bo,Li".into()));
    }

    #[test]
    fn a_quote_inside_an_unquoted_field_is_a_character() {
        let got = split(Format::Csv, &["a,b\nFan,6\" pillow\nBo,\"say \"\"hi\"\"\nthere\"\nC,D"]);
        assert_eq!(
            got,
            vec![
                (1, "a,b".into()),
                (2, "Fan,6\" pillow".into()),
                (3, "Bo,\"say \"\"hi\"\"\nthere\"".into()),
                (5, "C,D".into())
            ]
        );
    }

    #[test]
    fn stored_messages_do_not_repeat_values() {
        let r = Record {
            line: 1,
            bytes: br#"{"given_name":"A","family_name":"B","phone":13800138000}"#.to_vec(),
            too_long: false,
        };
        let e = parse_record(Format::Ndjson, None, &r).unwrap_err();
        assert_eq!(e[0].field, "phone");
        assert!(!e[0].message.contains("13800138000"), "{}", e[0].message);
    }

    #[test]
    fn an_overlong_record_is_cut_and_marked() {
        let long = "x".repeat(MAX_RECORD_BYTES + 10);
        let mut s = Splitter::new(Format::Ndjson);
        let mut out = Vec::new();
        s.feed(format!("{long}\n{{}}\n").as_bytes(), &mut out);
        assert!(out[0].too_long && out[0].bytes.len() == MAX_RECORD_BYTES);
        assert_eq!((out[1].line, out[1].too_long), (2, false));
    }

    #[test]
    fn csv_rows_become_the_create_body() {
        let header = parse_header(
            b"\xef\xbb\xbfgiven_name,family_name,email,tags,external_refs,consent.marketing_email,preferences.allergies",
        )
        .unwrap();
        let r = Record {
            line: 2,
            bytes: b"Wei,Zhang,wei@example.com,vip; business,pms:P1;crs:C9,withdrawn,nuts;shellfish".to_vec(),
            too_long: false,
        };
        let c = parse_record(Format::Csv, Some(&header), &r).unwrap();
        assert_eq!(
            (c.given_name.as_str(), c.email.as_deref()),
            ("Wei", Some("wei@example.com"))
        );
        assert_eq!(c.tags, vec!["vip", "business"]);
        assert_eq!(c.external_refs.len(), 2);
        assert!(!c.consents[0].granted);
        assert_eq!(c.preferences.unwrap().allergies, vec!["nuts", "shellfish"]);
    }

    #[test]
    fn bad_headers_and_records_name_the_field() {
        assert!(parse_header(b"given_name,family_name,tier")
            .unwrap_err()
            .message
            .contains("tier"));
        assert!(parse_header(b"given_name,email").is_err());
        let json = |s: &str| Record {
            line: 7,
            bytes: s.as_bytes().to_vec(),
            too_long: false,
        };
        let e = parse_record(
            Format::Ndjson,
            None,
            &json("{\"given_name\":\"A\",\"family_name\":\"B\",\"tier\":\"gold\"}"),
        );
        assert!(e.unwrap_err()[0].message.contains("tier"));
        let e = parse_record(
            Format::Ndjson,
            None,
            &json("{\"given_name\":\"A\",\"family_name\":\"B\",\"gender\":7}"),
        );
        assert_eq!(e.unwrap_err()[0].field, "gender");
        let e = parse_record(Format::Ndjson, None, &json("[1]"));
        assert_eq!(e.unwrap_err()[0].field, "line");
        let bad = Record {
            line: 1,
            bytes: vec![b'{', 0xff, b'}'],
            too_long: false,
        };
        assert!(parse_record(Format::Ndjson, None, &bad).unwrap_err()[0]
            .message
            .contains("UTF-8"));
    }
}
