//! The guest profile's wire types: enums, structured sub-objects, request bodies and the view
//! (masked per caller in `customers::render`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::platform::page::{Page, PageItem};

string_enum!(Gender { Female => "female", Male => "male", NonBinary => "non_binary", Undisclosed => "undisclosed" });
string_enum!(
    /// How the guest prefers to be contacted.
    ContactChannel { Phone => "phone", Email => "email", Sms => "sms", Wechat => "wechat", App => "app" }
);
string_enum!(
    /// Value grade (hotel CRM regulation §4.1).
    Grade { Vvip => "vvip", Vip => "vip", Member => "member", Potential => "potential", WalkIn => "walk_in", Corporate => "corporate" }
);
string_enum!(
    /// Lifecycle stage (tourism CRM manual §1.4); computed.
    LifecycleStage { Prospect => "prospect", New => "new", Growing => "growing", Mature => "mature", Declining => "declining", Churned => "churned" }
);
string_enum!(
    /// Channel of first contact.
    SourceChannel { Direct => "direct", Website => "website", App => "app", Ota => "ota", Phone => "phone", WalkIn => "walk_in", Corporate => "corporate", Wechat => "wechat" }
);
string_enum!(
    ConsentPurpose { MarketingEmail => "marketing_email", MarketingSms => "marketing_sms", MarketingPush => "marketing_push", Surveys => "surveys", Profiling => "profiling", ThirdPartySharing => "third_party_sharing" }
);
string_enum!(
    /// Where a consent was given or withdrawn.
    ConsentSource { App => "app", Web => "web", FrontDesk => "front_desk", Phone => "phone", Email => "email", Paper => "paper", Integration => "integration" }
);
string_enum!(SpecialDateKind { Birthday => "birthday", Anniversary => "anniversary", Other => "other" });
string_enum!(DocumentType { Passport => "passport", NationalId => "national_id", DrivingLicence => "driving_licence", Other => "other" });
string_enum!(RoomTypePreference { King => "king", Queen => "queen", Twin => "twin", Double => "double", Suite => "suite" });
string_enum!(FloorPreference { High => "high", Low => "low" });
string_enum!(
    /// Communication channel of an interaction.
    InteractionChannel { Phone => "phone", Email => "email", Sms => "sms", Wechat => "wechat", App => "app", InPerson => "in_person", Other => "other" }
);
string_enum!(Direction { Inbound => "inbound", Outbound => "outbound" });
string_enum!(FollowUpStatus { None => "none", Pending => "pending", Done => "done" });

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`) in PATCH bodies.
pub fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Address {
    #[schema(max_length = 200)]
    pub line1: Option<String>,
    #[schema(max_length = 200)]
    pub line2: Option<String>,
    #[schema(max_length = 100)]
    pub city: Option<String>,
    #[schema(max_length = 100)]
    pub region: Option<String>,
    #[schema(max_length = 20)]
    pub postal_code: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
}

/// Structured stay preferences (hotel CRM regulation §3.1); every field optional.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    pub room_type: Option<RoomTypePreference>,
    pub floor: Option<FloorPreference>,
    #[schema(example = "sea", max_length = 64)]
    pub view: Option<String>,
    #[schema(example = "buckwheat", max_length = 64)]
    pub pillow: Option<String>,
    #[schema(example = "Financial Times", max_length = 64)]
    pub newspaper: Option<String>,
    /// `HH:MM`, 24 h.
    #[schema(example = "06:30", pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub wake_up_time: Option<String>,
    /// Degrees Celsius, 16–30.
    #[schema(example = 21.5, minimum = 16, maximum = 30)]
    pub room_temperature_celsius: Option<f64>,
    #[schema(example = "no alcohol; sparkling water", max_length = 200)]
    pub minibar: Option<String>,
    /// At most 20 items of 64 characters.
    #[serde(default)]
    pub dietary_restrictions: Vec<String>,
    #[serde(default)]
    pub allergies: Vec<String>,
    #[serde(default)]
    pub favourite_dishes: Vec<String>,
    #[serde(default)]
    pub favourite_drinks: Vec<String>,
    #[schema(max_length = 2000)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpecialDate {
    pub kind: SpecialDateKind,
    /// Required for `other` (e.g. "first visit").
    #[schema(max_length = 100)]
    pub label: Option<String>,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExternalRef {
    /// The integrated system, e.g. `opera_pms`.
    #[schema(
        example = "opera_pms",
        min_length = 1,
        max_length = 40,
        pattern = "^[A-Za-z0-9_-]{1,40}$"
    )]
    pub system: String,
    #[schema(example = "P-100234", min_length = 1, max_length = 100)]
    pub external_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentState {
    pub purpose: ConsentPurpose,
    pub granted: bool,
    pub source_channel: ConsentSource,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentInput {
    pub purpose: ConsentPurpose,
    pub granted: bool,
    /// Defaults to `front_desk` for staff, `integration` for API keys, `app` for guests.
    pub source_channel: Option<ConsentSource>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentUpdate {
    pub granted: bool,
    pub source_channel: Option<ConsentSource>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsentEvent {
    pub id: String,
    pub purpose: ConsentPurpose,
    pub granted: bool,
    pub source_channel: ConsentSource,
    /// `staff`, `customer` or `api_key`.
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub type ConsentEventPage = Page<ConsentEvent>;

impl PageItem for ConsentEvent {
    const PAGE: &'static str = "ConsentEventPage";
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDocumentInput {
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// 4–32 letters and digits; stored encrypted (AES-256-GCM).
    #[schema(
        example = "E12345678",
        min_length = 4,
        max_length = 32,
        pattern = "^[A-Za-z0-9]{4,32}$"
    )]
    pub number: String,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "CN", pattern = "^[A-Za-z]{2}$")]
    pub issuing_country: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IdentityDocument {
    #[serde(rename = "type")]
    pub doc_type: DocumentType,
    /// Whole for admins, managers and the guest; `****1234` for everyone else.
    pub number: String,
    pub issuing_country: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GradeOverride {
    pub grade: Grade,
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StaySummary {
    pub id: String,
    pub property_id: String,
    pub confirmation_number: String,
    pub check_in: NaiveDate,
    pub check_out: NaiveDate,
    pub status: String,
}

/// A guest profile. Personal fields are masked or omitted by the caller's role (SPEC §9):
/// `personal_data` says which view this is.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Customer {
    pub id: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    pub nationality: Option<String>,
    pub language: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub address: Option<Address>,
    pub preferred_channel: Option<ContactChannel>,
    /// Effective grade: the override when set, else the computed grade.
    pub grade: Grade,
    pub grade_override: Option<GradeOverride>,
    pub lifecycle_stage: LifecycleStage,
    pub source_channel: SourceChannel,
    pub tags: Vec<String>,
    pub preferences: Option<Preferences>,
    pub special_dates: Vec<SpecialDate>,
    pub consents: Vec<ConsentState>,
    pub external_refs: Vec<ExternalRef>,
    pub identity_document: Option<IdentityDocument>,
    /// `full`, `contact` (document masked), `masked` or `hidden`.
    #[schema(example = "full")]
    pub personal_data: String,
    /// Optimistic-concurrency version; also the `ETag`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// 360° view (single reads only): the latest stays, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recent_stays: Option<Vec<StaySummary>>,
}

pub type CustomerPage = Page<Customer>;

impl PageItem for Customer {
    const PAGE: &'static str = "CustomerPage";
}

/// A new guest profile. Unknown fields are refused (422).
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerCreate {
    #[schema(example = "Wei", min_length = 1, max_length = 100)]
    pub given_name: String,
    #[schema(example = "Zhang", min_length = 1, max_length = 100)]
    pub family_name: String,
    #[schema(example = "wei.zhang@example.com", format = Email, max_length = 254)]
    pub email: Option<String>,
    /// E.164 (spaces, dots, dashes and parentheses are dropped); an empty string means none.
    #[schema(example = "+8613812345678", pattern = r"^(\+[1-9][0-9 ().-]{7,24})?$")]
    pub phone: Option<String>,
    pub gender: Option<Gender>,
    /// ISO 3166-1 alpha-2.
    #[schema(example = "CN", pattern = "^[A-Za-z]{2}$")]
    pub nationality: Option<String>,
    /// BCP 47.
    #[schema(example = "zh-CN", pattern = "^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]
    pub language: Option<String>,
    pub birth_date: Option<NaiveDate>,
    #[schema(max_length = 200)]
    pub company: Option<String>,
    #[schema(max_length = 100)]
    pub job_title: Option<String>,
    pub address: Option<Address>,
    pub preferred_channel: Option<ContactChannel>,
    /// Defaults to `direct`.
    pub source_channel: Option<SourceChannel>,
    /// Lower-cased on input.
    #[serde(default)]
    #[schema(max_items = 50, example = json!(["business", "allergy:nuts"]))]
    pub tags: Vec<String>,
    pub preferences: Option<Preferences>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub special_dates: Vec<SpecialDate>,
    #[serde(default)]
    pub consents: Vec<ConsentInput>,
    #[serde(default)]
    #[schema(max_items = 20)]
    pub external_refs: Vec<ExternalRef>,
    pub identity_document: Option<IdentityDocumentInput>,
    /// Managers and admins only.
    pub grade_override: Option<GradeOverride>,
}

impl CustomerCreate {
    pub fn minimal(given_name: String, family_name: String, email: String, source: &str) -> Self {
        CustomerCreate {
            given_name,
            family_name,
            email: Some(email),
            source_channel: SourceChannel::parse(source),
            ..Default::default()
        }
    }
}

/// Partial update: absent fields are unchanged, `null` clears a nullable field; list and object
/// fields (`tags`, `preferences`, `special_dates`, `external_refs`, `address`) are replaced whole.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    pub nationality: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub language: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub address: Option<Option<Address>>,
    #[serde(default, deserialize_with = "double_option")]
    pub preferred_channel: Option<Option<ContactChannel>>,
    pub source_channel: Option<SourceChannel>,
    pub tags: Option<Vec<String>>,
    pub preferences: Option<Preferences>,
    pub special_dates: Option<Vec<SpecialDate>>,
    pub external_refs: Option<Vec<ExternalRef>>,
    #[serde(default, deserialize_with = "double_option")]
    pub identity_document: Option<Option<IdentityDocumentInput>>,
    /// Managers and admins only; `null` removes the override.
    #[serde(default, deserialize_with = "double_option")]
    pub grade_override: Option<Option<GradeOverride>>,
}

/// What a guest may change on their own profile. Anything else — grade, tier, points, tags,
/// email, consents (see `/me/consents`) — is refused with 422 and nothing changes.
#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[schema(min_length = 1, max_length = 100)]
    pub given_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub family_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub gender: Option<Option<Gender>>,
    #[serde(default, deserialize_with = "double_option")]
    pub nationality: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub language: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub birth_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub address: Option<Option<Address>>,
    #[serde(default, deserialize_with = "double_option")]
    pub preferred_channel: Option<Option<ContactChannel>>,
    pub preferences: Option<Preferences>,
    pub special_dates: Option<Vec<SpecialDate>>,
}

impl From<MePatch> for CustomerPatch {
    fn from(m: MePatch) -> Self {
        CustomerPatch {
            given_name: m.given_name,
            family_name: m.family_name,
            phone: m.phone,
            gender: m.gender,
            nationality: m.nationality,
            language: m.language,
            birth_date: m.birth_date,
            company: m.company,
            job_title: m.job_title,
            address: m.address,
            preferred_channel: m.preferred_channel,
            preferences: m.preferences,
            special_dates: m.special_dates,
            ..Default::default()
        }
    }
}

impl From<CustomerCreate> for CustomerPatch {
    /// Integration upserts: the fields present overwrite, the absent ones are kept.
    fn from(c: CustomerCreate) -> Self {
        fn keep<T>(v: Option<T>) -> Option<Option<T>> {
            v.map(Some)
        }
        let has_tags = !c.tags.is_empty();
        let has_dates = !c.special_dates.is_empty();
        CustomerPatch {
            given_name: Some(c.given_name),
            family_name: Some(c.family_name),
            email: keep(c.email),
            phone: keep(c.phone),
            gender: keep(c.gender),
            nationality: keep(c.nationality),
            language: keep(c.language),
            birth_date: keep(c.birth_date),
            company: keep(c.company),
            job_title: keep(c.job_title),
            address: keep(c.address),
            preferred_channel: keep(c.preferred_channel),
            source_channel: None,
            tags: has_tags.then_some(c.tags),
            preferences: c.preferences,
            special_dates: has_dates.then_some(c.special_dates),
            external_refs: None,
            identity_document: keep(c.identity_document),
            grade_override: c.grade_override.map(Some),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
pub struct CustomerFilter {
    /// Substring of name, email or phone digits (case-insensitive; `+`, spaces and dashes in a
    /// phone fragment are ignored). A whole email or E.164 phone number matches exactly. Agents:
    /// name substrings and whole contacts only.
    pub q: Option<String>,
    /// Exact email (case-insensitive).
    pub email: Option<String>,
    /// Exact phone (E.164).
    pub phone: Option<String>,
    pub tag: Option<String>,
    pub grade: Option<Grade>,
    pub lifecycle_stage: Option<LifecycleStage>,
    /// Guests who stayed at this property.
    pub property_id: Option<String>,
    /// `created_at` (default) or `-created_at`.
    pub sort: Option<String>,
}

/// The integration upsert answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct UpsertResult {
    /// `created`, `updated` (found by the reference) or `linked` (found by email/phone, the
    /// reference attached).
    pub outcome: String,
    pub customer: Customer,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wire name (serde) and `as_str` agree for every variant of every string enum.
    #[test]
    fn wire_names_match_as_str() {
        fn check<T: Serialize + Copy>(all: &[T], as_str: fn(T) -> &'static str) {
            for v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), serde_json::Value::from(as_str(*v)));
            }
        }
        check(Gender::ALL, Gender::as_str);
        check(ContactChannel::ALL, ContactChannel::as_str);
        check(Grade::ALL, Grade::as_str);
        check(LifecycleStage::ALL, LifecycleStage::as_str);
        check(SourceChannel::ALL, SourceChannel::as_str);
        check(ConsentPurpose::ALL, ConsentPurpose::as_str);
        check(ConsentSource::ALL, ConsentSource::as_str);
        check(SpecialDateKind::ALL, SpecialDateKind::as_str);
        check(DocumentType::ALL, DocumentType::as_str);
        check(RoomTypePreference::ALL, RoomTypePreference::as_str);
        check(FloorPreference::ALL, FloorPreference::as_str);
        check(InteractionChannel::ALL, InteractionChannel::as_str);
        check(Direction::ALL, Direction::as_str);
        check(FollowUpStatus::ALL, FollowUpStatus::as_str);
    }

    /// The published schema uses the wire names.
    #[test]
    fn openapi_enums_use_wire_names() {
        let spec = serde_json::to_value(crate::openapi_spec()).unwrap();
        let schemas = &spec["components"]["schemas"];
        assert_eq!(schemas["Grade"]["enum"][4], "walk_in");
        assert_eq!(schemas["ConsentPurpose"]["enum"][5], "third_party_sharing");
        assert_eq!(schemas["Scope"]["enum"][0], "customers:read");
        assert_eq!(schemas["Role"]["enum"][0], "admin");
    }
}
