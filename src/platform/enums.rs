//! `string_enum!`: enums stored as text columns and sent as snake_case strings.

/// A `snake_case` string enum with `ALL`, `as_str` and `parse`, for columns stored as text.
/// `rename_all` (not a per-variant `rename = $s`): utoipa cannot read a rename whose value is a
/// macro fragment, and the spec would then show `WalkIn` for `walk_in`. Every `$s` must be the
/// snake_case of its variant (a test checks the wire names).
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        $(#[$m])*
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
    };
}
