//! `connectors.toml`: types, parsing, and validation with `file:line:column` problems.

/// `impl Deserialize` for a config type written as a string and checked by its own
/// `parse(&str) -> Result<Self, String>`, so a bad value is a located config error.
macro_rules! deserialize_with_parse {
    ($type:ty) => {
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use deserialize_with_parse;

pub mod alert;
mod alert_rules;
pub mod blueprint;
pub mod condition;
pub mod credential;
pub mod de;
pub mod duration;
pub mod expr;
pub mod jsonpath;
pub mod keys;
pub mod kinds;
pub mod lang;
mod load;
mod mismatch;
pub mod model;
pub mod pipeline;
pub mod problem;
mod references;
pub mod schedule;
mod source_text;
pub mod template;
pub mod url;

pub use load::{Config, Declared};
pub use model::{
    ApiKeyLocation, Auth, CatchUp, Integration, RateLimit, Retention, RetryPolicy, Settings,
    Timezone,
};
pub use problem::{Problem, Severity, SourceFile};
pub use schedule::Schedule;
